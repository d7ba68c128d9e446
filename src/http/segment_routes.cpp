// The Segment tracking API (identify, track, page, batch), so that shops' analytics SDKs send to
// Fidelis unchanged: POST /v1/identify, /v1/track, /v1/page, /v1/batch with HTTP Basic auth whose
// user name is a Fidelis API key with tracking:write (the SDK's write key).
//
// Mapping (docs/TRACKING.md): anonymousId is the visitor (a userId alone makes a visitor "u:<hash>");
// page -> page_view; track "Product Viewed" -> product_view, "Products Searched" -> search,
// "Product Added"/"Product Removed" -> cart_add/cart_remove, "Checkout Started", "Checkout Step
// Viewed"/"Checkout Step Completed", "Order Completed" -> checkout_step, anything else -> track
// with its name. A message with both anonymousId and a userId (or traits.email) naming a customer
// stitches the visitor to that customer. screen, group and alias are accepted and ignored.
// Segment is lenient, so this is too where its sources differ: a URL that is not absolute is
// dropped, properties over 4 KiB are dropped, a known e-commerce event lacking its product or
// query is kept as a plain track.

#include <fmt/format.h>
#include <sodium.h>

#include <set>
#include <tuple>

#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace tracking;

namespace {

constexpr size_t kMaxSegmentBatch = 1000;

struct Message {
  std::optional<Event> event;
  std::string visitor_id;  // from anonymousId; "" when absent
  std::string user_id, email;
};

std::string hashed(std::string_view prefix, std::string_view v) {
  unsigned char h[12];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(v.data()), v.size(), nullptr, 0);
  return std::string(prefix) + text::hex_encode({reinterpret_cast<const char*>(h), sizeof h});
}

std::string str_at(const Json& o, std::initializer_list<std::string_view> path) {
  const Json* cur = &o;
  for (std::string_view k : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(std::string(k));
    if (it == cur->end()) return "";
    cur = &*it;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_number_integer()) return std::to_string(cur->get<int64_t>());
  return "";
}

std::string absolute_or_empty(std::string u) { return url_host(u).empty() ? std::string() : u; }

Result<Message> read_message(const Json& m, std::string type, const std::string& prefix) {
  if (!m.is_object()) return Error::invalid_argument(prefix, "must be an object");
  if (type.empty()) type = str_at(m, {"type"});
  Message out;
  std::string anon = str_at(m, {"anonymousId"});
  out.user_id = str_at(m, {"userId"});
  out.email = str_at(m, {"traits", "email"});
  if (out.email.empty()) out.email = str_at(m, {"context", "traits", "email"});
  if (anon.empty() && out.user_id.empty())
    return Error::invalid_argument(prefix + ".anonymousId", "a message needs an anonymousId or a userId");
  if (!anon.empty()) out.visitor_id = valid_visitor_id(anon) ? anon : hashed("a:", anon);
  if (type == "identify" || type == "screen" || type == "group" || type == "alias") return out;
  if (type != "track" && type != "page")
    return Error::invalid_argument(prefix + ".type", fmt::format("unknown type '{}'", type));

  Event e;
  e.visitor_id = out.visitor_id.empty() ? hashed("u:", out.user_id) : out.visitor_id;
  if (std::string ts = str_at(m, {"timestamp"}); !ts.empty()) {
    FIDELIS_ASSIGN_OR_RETURN(e.at, parse_iso8601(ts, prefix + ".timestamp"));
  }
  const Json empty = Json::object();
  const Json& props = m.contains("properties") && m["properties"].is_object() ? m["properties"] : empty;
  e.url = absolute_or_empty(str_at(props, {"url"}));
  if (e.url.empty()) e.url = absolute_or_empty(str_at(m, {"context", "page", "url"}));
  e.referrer = absolute_or_empty(str_at(props, {"referrer"}));
  if (e.referrer.empty()) e.referrer = absolute_or_empty(str_at(m, {"context", "page", "referrer"}));
  e.title = str_at(props, {"title"});
  if (e.title.empty()) e.title = str_at(m, {"context", "page", "title"});
  e.utm = {str_at(m, {"context", "campaign", "source"}), str_at(m, {"context", "campaign", "medium"}),
           str_at(m, {"context", "campaign", "name"})};
  if (props.size() > 0) {
    std::string dumped = props.dump();
    if (dumped.size() <= kMaxPropertiesBytes) e.properties = std::move(dumped);
  }
  if (type == "page") {
    e.type = EventType::kPageView;
    if (e.title.empty()) e.title = str_at(m, {"name"});
    out.event = std::move(e);
    return out;
  }
  std::string name = str_at(m, {"event"});
  if (name.empty()) return Error::invalid_argument(prefix + ".event", "a track message needs an event name");
  std::string sku = str_at(props, {"sku"});
  if (sku.empty()) sku = str_at(props, {"product_id"});
  e.type = EventType::kTrack;
  e.name = name;
  if (name == "Product Viewed" && !sku.empty()) {
    e.type = EventType::kProductView;
    e.sku = sku;
  } else if ((name == "Product Added" || name == "Product Removed") && !sku.empty()) {
    e.type = name == "Product Added" ? EventType::kCartAdd : EventType::kCartRemove;
    e.sku = sku;
    if (props.contains("quantity") && props["quantity"].is_number_integer()) e.quantity = props["quantity"].get<int64_t>();
  } else if (name == "Products Searched" && !str_at(props, {"query"}).empty()) {
    e.type = EventType::kSearch;
    e.query = str_at(props, {"query"});
  } else if (name == "Checkout Started" || name == "Checkout Step Viewed" || name == "Checkout Step Completed" ||
             name == "Order Completed") {
    e.type = EventType::kCheckoutStep;
    std::string step = str_at(props, {"step"});
    e.step = name == "Checkout Started" ? "started" : name == "Order Completed" ? "completed" : step.empty() ? name : step;
  }
  if (e.type != EventType::kTrack) e.name.clear();
  out.event = std::move(e);
  return out;
}

