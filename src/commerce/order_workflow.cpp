// The order's life after it is placed: status transitions, returns line by line, shipments.
// Each change runs in one transaction with its history row, audit entry, outbox event and hook.

#include <fmt/format.h>

#include <map>

#include "commerce/commerce.h"
#include "commerce/commerce_internal.h"
#include "commerce/slots_internal.h"
#include "core/text.h"

namespace fidelis::commerce {

using storage::Value;
using internal::state_conflict;

namespace {

constexpr Millis kClockSkew = 5 * 60'000;  // a time "now" from another machine may be a little ahead

// Why `from` -> `to` is not allowed, or nullopt when it is.
std::optional<std::string> forbidden(OrderStatus from, OrderStatus to) {
  auto name = [](OrderStatus s) { return std::string(status_name(s)); };
  if (from == to) return "the order is already " + name(to);
  if (to == OrderStatus::kReturned) return "an order becomes returned when its lines are returned: use POST .../returns";
  if (to == OrderStatus::kPlaced) return "an order cannot go back to placed";
  switch (from) {
    case OrderStatus::kPlaced:
      if (to == OrderStatus::kConfirmed || to == OrderStatus::kCancelled) return std::nullopt;
      return "a placed order must be confirmed before it is " + name(to);
    case OrderStatus::kConfirmed:
      if (to == OrderStatus::kShipped || to == OrderStatus::kCancelled) return std::nullopt;
      return "a confirmed order must be shipped before it is " + name(to);
    case OrderStatus::kShipped:
      if (to == OrderStatus::kDelivered) return std::nullopt;
      if (to == OrderStatus::kCancelled) return "a shipped order cannot be cancelled; record a return instead";
      return "a shipped order can only become delivered";
    case OrderStatus::kDelivered: return "a delivered order can only be returned, line by line";
    case OrderStatus::kCancelled: return "a cancelled order is final";
    case OrderStatus::kReturned: return "a returned order is final";
  }
  return "unknown status";
}

Status check_at(const Order& o, Millis at, Millis now, std::string_view field) {
  if (at > now + kClockSkew) return Error::invalid_argument(std::string(field), "is in the future");
  if (!o.history.empty() && at < o.history.back().at)
    return Error::invalid_argument(std::string(field), "is before the order's previous status change");
  return ok();
}

// Sets the status, bumps the version and appends the history row.
Status set_status(storage::Tx& tx, const Order& o, OrderStatus to, Millis at, Millis now) {
  Value p[] = {o.id, std::string(status_name(to)), now, o.version};
  FIDELIS_ASSIGN_OR_RETURN(int64_t n, tx.exec("UPDATE orders SET status = $2, updated_at = $3, version = version + 1 "
                                               "WHERE id = $1 AND version = $4",
                                               p));
  if (n != 1) return Error::conflict("the order changed at the same time; retry");
  Value hp[] = {o.id, o.customer_id, std::string(status_name(to)), at, now};
  FIDELIS_RETURN_IF_ERROR(
      tx.exec("INSERT INTO order_status_history (order_id, customer_id, status, at, recorded_at) VALUES ($1, $2, $3, $4, $5)", hp));
  return ok();
}

Status bump_version(storage::Tx& tx, const Order& o, Millis now) {
  Value p[] = {o.id, now, o.version};
  FIDELIS_ASSIGN_OR_RETURN(int64_t n,
                           tx.exec("UPDATE orders SET updated_at = $2, version = version + 1 WHERE id = $1 AND version = $3", p));
  if (n != 1) return Error::conflict("the order changed at the same time; retry");
  return ok();
}

std::string event_payload(const Order& o, OrderStatus status, Millis at) {
  return fmt::format(R"({{"id":{},"number":{},"status":"{}","at":{}}})", o.id, internal::json_quoted(o.number), status_name(status),
                     at);
}

}  // namespace

Status OrderService::emit_transition(storage::Tx& tx, const Order& o, std::string_view event, Millis now) {
  FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {std::string(event), o.customer_id, std::to_string(o.id),
                                           event_payload(o, o.status, o.history.empty() ? now : o.history.back().at)},
                                      now));
  if (events_.on_transition && (event == "order.confirmed" || event == "order.shipped"))
    return events_.on_transition(tx, o, event, now);
  return ok();
}

