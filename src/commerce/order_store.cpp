// Reading orders back: one order with its lines, history, shipments and returns; lists.

#include <fmt/format.h>

#include "commerce/commerce.h"

namespace fidelis::commerce {

using storage::Value;

namespace {

constexpr std::string_view kOrderColumns =
    "o.id, o.number, o.customer_id, o.channel, o.currency, o.subtotal_minor, o.discount_minor, o.shipping_minor, "
    "o.total_minor, o.payment_state, o.delivery_method, o.delivery_name, o.delivery_street, o.delivery_street2, "
    "o.delivery_postcode, o.delivery_city, o.delivery_country, o.contact_email, o.status, o.notes, o.source, o.placed_at, "
    "o.created_at, o.updated_at, o.version, c.first_name";

Order order_from_row(const storage::Row& r) {
  Order o;
  o.id = r.i64(0);
  o.number = r.str(1);
  o.customer_id = r.i64(2);
  // Stored values were validated on the way in.
  o.channel = parse_channel(r.str(3), "channel").value_or(SalesChannel::kWeb);
  o.currency = r.str(4);
  o.subtotal_minor = r.i64(5);
  o.discount_minor = r.i64(6);
  o.shipping_minor = r.i64(7);
  o.total_minor = r.i64(8);
  o.payment_state = parse_payment_state(r.str(9), "payment_state").value_or(PaymentState::kPending);
  o.delivery_method = parse_delivery_method(r.str(10), "delivery_method").value_or(DeliveryMethod::kHome);
  o.address = {r.opt_str(11), r.opt_str(12), r.opt_str(13), r.opt_str(14), r.opt_str(15), r.opt_str(16)};
  o.contact_email = r.opt_str(17);
  o.status = parse_status(r.str(18), "status").value_or(OrderStatus::kPlaced);
  o.notes = r.opt_str(19);
  o.source = r.str(20);
  o.placed_at = r.i64(21);
  o.created_at = r.i64(22);
  o.updated_at = r.i64(23);
  o.version = r.i64(24);
  o.customer_first_name = r.opt_str(25);
  return o;
}

// Fills lines, history, shipments and returns of the orders in `orders` (ids ascending or not).
template <typename Query>
Status load_children(Query&& query, std::vector<Order>& orders) {
  if (orders.empty()) return ok();
  std::vector<int64_t> order_ids;
  for (const auto& o : orders) order_ids.push_back(o.id);
  std::vector<Value> p;
  std::string ids = storage::append_in_list(p, order_ids);
  auto find = [&](int64_t id) -> Order* {
    for (auto& o : orders)
      if (o.id == id) return &o;
    return nullptr;
  };
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows lines,
                           query(fmt::format("SELECT order_id, id, position, sku, name, product_id, quantity, unit_price_minor, "
                                             "discount_minor, returned_quantity FROM order_lines WHERE order_id IN ({}) "
                                             "ORDER BY order_id, position",
                                             ids),
                                 p));
  for (const auto& r : lines.rows)
    if (Order* o = find(r.i64(0)))
      o->lines.push_back({r.i64(1), static_cast<int>(r.i64(2)), r.str(3), r.str(4), r.opt_i64(5), r.i64(6), r.i64(7), r.i64(8),
                          r.i64(9)});
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows hist,
      query(fmt::format("SELECT order_id, status, at FROM order_status_history WHERE order_id IN ({}) ORDER BY order_id, id", ids), p));
  for (const auto& r : hist.rows)
    if (Order* o = find(r.i64(0))) o->history.push_back({parse_status(r.str(1), "status").value_or(OrderStatus::kPlaced), r.i64(2)});
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows ships,
                           query(fmt::format("SELECT order_id, id, carrier, tracking_number, tracking_url, shipped_at FROM shipments "
                                             "WHERE order_id IN ({}) ORDER BY order_id, id",
                                             ids),
                                 p));
  for (const auto& r : ships.rows)
    if (Order* o = find(r.i64(0))) o->shipments.push_back({r.i64(1), r.i64(0), r.str(2), r.str(3), r.opt_str(4), r.i64(5)});
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rets,
                           query(fmt::format("SELECT r.order_id, r.line_id, l.sku, r.quantity, r.reason, r.at FROM order_returns r "
                                             "JOIN order_lines l ON l.id = r.line_id WHERE r.order_id IN ({}) ORDER BY r.order_id, r.id",
                                             ids),
                                 p));
  for (const auto& r : rets.rows)
    if (Order* o = find(r.i64(0))) o->returns.push_back({r.i64(1), r.str(2), r.i64(3), r.str(4), r.i64(5)});
  return ok();
}

}  // namespace

Result<Order> load_order(storage::Tx& tx, int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one(fmt::format("SELECT {} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1", kOrderColumns), p));
  if (!row) return Error::not_found("id", fmt::format("no order {}", id));
  std::vector<Order> one = {order_from_row(*row)};
  FIDELIS_RETURN_IF_ERROR(load_children([&](std::string_view sql, std::span<const Value> ps) { return tx.query(sql, ps); }, one));
  return std::move(one[0]);
}

Result<Order> OrderService::get(int64_t id) {
  Order out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(out, load_order(tx, id));
    return ok();
  }));
  return out;
}

Result<std::optional<Order>> OrderService::find_by_number(std::string_view number) {
  Value p[] = {std::string(number)};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, db_.one("SELECT id FROM orders WHERE number = $1", p));
  if (!row) return std::optional<Order>();
  FIDELIS_ASSIGN_OR_RETURN(Order o, get(row->i64(0)));
  return std::optional<Order>(std::move(o));
}

Result<OrderPage> OrderService::list(const OrderQuery& q) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  std::vector<Value> params;
  auto param = [&](Value v) {
    params.push_back(std::move(v));
    return fmt::format("${}", params.size());
  };
  std::string sql = fmt::format("SELECT {} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE 1 = 1", kOrderColumns);
  if (q.customer_id) sql += " AND o.customer_id = " + param(*q.customer_id);
  if (q.status) sql += " AND o.status = " + param(std::string(status_name(*q.status)));
  if (q.since) sql += " AND o.placed_at >= " + param(*q.since);
  if (q.until) sql += " AND o.placed_at < " + param(*q.until);
  if (q.after_id) sql += " AND o.id > " + param(*q.after_id);
  sql += " ORDER BY o.id LIMIT " + param(int64_t{q.limit + 1});
  OrderPage page;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(sql, params));
    for (const auto& r : rows.rows) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.next_after_id = page.items.back().id;
        break;
      }
      page.items.push_back(order_from_row(r));
    }
    return load_children([&](std::string_view s, std::span<const Value> ps) { return tx.query(s, ps); }, page.items);
  }));
  return page;
}

}  // namespace fidelis::commerce
