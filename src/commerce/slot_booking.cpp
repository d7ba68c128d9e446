// Booking, moving and freeing an order's delivery slot without ever overbooking.
//
// A place is taken with `UPDATE delivery_slots SET booked = booked + 1 WHERE id = $1 AND booked <
// capacity` and checked by the affected row count. On PostgreSQL (READ COMMITTED) a concurrent
// booking of the same slot waits for the row lock and re-evaluates the condition on the new count;
// on SQLite the single writer serialises the transactions. Either way the count never passes the
// capacity, whatever the number of processes.

#include <fmt/format.h>

#include "commerce/commerce.h"
#include "commerce/commerce_internal.h"
#include "commerce/slots_internal.h"

namespace fidelis::commerce {

using storage::Value;
using internal::state_conflict;

namespace {

struct Taken {
  int64_t slot_id = 0;
  DeliverySlot slot;
};

// The order and the zone of its delivery postcode, for a booking change.
struct Target {
  Order order;
  DeliveryZone zone;
};

Result<Target> target(storage::Tx& tx, int64_t order_id) {
  FIDELIS_ASSIGN_OR_RETURN(Order o, load_order(tx, order_id));
  if (o.status == OrderStatus::kDelivered || o.status == OrderStatus::kCancelled || o.status == OrderStatus::kReturned)
    return state_conflict("status", fmt::format("a {} order needs no delivery slot", status_name(o.status)));
  if (!o.address.postcode) return Error::invalid_argument("postcode", "the order has no delivery postcode");
  FIDELIS_ASSIGN_OR_RETURN(std::optional<DeliveryZone> z, internal::zone_for_postcode(tx, *o.address.postcode));
  if (!z) return Error::invalid_argument("postcode", "no delivery zone serves the order's postcode " + *o.address.postcode);
  return Target{std::move(o), std::move(*z)};
}

// Takes one place in the zone's slot starting at `starts_at`.
Result<Taken> take_place(storage::Tx& tx, const DeliveryZone& zone, Millis starts_at, Millis now) {
  if (starts_at <= now) return Error::invalid_argument("starts_at", "this slot has already started");
  FIDELIS_ASSIGN_OR_RETURN(std::vector<DeliverySlot> slots, internal::zone_slots(tx, zone, starts_at, starts_at + 1));
  if (slots.empty() || slots[0].starts_at != starts_at)
    return Error::invalid_argument("starts_at", "no delivery slot starts at this time in zone " + zone.name);
  const DeliverySlot& s = slots[0];
  Value ins[] = {zone.id, s.starts_at, s.ends_at, int64_t{s.capacity}};
  FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO delivery_slots (zone_id, starts_at, ends_at, capacity, booked) "
                                  "VALUES ($1, $2, $3, $4, 0) ON CONFLICT (zone_id, starts_at) DO NOTHING",
                                  ins));
  Value key[] = {zone.id, s.starts_at};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           tx.one("SELECT id FROM delivery_slots WHERE zone_id = $1 AND starts_at = $2", key));
  if (!row) return Error::internal("the delivery slot row vanished");
  Value up[] = {row->i64(0)};
  FIDELIS_ASSIGN_OR_RETURN(int64_t n, tx.exec("UPDATE delivery_slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity", up));
  if (n != 1) return state_conflict("starts_at", "this delivery slot is full; choose another one");
  return Taken{row->i64(0), s};
}

Status free_place(storage::Tx& tx, int64_t slot_id) {
  Value p[] = {slot_id};
  FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE delivery_slots SET booked = booked - 1 WHERE id = $1 AND booked > 0", p));
  return ok();
}

std::string slot_json(int64_t order_id, const DeliverySlot& s) {
  return fmt::format(R"({{"order_id":{},"zone_id":{},"starts_at":{},"ends_at":{}}})", order_id, s.zone_id, s.starts_at, s.ends_at);
}

}  // namespace

namespace {

// The order's customer; NotFound ("id") as load_order says it, without loading the whole order.
Result<int64_t> order_customer(storage::Tx& tx, int64_t order_id) {
  Value p[] = {order_id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT customer_id FROM orders WHERE id = $1", p));
  if (!row) return Error::not_found("id", fmt::format("no order {}", order_id));
  return row->i64(0);
}

// The order's booking (and, when asked, the id of its slot row); NotFound ("slot") when it has none.
Result<SlotBooking> read_booking(storage::Tx& tx, int64_t order_id, int64_t* slot_id = nullptr) {
  Value p[] = {order_id};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("SELECT b.zone_id, z.name, b.slot_starts_at, b.slot_ends_at, z.utc_offset_minutes, s.capacity, s.booked, b.booked_at, "
             "b.delivered_at, b.late, b.slot_id FROM slot_bookings b JOIN delivery_zones z ON z.id = b.zone_id "
             "JOIN delivery_slots s ON s.id = b.slot_id WHERE b.order_id = $1",
             p));
  if (!row) return Error::not_found("slot", "the order has no delivery slot");
  SlotBooking b;
  b.order_id = order_id;
  b.slot = DeliverySlot{row->i64(0), row->str(1), row->i64(2), row->i64(3), static_cast<int>(row->i64(4)),
                        static_cast<int>(row->i64(5)), static_cast<int>(row->i64(6))};
  b.booked_at = row->i64(7);
  b.delivered_at = row->opt_i64(8);
  if (!row->is_null(9)) b.late = row->i64(9) != 0;
  if (slot_id != nullptr) *slot_id = row->i64(10);
  return b;
}

}  // namespace

