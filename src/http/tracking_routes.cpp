// Web tracking over HTTP: the snippet (/t.js), the pixel (/t.gif), the snippet's collector
// (/t/collect), the server-side batch API and identify (/api/v1/tracking/*), a customer's counters.
// Limits are in tracking.h and docs/TRACKING.md.

#include <fmt/format.h>

#include "core/embedded.h"
#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace tracking;

namespace {

constexpr size_t kMaxCollectEvents = 50;       // per /t/collect request
constexpr int64_t kVisitorCookieSeconds = 395LL * 24 * 3600;  // 13 months
// The smallest transparent 1x1 GIF.
constexpr unsigned char kGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c,
                                  0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x01, 0x44, 0x00, 0x3b};

std::string snippet_source(const Config& c) {
  std::string js;
  for (const auto& f : embedded::snippet()) js = std::string(f.content);
  auto replace = [&js](std::string_view from, std::string_view to) {
    if (size_t at = js.find(from); at != std::string::npos) js.replace(at, from.size(), to);
  };
  replace("/*REQUIRE_CONSENT*/false", c.tracking_require_consent ? "true" : "false");
  replace("/*HONOR_DNT*/true", c.tracking_honor_dnt ? "true" : "false");
  return js;
}

Privacy privacy_of(const Context& ctx, bool consent_signal) {
  Privacy p;
  p.do_not_track = ctx.req.header("DNT") == "1" || ctx.req.header("Sec-GPC") == "1";
  p.consent = consent_signal || cookie_value(ctx.req.header("Cookie"), "fid_consent") == "1";
  return p;
}

std::string not_stored_reason(const Services& s, const Privacy& p) {
  if (s.tracking.options().honor_dnt && p.do_not_track) return "not stored: do not track";
  return "not stored: no consent";
}

// The visitor: the id the page sent, else the fid_vid cookie, else a new one (and a cookie for it).
Result<std::string> visitor_of(const Context& ctx, const std::string& sent, Response& res, const Config& config) {
  if (!sent.empty()) {
    if (!valid_visitor_id(sent))
      return Error::invalid_argument("visitor_id", "must be 1 to 64 of letters, digits, '.', '_', ':' and '-'");
    return sent;
  }
  std::string vid = cookie_value(ctx.req.header("Cookie"), "fid_vid");
  if (valid_visitor_id(vid)) return vid;
  vid = new_visitor_id();
  res.set("Set-Cookie", fmt::format("fid_vid={}; Path=/; Max-Age={}; SameSite=Lax; HttpOnly{}", vid, kVisitorCookieSeconds,
                                    config.secure_cookies ? "; Secure" : ""));
  return vid;
}

Result<std::string> text_field(const Json& o, std::string_view key, const std::string& field) {
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> v, get_string(o, key, field));
  return v.value_or("");
}

}  // namespace

