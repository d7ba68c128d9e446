// The review queue: pairs scored between the thresholds, shown side by side, accepted or rejected.

#include <fmt/format.h>

#include <tuple>

#include <nlohmann/json.hpp>

#include "merging/merging_internal.h"

namespace fidelis::merging {

using storage::Value;
using Json = nlohmann::json;

namespace {

Json comparison_json(const dedup::Comparison& c, const dedup::Model& model) {
  auto weights = model.field_weights(c);
  Json out = Json::array();
  for (size_t i = 0; i < dedup::kFieldCount; ++i) {
    auto f = static_cast<dedup::Field>(i);
    out.push_back({{"field", dedup::field_name(f)},
                   {"level", c.level[i] == dedup::kMissing ? std::string("missing") : std::string(dedup::level_name(f, c.level[i]))},
                   {"similarity", c.similarity[i]},
                   {"weight", weights[i]}});
  }
  return out;
}

std::string field_value(const dedup::Record& r, dedup::Field f) {
  switch (f) {
    case dedup::Field::kFirstName: return r.first_name;
    case dedup::Field::kLastName: return r.last_name;
    case dedup::Field::kEmail: return r.email;
    case dedup::Field::kPhone: return r.phone_e164;
    case dedup::Field::kBirthDate: return r.birth_date;
    case dedup::Field::kPostcode: return r.postcode;
    case dedup::Field::kStreet: return r.street;
    case dedup::Field::kCity: return r.city;
  }
  return "";
}

constexpr std::string_view kReviewSelect =
    "SELECT r.id, r.customer_a, r.customer_b, r.score, r.status, r.origin, r.created_at, r.decided_at, r.decided_by, "
    "r.merge_id, (SELECT COUNT(*) FROM customers c WHERE c.id IN (r.customer_a, r.customer_b) AND c.deleted_at IS NULL) "
    "FROM merge_reviews r";

// The row, with both profiles as they are now and the comparison recomputed on them.
Result<Review> review_from_row(storage::Tx& tx, const storage::Row& row, const dedup::Model& model) {
  Review r;
  r.id = row.i64(0);
  r.customer_a = row.i64(1);
  r.customer_b = row.i64(2);
  r.score = row.f64(3);
  r.status = row.str(4);
  r.origin = row.str(5);
  r.created_at = row.i64(6);
  if (!row.is_null(7)) r.decided_at = row.i64(7);
  r.decided_by = row.opt_str(8);
  r.merge_id = row.opt_i64(9);
  if (r.status == "pending" && row.i64(10) < 2) r.status = "obsolete";
  int64_t ids[] = {r.customer_a, r.customer_b};
  FIDELIS_ASSIGN_OR_RETURN(std::vector<customers::Customer> both, customers::load_customers_for_export(tx, ids));
  // A side that was deleted or merged since shows no profile: deleted customers are for admins.
  if (both.size() == 2 && !both[0].deleted_at && !both[1].deleted_at) {
    r.a_document = customers::render_document(both[0]);
    r.b_document = customers::render_document(both[1]);
    dedup::Record ra = record_of(both[0]), rb = record_of(both[1]);
    // An e-mail a record was given but left to the other side, who had it first (an import row,
    // flagged), is the evidence that queued the pair: it is compared and shown.
    for (auto [self, other, rec] : {std::tuple{r.customer_a, r.customer_b, &ra}, std::tuple{r.customer_b, r.customer_a, &rb}}) {
      if (!rec->email.empty()) continue;
      Value f[] = {self, customers::already_used_reason(other)};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> withheld,
                               tx.one("SELECT value FROM customer_flags WHERE customer_id = $1 AND field = 'email' AND "
                                      "reason = $2 ORDER BY at DESC LIMIT 1",
                                      f));
      if (withheld) rec->email = withheld->str(0);
    }
    dedup::Comparison c = dedup::compare(ra, rb);
    r.current_score = model.score(c);
    auto weights = model.field_weights(c);
    for (size_t i = 0; i < dedup::kFieldCount; ++i) {
      auto f = static_cast<dedup::Field>(i);
      FieldSideBySide s;
      s.field = std::string(dedup::field_name(f));
      s.a = field_value(ra, f);
      s.b = field_value(rb, f);
      s.level = c.level[i] == dedup::kMissing ? "missing" : std::string(dedup::level_name(f, c.level[i]));
      s.similarity = c.similarity[i];
      s.weight = weights[i];
      r.fields.push_back(std::move(s));
    }
  }
  return r;
}

}  // namespace

Result<bool> queue_review_in(storage::Tx& tx, int64_t a, int64_t b, const Candidate& c, const dedup::Model& model,
                             std::string_view origin, Millis now) {
  if (a == b) return false;
  Value p[] = {std::min(a, b), std::max(a, b), c.score, comparison_json(c.comparison, model).dump(), std::string(origin), now};
  FIDELIS_ASSIGN_OR_RETURN(
      int64_t n, tx.exec("INSERT INTO merge_reviews (customer_a, customer_b, score, comparison, origin, status, created_at) "
                         "VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (customer_a, customer_b) DO UPDATE SET "
                         "status = 'pending', score = excluded.score, comparison = excluded.comparison, "
                         "origin = excluded.origin, created_at = excluded.created_at, decided_at = NULL, "
                         "decided_by = NULL WHERE merge_reviews.status = 'obsolete'",
                         p));
  return n > 0;
}

