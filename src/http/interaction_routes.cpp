// /api/v1/interactions and a customer's interactions and timeline.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace timeline;

namespace {

Json interaction_json(const Interaction& i) {
  return {{"id", i.id},
          {"customer_id", i.customer_id},
          {"channel", i.channel},
          {"direction", i.direction},
          {"at", iso(i.at)},
          {"agent_id", i.agent_id ? Json(*i.agent_id) : Json(nullptr)},
          {"subject", i.subject},
          {"notes", i.notes},
          {"outcome", i.outcome},
          {"source", i.source},
          {"version", i.version},
          {"created_at", iso(i.created_at)},
          {"updated_at", iso(i.updated_at)}};
}

Response interaction_response(int status, const Interaction& i) {
  Response r = json_response(status, interaction_json(i));
  r.set("ETag", etag(i.version));
  if (status == 201) r.set("Location", fmt::format("/api/v1/interactions/{}", i.id));
  return r;
}

Result<InteractionInput> input_from_json(const Json& b, bool patch) {
  FIDELIS_RETURN_IF_ERROR(
      reject_unknown(b, {"customer_id", "channel", "direction", "at", "agent_id", "subject", "notes", "outcome"}));
  InteractionInput in;
  FIDELIS_ASSIGN_OR_RETURN(in.customer_id, get_int(b, "customer_id", "customer_id"));
  FIDELIS_ASSIGN_OR_RETURN(in.channel, get_string(b, "channel", "channel"));
  FIDELIS_ASSIGN_OR_RETURN(in.direction, get_string(b, "direction", "direction"));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> at, get_string(b, "at", "at"));
  if (at) {
    FIDELIS_ASSIGN_OR_RETURN(in.at, parse_iso8601(*at, "at"));
  }
  FIDELIS_ASSIGN_OR_RETURN(in.agent_id, get_int(b, "agent_id", "agent_id"));
  FIDELIS_ASSIGN_OR_RETURN(in.subject, get_string(b, "subject", "subject"));
  FIDELIS_ASSIGN_OR_RETURN(in.notes, get_string(b, "notes", "notes"));
  FIDELIS_ASSIGN_OR_RETURN(in.outcome, get_string(b, "outcome", "outcome"));
  if (patch) in.clear_agent = b.contains("agent_id") && b["agent_id"].is_null();
  return in;
}

Response list_interactions(Services& s, Context& ctx, std::optional<int64_t> customer) {
  InteractionQuery q;
  q.customer_id = customer;
  auto limit = limit_param(ctx);
  if (!limit) return problem(limit.error());
  q.limit = *limit;
  if (auto c = ctx.query_param("cursor")) {
    auto after = http::decode_cursor(*c);
    if (!after) return problem(after.error());
    q.after_id = *after;
  }
  q.channel = ctx.query_param("channel");
  if (!customer) {
    auto c = ctx.id_query("customer_id");
    if (!c) return problem(c.error());
    q.customer_id = *c;
  }
  auto page = s.interactions.list(q);
  if (!page) return problem(page.error());
  Json items = Json::array();
  for (const auto& i : page->items) items.push_back(interaction_json(i));
  return json_response(200, {{"items", items},
                             {"next_cursor", page->next_after_id ? Json(http::encode_cursor(*page->next_after_id)) : Json(nullptr)}});
}

