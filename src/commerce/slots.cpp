// Delivery zones (by postcode prefix), slot templates, availability and the promise rate.
//
// Slots are not stored ahead of time: the templates say which slots exist, and a slot gets its
// row (with its capacity copied from the template) the first time someone books it. Template times
// are local to the zone, a fixed offset from UTC.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "commerce/commerce.h"
#include "commerce/commerce_internal.h"
#include "commerce/slots_internal.h"
#include "core/text.h"

namespace fidelis::commerce {

using storage::Value;

namespace {

constexpr Millis kDay = 86'400'000;
constexpr Millis kMaxRange = 31 * kDay;

}  // namespace

namespace internal {

Result<std::optional<DeliveryZone>> zone_for_postcode(storage::Tx& tx, std::string_view postcode) {
  std::string key = postcode_key(postcode);
  if (key.empty()) return std::optional<DeliveryZone>();
  Value p[] = {key};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           tx.one("SELECT z.id, z.name, z.utc_offset_minutes FROM delivery_zone_prefixes p "
                                  "JOIN delivery_zones z ON z.id = p.zone_id "
                                  "WHERE p.prefix = substr(CAST($1 AS TEXT), 1, length(p.prefix)) "
                                  "ORDER BY length(p.prefix) DESC LIMIT 1",
                                  p));
  if (!row) return std::optional<DeliveryZone>();
  return std::optional<DeliveryZone>(DeliveryZone{row->i64(0), row->str(1), {}, static_cast<int>(row->i64(2))});
}

Result<std::vector<DeliverySlot>> zone_slots(storage::Tx& tx, const DeliveryZone& zone, Millis from, Millis to) {
  Value zp[] = {zone.id};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows templates,
                           tx.query("SELECT weekdays, start_minute, end_minute, length_minutes, capacity FROM slot_templates "
                                    "WHERE zone_id = $1 ORDER BY id",
                                    zp));
  std::map<Millis, DeliverySlot> slots;  // by start; the oldest template wins where two overlap
  Millis offset = int64_t{zone.utc_offset_minutes} * 60'000;
  Millis local_from = from + offset, local_to = to + offset;
  Millis first_day = (local_from >= 0 ? local_from / kDay : (local_from - kDay + 1) / kDay) * kDay;
  for (Millis day = first_day; day < local_to; day += kDay) {
    int weekday = static_cast<int>(((day / kDay) % 7 + 7 + 3) % 7);  // 0 = Monday; 1970-01-01 was a Thursday
    for (const auto& t : templates.rows) {
      if ((t.i64(0) & (int64_t{1} << weekday)) == 0) continue;
      int64_t len = t.i64(3);
      for (int64_t m = t.i64(1); m + len <= t.i64(2); m += len) {
        Millis starts = day + m * 60'000 - offset;
        if (starts < from || starts >= to || slots.contains(starts)) continue;
        slots[starts] = DeliverySlot{zone.id, zone.name, starts, starts + len * 60'000, zone.utc_offset_minutes,
                                     static_cast<int>(t.i64(4)), 0};
      }
    }
  }
  Value rp[] = {zone.id, from, to};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows booked,
                           tx.query("SELECT starts_at, ends_at, capacity, booked FROM delivery_slots "
                                    "WHERE zone_id = $1 AND starts_at >= $2 AND starts_at < $3",
                                    rp));
  for (const auto& r : booked.rows) {
    auto it = slots.find(r.i64(0));
    if (it == slots.end()) continue;  // its template is gone: no longer offered
    it->second.capacity = static_cast<int>(r.i64(2));
    it->second.booked = static_cast<int>(r.i64(3));
  }
  std::vector<DeliverySlot> out;
  for (auto& [_, s] : slots) out.push_back(std::move(s));
  return out;
}

}  // namespace internal

SlotService::SlotService(storage::Db& db, const Clock& clock) : db_(db), clock_(clock) {}

Result<DeliveryZone> SlotService::create_zone(DeliveryZone zone, const audit::Actor& actor) {
  zone.name = std::string(text::trim(zone.name));
  if (zone.name.empty() || zone.name.size() > 100 || !text::is_valid_utf8(zone.name))
    return Error::invalid_argument("name", "must be 1 to 100 characters");
  if (zone.postcodes.empty() || zone.postcodes.size() > 1000)
    return Error::invalid_argument("postcodes", "give 1 to 1000 postcodes or prefixes");
  for (size_t i = 0; i < zone.postcodes.size(); ++i) {
    std::string k = internal::postcode_key(zone.postcodes[i]);
    if (k.empty() || k.size() > 10 ||
        !std::all_of(k.begin(), k.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }))
      return Error::invalid_argument(fmt::format("postcodes[{}]", i), "expected a postcode or its first characters (letters and digits)");
    zone.postcodes[i] = k;
  }
  if (zone.utc_offset_minutes < -720 || zone.utc_offset_minutes > 840)
    return Error::invalid_argument("utc_offset_minutes", "must be between -720 and 840");
  Millis now = clock_.now();
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {zone.name, int64_t{zone.utc_offset_minutes}, now};
    auto id = tx.insert_id("INSERT INTO delivery_zones (name, utc_offset_minutes, created_at) VALUES ($1, $2, $3)", p);
    if (!id && id.error().code == Code::kAlreadyExists) return Error::already_exists("name", "a zone has this name");
    if (!id) return id.error();
    zone.id = *id;
    for (size_t i = 0; i < zone.postcodes.size(); ++i) {
      Value pp[] = {zone.postcodes[i], zone.id};
      auto ins = tx.exec("INSERT INTO delivery_zone_prefixes (prefix, zone_id) VALUES ($1, $2)", pp);
      if (!ins && ins.error().code == Code::kAlreadyExists)
        return Error::already_exists(fmt::format("postcodes[{}]", i), "another zone (or this one) already has " + zone.postcodes[i]);
      if (!ins) return ins.error();
    }
    return audit::record(tx, actor, {"delivery_zone.create", "delivery_zone", std::to_string(zone.id), std::nullopt,
                                     fmt::format(R"({{"name":{}}})", internal::json_quoted(zone.name))},
                         now);
  });
  if (!s) return s.error();
  return zone;
}

