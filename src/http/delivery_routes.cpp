// /api/v1/delivery/... (zones, slot templates, availability, promise rate) and an order's slot.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace commerce;

namespace {

Json zone_json(const DeliveryZone& z) {
  return {{"id", z.id}, {"name", z.name}, {"postcodes", z.postcodes}, {"utc_offset_minutes", z.utc_offset_minutes}};
}

Json slot_json(const DeliverySlot& s) {
  return {{"zone_id", s.zone_id},     {"zone", s.zone_name},       {"starts_at", iso(s.starts_at)}, {"ends_at", iso(s.ends_at)},
          {"capacity", s.capacity},   {"booked", s.booked},        {"free", s.free()},              {"label", s.label()}};
}

Json booking_json(const SlotBooking& b) {
  Json j = slot_json(b.slot);
  j["order_id"] = b.order_id;
  j["booked_at"] = iso(b.booked_at);
  j["delivered_at"] = b.delivered_at ? Json(iso(*b.delivered_at)) : Json(nullptr);
  j["late"] = b.late ? Json(*b.late) : Json(nullptr);
  return j;
}

// "08:30" -> 510; "24:00" allowed for an end.
Result<int> minute_of_day(const Json& b, std::string_view key, int fallback) {
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> v, get_string(b, key, key));
  if (!v) return fallback;
  int h = 0, m = 0;
  char extra = 0;
  if (v->size() != 5 || std::sscanf(v->c_str(), "%2d:%2d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
      (h == 24 && m != 0))
    return Error::invalid_argument(std::string(key), "expected a time such as 08:00");
  return h * 60 + m;
}

Result<int> weekdays_mask(const Json& b) {
  auto it = b.find("weekdays");
  if (it == b.end() || it->is_null()) return 0x7f;
  if (!it->is_array()) return Error::invalid_argument("weekdays", "expected an array such as [\"mon\", \"tue\"]");
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  int mask = 0;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& d = (*it)[i];
    int bit = -1;
    for (int k = 0; k < 7; ++k)
      if (d.is_string() && d.get<std::string>() == kDays[k]) bit = k;
    if (bit < 0) return Error::invalid_argument(fmt::format("weekdays[{}]", i), "expected mon, tue, wed, thu, fri, sat or sun");
    mask |= 1 << bit;
  }
  return mask;
}

Result<Millis> time_param(const Context& ctx, const std::string& name) {
  auto v = ctx.query_param(name);
  if (!v) return Error::invalid_argument(name, "is required (ISO 8601)");
  return parse_iso8601(*v, name);
}

Result<Millis> starts_at_body(const Context& ctx) {
  FIDELIS_ASSIGN_OR_RETURN(Json body, ctx.json_body());
  FIDELIS_RETURN_IF_ERROR(reject_unknown(body, {"starts_at"}));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> v, get_string(body, "starts_at", "starts_at"));
  if (!v) return Error::invalid_argument("starts_at", "is required (ISO 8601)");
  return parse_iso8601(*v, "starts_at");
}

}  // namespace

