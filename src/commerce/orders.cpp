// Orders coming in: validation, totals, the customer they belong to, and idempotent creation by
// the shop's own order number.

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

#include "commerce/commerce.h"
#include "commerce/commerce_internal.h"
#include "core/email.h"
#include "core/text.h"

namespace fidelis::commerce {

using storage::Value;

namespace {

constexpr int64_t kMaxLines = 500;
constexpr int64_t kMaxQuantity = 100'000;
constexpr int64_t kMaxAmount = 1'000'000'000'00;  // a billion in major units: beyond any real order

std::optional<std::string> trimmed(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  std::string t(text::trim(*s));
  if (t.empty()) return std::nullopt;
  return t;
}

Status check_text(const std::optional<std::string>& s, std::string_view field, size_t max) {
  if (s && (s->size() > max || !text::is_valid_utf8(*s)))
    return Error::invalid_argument(std::string(field), fmt::format("must be at most {} characters of UTF-8", max));
  return ok();
}

Status check_amount(int64_t v, std::string_view field) {
  if (v < 0) return Error::invalid_argument(std::string(field), "cannot be negative");
  if (v > kMaxAmount) return Error::invalid_argument(std::string(field), "is too large");
  return ok();
}

// A canonical text of what the caller sent, hashed: a repeated order number is the same order
// only when this matches.
std::string content_hash(const OrderInput& in) {
  std::string s;
  auto add = [&](std::string_view k, std::string_view v) { s += fmt::format("{}={}\x1f", k, v); };
  auto add_opt = [&](std::string_view k, const std::optional<std::string>& v) { add(k, v ? *v : "\x1e"); };
  add("number", in.number);
  add("customer_id", in.customer.customer_id ? std::to_string(*in.customer.customer_id) : "");
  add_opt("email", in.customer.email);
  add_opt("first_name", in.customer.first_name);
  add_opt("last_name", in.customer.last_name);
  add_opt("phone", in.customer.phone);
  add_opt("channel", in.channel);
  add_opt("currency", in.currency);
  add_opt("payment_state", in.payment_state);
  add_opt("delivery_method", in.delivery_method);
  add_opt("status", in.status);
  for (const auto& l : in.lines)
    add("line", fmt::format("{}|{}|{}|{}|{}", l.sku, l.name.value_or("\x1e"), l.quantity,
                            l.unit_price_minor ? std::to_string(*l.unit_price_minor) : "", l.discount_minor));
  add("shipping", std::to_string(in.shipping_minor));
  add("order_discount", std::to_string(in.order_discount_minor));
  add_opt("name", in.address.name);
  add_opt("street", in.address.street);
  add_opt("street2", in.address.street2);
  add_opt("postcode", in.address.postcode);
  add_opt("city", in.address.city);
  add_opt("country", in.address.country);
  add("placed_at", in.placed_at ? std::to_string(*in.placed_at) : "");
  add_opt("notes", in.notes);
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(s.data()), s.size(), nullptr, 0);
  return text::hex_encode(std::string_view(reinterpret_cast<char*>(h), sizeof h));
}

// Checks and normalises the input's own fields (no database).
Status check_input(OrderInput& in, Millis now) {
  std::string number(text::trim(in.number));
  if (number.empty() || number.size() > 64 || !text::is_valid_utf8(number) ||
      std::any_of(number.begin(), number.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
    return Error::invalid_argument("number", "must be 1 to 64 printable characters");
  in.number = number;
  in.customer.email = trimmed(in.customer.email);
  in.customer.first_name = trimmed(in.customer.first_name);
  in.customer.last_name = trimmed(in.customer.last_name);
  in.customer.phone = trimmed(in.customer.phone);
  if (in.customer.customer_id && *in.customer.customer_id <= 0)
    return Error::invalid_argument("customer_id", "must be a positive integer");
  std::optional<std::string> placeholder;
  if (in.customer.email) {
    FIDELIS_ASSIGN_OR_RETURN(std::string e, normalize_email(*in.customer.email, "customer.email"));
    in.customer.email = e;
    // What a till types for "no e-mail" names nobody, and no mail goes to it: the order has none.
    if (is_placeholder_email(e)) {
      placeholder = e;
      in.customer.email.reset();
    }
  }
  if (!in.customer.customer_id && !in.customer.email && !in.customer.last_name && !in.customer.phone)
    return placeholder ? Error::invalid_argument("customer.email", fmt::format("'{}' is a placeholder for no e-mail: give "
                                                                               "the customer's name or phone",
                                                                               *placeholder))
                       : Error::invalid_argument("customer", "give customer_id, or the customer's e-mail, name or phone");
  if (in.channel) FIDELIS_RETURN_IF_ERROR(parse_channel(*in.channel, "channel"));
  if (in.payment_state) FIDELIS_RETURN_IF_ERROR(parse_payment_state(*in.payment_state, "payment_state"));
  if (in.delivery_method) FIDELIS_RETURN_IF_ERROR(parse_delivery_method(*in.delivery_method, "delivery_method"));
  if (in.status) FIDELIS_RETURN_IF_ERROR(parse_status(*in.status, "status"));
  if (in.currency) {
    FIDELIS_ASSIGN_OR_RETURN(Money m, Money::of(0, *in.currency, "currency"));
    in.currency = m.currency;
  }
  if (in.lines.empty()) return Error::invalid_argument("lines", "an order needs at least one line");
  if (static_cast<int64_t>(in.lines.size()) > kMaxLines)
    return Error::invalid_argument("lines", fmt::format("at most {} lines per order", kMaxLines));
  for (size_t i = 0; i < in.lines.size(); ++i) {
    auto& l = in.lines[i];
    std::string f = fmt::format("lines[{}]", i);
    l.sku = std::string(text::trim(l.sku));
    if (l.sku.empty() || l.sku.size() > 64 || !text::is_valid_utf8(l.sku))
      return Error::invalid_argument(f + ".sku", "must be 1 to 64 characters");
    l.name = trimmed(l.name);
    FIDELIS_RETURN_IF_ERROR(check_text(l.name, f + ".name", 200));
    if (l.quantity < 1 || l.quantity > kMaxQuantity)
      return Error::invalid_argument(f + ".quantity", fmt::format("must be between 1 and {}", kMaxQuantity));
    if (l.unit_price_minor) FIDELIS_RETURN_IF_ERROR(check_amount(*l.unit_price_minor, f + ".unit_price_minor"));
    FIDELIS_RETURN_IF_ERROR(check_amount(l.discount_minor, f + ".discount_minor"));
  }
  FIDELIS_RETURN_IF_ERROR(check_amount(in.shipping_minor, "shipping_minor"));
  FIDELIS_RETURN_IF_ERROR(check_amount(in.order_discount_minor, "order_discount_minor"));
  in.address.name = trimmed(in.address.name);
  in.address.street = trimmed(in.address.street);
  in.address.street2 = trimmed(in.address.street2);
  in.address.postcode = trimmed(in.address.postcode);
  in.address.city = trimmed(in.address.city);
  in.address.country = trimmed(in.address.country);
  FIDELIS_RETURN_IF_ERROR(check_text(in.address.name, "delivery_address.name", 200));
  FIDELIS_RETURN_IF_ERROR(check_text(in.address.street, "delivery_address.street", 200));
  FIDELIS_RETURN_IF_ERROR(check_text(in.address.street2, "delivery_address.street2", 200));
  FIDELIS_RETURN_IF_ERROR(check_text(in.address.postcode, "delivery_address.postcode", 20));
  FIDELIS_RETURN_IF_ERROR(check_text(in.address.city, "delivery_address.city", 100));
  if (in.address.country) {
    std::string c = text::to_upper(*in.address.country);
    if (!customers::is_country_code(c)) return customers::not_a_country_code("delivery_address.country", *in.address.country);
    in.address.country = c;
  }
  in.notes = trimmed(in.notes);
  FIDELIS_RETURN_IF_ERROR(check_text(in.notes, "notes", 2000));
  if (in.placed_at && *in.placed_at > now + 5 * 60'000) return Error::invalid_argument("placed_at", "is in the future");
  return ok();
}

}  // namespace

std::string internal::postcode_key(std::string_view postcode) {
  std::string out;
  for (char c : postcode)
    if (c != ' ' && c != '-') out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return out;
}

Result<int64_t> match_or_create_customer(storage::Tx& tx, const CustomerHint& hint, const DeliveryAddress& address, Millis now,
                                         const dedup::Model* model, std::string_view origin) {
  if (hint.customer_id) {
    Value p[] = {*hint.customer_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL", p));
    if (!row) return Error::not_found("customer_id", fmt::format("no customer {}", *hint.customer_id));
    return *hint.customer_id;
  }
  if (hint.email) {  // never a placeholder (check_input)
    // The mailbox creates lock: two orders from one new mailbox, written alike or not, make one
    // customer (the second finds the first's through the dedup model).
    const std::string address[] = {*hint.email};
    FIDELIS_RETURN_IF_ERROR(customers::lock_mailboxes(tx, address));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> found, customers::find_by_email(tx, *hint.email));
    if (found) return *found;
    // No name to weigh: the mailbox written otherwise (jeandupont+shop@gmail.com) is its one holder's.
    if (!hint.first_name && !hint.last_name) {
      FIDELIS_ASSIGN_OR_RETURN(found, customers::find_sole_mailbox_holder(tx, *hint.email));
      if (found) return *found;
    }
  }
  customers::CustomerInput in;
  in.first_name = hint.first_name;
  in.last_name = hint.last_name;
  if (hint.email) in.emails = std::vector<customers::EmailAddress>{{*hint.email, ""}};
  if (hint.phone) in.phones = std::vector<customers::Phone>{customers::Phone{.raw = *hint.phone}};
  if (address.street || address.postcode || address.city) {
    customers::Address a;
    a.street = address.street;
    a.street2 = address.street2;
    a.postcode = address.postcode;
    a.city = address.city;
    a.country = address.country;
    in.address = a;
  }
  if (Status st = customers::validate_customer_input(in, {}, now); !st) {
    Error e = st.error();
    if (e.field.starts_with("emails")) e.field = "customer.email";
    else if (e.field.starts_with("phones")) e.field = "customer.phone";
    else if (e.field.starts_with("address.")) e.field = "delivery_address." + e.field.substr(8);
    else e.field = "customer." + e.field;
    return e;
  }
  // A number that reaches nobody (invalid, or typed for none) makes no customer alone.
  const std::vector<customers::Phone> phones = in.phones.value_or(std::vector<customers::Phone>{});
  if (!customers::makes_a_customer(in.first_name, in.last_name, in.emails.value_or(std::vector<customers::EmailAddress>{}),
                                   phones))
    return Error::invalid_argument("customer.phone", fmt::format("'{}': {}; give the customer's e-mail or name",
                                                                 phones.empty() ? "" : phones[0].raw,
                                                                 phones.empty() ? "no number" : customers::phone_flag_reason(phones[0])));
  // The same person under another e-mail (or none): the dedup model decides, as for imports.
  std::vector<merging::Candidate> doubtful;
  if (model != nullptr) {
    FIDELIS_ASSIGN_OR_RETURN(std::vector<merging::Candidate> found,
                             merging::find_candidates(tx, merging::record_of(in), *model));
    if (!found.empty() && found.front().decision == dedup::Decision::kMerge) return found.front().customer_id;
    doubtful = std::move(found);
  }
  FIDELIS_ASSIGN_OR_RETURN(customers::Customer c, customers::create_in(tx, in, now));
  std::vector<customers::QualityFlag> flags;  // kept as given, flagged as the API and imports flag it
  for (const customers::Phone& p : phones)
    if (!p.valid) flags.push_back({"phone", p.raw, std::string(customers::phone_flag_reason(p)), std::string(origin), now});
  FIDELIS_RETURN_IF_ERROR(customers::store_flags(tx, c.id, flags));
  for (const auto& d : doubtful) {
    FIDELIS_ASSIGN_OR_RETURN(bool queued, merging::queue_review_in(tx, d.customer_id, c.id, d, *model, origin, now));
    (void)queued;
  }
  return c.id;
}

OrderService::OrderService(storage::Db& db, const Clock& clock, OrderEvents events, OrdersOptions options)
    : db_(db), clock_(clock), events_(std::move(events)), options_(options),
      model_(options.match_model) {}

Result<CreatedOrder> OrderService::create(OrderInput in, const audit::Actor& actor) {
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(check_input(in, now));
  CreatedOrder out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(out, create_checked(tx, in, now));
    if (!out.created) return ok();
    return audit::record(tx, actor, {"order.create", "order", std::to_string(out.order.id), std::nullopt,
                                     fmt::format(R"({{"number":{},"customer_id":{}}})", internal::json_quoted(out.order.number),
                                                 out.order.customer_id)},
                         now);
  });
  if (!s) return s.error();
  return out;
}

Result<CreatedOrder> OrderService::create_in(storage::Tx& tx, OrderInput in, Millis now) {
  FIDELIS_RETURN_IF_ERROR(check_input(in, now));
  return create_checked(tx, in, now);
}

Result<CreatedOrder> OrderService::create_checked(storage::Tx& tx, const OrderInput& in, Millis now) {
  std::string hash = content_hash(in);
  // Two requests with one number: the second waits here, then sees the first's order.
  FIDELIS_RETURN_IF_ERROR(tx.lock_key("order_number:" + in.number));
  {
    Value p[] = {in.number};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT id, content_hash FROM orders WHERE number = $1", p));
    if (row) {
      if (row->str(1) != hash)
        return Error::already_exists("number", "an order with this number exists with different content");
      FIDELIS_ASSIGN_OR_RETURN(Order existing, load_order(tx, row->i64(0)));
      return CreatedOrder{std::move(existing), false};
    }
  }

  Order o;
  o.number = in.number;
  o.channel = in.channel ? *parse_channel(*in.channel, "channel") : SalesChannel::kWeb;
  o.payment_state = in.payment_state ? *parse_payment_state(*in.payment_state, "payment_state") : PaymentState::kPending;
  o.delivery_method = in.delivery_method ? *parse_delivery_method(*in.delivery_method, "delivery_method") : DeliveryMethod::kHome;
  o.status = in.status ? *parse_status(*in.status, "status") : OrderStatus::kPlaced;
  o.address = in.address;
  o.contact_email = in.customer.email;
  o.notes = in.notes;
  o.source = in.source;
  o.placed_at = in.placed_at.value_or(now);
  o.created_at = o.updated_at = now;

  // Lines: the catalogue fills in the name and price the caller left out.
  std::optional<std::string> catalogue_currency;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    const auto& li = in.lines[i];
    std::string f = fmt::format("lines[{}]", i);
    OrderLine l;
    l.position = static_cast<int>(i);
    l.sku = li.sku;
    l.quantity = li.quantity;
    l.discount_minor = li.discount_minor;
    Value p[] = {li.sku};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> prod,
                             tx.one("SELECT id, name, price_minor, currency FROM products WHERE sku = $1", p));
    if (prod) {
      l.product_id = prod->i64(0);
      if (!li.unit_price_minor) {
        if (catalogue_currency && *catalogue_currency != prod->str(3))
          return Error::invalid_argument(f + ".unit_price_minor", "the catalogue prices this product in another currency; give the price");
        catalogue_currency = prod->str(3);
      }
    }
    if (li.name) l.name = *li.name;
    else if (prod) l.name = prod->str(1);
    else return Error::invalid_argument(f + ".name", "is required for a SKU the catalogue does not know");
    if (li.unit_price_minor) l.unit_price_minor = *li.unit_price_minor;
    else if (prod) l.unit_price_minor = prod->i64(2);
    else return Error::invalid_argument(f + ".unit_price_minor", "is required for a SKU the catalogue does not know");
    if (l.quantity > kMaxAmount / std::max<int64_t>(l.unit_price_minor, 1))
      return Error::invalid_argument(f + ".quantity", "the line's amount is too large");
    if (l.discount_minor > l.quantity * l.unit_price_minor)
      return Error::invalid_argument(f + ".discount_minor", "is larger than the line's amount");
    o.subtotal_minor += l.quantity * l.unit_price_minor;
    o.discount_minor += l.discount_minor;
    o.lines.push_back(std::move(l));
  }
  if (in.currency) o.currency = *in.currency;
  else if (catalogue_currency) o.currency = *catalogue_currency;
  else return Error::invalid_argument("currency", "is required when no line takes its price from the catalogue");
  if (catalogue_currency && *catalogue_currency != o.currency)
    return Error::invalid_argument("currency", fmt::format("the catalogue prices are in {}; give each line's price", *catalogue_currency));
  o.discount_minor += in.order_discount_minor;
  o.shipping_minor = in.shipping_minor;
  if (o.discount_minor > o.subtotal_minor) return Error::invalid_argument("discount_minor", "is larger than the subtotal");
  o.total_minor = o.subtotal_minor - o.discount_minor + o.shipping_minor;
  auto check_total = [](std::optional<int64_t> given, int64_t computed, std::string_view field) -> Status {
    if (given && *given != computed)
      return Error::invalid_argument(std::string(field), fmt::format("is {} but the lines make {}", *given, computed));
    return ok();
  };
  FIDELIS_RETURN_IF_ERROR(check_total(in.subtotal_minor, o.subtotal_minor, "subtotal_minor"));
  FIDELIS_RETURN_IF_ERROR(check_total(in.discount_minor, o.discount_minor, "discount_minor"));
  FIDELIS_RETURN_IF_ERROR(check_total(in.total_minor, o.total_minor, "total_minor"));

  FIDELIS_ASSIGN_OR_RETURN(o.customer_id, match_or_create_customer(tx, in.customer, in.address, now,
                                                                   options_.match_customers ? &model_ : nullptr,
                                                                   fmt::format("order:{}", o.number)));

  Value p[] = {o.number, o.customer_id, std::string(channel_name(o.channel)), o.currency, o.subtotal_minor, o.discount_minor,
               o.shipping_minor, o.total_minor, std::string(payment_state_name(o.payment_state)),
               std::string(delivery_method_name(o.delivery_method)), storage::opt(o.address.name), storage::opt(o.address.street),
               storage::opt(o.address.street2), storage::opt(o.address.postcode), storage::opt(o.address.city),
               storage::opt(o.address.country), storage::opt(o.contact_email), std::string(status_name(o.status)),
               storage::opt(o.notes), o.source, hash, o.placed_at, now};
  auto id = tx.insert_id(
      "INSERT INTO orders (number, customer_id, channel, currency, subtotal_minor, discount_minor, shipping_minor, total_minor, "
      "payment_state, delivery_method, delivery_name, delivery_street, delivery_street2, delivery_postcode, delivery_city, "
      "delivery_country, contact_email, status, notes, source, content_hash, placed_at, created_at, updated_at, version) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23, 1)",
      p);
  if (!id && id.error().code == Code::kAlreadyExists)
    return Error::already_exists("number", "an order with this number was created at the same time");
  if (!id) return id.error();
  o.id = *id;
  for (const auto& l : o.lines) {
    Value lp[] = {o.id, o.customer_id, int64_t{l.position}, l.sku, l.name, storage::opt(l.product_id), l.quantity,
                  l.unit_price_minor, l.discount_minor};
    FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO order_lines (order_id, customer_id, position, sku, name, product_id, quantity, "
                                    "unit_price_minor, discount_minor, returned_quantity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
                                    lp));
  }
  // The history starts with "placed"; an imported order already further along gets its status too.
  std::vector<OrderStatus> steps = {OrderStatus::kPlaced};
  if (o.status != OrderStatus::kPlaced) steps.push_back(o.status);
  for (OrderStatus st : steps) {
    Value hp[] = {o.id, o.customer_id, std::string(status_name(st)), o.placed_at, now};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO order_status_history (order_id, customer_id, status, at, recorded_at) VALUES ($1, $2, $3, $4, $5)", hp));
  }
  FIDELIS_RETURN_IF_ERROR(audit::emit(tx,
                                      {"order.placed", o.customer_id, std::to_string(o.id),
                                       fmt::format(R"({{"id":{},"number":{},"total_minor":{},"currency":"{}","status":"{}"}})", o.id,
                                                   internal::json_quoted(o.number), o.total_minor, o.currency, status_name(o.status))},
                                      now));
  FIDELIS_ASSIGN_OR_RETURN(Order stored, load_order(tx, o.id));
  return CreatedOrder{std::move(stored), true};
}

}  // namespace fidelis::commerce