// One event of the batch API and the collector; `prefix` is "events[3]".
Result<Event> event_from_json(const Json& o, const std::string& prefix, const std::string& visitor_id) {
  if (!o.is_object()) return Error::invalid_argument(prefix, "must be an object");
  FIDELIS_RETURN_IF_ERROR(reject_unknown(o,
                                         {"visitor_id", "type", "at", "url", "title", "referrer", "utm_source", "utm_medium",
                                          "utm_campaign", "sku", "query", "quantity", "step", "name", "properties"},
                                         prefix));
  auto f = [&prefix](std::string_view k) { return prefix + "." + std::string(k); };
  Event e;
  FIDELIS_ASSIGN_OR_RETURN(e.visitor_id, text_field(o, "visitor_id", f("visitor_id")));
  if (e.visitor_id.empty()) e.visitor_id = visitor_id;
  FIDELIS_ASSIGN_OR_RETURN(std::string type, text_field(o, "type", f("type")));
  if (type.empty()) return Error::invalid_argument(f("type"), "is required");
  FIDELIS_ASSIGN_OR_RETURN(e.type, parse_event_type(type, f("type")));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> at, get_string(o, "at", f("at")));
  if (at) {
    FIDELIS_ASSIGN_OR_RETURN(e.at, parse_iso8601(*at, f("at")));
  }
  FIDELIS_ASSIGN_OR_RETURN(e.url, text_field(o, "url", f("url")));
  FIDELIS_ASSIGN_OR_RETURN(e.title, text_field(o, "title", f("title")));
  FIDELIS_ASSIGN_OR_RETURN(e.referrer, text_field(o, "referrer", f("referrer")));
  FIDELIS_ASSIGN_OR_RETURN(e.utm.source, text_field(o, "utm_source", f("utm_source")));
  FIDELIS_ASSIGN_OR_RETURN(e.utm.medium, text_field(o, "utm_medium", f("utm_medium")));
  FIDELIS_ASSIGN_OR_RETURN(e.utm.campaign, text_field(o, "utm_campaign", f("utm_campaign")));
  FIDELIS_ASSIGN_OR_RETURN(e.sku, text_field(o, "sku", f("sku")));
  FIDELIS_ASSIGN_OR_RETURN(e.query, text_field(o, "query", f("query")));
  FIDELIS_ASSIGN_OR_RETURN(e.step, text_field(o, "step", f("step")));
  FIDELIS_ASSIGN_OR_RETURN(e.name, text_field(o, "name", f("name")));
  FIDELIS_ASSIGN_OR_RETURN(e.quantity, get_int(o, "quantity", f("quantity")));
  if (o.contains("properties") && !o["properties"].is_null()) {
    if (!o["properties"].is_object()) return Error::invalid_argument(f("properties"), "must be an object");
    e.properties = o["properties"].dump();
  }
  return e;
}

// Reads the events of a batch body ({"events": [...]}) with the batch-level visitor id as default.
Result<std::vector<Event>> events_from_json(const Json& body, size_t max, const std::string& visitor_id) {
  if (!body.contains("events") || !body["events"].is_array())
    return Error::invalid_argument("events", "is required: an array of events");
  const Json& arr = body["events"];
  if (arr.size() > max) return Error::invalid_argument("events", fmt::format("{} events; at most {} per request", arr.size(), max));
  std::vector<Event> out;
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    FIDELIS_ASSIGN_OR_RETURN(Event e, event_from_json(arr[i], fmt::format("events[{}]", i), visitor_id));
    out.push_back(std::move(e));
  }
  return out;
}

Json counters_json(const Counters& c) {
  Json by = Json::object();
  for (size_t i = 0; i < kSourceCount; ++i) by[std::string(source_name(static_cast<Source>(i)))] = c.visits_by_source[i];
  return {{"visits", c.visits},
          {"page_views", c.page_views},
          {"events", c.events},
          {"first_visit_at", c.first_visit_at ? Json(iso(*c.first_visit_at)) : Json(nullptr)},
          {"last_visit_at", c.last_visit_at ? Json(iso(*c.last_visit_at)) : Json(nullptr)},
          {"last_source", c.last_source.empty() ? Json(nullptr) : Json(c.last_source)},
          {"visits_by_source", by}};
}

