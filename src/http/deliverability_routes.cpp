// /api/v1/bounces, /api/v1/email-status, /api/v1/npai and postal NPAI flags.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

using auth::Permission;

namespace {

// `with_owner`: the caller may read customers; otherwise who owns the address is not said (a
// provider's key must not learn it by posting events).
Json status_json(const deliverability::EmailStatus& s, bool with_owner = true) {
  return {{"email", s.email},
          {"customer_id", s.customer_id && with_owner ? Json(*s.customer_id) : Json(nullptr)},
          {"status", bounces::address_status_name(s.status)},
          {"soft_bounces", s.soft_count},
          {"sent", s.sent},
          {"last_code", s.last_code},
          {"last_reason", s.last_reason},
          {"updated_at", s.updated_at ? Json(iso(s.updated_at)) : Json(nullptr)}};
}

Json rate_json(const deliverability::Rate& r) {
  return {{"key", r.key}, {"sent", r.sent}, {"hard_bounces", r.hard}, {"rate", r.rate}};
}

// `f` is the event's place in the body ("events[2]"), or empty for a body that is the event.
Result<bounces::WebhookEvent> event_from_json(const Json& e, const std::string& prefix) {
  const std::string f = prefix.empty() ? std::string() : prefix + ".";
  if (!e.is_object()) return Error::invalid_argument(prefix.empty() ? "body" : prefix, "expected an event object");
  FIDELIS_RETURN_IF_ERROR(reject_unknown(e, {"type", "email", "status_code", "diagnostic", "bounce_type", "message_id", "at"}, prefix));
  bounces::WebhookEvent ev;
  FIDELIS_ASSIGN_OR_RETURN(auto type, get_string(e, "type", f + "type"));
  FIDELIS_ASSIGN_OR_RETURN(auto email, get_string(e, "email", f + "email"));
  FIDELIS_ASSIGN_OR_RETURN(auto code, get_string(e, "status_code", f + "status_code"));
  FIDELIS_ASSIGN_OR_RETURN(auto diag, get_string(e, "diagnostic", f + "diagnostic"));
  FIDELIS_ASSIGN_OR_RETURN(auto btype, get_string(e, "bounce_type", f + "bounce_type"));
  FIDELIS_ASSIGN_OR_RETURN(auto mid, get_string(e, "message_id", f + "message_id"));
  FIDELIS_ASSIGN_OR_RETURN(auto at, get_string(e, "at", f + "at"));
  ev.type = type.value_or("");
  ev.email = email.value_or("");
  ev.status_code = code.value_or("");
  ev.diagnostic = diag.value_or("");
  ev.bounce_type = btype.value_or("");
  ev.message_id = mid.value_or("");
  if (at) {
    FIDELIS_ASSIGN_OR_RETURN(ev.at_ms, parse_iso8601(*at, f + "at"));
  }
  return ev;
}

// bounces::from_webhook names the struct's fields; the body's are these.
Error body_field(Error e, const std::string& prefix) {
  if (e.field == "at_ms") e.field = "at";
  if (!prefix.empty()) e.field = prefix + "." + e.field;
  return e;
}

Response recorded(Services& s, const std::vector<bounces::Bounce>& events, std::string_view via, Context& ctx) {
  auto st = s.deliverability.record(events, via, ctx.actor);
  if (!st) return problem(st.error());
  const bool with_owner = ctx.principal && ctx.principal->may(Permission::kCustomersRead);
  Json items = Json::array();
  for (const auto& x : *st) items.push_back(status_json(x, with_owner));
  return json_response(200, {{"recorded", st->size()}, {"addresses", items}});
}

}  // namespace

