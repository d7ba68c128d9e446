// Customers as dedup records: from profiles, from inputs, and the whole base read a page at a time.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_map>

#include "merging/merging_internal.h"

namespace fidelis::merging {

namespace {

template <typename Profile>
void fill_common(dedup::Record& r, const Profile& p) {
  r.first_name = p.first_name.value_or("");
  r.last_name = p.last_name.value_or("");
  r.birth_date = p.birth_date.value_or("");
}

void fill_address(dedup::Record& r, const customers::Address& a) {
  r.street = a.street.value_or("");
  r.postcode = a.postcode.value_or("");
  r.city = a.city.value_or("");
}

// The E.164 of the first valid number that is no switchboard's (written with an extension: no
// one's own; the SQL of kRecordColumns says the same with phone_key's "x").
std::string first_own_number(const std::vector<customers::Phone>& phones) {
  for (const auto& p : phones)
    if (p.e164 && customers::phone_extension(p.raw).empty()) return *p.e164;
  return {};
}

}  // namespace

dedup::Record record_of(const customers::Customer& c) {
  dedup::Record r;
  r.id = c.id;
  fill_common(r, c);
  fill_address(r, c.address);
  if (!c.emails.empty()) r.email = c.emails.front().email;
  r.phone_e164 = first_own_number(c.phones);
  if (!c.external_ids.empty()) {
    r.source = c.external_ids.front().source;
    r.external_id = c.external_ids.front().id;
  }
  return r;
}

dedup::Record record_of(const customers::CustomerInput& in) {
  dedup::Record r;
  fill_common(r, in);
  if (in.address) fill_address(r, *in.address);
  if (in.emails && !in.emails->empty()) r.email = in.emails->front().email;
  if (in.phones) r.phone_e164 = first_own_number(*in.phones);
  if (in.external_ids && !in.external_ids->empty()) {
    r.source = in.external_ids->front().source;
    r.external_id = in.external_ids->front().id;
  }
  return r;
}

dedup::Record record_from_row(const storage::Row& r) {
  dedup::Record rec;
  rec.id = r.i64(0);
  rec.first_name = r.str(1);
  rec.last_name = r.str(2);
  rec.birth_date = r.str(3);
  rec.street = r.str(4);
  rec.postcode = r.str(5);
  rec.city = r.str(6);
  rec.email = r.str(7);
  rec.phone_e164 = r.str(8);
  return rec;
}

Result<std::vector<dedup::Record>> load_records(storage::Db& db) {
  static const std::string sql = fmt::format(
      "SELECT {}, "
      "(SELECT x.source FROM customer_external_ids x WHERE x.customer_id = c.id ORDER BY x.source, x.external_id LIMIT 1), "
      "(SELECT x.external_id FROM customer_external_ids x WHERE x.customer_id = c.id ORDER BY x.source, x.external_id LIMIT 1) "
      "FROM customers c WHERE c.deleted_at IS NULL AND c.id > $1 ORDER BY c.id LIMIT $2",
      kRecordColumns);
  std::vector<dedup::Record> out;
  int64_t after = 0;
  while (true) {
    storage::Value p[] = {after, int64_t{20'000}};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db.query(sql, p));
    if (rows.rows.empty()) break;
    for (const auto& r : rows.rows) {
      dedup::Record rec = record_from_row(r);
      rec.source = r.str(kRecordColumnCount);
      rec.external_id = r.str(kRecordColumnCount + 1);
      out.push_back(std::move(rec));
    }
    after = out.back().id;
  }
  return out;
}

Status add_flagged_pairs(storage::Db& db, const std::vector<dedup::Record>& records, const dedup::Model& model,
                         std::vector<dedup::ScoredPair>& pairs) {
  const std::string_view prefix = customers::kAlreadyUsedBy;
  storage::Value p[] = {std::string(prefix) + "%"};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db.query("SELECT f.customer_id, f.value, f.reason FROM customer_flags f JOIN customers c ON c.id = f.customer_id "
               "WHERE c.deleted_at IS NULL AND f.field = 'email' AND f.reason LIKE $1 ORDER BY f.customer_id, f.value",
               p));
  if (rows.rows.empty()) return ok();
  std::unordered_map<int64_t, uint32_t> at;
  for (uint32_t i = 0; i < records.size(); ++i) at[records[i].id] = i;
  std::set<std::pair<int64_t, int64_t>> known;
  for (const dedup::ScoredPair& sp : pairs) known.emplace(std::min(sp.a_id, sp.b_id), std::max(sp.a_id, sp.b_id));
  size_t added = 0;
  for (const auto& r : rows.rows) {
    const int64_t id = r.i64(0);
    const std::string reason = r.str(2);
    int64_t owner = 0;
    if (std::from_chars(reason.data() + prefix.size(), reason.data() + reason.size(), owner).ec != std::errc()) continue;
    // The customer who had the address may have been merged into another since: that one.
    if (!at.contains(owner)) {
      std::optional<int64_t> now_in;
      FIDELIS_RETURN_IF_ERROR(db.read([&](storage::Tx& tx) -> Status {
        FIDELIS_ASSIGN_OR_RETURN(now_in, customers::survivor(tx, owner));
        return ok();
      }));
      if (now_in) owner = *now_in;
    }
    auto self = at.find(id), other = at.find(owner);
    if (self == at.end() || other == at.end() || id == owner) continue;
    if (!known.emplace(std::min(id, owner), std::max(id, owner)).second) continue;
    dedup::Record given = records[self->second];
    given.email = r.str(1);
    const bool self_first = self->second < other->second;
    const dedup::Record& a = self_first ? given : records[other->second];
    const dedup::Record& b = self_first ? records[other->second] : given;
    dedup::ScoredPair sp;
    sp.a = std::min(self->second, other->second);
    sp.b = std::max(self->second, other->second);
    sp.a_id = a.id;
    sp.b_id = b.id;
    sp.comparison = dedup::compare(dedup::PreparedRecord(a), dedup::PreparedRecord(b));
    sp.score = model.score(sp.comparison);
    sp.decision = model.decide(sp.comparison, sp.score);
    if (sp.decision == dedup::Decision::kDistinct) continue;
    pairs.push_back(std::move(sp));
    ++added;
  }
  if (added > 0)
    std::stable_sort(pairs.begin(), pairs.end(), [](const dedup::ScoredPair& x, const dedup::ScoredPair& y) { return x.score > y.score; });
  return ok();
}

Result<std::set<std::pair<int64_t, int64_t>>> review_pairs(storage::Db& db, std::string_view status) {
  storage::Value p[] = {std::string(status)};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db.query("SELECT customer_a, customer_b FROM merge_reviews WHERE status = $1", p));
  std::set<std::pair<int64_t, int64_t>> out;
  for (const auto& r : rows.rows) out.emplace(std::min(r.i64(0), r.i64(1)), std::max(r.i64(0), r.i64(1)));
  return out;
}

size_t apply_decisions(std::vector<dedup::ScoredPair>& pairs, const std::set<std::pair<int64_t, int64_t>>& rejected) {
  auto separated = [&](int64_t x, int64_t y) { return rejected.contains({std::min(x, y), std::max(x, y)}); };
  size_t removed = std::erase_if(pairs, [&](const dedup::ScoredPair& p) { return separated(p.a_id, p.b_id); });
  if (rejected.empty()) return removed;
  std::unordered_map<int64_t, std::vector<int64_t>> partners;  // merge partners of each customer
  for (const dedup::ScoredPair& p : pairs) {
    if (p.decision != dedup::Decision::kMerge) continue;
    partners[p.a_id].push_back(p.b_id);
    partners[p.b_id].push_back(p.a_id);
  }
  // (a, b) is doubtful when b would also merge with some c that a was separated from, or a with
  // some c that b was separated from.
  auto doubtful = [&](int64_t a, int64_t b) {
    auto it = partners.find(b);
    if (it == partners.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](int64_t c) { return c != a && separated(a, c); });
  };
  for (dedup::ScoredPair& p : pairs)
    if (p.decision == dedup::Decision::kMerge && (doubtful(p.a_id, p.b_id) || doubtful(p.b_id, p.a_id)))
      p.decision = dedup::Decision::kReview;
  return removed;
}

std::array<std::string, 4> pair_csv_fields(const dedup::ScoredPair& p, std::span<const dedup::Record> records) {
  auto name = [](const dedup::Record& r) { return r.external_id.empty() ? fmt::format("id:{}", r.id) : r.external_id; };
  return {name(records[p.a]), name(records[p.b]), fmt::format("{:.2f}", p.score), std::string(dedup::decision_name(p.decision))};
}

}  // namespace fidelis::merging
