// Finding the customers an import row may be: through the database's indexes, or through
// blocking keys held in memory while a bulk load has set those indexes aside.

#include <fmt/format.h>

#include "core/text.h"
#include "imports/imports_internal.h"
#include "storage/migrate.h"

namespace fidelis::imports {

using storage::Value;

namespace {

// The last event in the outbox: what the memory matcher has seen so far.
constexpr std::string_view kOutboxHead = "SELECT COALESCE(MAX(id), 0) FROM outbox_events";

class IndexedMatcher final : public RowMatcher {
 public:
  explicit IndexedMatcher(const dedup::Model& model) : model_(model) {}
  Result<std::vector<merging::Candidate>> candidates(storage::Tx& tx, const RowKeys& k) override {
    return merging::find_candidates(tx, k.record, model_);
  }
  Result<std::optional<int64_t>> email_owner(storage::Tx& tx, std::string_view email) override {
    return customers::find_by_email(tx, email);
  }
  Status stored(storage::Tx&, int64_t, const RowKeys&, bool) override { return ok(); }
  bool wants_hashes() const override { return false; }
  Status batch_begins(storage::Tx&) override { return ok(); }
  Status batch_ends(storage::Tx&) override { return ok(); }
  void batch_committed() override {}
  size_t memory_bytes() const override { return 0; }

 private:
  const dedup::Model& model_;
};

class MemoryMatcher final : public RowMatcher {
 public:
  MemoryMatcher(const dedup::Model& model, merging::KeyIndex index, int64_t last_event)
      : model_(model), index_(std::move(index)), last_event_(last_event) {}

  Result<std::vector<merging::Candidate>> candidates(storage::Tx& tx, const RowKeys& k) override {
    return merging::score_candidates(tx, k.record, index_.candidates(k.query), model_);
  }

  Result<std::optional<int64_t>> email_owner(storage::Tx& tx, std::string_view email) override {
    std::vector<int64_t> holders = index_.email_holders(email);
    if (holders.empty()) return std::optional<int64_t>();
    // The index may hold a stale or colliding id: the database says who has the address now.
    return customers::find_by_email(tx, email, holders);
  }

  Status stored(storage::Tx& tx, int64_t id, const RowKeys& k, bool reread) override {
    if (!reread) {
      index_.add(id, k.stored);
      return ok();
    }
    int64_t ids[] = {id};
    return index_.add_stored(tx, ids);
  }
  bool wants_hashes() const override { return true; }

  // Profiles other writers created or changed between two batches have events in the outbox after
  // the last one this import saw: their keys join the index before the batch matches anything.
  Status batch_begins(storage::Tx& tx) override {
    Value p[] = {last_event_};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                             tx.query("SELECT DISTINCT customer_id FROM outbox_events WHERE id > $1 AND customer_id IS "
                                      "NOT NULL",
                                      p));
    std::vector<int64_t> ids;
    for (const auto& r : rows.rows) ids.push_back(r.i64(0));
    for (size_t i = 0; i < ids.size(); i += 500)
      FIDELIS_RETURN_IF_ERROR(
          index_.add_stored(tx, std::span<const int64_t>(ids).subspan(i, std::min<size_t>(500, ids.size() - i))));
    return ok();
  }
  Status batch_ends(storage::Tx& tx) override {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one(kOutboxHead));
    pending_event_ = row->i64(0);
    return ok();
  }
  void batch_committed() override { last_event_ = pending_event_; }
  size_t memory_bytes() const override { return index_.bytes(); }

 private:
  const dedup::Model& model_;
  merging::KeyIndex index_;
  int64_t last_event_ = 0, pending_event_ = 0;
};

}  // namespace

RowKeys row_keys(const customers::CustomerInput& in, bool hashed) {
  RowKeys k;
  k.record = merging::record_of(in);
  if (hashed) {
    k.query = merging::KeyIndex::query_keys(k.record);
    k.stored = merging::KeyIndex::stored_keys(in);
    k.hashed = true;
  }
  return k;
}

std::unique_ptr<RowMatcher> indexed_matcher(const dedup::Model& model) { return std::make_unique<IndexedMatcher>(model); }

Result<std::unique_ptr<RowMatcher>> memory_matcher(storage::Db& db, const dedup::Model& model) {
  // The outbox position first: a change made while the base is read is caught up at the first batch.
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> last, db.one(kOutboxHead));
  FIDELIS_ASSIGN_OR_RETURN(merging::KeyIndex index, merging::KeyIndex::load(db));
  return std::unique_ptr<RowMatcher>(std::make_unique<MemoryMatcher>(model, std::move(index), last->i64(0)));
}

Result<MatchPlan> plan_matching(storage::Db& db, BulkMode mode, const dedup::Model& model, int64_t estimated_rows) {
  MatchPlan plan;
  bool bulk = mode == BulkMode::kOn;
  if (mode == BulkMode::kAuto && db.dialect() == storage::Dialect::kSqlite && estimated_rows >= kBulkMinRows) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> live, db.one("SELECT COUNT(*) FROM customers WHERE deleted_at IS NULL"));
    bulk = estimated_rows >= live->i64(0);
  }
  // Another bulk load (an import, the demo generator) has the indexes aside already: it rebuilds
  // them, and until then only the keys in memory make matching fast.
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> aside, db.one("SELECT COUNT(*) FROM bulk_dropped_indexes"));
  bool missing = aside->i64(0) > 0;
  if (bulk && !missing) {
    FIDELIS_ASSIGN_OR_RETURN(int dropped, storage::drop_indexes_for_bulk(db, bulk_tables(), bulk_kept_indexes()));
    plan.dropped = dropped > 0;
    if (plan.dropped) {
      if (Status st = db.set_bulk_loading(true); !st) {
        (void)storage::restore_bulk_indexes(db);
        return st.error();
      }
    }
  }
  if (bulk || missing) {
    auto matcher = memory_matcher(db, model);
    if (!matcher) {
      // Nothing was written yet: give the indexes back before saying so.
      if (plan.dropped) {
        (void)storage::restore_bulk_indexes(db);
        (void)db.set_bulk_loading(false);
      }
      return matcher.error();
    }
    plan.matcher = std::move(*matcher);
  } else {
    plan.matcher = indexed_matcher(model);
  }
  return plan;
}

std::span<const std::string_view> bulk_tables() {
  static constexpr std::string_view kTables[] = {"customers", "customer_emails", "customer_phones"};
  return kTables;
}

std::span<const std::string_view> bulk_kept_indexes() {
  // Creation times only grow: appended at the end, cheaper to keep up than to rebuild. (The city
  // index, whose rows land at the ends of a few thousand runs, was kept too until a profile of a
  // 1M-row load showed the writer spending 12 % less CPU with it set aside, its rebuild included.)
  static constexpr std::string_view kKept[] = {"customers_created_at"};
  return kKept;
}

}  // namespace fidelis::imports
