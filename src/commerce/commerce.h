#pragma once
// commerce: what the shop sells and what its customers buy.
//
// - The catalogue: departments ("rayons") as a tree, and products with SKU, name, department, price
//   in minor units with its currency, an active flag and an optional typical replenishment period
//   (used later to relaunch customers when they are likely to need the product again).
// - Orders: the shop's own number, the customer (matched or created), lines by SKU, totals computed
//   and checked, payment state, delivery method and address, and the status workflow
//   placed -> confirmed -> shipped -> delivered (or cancelled, or returned line by line), each
//   transition kept in a history. Shipments with carrier and tracking number. A public tracking
//   view by number + e-mail or postcode, or by a signed expiring link.
// - Delivery slots: zones by postcode prefix, slot templates with a capacity, availability,
//   booking that never exceeds capacity, and the kept/late promise rate per zone.
// - The CSV import of order history (order_import.cpp).
//
// Every change writes an audit entry and outbox events in its own transaction.
// Thread-safety: the services are shared by all request threads.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/money.h"
#include "core/result.h"
#include "customers/customers.h"
#include "merging/merging.h"
#include "storage/db.h"

namespace fidelis::commerce {

struct Category {
  int64_t id = 0;
  std::string slug;  // [a-z0-9-]{1,60}, unique
  std::string name;
  std::optional<int64_t> parent_id;
  std::string path;  // "/maison/jardin/"
};

struct Product {
  int64_t id = 0;
  std::string sku;   // 1..64 of letters, digits, '-', '_', '.', unique
  std::string name;
  std::optional<int64_t> category_id;
  Money price;
  bool active = true;
  std::optional<int> replenishment_days;  // 1..3650
  int64_t version = 1;
  Millis created_at = 0, updated_at = 0;
};

// A change to a product: unset fields are kept; `clear_category` / `clear_replenishment` unset.
struct ProductInput {
  std::optional<std::string> sku, name;
  std::optional<std::string> category;  // slug
  std::optional<int64_t> price_minor;
  std::optional<std::string> currency;
  std::optional<bool> active;
  std::optional<int> replenishment_days;
  bool clear_category = false, clear_replenishment = false;
};

struct ProductQuery {
  std::optional<std::string> category;  // slug: the department and everything under it
  std::optional<bool> active;
  std::optional<std::string> q;         // name or SKU prefix
  std::optional<int64_t> after_id;
  int limit = 50;                       // 1..500
};

struct ProductPage {
  std::vector<Product> items;
  std::optional<int64_t> next_after_id;
};

class CatalogueService {
 public:
  CatalogueService(storage::Db& db, const Clock& clock);

  // InvalidArgument ("slug", "name", "parent"); NotFound ("parent"); AlreadyExists ("slug").
  Result<Category> create_category(std::string slug, std::string name, std::optional<std::string> parent_slug,
                                   const audit::Actor& actor);
  Result<std::vector<Category>> categories();  // ordered by path

  // Create needs sku, name, price_minor and currency. InvalidArgument naming the field;
  // AlreadyExists ("sku"); NotFound ("category") for an unknown department.
  Result<Product> create_product(ProductInput in, const audit::Actor& actor);
  // FailedPrecondition ("If-Match") when `expected_version` is stale; NotFound ("id").
  Result<Product> update_product(int64_t id, int64_t expected_version, ProductInput in, const audit::Actor& actor);
  Result<Product> get_product(int64_t id);
  Result<ProductPage> list_products(const ProductQuery& q);