Response handle(Services& s, Context& ctx, const std::string& type) {
  auto body = ctx.json_body();
  if (!body) return problem(body.error());
  std::vector<Message> messages;
  if (type == "batch") {
    if (!body->contains("batch") || !(*body)["batch"].is_array())
      return problem(Error::invalid_argument("batch", "is required: an array of messages"));
    const Json& arr = (*body)["batch"];
    if (arr.size() > kMaxSegmentBatch)
      return problem(Error::invalid_argument("batch", fmt::format("{} messages; at most {}", arr.size(), kMaxSegmentBatch)));
    for (size_t i = 0; i < arr.size(); ++i) {
      auto m = read_message(arr[i], "", fmt::format("batch[{}]", i));
      if (!m) return problem(m.error());
      messages.push_back(std::move(*m));
    }
  } else {
    auto m = read_message(*body, type, "body");
    if (!m) return problem(m.error());
    messages.push_back(std::move(*m));
  }
  std::vector<Event> events;
  for (auto& m : messages)
    if (m.event) events.push_back(std::move(*m.event));
  if (!events.empty()) {
    auto done = s.tracking.ingest(std::move(events));
    if (!done) {
      Error e = done.error();
      if (type != "batch" && e.field.starts_with("events[0].")) e.field = "body." + e.field.substr(10);
      else if (e.field.starts_with("events[")) e.field = "batch" + e.field.substr(6);
      return problem(e);
    }
  }
  // Stitch each anonymous visitor named with a known customer, once per request: the same visitor
  // and name (SDKs repeat them on every message) are looked up once.
  std::set<std::pair<std::string, int64_t>> stitched;
  std::set<std::tuple<std::string, std::string, std::string>> looked_up;
  for (const auto& m : messages) {
    if (m.visitor_id.empty() || (m.user_id.empty() && m.email.empty())) continue;
    if (!looked_up.emplace(m.visitor_id, m.user_id, m.email).second) continue;
    auto customer = s.tracking.resolve_customer(m.user_id, s.config.tracking_user_id_source, m.email);
    if (!customer) return problem(customer.error());
    if (!*customer || !stitched.emplace(m.visitor_id, **customer).second) continue;
    auto n = s.tracking.identify(m.visitor_id, **customer, ctx.actor);
    if (!n) return problem(n.error());
  }
  return json_response(200, {{"success", true}});
}

}  // namespace

void add_segment_routes(Router& r, Services& s) {
  for (const char* type : {"identify", "track", "page", "batch"}) {
    std::string t = type;
    std::string op = "segment" + std::string(1, static_cast<char>(t[0] - 32)) + t.substr(1);
    r.add({"POST", "/v1/" + t, op, Permission::kTrackingWrite, false, true,
           [&s, t](Context& ctx) { return handle(s, ctx, t); }});
  }
}

}  // namespace fidelis::http
