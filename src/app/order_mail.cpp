// Order e-mails: the confirmation when an order is confirmed, the shipping e-mail when it ships,
// queued in the transition's transaction, once per order and event.

#include <fmt/format.h>

#include "app/app.h"
#include "commerce/commerce.h"
#include "core/text.h"
#include "mail/mail.h"

namespace fidelis::app {

Status queue_order_mail(storage::Tx& tx, commerce::OrderService& orders, std::string_view public_url,
                        const commerce::Order& o, std::string_view event, Millis now) {
  std::string_view template_key = event == "order.confirmed" ? "order_confirmation"
                                  : event == "order.shipped" ? "order_shipped"
                                                             : "";
  if (template_key.empty()) return ok();
  // The order's contact address, else the customer's primary one; no address, no e-mail.
  std::optional<std::string> to = o.contact_email;
  std::string name;
  storage::Value p[] = {o.customer_id};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("SELECT c.first_name, c.last_name, (SELECT e.email FROM customer_emails e WHERE e.customer_id = c.id "
             "ORDER BY e.position LIMIT 1) FROM customers c WHERE c.id = $1",
             p));
  if (row) {
    name = text::trim(fmt::format("{} {}", row->str(0), row->str(1)));
    if (!to && !row->is_null(2)) to = row->str(2);
  }
  if (!to) return ok();
  std::optional<commerce::Shipment> shipment;
  if (event == "order.shipped" && !o.shipments.empty()) shipment = o.shipments.back();
  std::optional<commerce::DeliverySlot> slot;
  FIDELIS_ASSIGN_OR_RETURN(std::optional<commerce::SlotBooking> booking, commerce::load_booking(tx, o.id));
  if (booking) slot = booking->slot;
  FIDELIS_ASSIGN_OR_RETURN(std::string token, orders.tracking_token(o.id));
  std::string link = fmt::format("{}/api/v1/track/{}", public_url, token);
  mail::Outgoing m;
  m.template_key = std::string(template_key);
  m.locale = "fr";
  m.to_email = *to;
  m.to_name = name;
  m.context_json = commerce::order_mail_context(o, shipment, slot, link);
  m.dedup_key = fmt::format("{}:{}", event, o.id);
  m.customer_id = o.customer_id;
  FIDELIS_ASSIGN_OR_RETURN(int64_t id, mail::enqueue(tx, m, now));
  (void)id;
  return ok();
}

}  // namespace fidelis::app