 private:
  storage::Db& db_;
  const Clock& clock_;
};

// ---- orders (orders.cpp, order_codes.cpp, order_store.cpp) ----

enum class SalesChannel { kWeb, kStore, kPhone, kMarketplace };
enum class PaymentState { kPending, kPaid, kRefunded, kPartiallyRefunded, kFailed };
// placed -> confirmed -> shipped -> delivered; placed or confirmed -> cancelled; shipped or
// delivered -> returned when every line is fully returned (POST .../returns), never by hand.
enum class OrderStatus { kPlaced, kConfirmed, kShipped, kDelivered, kCancelled, kReturned };
enum class DeliveryMethod { kHome, kPickup, kStore, kRelay };

std::string_view channel_name(SalesChannel c);
std::string_view payment_state_name(PaymentState p);
std::string_view status_name(OrderStatus s);
std::string_view delivery_method_name(DeliveryMethod m);
// InvalidArgument naming `field` for a value outside the list.
Result<SalesChannel> parse_channel(std::string_view s, std::string_view field);
Result<PaymentState> parse_payment_state(std::string_view s, std::string_view field);
Result<OrderStatus> parse_status(std::string_view s, std::string_view field);
Result<DeliveryMethod> parse_delivery_method(std::string_view s, std::string_view field);

struct DeliveryAddress {
  std::optional<std::string> name, street, street2, postcode, city;
  std::optional<std::string> country;  // ISO 3166-1 alpha-2, upper-case
};

struct OrderLine {
  int64_t id = 0;
  int position = 0;
  std::string sku;   // kept on the line even when the product is later renamed or deleted
  std::string name;
  std::optional<int64_t> product_id;  // the catalogue's product with this SKU, when there was one
  int64_t quantity = 0;
  int64_t unit_price_minor = 0;
  int64_t discount_minor = 0;  // on the whole line
  int64_t returned_quantity = 0;
  int64_t total_minor() const { return quantity * unit_price_minor - discount_minor; }
};

struct StatusChange {
  OrderStatus status = OrderStatus::kPlaced;
  Millis at = 0;
};

struct Shipment {
  int64_t id = 0;
  int64_t order_id = 0;
  std::string carrier;
  std::string tracking_number;
  std::optional<std::string> tracking_url;
  Millis shipped_at = 0;
};

struct ReturnedLine {
  int64_t line_id = 0;
  std::string sku;
  int64_t quantity = 0;
  std::string reason;
  Millis at = 0;
};

struct Order {
  int64_t id = 0;
  std::string number;
  int64_t customer_id = 0;
  SalesChannel channel = SalesChannel::kWeb;
  std::string currency = "EUR";
  int64_t subtotal_minor = 0;  // sum of quantity x unit price
  int64_t discount_minor = 0;  // line discounts plus the order's own discount
  int64_t shipping_minor = 0;
  int64_t total_minor = 0;     // subtotal - discount + shipping
  PaymentState payment_state = PaymentState::kPending;
  DeliveryMethod delivery_method = DeliveryMethod::kHome;
  DeliveryAddress address;
  std::optional<std::string> contact_email;
  std::optional<std::string> customer_first_name;  // for messages; not stored on the order
  OrderStatus status = OrderStatus::kPlaced;
  std::optional<std::string> notes;  // internal
  std::string source = "api";
  std::vector<OrderLine> lines;
  std::vector<StatusChange> history;  // oldest first
  std::vector<Shipment> shipments;
  std::vector<ReturnedLine> returns;
  Millis placed_at = 0, created_at = 0, updated_at = 0;
  int64_t version = 1;
};

// Who an order is for. See match_or_create_customer.
struct CustomerHint {
  std::optional<int64_t> customer_id;
  std::optional<std::string> email, first_name, last_name, phone;
};

struct OrderLineInput {
  std::string sku;
  std::optional<std::string> name;               // default: the product's name
  int64_t quantity = 0;                          // 1..100000
  std::optional<int64_t> unit_price_minor;       // default: the product's price
  int64_t discount_minor = 0;
};

struct OrderInput {
  std::string number;  // 1..64 printable characters, unique
  CustomerHint customer;
  std::optional<std::string> channel, currency, payment_state, delivery_method, status;
  std::vector<OrderLineInput> lines;  // 1..500
  int64_t shipping_minor = 0;
  int64_t order_discount_minor = 0;   // on top of the line discounts
  // Totals the caller computed: each one given must equal Fidelis's (InvalidArgument otherwise).
  std::optional<int64_t> subtotal_minor, discount_minor, total_minor;
  DeliveryAddress address;
  std::optional<Millis> placed_at;    // default now
  std::optional<std::string> notes;
  std::string source = "api";
};

struct CreatedOrder {
  Order order;
  bool created = false;  // false: the same order (same number, same content) already existed
};

struct OrderQuery {
  std::optional<int64_t> customer_id;
  std::optional<OrderStatus> status;
  std::optional<Millis> since, until;  // placed_at in [since, until)
  std::optional<int64_t> after_id;
  int limit = 50;  // 1..500
};
struct OrderPage {
  std::vector<Order> items;
  std::optional<int64_t> next_after_id;
};

struct ReturnInput {
  std::optional<int64_t> line_id;
  std::optional<std::string> sku;  // one of the two
  int64_t quantity = 0;
  std::string reason;              // 1..500 characters
};

struct ShipmentInput {
  std::string carrier;            // 1..100
  std::string tracking_number;    // 1..100
  std::optional<std::string> tracking_url;  // http(s)://
  std::optional<Millis> shipped_at;         // default now
};

// Hooks the orders service calls inside a transition's transaction (e-mails later). An error
// returned by the hook rolls the transition back.
struct OrderEvents {
  std::function<Status(storage::Tx&, const Order&, std::string_view event /*"order.confirmed","order.shipped"*/, Millis now)>
      on_transition;
};

// The customer an order belongs to, inside `tx`: the live customer `customer_id` when given
// (NotFound "customer_id" otherwise), else the live customer with this e-mail, else a new customer
// made from the hint's names, e-mail and phone and the delivery address (validated like any
// customer: InvalidArgument naming "customer.<field>"; "customer.phone" when a number that reaches
// nobody, invalid or typed for none, is all it has; such a number is kept and flagged, source
// `origin`, on a customer it makes with a name). With `model`, before creating, the dedup
// model looks for the same person under another e-mail (merging::find_candidates): a candidate
// above the merge threshold is the customer; candidates between the thresholds are queued for
// review with the new customer (origin `origin`).
Result<int64_t> match_or_create_customer(storage::Tx& tx, const CustomerHint& hint, const DeliveryAddress& address, Millis now,
                                         const dedup::Model* model = nullptr, std::string_view origin = "order");

// French style: "12,50 €", "1 290,00 €", "-3,00 €" (decimal comma; the spaces, between thousands
// and before the symbol, are no-break spaces U+00A0); other currencies show their code ("12,50 USD").
std::string format_money_fr(int64_t minor, std::string_view currency);

// What the customer sees on the public tracking page: no ids, prices, notes or customer data.
struct TrackingView {
  std::string number;
  OrderStatus status = OrderStatus::kPlaced;
  DeliveryMethod delivery_method = DeliveryMethod::kHome;
  Millis placed_at = 0;
  std::vector<StatusChange> history;
  struct Line {
    std::string name;
    int64_t quantity = 0;
    int64_t returned_quantity = 0;
  };
  std::vector<Line> lines;
  std::vector<Shipment> shipments;  // carrier, tracking number, URL, time (ids left out by renderers)
  std::optional<Millis> slot_starts_at, slot_ends_at;
};

struct OrdersOptions {
  Millis tracking_link_ttl_ms = 90LL * 86'400'000;
  int tracking_max_failures = 20;                  // wrong look-ups per address per window
  Millis tracking_window_ms = 15LL * 60'000;
  bool match_customers = true;  // use the dedup model when no customer has the order's e-mail
  dedup::Model match_model = dedup::Model::default_french();
};

class OrderService {
 public:
  OrderService(storage::Db& db, const Clock& clock, OrderEvents events = {}, OrdersOptions options = {});

