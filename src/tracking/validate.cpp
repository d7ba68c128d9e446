// Checking a batch of events before anything is written, and visitor ids.

#include <fmt/format.h>
#include <sodium.h>

#include <array>

#include "core/text.h"
#include "tracking/tracking.h"

namespace fidelis::tracking {

namespace {

constexpr std::array<std::string_view, 8> kTypeNames = {"session_start", "page_view",   "product_view", "search",
                                                        "cart_add",      "cart_remove", "checkout_step", "track"};

Status check_text(const std::string& v, size_t max, const std::string& field) {
  if (v.size() > max) return Error::invalid_argument(field, fmt::format("is longer than {} bytes", max));
  if (!text::is_valid_utf8(v)) return Error::invalid_argument(field, "is not valid UTF-8");
  return ok();
}

Status check_url(const std::string& v, const std::string& field) {
  FIDELIS_RETURN_IF_ERROR(check_text(v, kMaxUrlBytes, field));
  if (!v.empty() && url_host(v).empty()) return Error::invalid_argument(field, "must be an absolute http(s) URL");
  return ok();
}

Status check_event(Event& e, size_t i, Millis now) {
  auto f = [i](std::string_view name) { return fmt::format("events[{}].{}", i, name); };
  if (!valid_visitor_id(e.visitor_id))
    return Error::invalid_argument(f("visitor_id"), fmt::format("must be 1 to {} of letters, digits, '.', '_', ':' and '-'",
                                                                kMaxVisitorIdBytes));
  if (!e.at) e.at = now;
  if (*e.at < now - kMaxPastMs) return Error::invalid_argument(f("at"), "is more than 7 days in the past");
  if (*e.at > now + kMaxFutureMs) return Error::invalid_argument(f("at"), "is in the future");
  FIDELIS_RETURN_IF_ERROR(check_url(e.url, f("url")));
  FIDELIS_RETURN_IF_ERROR(check_url(e.referrer, f("referrer")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.title, kMaxTextBytes, f("title")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.sku, kMaxTextBytes, f("sku")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.query, kMaxTextBytes, f("query")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.step, kMaxTextBytes, f("step")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.name, kMaxTextBytes, f("name")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.utm.source, kMaxTextBytes, f("utm_source")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.utm.medium, kMaxTextBytes, f("utm_medium")));
  FIDELIS_RETURN_IF_ERROR(check_text(e.utm.campaign, kMaxTextBytes, f("utm_campaign")));
  if (e.properties.size() > kMaxPropertiesBytes)
    return Error::invalid_argument(f("properties"), fmt::format("is longer than {} bytes as JSON", kMaxPropertiesBytes));
  switch (e.type) {
    case EventType::kPageView:
    case EventType::kSessionStart:
      break;
    case EventType::kProductView:
      if (e.sku.empty()) return Error::invalid_argument(f("sku"), "is required for product_view");
      break;
    case EventType::kCartAdd:
    case EventType::kCartRemove:
      if (e.sku.empty()) return Error::invalid_argument(f("sku"), "is required for cart_add and cart_remove");
      if (!e.quantity) e.quantity = 1;
      if (*e.quantity < 1 || *e.quantity > 10'000) return Error::invalid_argument(f("quantity"), "must be between 1 and 10000");
      break;
    case EventType::kSearch:
      if (text::trim(e.query).empty()) return Error::invalid_argument(f("query"), "is required for search");
      break;
    case EventType::kCheckoutStep:
      if (text::trim(e.step).empty()) return Error::invalid_argument(f("step"), "is required for checkout_step");
      break;
    case EventType::kTrack:
      if (text::trim(e.name).empty()) return Error::invalid_argument(f("name"), "is required for track");
      break;
  }
  if (e.type != EventType::kCartAdd && e.type != EventType::kCartRemove && e.quantity)
    return Error::invalid_argument(f("quantity"), "only cart_add and cart_remove carry a quantity");
  if (e.utm.source.empty() && e.utm.medium.empty() && e.utm.campaign.empty() && !e.url.empty()) {
    // Read from the page's address, percent-decoded: held to the same rules as sent ones.
    e.utm = utm_from_url(e.url);
    FIDELIS_RETURN_IF_ERROR(check_text(e.utm.source, kMaxTextBytes, f("url")));
    FIDELIS_RETURN_IF_ERROR(check_text(e.utm.medium, kMaxTextBytes, f("url")));
    FIDELIS_RETURN_IF_ERROR(check_text(e.utm.campaign, kMaxTextBytes, f("url")));
  }
  return ok();
}

}  // namespace

std::string_view event_type_name(EventType t) { return kTypeNames[static_cast<size_t>(t)]; }

Result<EventType> parse_event_type(std::string_view name, std::string_view field) {
  for (size_t i = 0; i < kTypeNames.size(); ++i)
    if (kTypeNames[i] == name) return static_cast<EventType>(i);
  return Error::invalid_argument(std::string(field),
                                 fmt::format("unknown event type '{}'; expected one of {}", name, fmt::join(kTypeNames, ", ")));
}

bool valid_visitor_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxVisitorIdBytes) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
          c == ':'))
      return false;
  return true;
}

std::string new_visitor_id() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char b[22];
  randombytes_buf(b, sizeof b);
  std::string out;
  for (unsigned char c : b) out += kAlphabet[c & 63];
  return out;
}

Status validate(std::vector<Event>& events, Millis now) {
  if (events.empty()) return Error::invalid_argument("events", "the batch is empty");
  if (events.size() > kMaxBatchEvents)
    return Error::invalid_argument("events", fmt::format("{} events; a batch holds at most {}", events.size(), kMaxBatchEvents));
  for (size_t i = 0; i < events.size(); ++i) FIDELIS_RETURN_IF_ERROR(check_event(events[i], i, now));
  return ok();
}

}  // namespace fidelis::tracking