Result<Order> OrderService::transition(int64_t id, OrderStatus to, std::optional<Millis> at_in, const audit::Actor& actor) {
  Millis now = clock_.now();
  Order out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(Order o, load_order(tx, id));
    if (auto why = forbidden(o.status, to))
      return state_conflict("status", fmt::format("cannot go from {} to {}: {}", status_name(o.status), status_name(to), *why));
    Millis at = at_in.value_or(now);
    FIDELIS_RETURN_IF_ERROR(check_at(o, at, now, "at"));
    FIDELIS_RETURN_IF_ERROR(set_status(tx, o, to, at, now));
    Value bp[] = {id, at};
    if (to == OrderStatus::kDelivered) {
      // The delivery promise: late when delivered after the booked slot's end.
      FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE slot_bookings SET delivered_at = $2, late = CASE WHEN $2 > slot_ends_at THEN 1 ELSE 0 END "
                                      "WHERE order_id = $1",
                                      bp));
    }
    if (to == OrderStatus::kCancelled) {
      // A cancelled order gives its delivery slot back.
      FIDELIS_RETURN_IF_ERROR(internal::release_slot_in(tx, id));
    }
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor,
                                          {"order.transition", "order", std::to_string(id),
                                           fmt::format(R"({{"status":"{}","version":{}}})", status_name(o.status), o.version),
                                           fmt::format(R"({{"status":"{}","version":{}}})", status_name(to), o.version + 1)},
                                          now));
    FIDELIS_ASSIGN_OR_RETURN(out, load_order(tx, id));
    return emit_transition(tx, out, fmt::format("order.{}", status_name(to)), now);
  });
  if (!s) return s.error();
  return out;
}

Result<Order> OrderService::add_returns(int64_t id, const std::vector<ReturnInput>& lines, const audit::Actor& actor) {
  if (lines.empty()) return Error::invalid_argument("lines", "give at least one returned line");
  if (lines.size() > 500) return Error::invalid_argument("lines", "at most 500 returned lines at once");
  Millis now = clock_.now();
  Order out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(Order o, load_order(tx, id));
    if (o.status != OrderStatus::kShipped && o.status != OrderStatus::kDelivered)
      return state_conflict("status", fmt::format("only a shipped or delivered order takes returns; this one is {}",
                                                  status_name(o.status)));
    std::map<int64_t, int64_t> returned;  // line id -> quantity returned now
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& r = lines[i];
      std::string f = fmt::format("lines[{}]", i);
      const OrderLine* line = nullptr;
      if (r.line_id) {
        for (const auto& l : o.lines)
          if (l.id == *r.line_id) line = &l;
        if (!line) return Error::invalid_argument(f + ".line_id", "is not a line of this order");
      } else if (r.sku) {
        // The first line with this SKU that still has something to return.
        for (const auto& l : o.lines)
          if (l.sku == *r.sku && !line && l.returned_quantity + returned[l.id] < l.quantity) line = &l;
        if (!line) {
          for (const auto& l : o.lines)
            if (l.sku == *r.sku) line = &l;
        }
        if (!line) return Error::invalid_argument(f + ".sku", "no line of this order has this SKU");
      } else {
        return Error::invalid_argument(f, "give line_id or sku");
      }
      std::string reason(text::trim(r.reason));
      if (reason.empty() || reason.size() > 500 || !text::is_valid_utf8(reason))
        return Error::invalid_argument(f + ".reason", "must be 1 to 500 characters");
      int64_t left = line->quantity - line->returned_quantity - returned[line->id];
      if (r.quantity < 1) return Error::invalid_argument(f + ".quantity", "must be at least 1");
      if (r.quantity > left)
        return Error::invalid_argument(f + ".quantity", fmt::format("only {} left to return on this line", left));
      returned[line->id] += r.quantity;
      Value p[] = {o.id, o.customer_id, line->id, r.quantity, reason, now};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO order_returns (order_id, customer_id, line_id, quantity, reason, at) VALUES ($1, $2, $3, $4, $5, $6)", p));
      Value up[] = {line->id, r.quantity};
      FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE order_lines SET returned_quantity = returned_quantity + $2 WHERE id = $1", up));
    }
    bool all = true;
    for (const auto& l : o.lines)
      if (l.returned_quantity + returned[l.id] < l.quantity) all = false;
    if (all) FIDELIS_RETURN_IF_ERROR(set_status(tx, o, OrderStatus::kReturned, now, now));
    else FIDELIS_RETURN_IF_ERROR(bump_version(tx, o, now));
    std::string items;
    for (const auto& [line_id, q] : returned) items += fmt::format("{}{{\"line_id\":{},\"quantity\":{}}}", items.empty() ? "" : ",", line_id, q);
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor,
                                          {"order.return", "order", std::to_string(id), fmt::format(R"({{"version":{}}})", o.version),
                                           fmt::format(R"({{"version":{},"lines":[{}]}})", o.version + 1, items)},
                                          now));
    FIDELIS_ASSIGN_OR_RETURN(out, load_order(tx, id));
    FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"order.lines_returned", o.customer_id, std::to_string(id),
                                             fmt::format(R"({{"id":{},"lines":[{}]}})", id, items)},
                                        now));
    if (all) return emit_transition(tx, out, "order.returned", now);
    return ok();
  });
  if (!s) return s.error();
  return out;
}