  // Creates an order, or returns the existing one when the number is known with the same content
  // (created = false). AlreadyExists ("number") when the number is known with other content;
  // InvalidArgument naming the field ("lines[2].quantity", "total", "customer.email", ...);
  // NotFound ("customer_id").
  Result<CreatedOrder> create(OrderInput in, const audit::Actor& actor);
  // The same inside the caller's transaction (imports). No audit entry.
  Result<CreatedOrder> create_in(storage::Tx& tx, OrderInput in, Millis now);
  Result<Order> get(int64_t id);
  Result<std::optional<Order>> find_by_number(std::string_view number);
  Result<OrderPage> list(const OrderQuery& q);

  // Moves the order to `to` at `at` (default now). Conflict naming "status" for a transition the
  // workflow forbids (shipped -> placed, cancel after shipping, ...); InvalidArgument ("at") for a
  // time in the future or before the previous transition; NotFound ("id").
  Result<Order> transition(int64_t id, OrderStatus to, std::optional<Millis> at, const audit::Actor& actor);
  // Records the payment's progress: pending -> paid or failed; failed -> pending or paid; paid ->
  // refunded or partially_refunded; partially_refunded -> partially_refunded or refunded; refunded
  // is final. Conflict ("payment_state") for another move; NotFound ("id").
  Result<Order> set_payment_state(int64_t id, PaymentState to, const audit::Actor& actor);
  // Records returned quantities per line. Conflict ("status") unless shipped or delivered;
  // InvalidArgument ("lines[i].quantity") beyond what is left to return. The order becomes
  // returned when every line is fully returned.
  Result<Order> add_returns(int64_t id, const std::vector<ReturnInput>& lines, const audit::Actor& actor);
  // Adds a shipment; a confirmed order becomes shipped. Conflict ("status") unless confirmed or shipped.
  Result<Order> add_shipment(int64_t id, ShipmentInput in, const audit::Actor& actor);