Result<std::vector<DeliveryZone>> SlotService::zones() {
  std::vector<DeliveryZone> out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows zs, tx.query("SELECT id, name, utc_offset_minutes FROM delivery_zones ORDER BY name"));
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows ps, tx.query("SELECT zone_id, prefix FROM delivery_zone_prefixes ORDER BY prefix"));
    for (const auto& z : zs.rows) {
      DeliveryZone d{z.i64(0), z.str(1), {}, static_cast<int>(z.i64(2))};
      for (const auto& p : ps.rows)
        if (p.i64(0) == d.id) d.postcodes.push_back(p.str(1));
      out.push_back(std::move(d));
    }
    return ok();
  }));
  return out;
}

Result<SlotTemplate> SlotService::create_template(SlotTemplate t, const audit::Actor& actor) {
  if (t.weekdays < 1 || t.weekdays > 127) return Error::invalid_argument("weekdays", "give at least one day");
  if (t.length_minutes < 15 || t.length_minutes > 1440)
    return Error::invalid_argument("length_minutes", "must be between 15 and 1440");
  if (t.start_minute < 0 || t.start_minute >= 1440) return Error::invalid_argument("start", "must be a time of day");
  if (t.end_minute > 1440 || t.end_minute < t.start_minute + t.length_minutes)
    return Error::invalid_argument("end", "must leave room for at least one slot after start, and be at most 24:00");
  if (t.capacity < 1 || t.capacity > 10000) return Error::invalid_argument("capacity", "must be between 1 and 10000");
  Millis now = clock_.now();
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value zp[] = {t.zone_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> z, tx.one("SELECT id FROM delivery_zones WHERE id = $1", zp));
    if (!z) return Error::not_found("zone_id", fmt::format("no delivery zone {}", t.zone_id));
    Value p[] = {t.zone_id, int64_t{t.weekdays}, int64_t{t.start_minute}, int64_t{t.end_minute}, int64_t{t.length_minutes},
                 int64_t{t.capacity}, now};
    FIDELIS_ASSIGN_OR_RETURN(t.id, tx.insert_id("INSERT INTO slot_templates (zone_id, weekdays, start_minute, end_minute, "
                                                "length_minutes, capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                                p));
    return audit::record(tx, actor, {"slot_template.create", "slot_template", std::to_string(t.id), std::nullopt,
                                     fmt::format(R"({{"zone_id":{},"capacity":{}}})", t.zone_id, t.capacity)},
                         now);
  });
  if (!s) return s.error();
  return t;
}

Result<DeliveryZone> SlotService::zone_for_postcode(std::string_view postcode) {
  std::optional<DeliveryZone> z;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(z, internal::zone_for_postcode(tx, postcode));
    return ok();
  }));
  if (!z) return Error::not_found("postcode", "no delivery zone serves this postcode");
  return *z;
}

Result<std::vector<DeliverySlot>> SlotService::availability(std::string_view postcode, Millis from, Millis to) {
  if (to <= from) return Error::invalid_argument("to", "must be after from");
  if (to - from > kMaxRange) return Error::invalid_argument("to", "at most 31 days after from");
  std::vector<DeliverySlot> out;
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<DeliveryZone> z, internal::zone_for_postcode(tx, postcode));
    if (!z) return Error::not_found("postcode", "no delivery zone serves this postcode");
    FIDELIS_ASSIGN_OR_RETURN(out, internal::zone_slots(tx, *z, std::max(from, now), to));
    return ok();
  }));
  return out;
}

Result<PromiseRate> SlotService::promise_rate(std::optional<std::string> zone, Millis from, Millis to) {
  if (to <= from) return Error::invalid_argument("to", "must be after from");
  std::vector<Value> p = {from, to};
  std::string sql =
      "SELECT COUNT(*), COALESCE(SUM(b.late), 0) FROM slot_bookings b WHERE b.delivered_at IS NOT NULL "
      "AND b.slot_starts_at >= $1 AND b.slot_starts_at < $2";
  if (zone) {
    Value zp[] = {*zone};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> z, db_.one("SELECT id FROM delivery_zones WHERE name = $1", zp));
    if (!z) return Error::not_found("zone", "no delivery zone named " + *zone);
    p.emplace_back(z->i64(0));
    sql += " AND b.zone_id = $3";
  }
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, db_.one(sql, p));
  PromiseRate r;
  r.total = row ? row->i64(0) : 0;
  r.late = row ? row->i64(1) : 0;
  r.kept = r.total - r.late;
  r.rate = r.total > 0 ? static_cast<double>(r.kept) / static_cast<double>(r.total) : 0;
  return r;
}

}  // namespace fidelis::commerce