void add_tracking_routes(Router& r, Services& s) {
  r.add({"GET", "/t.js", "getTrackingSnippet", std::nullopt, false, false, [&s](Context&) {
           static const std::string js = snippet_source(s.config);
           Response res;
           res.set("Content-Type", "text/javascript; charset=utf-8");
           res.set("Cache-Control", "public, max-age=3600");
           res.body = js;
           return res;
         }});
  r.add({"GET", "/t.gif", "trackingPixel", std::nullopt, false, true, [&s](Context& ctx) {
           Response res;  // the parameters it does not read (fbclid, gclid, utm_term) are ignored, as on every public route
           Privacy p = privacy_of(ctx, ctx.query_param("consent").value_or("") == "1");
           if (!s.tracking.may_store(p)) {
             res.set("Tracking", not_stored_reason(s, p));
           } else {
             auto vid = visitor_of(ctx, ctx.query_param("vid").value_or(""), res, s.config);
             if (!vid) return problem(vid.error());
             Event e;
             e.visitor_id = *vid;
             auto type = parse_event_type(ctx.query_param("e").value_or("page_view"), "e");
             if (!type) return problem(type.error());
             e.type = *type;
             e.url = ctx.query_param("url").value_or(std::string(ctx.req.header("Referer")));
             e.referrer = ctx.query_param("ref").value_or("");
             e.title = ctx.query_param("title").value_or("");
             e.sku = ctx.query_param("sku").value_or("");
             e.query = ctx.query_param("q").value_or("");
             e.step = ctx.query_param("step").value_or("");
             e.utm = {ctx.query_param("utm_source").value_or(""), ctx.query_param("utm_medium").value_or(""),
                      ctx.query_param("utm_campaign").value_or("")};
             auto done = s.tracking.ingest({std::move(e)});
             if (!done) {
               Error err = done.error();
               if (err.field.starts_with("events[0].")) err.field = err.field.substr(10);
               return problem(err);
             }
             res.set("Tracking", "stored");
           }
           res.set("Content-Type", "image/gif");
           res.set("Cache-Control", "no-store");
           res.body.assign(reinterpret_cast<const char*>(kGif), sizeof kGif);
           return res;
         }, true});
  r.add({"POST", "/t/collect", "collectTrackingEvents", std::nullopt, false, true, [&s](Context& ctx) {
           // The snippet sends text/plain (navigator.sendBeacon), so any content type is read as JSON.
           auto parsed = parse_json_object(ctx.req.body);
           if (!parsed) return problem(parsed.error());
           Json body = std::move(*parsed);
           if (auto st = reject_unknown(body, {"visitor_id", "consent", "events"}); !st) return problem(st.error());
           auto consent = get_bool(body, "consent", "consent");
           if (!consent) return problem(consent.error());
           Response res = no_content();
           Privacy p = privacy_of(ctx, consent->value_or(false));
           if (!s.tracking.may_store(p)) {
             res.set("Tracking", not_stored_reason(s, p));
             return res;
           }
           auto sent = get_string(body, "visitor_id", "visitor_id");
           if (!sent) return problem(sent.error());
           auto vid = visitor_of(ctx, sent->value_or(""), res, s.config);
           if (!vid) return problem(vid.error());
           auto events = events_from_json(body, kMaxCollectEvents, *vid);
           if (!events) return problem(events.error());
           auto done = s.tracking.ingest(std::move(*events));
           if (!done) return problem(done.error());
           res.set("Tracking", "stored");
           return res;
         }});
  r.add({"POST", "/api/v1/tracking/events", "ingestTrackingEvents", Permission::kTrackingWrite, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"events"}); !st) return problem(st.error());
           auto events = events_from_json(*body, kMaxBatchEvents, "");
           if (!events) return problem(events.error());
           auto done = s.tracking.ingest(std::move(*events));
           if (!done) return problem(done.error());
           return json_response(200, {{"accepted", done->accepted}, {"sessions_started", done->sessions_started}});
         }});
  r.add({"POST", "/api/v1/tracking/identify", "identifyVisitor", Permission::kTrackingWrite, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"visitor_id", "customer_id"}); !st) return problem(st.error());
           auto vid = get_string(*body, "visitor_id", "visitor_id");
           if (!vid) return problem(vid.error());
           auto cid = get_int(*body, "customer_id", "customer_id");
           if (!cid) return problem(cid.error());
           if (!*vid) return problem(Error::invalid_argument("visitor_id", "is required"));
           if (!*cid) return problem(Error::invalid_argument("customer_id", "is required"));
           auto n = s.tracking.identify(**vid, **cid, ctx.actor);
           if (!n) return problem(n.error());
           return json_response(200, {{"visitor_id", **vid}, {"customer_id", **cid}, {"events_attributed", *n}});
         }});
  r.add({"GET", "/api/v1/customers/{id}/web-counters", "getCustomerWebCounters", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto c = counters(s.db, *id);
           if (!c) return problem(c.error());
           Json out = counters_json(*c);
           out["customer_id"] = *id;
           return json_response(200, out);
         }});
}

}  // namespace fidelis::http