Json item_json(const Item& it) {
  Json j = {{"kind", it.kind}, {"id", it.id}, {"at", iso(it.at)}, {"channel", it.channel}, {"title", it.title}};
  auto text = [](const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); };
  auto num = [](const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); };
  auto time = [](const std::optional<int64_t>& v) { return v ? Json(iso(*v)) : Json(nullptr); };
  Json d = Json::object();
  if (it.kind == "interaction") d = {{"direction", text(it.text1)}, {"outcome", text(it.text2)}, {"agent_id", num(it.number1)}};
  else if (it.kind == "web_session")
    d = {{"source", text(it.text1)}, {"referrer", text(it.text2)}, {"page_views", num(it.number1)}, {"ended_at", time(it.number2)}};
  else if (it.kind == "email") d = {{"status", text(it.text1)}, {"to", text(it.text2)}, {"sent_at", time(it.number1)}};
  else if (it.kind == "consent") d = {{"source", text(it.text1)}, {"granted", it.number1.value_or(0) != 0}};
  else if (it.kind == "order") d = {{"status", text(it.text1)}, {"currency", text(it.text2)}, {"total_minor", num(it.number1)}};
  else if (it.kind == "order_status") d = {{"status", text(it.text1)}, {"order_id", num(it.number1)}};
  else if (it.kind == "shipment") d = {{"tracking_url", text(it.text1)}, {"order_id", num(it.number1)}};
  j["details"] = d;
  return j;
}

}  // namespace

void add_interaction_routes(Router& r, Services& s) {
  r.add({"GET", "/api/v1/interactions", "listInteractions", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) { return list_interactions(s, ctx, std::nullopt); }});
  r.add({"POST", "/api/v1/interactions", "createInteraction", Permission::kInteractionsWrite, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto in = input_from_json(*body, false);
           if (!in) return problem(in.error());
           auto i = s.interactions.create(std::move(*in), ctx.actor);
           if (!i) return problem(i.error());
           return interaction_response(201, *i);
         }});
  r.add({"GET", "/api/v1/interactions/{id}", "getInteraction", Permission::kCustomersRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto i = s.interactions.get(*id);
           if (!i) return problem(i.error());
           return interaction_response(200, *i);
         }});
  r.add({"PATCH", "/api/v1/interactions/{id}", "updateInteraction", Permission::kInteractionsWrite, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           std::string_view m = ctx.req.header("If-Match");
           if (m.empty()) return problem(428, "send If-Match with the ETag from your last GET", "If-Match");
           std::optional<int64_t> version = parse_etag(m);
           if (!version) return problem(Error::invalid_argument("If-Match", "expected an ETag such as \"v3\""));
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto in = input_from_json(*body, true);
           if (!in) return problem(in.error());
           auto i = s.interactions.update(*id, *version, std::move(*in), ctx.actor);
           if (!i) return problem(i.error());
           return interaction_response(200, *i);
         }});
  r.add({"DELETE", "/api/v1/interactions/{id}", "deleteInteraction", Permission::kInteractionsWrite, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           if (auto st = s.interactions.remove(*id, ctx.actor); !st) return problem(st.error());
           return no_content();
         }});
  r.add({"GET", "/api/v1/customers/{id}/interactions", "listCustomerInteractions", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           return list_interactions(s, ctx, *id);
         }});
  r.add({"GET", "/api/v1/customers/{id}/timeline", "getCustomerTimeline", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           TimelineQuery q;
           q.customer_id = *id;
           auto limit = limit_param(ctx);
           if (!limit) return problem(limit.error());
           q.limit = *limit;
           if (auto c = ctx.query_param("cursor")) {
             auto cur = timeline::decode_cursor(*c);
             if (!cur) return problem(cur.error());
             q.cursor = *cur;
           }
           if (auto k = ctx.query_param("kind")) {
             size_t start = 0;
             while (start <= k->size()) {
               size_t comma = k->find(',', start);
               if (comma == std::string::npos) comma = k->size();
               if (comma > start) q.kinds.push_back(k->substr(start, comma - start));
               start = comma + 1;
             }
           }
           q.channel = ctx.query_param("channel");
           for (const char* name : {"from", "to"}) {
             if (auto v = ctx.query_param(name)) {
               auto t = parse_iso8601(*v, name);
               if (!t) return problem(t.error());
               (std::string_view(name) == "from" ? q.from : q.to) = *t;
             }
           }
           auto page = s.timeline.list(q);
           if (!page) return problem(page.error());
           Json items = Json::array();
           for (const auto& it : page->items) items.push_back(item_json(it));
           return json_response(200, {{"items", items},
                                      {"next_cursor", page->next ? Json(timeline::encode_cursor(*page->next)) : Json(nullptr)}});
         }});
}

}  // namespace fidelis::http
