// Candidate duplicates of one record, found through the database's indexes and scored.

#include <fmt/format.h>

#include <algorithm>

#include "core/email.h"
#include "core/text.h"
#include "merging/merging_internal.h"

namespace fidelis::merging {

using storage::Value;

namespace {

// Each block is capped on its own, so one crowded name cannot hide an e-mail or phone match.
const std::string& candidates_sql() {
  static const std::string sql = fmt::format(
      "SELECT {} FROM customers c WHERE c.deleted_at IS NULL AND c.id <> $9 AND c.id IN ("
      // the same e-mail; the same phone
      "SELECT customer_id FROM (SELECT customer_id FROM customer_emails WHERE email_key IN ($1, $10) LIMIT 50) k1 "
      // the same mailbox written otherwise (jean.dupont+promo@gmail.com, jeandupont@gmail.com)
      "UNION SELECT customer_id FROM (SELECT customer_id FROM customer_emails WHERE mailbox_key = $1 LIMIT 50) k0 "
      "UNION SELECT customer_id FROM (SELECT customer_id FROM customer_phones WHERE phone_key = $2 LIMIT 50) k2 "
      // the same name, either order, in the same postcode
      "UNION SELECT id FROM (SELECT id FROM customers WHERE name_key IN ($3, $4) AND postcode = $5 LIMIT 50) k3 "
      // the same birth date and the same name in the other order, or the same first name (a new surname)
      "UNION SELECT id FROM (SELECT id FROM customers WHERE birth_date = $6 AND name_key2 = $3 LIMIT 50) k4 "
      "UNION SELECT id FROM (SELECT id FROM customers WHERE birth_date = $6 AND name_key2 >= $7 AND name_key2 < $8 "
      "LIMIT 50) k5) "
      "LIMIT 200",
      kRecordColumns);
  return sql;
}

Value or_null(std::string v) { return v.empty() ? storage::null() : Value(std::move(v)); }

// $1..$8 of the blocks for record `r`, then `exclude` as $9, then the address as written as $10.
std::vector<Value> block_params(const dedup::Record& r, int64_t exclude) {
  BlockParts b = block_parts(r);
  std::string first_upper = b.first_prefix.empty() ? std::string() : text::prefix_upper_bound(b.first_prefix);
  return {or_null(std::move(b.email)),      or_null(std::move(b.phone)),      or_null(std::move(b.last_first)),
          or_null(std::move(b.first_last)), or_null(std::move(b.postcode)),   or_null(std::move(b.birth_date)),
          or_null(std::move(b.first_prefix)), or_null(std::move(first_upper)), exclude, or_null(std::move(b.address))};
}

// The same blocks as a condition on one customer row c (found some other way, e.g. in memory).
constexpr std::string_view kInSomeBlock =
    "(EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = c.id AND (e.email_key IN ($1, $10) OR "
    "e.mailbox_key = $1)) "
    "OR EXISTS (SELECT 1 FROM customer_phones ph WHERE ph.customer_id = c.id AND ph.phone_key = $2) "
    "OR (c.name_key IN ($3, $4) AND c.postcode = $5) "
    "OR (c.birth_date = $6 AND c.name_key2 = $3) "
    "OR (c.birth_date = $6 AND c.name_key2 >= $7 AND c.name_key2 < $8))";

std::vector<Candidate> score_rows(const dedup::Record& r, const storage::Rows& rows, const dedup::Model& model) {
  std::vector<Candidate> out;
  dedup::PreparedRecord self(r);
  for (const auto& row : rows.rows) {
    dedup::Record other = record_from_row(row);
    Candidate c;
    c.customer_id = other.id;
    c.comparison = dedup::compare(self, dedup::PreparedRecord(other));
    c.score = model.score(c.comparison);
    c.decision = model.decide(c.comparison, c.score);
    if (c.decision != dedup::Decision::kDistinct) out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.customer_id < b.customer_id;
  });
  return out;
}

// Two or more customers the record would merge into, among whom a person said two are two people
// (a rejected review, an undone merge): which one the record is, is a guess (they can score alike,
// one having an e-mail the record lacks), so none is merged into; each goes to review.
Status review_known_distinct(storage::Tx& tx, std::vector<Candidate>& found) {
  std::vector<int64_t> merging_into;
  for (const Candidate& c : found)
    if (c.decision == dedup::Decision::kMerge) merging_into.push_back(c.customer_id);
  if (merging_into.size() < 2) return ok();
  std::vector<Value> p;
  std::string a = storage::append_in_list(p, merging_into);
  std::string b = storage::append_in_list(p, merging_into);
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> distinct,
      tx.one(fmt::format("SELECT 1 FROM merge_reviews WHERE status = 'rejected' AND customer_a IN ({}) AND customer_b IN ({}) "
                         "LIMIT 1",
                         a, b),
             p));
  if (!distinct) return ok();
  for (Candidate& c : found)
    if (c.decision == dedup::Decision::kMerge) c.decision = dedup::Decision::kReview;
  return ok();
}

}  // namespace

BlockParts block_parts(const dedup::Record& r) {
  BlockParts b;
  std::string last = text::search_key(r.last_name), first = text::search_key(r.first_name);
  // The mailbox: an address stored as itself (email_key) or as a variant of it (mailbox_key).
  b.address = text::to_lower(text::trim(r.email));
  b.email = mailbox_key(r.email);
  if (b.email.empty()) b.email = b.address;
  b.phone = r.phone_e164.starts_with('+') ? r.phone_e164.substr(1) : r.phone_e164;
  if (!last.empty() || !first.empty()) {
    b.last_first = text::search_key(r.last_name + " " + r.first_name);
    b.first_last = text::search_key(r.first_name + " " + r.last_name);
    if (b.first_last == b.last_first) b.first_last.clear();
  }
  // name_key2 is "first last": the same first name is the prefix "first ".
  if (!first.empty() && !last.empty()) b.first_prefix = first + " ";
  b.postcode = r.postcode;
  b.birth_date = r.birth_date;
  return b;
}

Result<std::vector<Candidate>> find_candidates(storage::Tx& tx, const dedup::Record& r, const dedup::Model& model,
                                               int64_t exclude) {
  std::vector<Value> p = block_params(r, exclude);
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(candidates_sql(), p));
  std::vector<Candidate> found = score_rows(r, rows, model);
  FIDELIS_RETURN_IF_ERROR(review_known_distinct(tx, found));
  return found;
}

Result<std::vector<Candidate>> score_candidates(storage::Tx& tx, const dedup::Record& r, std::span<const int64_t> ids,
                                                const dedup::Model& model, int64_t exclude) {
  if (ids.empty()) return std::vector<Candidate>{};
  // The ids may be stale (keys the customer no longer has) or collisions: only those in one of the
  // record's blocks now are scored, as find_candidates would.
  std::vector<Value> p = block_params(r, exclude);
  std::string in_list =
      storage::append_in_list(p, ids.subspan(0, std::min(ids.size(), static_cast<size_t>(kMaxCandidates))));
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      tx.query(fmt::format("SELECT {} FROM customers c WHERE c.deleted_at IS NULL AND c.id <> $9 AND c.id IN ({}) AND {}",
                           kRecordColumns, in_list, kInSomeBlock),
               p));
  std::vector<Candidate> found = score_rows(r, rows, model);
  FIDELIS_RETURN_IF_ERROR(review_known_distinct(tx, found));
  return found;
}

}  // namespace fidelis::merging
