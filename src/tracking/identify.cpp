// Identify calls: which customer a user id or e-mail names, and stitching with an audit trail.

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "tracking/tracking.h"

namespace fidelis::tracking {

using storage::Value;

Result<std::optional<int64_t>> TrackingService::resolve_customer(std::string_view user_id, std::string_view external_source,
                                                                 std::string_view email) {
  std::optional<int64_t> found;
  Status st = db_.read([&](storage::Tx& tx) -> Status {
    bool digits = !user_id.empty() && user_id.size() <= 18 &&
                  std::all_of(user_id.begin(), user_id.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      Value p[] = {static_cast<int64_t>(std::stoll(std::string(user_id)))};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> r,
                               tx.one("SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL", p));
      if (r) {
        found = r->i64(0);
        return ok();
      }
    }
    if (!user_id.empty() && !external_source.empty()) {
      Value p[] = {std::string(external_source), std::string(user_id)};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> r,
          tx.one("SELECT x.customer_id FROM customer_external_ids x JOIN customers c ON c.id = x.customer_id "
                 "WHERE x.source = $1 AND x.external_id = $2 AND c.deleted_at IS NULL",
                 p));
      if (r) {
        found = r->i64(0);
        return ok();
      }
    }
    if (!text::trim(email).empty()) {
      Value p[] = {text::to_lower(text::trim(email))};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> r,
          tx.one("SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id "
                 "WHERE e.email_key = $1 AND c.deleted_at IS NULL ORDER BY e.customer_id LIMIT 1",
                 p));
      if (r) found = r->i64(0);
    }
    return ok();
  });
  if (!st) return st.error();
  return found;
}

Result<int64_t> TrackingService::identify(std::string_view visitor_id, int64_t customer_id, const audit::Actor& actor) {
  Millis now = clock_.now();
  int64_t attributed = 0;
  Status st = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(attributed, stitch(tx, visitor_id, customer_id, now));
    std::string payload = fmt::format(R"({{"visitor_id":"{}","events":{}}})", visitor_id, attributed);
    FIDELIS_RETURN_IF_ERROR(audit::record(
        tx, actor, {"visitor.stitch", "customer", std::to_string(customer_id), std::nullopt, payload}, now));
    return audit::emit(tx, {"web.visitor_stitched", customer_id, std::string(visitor_id), payload}, now);
  });
  if (!st) return st.error();
  return attributed;
}

}  // namespace fidelis::tracking