void add_delivery_routes(Router& r, Services& s) {
  r.add({"GET", "/api/v1/delivery/zones", "listDeliveryZones", Permission::kOrdersRead, false, true, [&s](Context&) {
           auto zones = s.slots.zones();
           if (!zones) return problem(zones.error());
           Json items = Json::array();
           for (const auto& z : *zones) items.push_back(zone_json(z));
           return json_response(200, {{"items", items}});
         }});
  r.add({"POST", "/api/v1/delivery/zones", "createDeliveryZone", Permission::kDeliveryManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"name", "postcodes", "utc_offset_minutes"}); !st) return problem(st.error());
           DeliveryZone z;
           auto name = get_string(*body, "name", "name");
           if (!name) return problem(name.error());
           z.name = name->value_or("");
           auto pcs = body->find("postcodes");
           if (pcs == body->end() || !pcs->is_array()) return problem(Error::invalid_argument("postcodes", "expected an array of postcodes or prefixes"));
           for (size_t i = 0; i < pcs->size(); ++i) {
             if (!(*pcs)[i].is_string()) return problem(Error::invalid_argument(fmt::format("postcodes[{}]", i), "expected a string"));
             z.postcodes.push_back((*pcs)[i].get<std::string>());
           }
           auto offset = get_int(*body, "utc_offset_minutes", "utc_offset_minutes");
           if (!offset) return problem(offset.error());
           if (*offset && (**offset < -720 || **offset > 840))
             return problem(Error::invalid_argument("utc_offset_minutes", "must be between -720 and 840"));
           z.utc_offset_minutes = static_cast<int>(offset->value_or(0));
           auto created = s.slots.create_zone(std::move(z), ctx.actor);
           if (!created) return problem(created.error());
           return json_response(201, zone_json(*created));
         }});
  r.add({"POST", "/api/v1/delivery/slot-templates", "createSlotTemplate", Permission::kDeliveryManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"zone_id", "weekdays", "start", "end", "length_minutes", "capacity"}); !st)
             return problem(st.error());
           SlotTemplate t;
           auto zone = get_int(*body, "zone_id", "zone_id");
           auto len = get_int(*body, "length_minutes", "length_minutes");
           auto cap = get_int(*body, "capacity", "capacity");
           auto start = minute_of_day(*body, "start", 8 * 60);
           auto end = minute_of_day(*body, "end", 20 * 60);
           auto days = weekdays_mask(*body);
           if (!zone) return problem(zone.error());
           if (!*zone) return problem(Error::invalid_argument("zone_id", "is required"));
           if (!len) return problem(len.error());
           if (!cap) return problem(cap.error());
           if (!*cap) return problem(Error::invalid_argument("capacity", "is required"));
           if (!start) return problem(start.error());
           if (!end) return problem(end.error());
           if (!days) return problem(days.error());
           if (*len && (**len < 15 || **len > 1440)) return problem(Error::invalid_argument("length_minutes", "must be between 15 and 1440"));
           if (**cap < 1 || **cap > 10000) return problem(Error::invalid_argument("capacity", "must be between 1 and 10000"));
           t.zone_id = **zone;
           t.length_minutes = static_cast<int>(len->value_or(120));
           t.capacity = static_cast<int>(**cap);
           t.start_minute = *start;
           t.end_minute = *end;
           t.weekdays = *days;
           auto created = s.slots.create_template(t, ctx.actor);
           if (!created) return problem(created.error());
           return json_response(201, {{"id", created->id}, {"zone_id", created->zone_id}, {"weekdays", created->weekdays},
                                      {"start_minute", created->start_minute}, {"end_minute", created->end_minute},
                                      {"length_minutes", created->length_minutes}, {"capacity", created->capacity}});
         }});
  r.add({"GET", "/api/v1/delivery/slots", "listDeliverySlots", Permission::kOrdersRead, false, true, [&s](Context& ctx) {
           auto postcode = ctx.query_param("postcode");
           if (!postcode) return problem(Error::invalid_argument("postcode", "is required"));
           auto from = time_param(ctx, "from");
           auto to = time_param(ctx, "to");
           if (!from) return problem(from.error());
           if (!to) return problem(to.error());
           auto slots = s.slots.availability(*postcode, *from, *to);
           if (!slots) return problem(slots.error());
           Json items = Json::array();
           for (const auto& sl : *slots) items.push_back(slot_json(sl));
           return json_response(200, {{"items", items}});
         }});
  r.add({"GET", "/api/v1/delivery/promise-rate", "getPromiseRate", Permission::kOrdersRead, false, true, [&s](Context& ctx) {
           auto from = time_param(ctx, "from");
           auto to = time_param(ctx, "to");
           if (!from) return problem(from.error());
           if (!to) return problem(to.error());
           auto rate = s.slots.promise_rate(ctx.query_param("zone"), *from, *to);
           if (!rate) return problem(rate.error());
           return json_response(200, {{"zone", ctx.query_param("zone") ? Json(*ctx.query_param("zone")) : Json(nullptr)},
                                      {"kept", rate->kept}, {"late", rate->late}, {"total", rate->total}, {"rate", rate->rate}});
         }});
  r.add({"GET", "/api/v1/orders/{id}/delivery-slot", "getOrderSlot", Permission::kOrdersRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto b = s.slots.booking(*id);
           if (!b) return problem(b.error());
           if (!*b) return problem(Error::not_found("slot", "the order has no delivery slot"));
           return json_response(200, booking_json(**b));
         }});
  r.add({"POST", "/api/v1/orders/{id}/delivery-slot", "bookOrderSlot", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto at = starts_at_body(ctx);
           if (!at) return problem(at.error());
           auto b = s.slots.book(*id, *at, ctx.actor);
           if (!b) return problem(b.error());
           return json_response(201, booking_json(*b));
         }});
  r.add({"PUT", "/api/v1/orders/{id}/delivery-slot", "rescheduleOrderSlot", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto at = starts_at_body(ctx);
           if (!at) return problem(at.error());
           auto b = s.slots.reschedule(*id, *at, ctx.actor);
           if (!b) return problem(b.error());
           return json_response(200, booking_json(*b));
         }});
  r.add({"DELETE", "/api/v1/orders/{id}/delivery-slot", "releaseOrderSlot", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           if (auto st = s.slots.release(*id, ctx.actor); !st) return problem(st.error());
           return no_content();
         }});
}

}  // namespace fidelis::http
