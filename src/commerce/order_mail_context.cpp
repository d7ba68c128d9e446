// What order e-mails are rendered from: French-style money, slot labels, the mustache context.

#include <fmt/format.h>

#include <array>

#include "commerce/commerce.h"
#include "core/json_writer.h"

namespace fidelis::commerce {

namespace {

constexpr std::string_view kNbsp = "\xC2\xA0";

// Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm).
struct Civil {
  int year, month, day, weekday;  // weekday 0 = Monday
};
Civil civil_from_millis(Millis ms) {
  int64_t days = ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000;
  int weekday = static_cast<int>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d), weekday};
}

std::string hour_label(Millis local_ms) {
  int64_t minute_of_day = ((local_ms / 60'000) % 1440 + 1440) % 1440;
  int64_t h = minute_of_day / 60, m = minute_of_day % 60;
  return m == 0 ? fmt::format("{}{}h", h, kNbsp) : fmt::format("{}{}h{:02}", h, kNbsp, m);
}

std::string_view method_label(DeliveryMethod m) {
  switch (m) {
    case DeliveryMethod::kHome: return "Livraison à domicile";
    case DeliveryMethod::kPickup: return "Retrait en point de collecte";
    case DeliveryMethod::kStore: return "Retrait en magasin";
    case DeliveryMethod::kRelay: return "Livraison en point relais";
  }
  return "";
}

}  // namespace

std::string format_money_fr(int64_t minor, std::string_view currency) {
  bool negative = minor < 0;
  uint64_t abs = negative ? static_cast<uint64_t>(-(minor + 1)) + 1 : static_cast<uint64_t>(minor);
  std::string units = std::to_string(abs / 100);
  std::string grouped;
  for (size_t i = 0; i < units.size(); ++i) {
    if (i > 0 && (units.size() - i) % 3 == 0) grouped += kNbsp;
    grouped += units[i];
  }
  return fmt::format("{}{},{:02}{}{}", negative ? "-" : "", grouped, abs % 100, kNbsp, currency == "EUR" ? "€" : currency);
}

std::string DeliverySlot::label() const {
  static constexpr std::array<std::string_view, 7> kDays = {"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"};
  static constexpr std::array<std::string_view, 12> kMonths = {"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
                                                               "août", "septembre", "octobre", "novembre", "décembre"};
  Millis offset = int64_t{utc_offset_minutes} * 60'000;
  Civil c = civil_from_millis(starts_at + offset);
  return fmt::format("{} {}{} {}, {} – {}", kDays[static_cast<size_t>(c.weekday)], c.day, c.day == 1 ? "er" : "",
                     kMonths[static_cast<size_t>(c.month - 1)], hour_label(starts_at + offset), hour_label(ends_at + offset));
}

std::string order_mail_context(const Order& o, const std::optional<Shipment>& shipment, const std::optional<DeliverySlot>& slot,
                               std::string_view tracking_link) {
  std::string out;
  JsonWriter w(out);
  auto money = [&](int64_t minor) { return format_money_fr(minor, o.currency); };
  w.begin_object();
  w.key("order_number").string(o.number);
  w.key("customer_first_name").string_or_null(o.customer_first_name);
  w.key("status").string(status_name(o.status));
  w.key("lines").begin_array();
  for (const auto& l : o.lines) {
    w.begin_object();
    w.key("name").string(l.name);
    w.key("sku").string(l.sku);
    w.key("quantity").integer(l.quantity);
    w.key("unit_price").string(money(l.unit_price_minor));
    w.key("discount").string(money(l.discount_minor));
    w.key("has_discount").boolean(l.discount_minor != 0);
    w.key("total").string(money(l.total_minor()));
    w.end_object();
  }
  w.end_array();
  w.key("subtotal").string(money(o.subtotal_minor));
  w.key("discount").string(money(o.discount_minor));
  w.key("has_discount").boolean(o.discount_minor != 0);
  w.key("shipping").string(money(o.shipping_minor));
  w.key("total").string(money(o.total_minor));
  w.key("currency").string(o.currency);
  w.key("delivery_method").string(delivery_method_name(o.delivery_method));
  w.key("delivery_method_label").string(method_label(o.delivery_method));
  w.key("delivery_address").begin_object();
  w.key("name").string_or_null(o.address.name);
  w.key("street").string_or_null(o.address.street);
  w.key("street2").string_or_null(o.address.street2);
  w.key("postcode").string_or_null(o.address.postcode);
  w.key("city").string_or_null(o.address.city);
  w.key("country").string_or_null(o.address.country);
  w.end_object();
  if (slot) w.key("slot_label").string(slot->label());
  else w.key("slot_label").null();
  if (shipment) {
    w.key("carrier").string(shipment->carrier);
    w.key("tracking_number").string(shipment->tracking_number);
    w.key("tracking_url").string_or_null(shipment->tracking_url);
  } else {
    w.key("carrier").null();
    w.key("tracking_number").null();
    w.key("tracking_url").null();
  }
  w.key("tracking_link").string(tracking_link);
  w.end_object();
  return out;
}

}  // namespace fidelis::commerce