void add_deliverability_routes(Router& r, Services& s) {
  r.add({"POST", "/api/v1/bounces/webhook", "receiveBounceWebhook", Permission::kDeliverabilityManage, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           std::vector<bounces::Bounce> events;
           // One event, or {"events": [...]} for providers that batch.
           if (body->contains("events")) {
             if (auto st = reject_unknown(*body, {"events"}); !st) return problem(st.error());
             const Json& list = (*body)["events"];
             if (!list.is_array() || list.empty() || list.size() > 1000)
               return problem(Error::invalid_argument("events", "expected 1 to 1000 events"));
             for (size_t i = 0; i < list.size(); ++i) {
               auto ev = event_from_json(list[i], fmt::format("events[{}]", i));
               if (!ev) return problem(ev.error());
               auto b = bounces::from_webhook(*ev);
               if (!b) return problem(body_field(b.error(), fmt::format("events[{}]", i)));
               events.push_back(*b);
             }
           } else {
             auto ev = event_from_json(*body, "");
             if (!ev) return problem(ev.error());
             auto b = bounces::from_webhook(*ev);
             if (!b) return problem(body_field(b.error(), ""));
             events.push_back(*b);
           }
           return recorded(s, events, "webhook", ctx);
         }});
  r.add({"POST", "/api/v1/bounces/dsn", "receiveBounceMessage", Permission::kDeliverabilityManage, false, true,
         [&s](Context& ctx) {
           auto parsed = bounces::parse_dsn(ctx.req.body);
           if (!parsed) return problem(parsed.error());
           std::vector<bounces::Bounce> events;
           for (const auto& b : *parsed)
             if (b.kind != bounces::Kind::kNotABounce || b.action == bounces::Action::kDelivered) events.push_back(b);
           return recorded(s, events, "dsn", ctx);
         }});
  r.add({"GET", "/api/v1/email-status/{email}", "getEmailStatus", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto st = s.deliverability.status(ctx.params.at("email"));
           if (!st) return problem(st.error());
           return json_response(200, status_json(*st));
         }});
  r.add({"POST", "/api/v1/email-status/{email}/clear", "clearEmailStatus", Permission::kDeliverabilityManage, false, true,
         [&s](Context& ctx) {
           auto st = s.deliverability.clear(ctx.params.at("email"), ctx.actor);
           if (!st) return problem(st.error());
           return json_response(200, status_json(*st));
         }});
  r.add({"GET", "/api/v1/npai", "getNpaiRates", Permission::kDeliverabilityManage, false, true, [&s](Context&) {
           auto rates = s.deliverability.rates();
           if (!rates) return problem(rates.error());
           Json by_source = Json::array(), by_import = Json::array();
           for (const auto& x : rates->by_source) by_source.push_back(rate_json(x));
           for (const auto& x : rates->by_import) by_import.push_back(rate_json(x));
           return json_response(200, {{"overall", rate_json(rates->overall)},
                                      {"by_source", by_source},
                                      {"by_import", by_import},
                                      {"threshold", rates->threshold},
                                      {"alert", rates->alert}});
         }});
  r.add({"POST", "/api/v1/customers/{id}/postal-npai", "flagPostalNpai", Permission::kDeliverabilityManage, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           std::string reason;
           if (!ctx.req.body.empty()) {
             auto body = ctx.json_body();
             if (!body) return problem(body.error());
             if (auto st = reject_unknown(*body, {"reason"}); !st) return problem(st.error());
             auto rs = get_string(*body, "reason", "reason");
             if (!rs) return problem(rs.error());
             reason = rs->value_or("");
           }
           if (auto st = s.deliverability.flag_postal_npai(*id, reason, ctx.actor); !st) return problem(st.error());
           return no_content();
         }});
  r.add({"GET", "/api/v1/customers/{id}/postal-npai", "getPostalNpai", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto flag = s.deliverability.postal_npai(*id);
           if (!flag) return problem(flag.error());
           return json_response(200, {{"npai", flag->npai},
                                      {"reason", flag->reason ? Json(*flag->reason) : Json(nullptr)},
                                      {"at", flag->at ? Json(iso(*flag->at)) : Json(nullptr)},
                                      {"address_changed", flag->address_changed}});
         }});
  r.add({"DELETE", "/api/v1/customers/{id}/postal-npai", "clearPostalNpai", Permission::kDeliverabilityManage, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           if (auto st = s.deliverability.clear_postal_npai(*id, ctx.actor); !st) return problem(st.error());
           return no_content();
         }});
}

}  // namespace fidelis::http