Result<Order> OrderService::set_payment_state(int64_t id, PaymentState to, const audit::Actor& actor) {
  using P = PaymentState;
  auto allowed = [](P from, P to) {
    switch (from) {
      case P::kPending: return to == P::kPaid || to == P::kFailed;
      case P::kFailed: return to == P::kPending || to == P::kPaid;
      case P::kPaid: return to == P::kRefunded || to == P::kPartiallyRefunded;
      case P::kPartiallyRefunded: return to == P::kPartiallyRefunded || to == P::kRefunded;
      case P::kRefunded: return false;
    }
    return false;
  };
  Millis now = clock_.now();
  Order out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(Order o, load_order(tx, id));
    if (!allowed(o.payment_state, to))
      return state_conflict("payment_state", fmt::format("a payment cannot go from {} to {}", payment_state_name(o.payment_state),
                                                         payment_state_name(to)));
    Value p[] = {o.id, std::string(payment_state_name(to)), now, o.version};
    FIDELIS_ASSIGN_OR_RETURN(int64_t n, tx.exec("UPDATE orders SET payment_state = $2, updated_at = $3, version = version + 1 "
                                                "WHERE id = $1 AND version = $4",
                                                p));
    if (n != 1) return Error::conflict("the order changed at the same time; retry");
    std::string before = fmt::format(R"({{"payment_state":"{}"}})", payment_state_name(o.payment_state));
    std::string after = fmt::format(R"({{"payment_state":"{}"}})", payment_state_name(to));
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor, {"order.payment", "order", std::to_string(id), before, after}, now));
    FIDELIS_RETURN_IF_ERROR(audit::emit(
        tx, {"order.payment", o.customer_id, std::to_string(id),
             fmt::format(R"({{"id":{},"payment_state":"{}"}})", o.id, payment_state_name(to))},
        now));
    FIDELIS_ASSIGN_OR_RETURN(out, load_order(tx, id));
    return ok();
  });
  if (!s) return s.error();
  return out;
}

Result<Order> OrderService::add_shipment(int64_t id, ShipmentInput in, const audit::Actor& actor) {
  in.carrier = std::string(text::trim(in.carrier));
  in.tracking_number = std::string(text::trim(in.tracking_number));
  if (in.carrier.empty() || in.carrier.size() > 100 || !text::is_valid_utf8(in.carrier))
    return Error::invalid_argument("carrier", "must be 1 to 100 characters");
  if (in.tracking_number.empty() || in.tracking_number.size() > 100 || !text::is_valid_utf8(in.tracking_number))
    return Error::invalid_argument("tracking_number", "must be 1 to 100 characters");
  if (in.tracking_url) {
    std::string u(text::trim(*in.tracking_url));
    if (!(u.starts_with("https://") || u.starts_with("http://")) || u.size() > 2000 ||
        u.find_first_of(" \t\r\n\"<>") != std::string::npos)
      return Error::invalid_argument("tracking_url", "expected an http(s):// URL of at most 2000 characters");
    in.tracking_url = u;
  }
  Millis now = clock_.now();
  Order out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(Order o, load_order(tx, id));
    if (o.status != OrderStatus::kConfirmed && o.status != OrderStatus::kShipped)
      return state_conflict("status", fmt::format("only a confirmed or shipped order takes shipments; this one is {}",
                                                  status_name(o.status)));
    Millis at = in.shipped_at.value_or(now);
    FIDELIS_RETURN_IF_ERROR(check_at(o, at, now, "shipped_at"));
    Value p[] = {o.id, o.customer_id, in.carrier, in.tracking_number, storage::opt(in.tracking_url), at, now};
    FIDELIS_ASSIGN_OR_RETURN(int64_t shipment_id,
                             tx.insert_id("INSERT INTO shipments (order_id, customer_id, carrier, tracking_number, "
                                          "tracking_url, shipped_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                          p));
    if (o.status == OrderStatus::kConfirmed) FIDELIS_RETURN_IF_ERROR(set_status(tx, o, OrderStatus::kShipped, at, now));
    else FIDELIS_RETURN_IF_ERROR(bump_version(tx, o, now));
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor,
                                          {"order.shipment", "order", std::to_string(id), fmt::format(R"({{"version":{}}})", o.version),
                                           fmt::format(R"({{"version":{},"shipment_id":{}}})", o.version + 1, shipment_id)},
                                          now));
    FIDELIS_ASSIGN_OR_RETURN(out, load_order(tx, id));
    // Every parcel is news for the customer: the hook hears "order.shipped" for each shipment (the
    // new one is the last of out.shipments).
    return emit_transition(tx, out, "order.shipped", now);
  });
  if (!s) return s.error();
  return out;
}

}  // namespace fidelis::commerce
