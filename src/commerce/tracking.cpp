// The customer's public view of an order: by number + e-mail or postcode, or by a signed link.
//
// A wrong e-mail, a wrong postcode, an unknown number and a bad or expired link all give the same
// NotFound, so the answer never tells which orders exist. Secrets are compared as BLAKE2b hashes
// with sodium_memcmp (constant time), and wrong look-ups are counted per address in the database
// (the login throttling table, under a "track:" key) so several processes share the limit.
//
// Links are stateless: base64url("o.<order id>.<expiry ms>") + "." + base64url(HMAC-SHA-512/256)
// under a key kept in `settings`, as the questionnaire links are.

#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <cstdio>

#include "commerce/commerce.h"
#include "commerce/commerce_internal.h"
#include "core/text.h"

namespace fidelis::commerce {

using storage::Value;

namespace {

using Digest = std::array<unsigned char, 32>;

Digest digest(std::string_view s) {
  Digest d{};
  crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size(), nullptr, 0);
  return d;
}

bool same(const Digest& a, const Digest& b) { return sodium_memcmp(a.data(), b.data(), a.size()) == 0; }

Error not_found() { return Error::not_found("order", "no order matches; check the order number and the e-mail or postcode"); }

}  // namespace

Result<std::string> OrderService::link_key() {
  std::lock_guard lock(key_mu_);
  if (!link_key_.empty()) return link_key_;
  if (sodium_init() < 0) return Error::internal("libsodium failed to initialise");
  FIDELIS_ASSIGN_OR_RETURN(std::string raw, storage::secret_setting(db_, "order_tracking_link_key", crypto_auth_KEYBYTES));
  link_key_ = raw;
  return link_key_;
}

Result<std::string> OrderService::tracking_token(int64_t id) {
  FIDELIS_ASSIGN_OR_RETURN(std::string key, link_key());
  std::string payload = fmt::format("o.{}.{}", id, clock_.now() + options_.tracking_link_ttl_ms);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
              reinterpret_cast<const unsigned char*>(key.data()));
  return text::base64url_encode(payload) + "." + text::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), sizeof mac));
}

Result<TrackingView> OrderService::track_token(std::string_view token) {
  auto dot = token.find('.');
  std::string payload, mac;
  if (token.size() > 512 || dot == std::string_view::npos || !text::base64url_decode(token.substr(0, dot), payload) ||
      !text::base64url_decode(token.substr(dot + 1), mac) || mac.size() != crypto_auth_BYTES)
    return not_found();
  FIDELIS_ASSIGN_OR_RETURN(std::string key, link_key());
  if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(mac.data()), reinterpret_cast<const unsigned char*>(payload.data()),
                         payload.size(), reinterpret_cast<const unsigned char*>(key.data())) != 0)
    return not_found();
  long long id = 0, exp = 0;
  if (std::sscanf(payload.c_str(), "o.%lld.%lld", &id, &exp) != 2 || exp <= clock_.now()) return not_found();
  return view(id);
}

Result<TrackingView> OrderService::track(std::string_view number_in, std::optional<std::string_view> email,
                                         std::optional<std::string_view> postcode, std::string_view address) {
  std::string number(text::trim(number_in));
  if (number.empty() || number.size() > 64) return Error::invalid_argument("order", "give the order number");
  if (!email == !postcode) return Error::invalid_argument("email", "give either the e-mail or the delivery postcode");
  if (email && (email->empty() || email->size() > 254)) return Error::invalid_argument("email", "give the order's e-mail");
  if (postcode && (postcode->empty() || postcode->size() > 20))
    return Error::invalid_argument("postcode", "give the delivery postcode");

  Millis now = clock_.now();
  std::string throttle_key = "track:" + std::string(address);
  Value tk[] = {throttle_key};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> tries,
                           db_.one("SELECT failures, window_start FROM login_attempts WHERE key = $1", tk));
  if (tries && now - tries->i64(1) < options_.tracking_window_ms && tries->i64(0) >= options_.tracking_max_failures)
    return Error::resource_exhausted("order", "too many look-ups that matched nothing; try again in a few minutes");

  Value np[] = {number};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one("SELECT id, customer_id, contact_email, delivery_postcode FROM orders WHERE number = $1", np));
  // The same work whether or not the order exists: the timing tells nothing either.
  std::vector<std::string> secrets;
  if (row && email) {
    if (auto c = row->opt_str(2)) secrets.push_back(text::to_lower(*c));
    Value cp[] = {row->i64(1)};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows emails, db_.query("SELECT email_key FROM customer_emails WHERE customer_id = $1", cp));
    for (const auto& r : emails.rows) secrets.push_back(r.str(0));
  } else if (row && postcode) {
    if (auto p = row->opt_str(3)) secrets.push_back(internal::postcode_key(*p));
  }
  if (secrets.empty()) secrets.push_back("\x01 no order \x01");
  Digest given = digest(email ? text::to_lower(text::trim(*email)) : internal::postcode_key(*postcode));
  bool match = false;
  for (const auto& s : secrets) match |= same(given, digest(s));
  if (row && match) return view(row->i64(0));

  Value fp[] = {throttle_key, now, now - options_.tracking_window_ms};
  (void)db_.try_transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO login_attempts (key, failures, window_start) VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN login_attempts.window_start <= $3 THEN 1 ELSE login_attempts.failures + 1 END, "
        "window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 ELSE login_attempts.window_start END",
        fp));
    return ok();
  });
  return not_found();
}

Result<TrackingView> OrderService::view(int64_t id) {
  TrackingView v;
  Status s = db_.read([&](storage::Tx& tx) -> Status {
    auto o = load_order(tx, id);
    if (!o && o.error().code == Code::kNotFound) return not_found();
    if (!o) return o.error();
    v.number = o->number;
    v.status = o->status;
    v.delivery_method = o->delivery_method;
    v.placed_at = o->placed_at;
    v.history = o->history;
    for (const auto& l : o->lines) v.lines.push_back({l.name, l.quantity, l.returned_quantity});
    v.shipments = o->shipments;
    FIDELIS_ASSIGN_OR_RETURN(std::optional<SlotBooking> b, load_booking(tx, id));
    if (b) {
      v.slot_starts_at = b->slot.starts_at;
      v.slot_ends_at = b->slot.ends_at;
    }
    return ok();
  });
  if (!s) return s.error();
  return v;
}

}  // namespace fidelis::commerce