Result<bool> internal::release_slot_in(storage::Tx& tx, int64_t order_id) {
  Value op[] = {order_id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> b, tx.one("SELECT slot_id FROM slot_bookings WHERE order_id = $1", op));
  if (!b) return false;
  FIDELIS_RETURN_IF_ERROR(free_place(tx, b->i64(0)));
  FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM slot_bookings WHERE order_id = $1", op));
  return true;
}

Result<std::optional<SlotBooking>> load_booking(storage::Tx& tx, int64_t order_id) {
  auto b = read_booking(tx, order_id);
  if (!b && b.error().code == Code::kNotFound) return std::optional<SlotBooking>();
  if (!b) return b.error();
  return std::optional<SlotBooking>(std::move(*b));
}

Result<SlotBooking> SlotService::book(int64_t order_id, Millis starts_at, const audit::Actor& actor) {
  Millis now = clock_.now();
  SlotBooking out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(Target t, target(tx, order_id));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<SlotBooking> existing, load_booking(tx, order_id));
    if (existing) return Error::already_exists("order", "the order already has a delivery slot; reschedule it instead");
    FIDELIS_ASSIGN_OR_RETURN(Taken taken, take_place(tx, t.zone, starts_at, now));
    Value p[] = {order_id, t.order.customer_id, taken.slot_id, t.zone.id, taken.slot.starts_at, taken.slot.ends_at, now};
    FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO slot_bookings (order_id, customer_id, slot_id, zone_id, slot_starts_at, "
                                    "slot_ends_at, booked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                    p));
    FIDELIS_RETURN_IF_ERROR(audit::record(
        tx, actor, {"delivery_slot.book", "order", std::to_string(order_id), std::nullopt, slot_json(order_id, taken.slot)}, now));
    FIDELIS_RETURN_IF_ERROR(audit::emit(
        tx, {"order.slot_booked", t.order.customer_id, std::to_string(order_id), slot_json(order_id, taken.slot)}, now));
    FIDELIS_ASSIGN_OR_RETURN(out, read_booking(tx, order_id));
    return ok();
  });
  if (!s) return s.error();
  return out;
}

Result<SlotBooking> SlotService::reschedule(int64_t order_id, Millis starts_at, const audit::Actor& actor) {
  Millis now = clock_.now();
  SlotBooking out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(Target t, target(tx, order_id));
    int64_t old_slot = 0;
    FIDELIS_ASSIGN_OR_RETURN(SlotBooking old, read_booking(tx, order_id, &old_slot));
    if (old.slot.starts_at == starts_at && old.slot.zone_id == t.zone.id) {
      out = std::move(old);
      return ok();
    }
    // The new place first: if it is full, the old booking stays as it was (the transaction rolls back).
    FIDELIS_ASSIGN_OR_RETURN(Taken taken, take_place(tx, t.zone, starts_at, now));
    FIDELIS_RETURN_IF_ERROR(free_place(tx, old_slot));
    Value p[] = {order_id, taken.slot_id, t.zone.id, taken.slot.starts_at, taken.slot.ends_at, now};
    FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE slot_bookings SET slot_id = $2, zone_id = $3, slot_starts_at = $4, slot_ends_at = $5, "
                                    "booked_at = $6, delivered_at = NULL, late = NULL WHERE order_id = $1",
                                    p));
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor,
                                          {"delivery_slot.reschedule", "order", std::to_string(order_id),
                                           slot_json(order_id, old.slot), slot_json(order_id, taken.slot)},
                                          now));
    FIDELIS_RETURN_IF_ERROR(audit::emit(
        tx, {"order.slot_rescheduled", t.order.customer_id, std::to_string(order_id), slot_json(order_id, taken.slot)}, now));
    FIDELIS_ASSIGN_OR_RETURN(out, read_booking(tx, order_id));
    return ok();
  });
  if (!s) return s.error();
  return out;
}

Status SlotService::release(int64_t order_id, const audit::Actor& actor) {
  Millis now = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(int64_t customer_id, order_customer(tx, order_id));
    FIDELIS_ASSIGN_OR_RETURN(SlotBooking old, read_booking(tx, order_id));
    if (old.delivered_at) return state_conflict("status", "the order was delivered in this slot; it stays on record");
    FIDELIS_RETURN_IF_ERROR(internal::release_slot_in(tx, order_id));
    FIDELIS_RETURN_IF_ERROR(audit::record(
        tx, actor, {"delivery_slot.release", "order", std::to_string(order_id), slot_json(order_id, old.slot), std::nullopt}, now));
    return audit::emit(tx, {"order.slot_released", customer_id, std::to_string(order_id), slot_json(order_id, old.slot)}, now);
  });
}

Result<std::optional<SlotBooking>> SlotService::booking(int64_t order_id) {
  std::optional<SlotBooking> out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(order_customer(tx, order_id));
    FIDELIS_ASSIGN_OR_RETURN(out, load_booking(tx, order_id));
    return ok();
  }));
  return out;
}

}  // namespace fidelis::commerce