Result<ReviewPage> MergeService::reviews(const ReviewQuery& q) {
  if (q.limit < 1 || q.limit > 200) return Error::invalid_argument("limit", "must be between 1 and 200");
  static const std::string_view statuses[] = {"pending", "accepted", "rejected", "obsolete", "all"};
  if (std::find(std::begin(statuses), std::end(statuses), q.status) == std::end(statuses))
    return Error::invalid_argument("status", "must be pending, accepted, rejected, obsolete or all");
  std::vector<Value> p;
  std::string where = " WHERE 1 = 1";
  const std::string live =
      "(SELECT COUNT(*) FROM customers c WHERE c.id IN (r.customer_a, r.customer_b) AND c.deleted_at IS NULL)";
  if (q.status == "pending") where += " AND r.status = 'pending' AND " + live + " = 2";
  else if (q.status == "obsolete") where += " AND (r.status = 'obsolete' OR (r.status = 'pending' AND " + live + " < 2))";
  else if (q.status != "all") {
    p.push_back(q.status);
    where += fmt::format(" AND r.status = ${}", p.size());
  }
  if (q.customer_id) {
    p.push_back(*q.customer_id);
    where += fmt::format(" AND (r.customer_a = ${0} OR r.customer_b = ${0})", p.size());
  }
  if (q.after_id) {
    p.push_back(*q.after_id);
    where += fmt::format(" AND r.id > ${}", p.size());
  }
  p.push_back(static_cast<int64_t>(q.limit + 1));
  std::string sql = fmt::format("{}{} ORDER BY r.id LIMIT ${}", kReviewSelect, where, p.size());
  ReviewPage page;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(sql, p));
    for (size_t i = 0; i < rows.rows.size() && static_cast<int>(i) < q.limit; ++i) {
      FIDELIS_ASSIGN_OR_RETURN(Review r, review_from_row(tx, rows.rows[i], model_));
      page.items.push_back(std::move(r));
    }
    if (static_cast<int>(rows.rows.size()) > q.limit) page.next_after_id = page.items.back().id;
    return ok();
  }));
  return page;
}

Result<Review> MergeService::review(int64_t id) {
  Review out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    Value p[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(std::string(kReviewSelect) + " WHERE r.id = $1", p));
    if (rows.rows.empty()) return Error::not_found("id", fmt::format("no review {}", id));
    FIDELIS_ASSIGN_OR_RETURN(out, review_from_row(tx, rows.rows[0], model_));
    return ok();
  }));
  return out;
}

Result<MergeRecord> MergeService::accept(int64_t review_id, std::optional<int64_t> winner, const audit::Actor& actor) {
  Millis now = clock_.now();
  MergeRecord m;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {review_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT customer_a, customer_b, score, status FROM merge_reviews WHERE id = $1", p));
    if (!row) return Error::not_found("id", fmt::format("no review {}", review_id));
    if (row->str(3) == "obsolete") {
      // Which side is gone, and where: a person can then look at the customer it is now.
      for (int64_t side : {row->i64(0), row->i64(1)}) {
        FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> live, customers::survivor(tx, side));
        if (live && *live == side) continue;
        FIDELIS_ASSIGN_OR_RETURN(std::string why, why_gone(tx, side));
        return Error::conflict(fmt::format("review {} is obsolete: {}", review_id, why));
      }
    }
    if (row->str(3) != "pending")
      return Error::conflict(fmt::format("review {} is {}, not pending", review_id, row->str(3)));
    MergeRequest req{row->i64(0), row->i64(1), winner, "review", fmt::format("review:{}", review_id), row->f64(2)};
    auto merged = merge_in(tx, req, options_.rules, actor, now);
    if (!merged) {
      // A side that is gone makes the pair obsolete, not a bad request.
      if (merged.error().code == Code::kNotFound)
        return Error::conflict(fmt::format("review {} is obsolete: {}", review_id, merged.error().message));
      return merged.error();
    }
    m = std::move(*merged);
    Value up[] = {review_id, now, m.actor, m.id};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "UPDATE merge_reviews SET status = 'accepted', decided_at = $2, decided_by = $3, merge_id = $4 WHERE id = $1", up));
    return ok();
  }));
  return m;
}

Result<Review> MergeService::reject(int64_t review_id, const audit::Actor& actor) {
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {review_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT status FROM merge_reviews WHERE id = $1", p));
    if (!row) return Error::not_found("id", fmt::format("no review {}", review_id));
    if (row->str(0) != "pending")
      return Error::conflict(fmt::format("review {} is {}, not pending", review_id, row->str(0)));
    std::string who = actor.name.empty() ? actor.type : actor.type + ":" + actor.name;
    Value up[] = {review_id, now, who};
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("UPDATE merge_reviews SET status = 'rejected', decided_at = $2, decided_by = $3 WHERE id = $1", up));
    return audit::record(tx, actor,
                         {"merge_review.reject", "merge_review", std::to_string(review_id), std::nullopt,
                          R"({"status":"rejected"})"},
                         now);
  }));
  return review(review_id);
}

}  // namespace fidelis::merging
