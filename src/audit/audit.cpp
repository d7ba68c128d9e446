#include "audit/audit.h"

#include <algorithm>

namespace fidelis::audit {

using storage::Value;

Status record(storage::Tx& tx, const Actor& actor, const Change& change, Millis at) {
  Value p[] = {at,
               actor.type,
               storage::opt(actor.id),
               actor.name,
               change.action,
               change.entity,
               change.entity_id,
               storage::opt(change.before),
               storage::opt(change.after),
               actor.request_id,
               actor.ip};
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, entity, entity_id, before_json, "
      "after_json, request_id, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
      p));
  return ok();
}

Result<Page> list(storage::Db& db, const Query& q) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  std::string sql =
      "SELECT id, at, actor_type, actor_id, actor_name, action, entity, entity_id, before_json, after_json, "
      "request_id, ip FROM audit_log WHERE 1 = 1";
  std::vector<Value> params;
  if (q.entity) {
    params.emplace_back(*q.entity);
    sql += " AND entity = $" + std::to_string(params.size());
  }
  if (q.entity_id) {
    params.emplace_back(*q.entity_id);
    sql += " AND entity_id = $" + std::to_string(params.size());
  }
  if (q.before_id) {
    params.emplace_back(*q.before_id);
    sql += " AND id < $" + std::to_string(params.size());
  }
  params.emplace_back(static_cast<int64_t>(q.limit + 1));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db.query(sql, params));
  Page out;
  for (const auto& r : rows.rows) {
    if (static_cast<int>(out.items.size()) == q.limit) {
      out.next_before_id = out.items.back().id;
      break;
    }
    Entry e;
    e.id = r.i64(0);
    e.at = r.i64(1);
    e.actor = Actor{r.str(2), r.opt_i64(3), r.str(4), r.str(11), r.str(10)};
    e.change = Change{r.str(5), r.str(6), r.str(7), r.opt_str(8), r.opt_str(9)};
    out.items.push_back(std::move(e));
  }
  return out;
}

Status emit(storage::Tx& tx, const Event& event, Millis at) {
  Value p[] = {at, event.type, storage::opt(event.customer_id), event.entity_id, event.payload};
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "INSERT INTO outbox_events (at, type, customer_id, entity_id, payload) VALUES ($1, $2, $3, $4, $5)", p));
  return ok();
}

}  // namespace fidelis::audit