  // A signed, expiring token for the public tracking page of order `id`.
  Result<std::string> tracking_token(int64_t id);
  // The public look-ups. NotFound ("order") alike for an unknown number, a wrong e-mail or
  // postcode, or a bad or expired token; ResourceExhausted when `address` made too many wrong
  // look-ups lately.
  Result<TrackingView> track(std::string_view number, std::optional<std::string_view> email,
                             std::optional<std::string_view> postcode, std::string_view address);
  Result<TrackingView> track_token(std::string_view token);

 private:
  // create_in() for an input check_input() has already normalised.
  Result<CreatedOrder> create_checked(storage::Tx& tx, const OrderInput& in, Millis now);
  Result<std::string> link_key();
  Result<TrackingView> view(int64_t id);
  Status emit_transition(storage::Tx& tx, const Order& o, std::string_view event, Millis now);

  storage::Db& db_;
  const Clock& clock_;
  OrderEvents events_;
  OrdersOptions options_;
  dedup::Model model_;
  std::mutex key_mu_;
  std::string link_key_;
};

// Loads an order with its lines, history, shipments and returns inside `tx` (NotFound "id").
Result<Order> load_order(storage::Tx& tx, int64_t id);

// ---- delivery slots (slots.cpp, slot_booking.cpp) ----

struct DeliveryZone {
  int64_t id = 0;
  std::string name;                    // 1..100, unique
  std::vector<std::string> postcodes;  // full postcodes or prefixes ("69", "75011"); each in one zone only
  int utc_offset_minutes = 0;          // the zone's local time for slot templates (fixed; no DST)
};

struct SlotTemplate {
  int64_t id = 0;
  int64_t zone_id = 0;
  int weekdays = 0x7f;       // bit 0 Monday ... bit 6 Sunday
  int start_minute = 8 * 60;  // local time of the first slot's start
  int end_minute = 20 * 60;   // no slot ends later
  int length_minutes = 120;   // 15..1440
  int capacity = 10;          // deliveries per slot, 1..10000
};

struct DeliverySlot {
  int64_t zone_id = 0;
  std::string zone_name;
  Millis starts_at = 0, ends_at = 0;
  int utc_offset_minutes = 0;
  int capacity = 0, booked = 0;
  int free() const { return capacity > booked ? capacity - booked : 0; }
  // "mardi 3 mars, 10 h – 12 h" in the zone's local time.
  std::string label() const;
};

struct SlotBooking {
  int64_t order_id = 0;
  DeliverySlot slot;
  Millis booked_at = 0;
  std::optional<Millis> delivered_at;
  std::optional<bool> late;  // delivered after the slot's end
};

struct PromiseRate {
  int64_t kept = 0, late = 0, total = 0;
  double rate = 0;  // kept / total; 0 when total is 0
};

class SlotService {
 public:
  SlotService(storage::Db& db, const Clock& clock);

