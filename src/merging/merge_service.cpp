// The merge service: creating with duplicate detection, manual merges, unmerges, merge history.

#include <fmt/format.h>

#include "core/log.h"
#include "merging/merging_internal.h"

namespace fidelis::merging {

using storage::Value;

MergeService::MergeService(storage::Db& db, const Clock& clock, Options options)
    : db_(db), clock_(clock), options_(std::move(options)),
      model_(options_.model) {}

Result<CreateOutcome> MergeService::create(customers::CustomerService& customers, customers::CustomerInput in,
                                           const audit::Actor& actor, bool dedup) {
  FIDELIS_ASSIGN_OR_RETURN(customers::Customer created, customers.create(std::move(in), actor));
  CreateOutcome out;
  out.customer = created;
  if (!dedup) return out;
  Millis now = clock_.now();
  dedup::Record rec = record_of(created);
  Status matched = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(std::vector<Candidate> found, find_candidates(tx, rec, model_, created.id));
    out.queued_with.clear();
    if (!found.empty() && found.front().decision == dedup::Decision::kMerge) {
      const Candidate& best = found.front();
      MergeRequest req{best.customer_id, created.id, best.customer_id, "auto", "api", best.score};
      FIDELIS_ASSIGN_OR_RETURN(MergeRecord m, merge_in(tx, req, options_.rules, actor, now));
      out.merged = true;
      out.merge = std::move(m);
      return ok();
    }
    for (const auto& c : found) {
      FIDELIS_ASSIGN_OR_RETURN(bool queued, queue_review_in(tx, c.customer_id, created.id, c, model_, "api", now));
      if (queued) out.queued_with.push_back(c.customer_id);
    }
    return ok();
  });
  if (!matched) {
    // The customer exists: failing the request now would make the caller create it again. The
    // whole-base run finds what this missed.
    log::warn("duplicate detection after a create failed", {{"customer_id", std::to_string(created.id)},
                                                             {"error", matched.error().message}});
    out.merged = false;
    out.merge.reset();
    out.queued_with.clear();
    return out;
  }
  if (out.merged) {
    FIDELIS_ASSIGN_OR_RETURN(out.customer, customers.get(out.merge->winner_id));
  }
  return out;
}

Result<MergeRecord> MergeService::merge(MergeRequest req, const audit::Actor& actor) {
  Millis now = clock_.now();
  MergeRecord m;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(m, merge_in(tx, req, options_.rules, actor, now));
    // A pending review of the same pair is settled by this merge.
    Value up[] = {std::min(req.a, req.b), std::max(req.a, req.b), now, m.actor, m.id};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "UPDATE merge_reviews SET status = 'accepted', decided_at = $3, decided_by = $4, merge_id = $5 "
        "WHERE customer_a = $1 AND customer_b = $2 AND status IN ('pending', 'obsolete')",
        up));
    return ok();
  }));
  return m;
}

Result<MergeRecord> MergeService::unmerge(int64_t merge_id, const audit::Actor& actor) {
  Millis now = clock_.now();
  MergeRecord m;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(m, unmerge_in(tx, merge_id, actor, now));
    return ok();
  }));
  return m;
}

Result<MergeRecord> MergeService::get_merge(int64_t id) {
  MergeRecord m;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(m, load_merge(tx, id));
    return ok();
  }));
  return m;
}

Result<std::vector<MergeRecord>> MergeService::merges(std::optional<int64_t> customer_id, int limit) {
  if (limit < 1 || limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  std::vector<Value> p;
  std::string sql(kMergeSelect);
  if (customer_id) {
    p.push_back(*customer_id);
    sql += " WHERE winner_id = $1 OR loser_id = $1";
  }
  p.push_back(static_cast<int64_t>(limit));
  sql += fmt::format(" ORDER BY id DESC LIMIT ${}", p.size());
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query(sql, p));
  std::vector<MergeRecord> out;
  for (const auto& r : rows.rows) out.push_back(merge_from_row(r));
  return out;
}

}  // namespace fidelis::merging
