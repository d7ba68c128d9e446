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
  // The shape the mail templates read (mail/mail.h); money as {minor, currency}, which the mail
  // module writes for the message's locale.
  std::string out;
  JsonWriter w(out);
  auto money = [&](std::string_view key, int64_t minor) {
    w.key(key).begin_object();
    w.key("minor").integer(minor);
    w.key("currency").string(o.currency);
    w.end_object();
  };
  w.begin_object();
  w.key("customer").begin_object();
  w.key("first_name").string_or_null(o.customer_first_name);
  w.end_object();
  w.key("order").begin_object();
  w.key("number").string(o.number);
  w.key("status").string(status_name(o.status));
  w.key("lines").begin_array();
  for (const auto& l : o.lines) {
    w.begin_object();
    w.key("name").string(l.name);
    w.key("sku").string(l.sku);
    w.key("quantity").integer(l.quantity);
    money("unit_price", l.unit_price_minor);
    money("discount", l.discount_minor);
    w.key("has_discount").boolean(l.discount_minor != 0);
    money("total", l.total_minor());
    w.end_object();
  }
  w.end_array();
  money("subtotal", o.subtotal_minor);
  money("discount", o.discount_minor);
  w.key("has_discount").boolean(o.discount_minor != 0);
  money("shipping", o.shipping_minor);
  money("total", o.total_minor);
  if (tracking_link.empty()) w.key("tracking_link").null();
  else w.key("tracking_link").string(tracking_link);
  w.end_object();
  w.key("delivery").begin_object();
  w.key("method").string(method_label(o.delivery_method));
  w.key("method_code").string(delivery_method_name(o.delivery_method));
  w.key("address_lines").begin_array();
  for (const auto* part : {&o.address.name, &o.address.street, &o.address.street2})
    if (*part && !(*part)->empty()) w.string(**part);
  std::string town = fmt::format("{} {}", o.address.postcode.value_or(""), o.address.city.value_or(""));
  if (town != " ") w.string(std::string(town.front() == ' ' ? town.substr(1) : town));
  w.end_array();
  if (slot) w.key("slot").string(slot->label());
  else w.key("slot").null();
  w.end_object();
  w.key("tracking").begin_object();
  if (shipment) {
    w.key("carrier").string(shipment->carrier);
    w.key("number").string(shipment->tracking_number);
    // The carrier's page when it has one, else Fidelis's own tracking page.
    if (shipment->tracking_url) w.key("url").string(*shipment->tracking_url);
    else if (!tracking_link.empty()) w.key("url").string(tracking_link);
    else w.key("url").null();
  } else {
    w.key("carrier").null();
    w.key("number").null();
    w.key("url").null();
  }
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace fidelis::commerce