  // InvalidArgument ("name", "postcodes[i]", "utc_offset_minutes"); AlreadyExists ("name", or
  // "postcodes[i]" when another zone has that prefix).
  Result<DeliveryZone> create_zone(DeliveryZone zone, const audit::Actor& actor);
  Result<std::vector<DeliveryZone>> zones();
  // InvalidArgument naming the field; NotFound ("zone_id").
  Result<SlotTemplate> create_template(SlotTemplate t, const audit::Actor& actor);
  // The zone whose longest prefix starts `postcode`; NotFound ("postcode").
  Result<DeliveryZone> zone_for_postcode(std::string_view postcode);
  // Slots of the postcode's zone starting in [from, to) (at most 31 days), with their free places.
  Result<std::vector<DeliverySlot>> availability(std::string_view postcode, Millis from, Millis to);

  // Books the slot starting at `starts_at` in the zone of the order's delivery postcode, all in
  // one transaction: the slot's count goes up only while below capacity, so concurrent bookings
  // never overbook. Conflict ("starts_at") when the slot is full; InvalidArgument ("starts_at")
  // when no slot starts then or it has started; AlreadyExists ("order") when the order has a slot
  // (reschedule it); Conflict ("status") when the order is delivered, cancelled or returned;
  // NotFound ("id"); InvalidArgument ("postcode") when the order has no delivery postcode in a zone.
  Result<SlotBooking> book(int64_t order_id, Millis starts_at, const audit::Actor& actor);
  // Moves the booking to another slot atomically (the old place is freed only if the new one is
  // taken). NotFound ("slot") when the order has none.
  Result<SlotBooking> reschedule(int64_t order_id, Millis starts_at, const audit::Actor& actor);
  // Frees the order's slot. NotFound ("slot") when it has none.
  Status release(int64_t order_id, const audit::Actor& actor);
  Result<std::optional<SlotBooking>> booking(int64_t order_id);
  // Deliveries of booked orders whose slot started in [from, to), in one zone (by name) or all.
  Result<PromiseRate> promise_rate(std::optional<std::string> zone, Millis from, Millis to);

 private:
  storage::Db& db_;
  const Clock& clock_;
};

// The booking of order `order_id` inside `tx`, if any.
Result<std::optional<SlotBooking>> load_booking(storage::Tx& tx, int64_t order_id);

// The mustache context of an order e-mail, as JSON object text: number, customer_first_name,
// lines (name, sku, quantity, unit_price, total), subtotal, discount, shipping, total, delivery
// method and address, slot label, carrier, tracking number and URL, tracking link.
std::string order_mail_context(const Order& order, const std::optional<Shipment>& shipment,
                               const std::optional<DeliverySlot>& slot, std::string_view tracking_link);

// ---- CSV import of order history (order_import.cpp) ----

// One line per order line, grouped by order number (the lines of an order are consecutive).
// Columns (English or French headers, any order): order_number, placed_at, customer_id, email,
// first_name, last_name, phone, channel, currency, status, payment_state, delivery_method, street,
// postcode, city, country, sku, name, quantity, unit_price, line_discount, shipping, order_discount.
// Amounts are decimals ("12,50" or "12.50"). An order with a bad line is rejected whole.
struct OrderImportOptions {
  std::string path;
  std::string source = "import";
  std::string default_currency = "EUR";  // for orders without a currency column
  std::string rejects_path;              // default: <path>.rejects.csv
  dedup::Model match_model = dedup::Model::default_french();  // finds the orders' customers (OrdersOptions)
};
struct OrderImportStats {
  int64_t lines_read = 0;
  int64_t orders_created = 0, orders_existing = 0, orders_rejected = 0;
  int64_t lines_rejected = 0;
  std::string rejects_path;  // written when something was rejected
  std::string encoding;
  char delimiter = ',';
};
// NotFound ("file"); InvalidArgument ("header") when a required column is missing.
Result<OrderImportStats> import_orders(storage::Db& db, const Clock& clock, const OrderImportOptions& options,
                                       const audit::Actor& actor);

}  // namespace fidelis::commerce
