// /api/v1/customers and /api/v1/custom-fields.

#include <fmt/format.h>

#include "core/log.h"
#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace customers;

namespace {

// If-None-Match: "*", or a comma-separated list of (weak or strong) tags.
bool none_match_hits(std::string_view header, int64_t version) {
  if (header == "*") return true;
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    if (parse_etag(header.substr(start, end - start)) == version) return true;
    start = end + 1;
  }
  return false;
}

Response customer_response(int status, const Customer& c) {
  Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = render_document(c);
  r.set("ETag", etag(c.version));
  if (status == 201) r.set("Location", fmt::format("/api/v1/customers/{}", c.id));
  return r;
}

Result<ListQuery> list_query(const Context& ctx) {
  ListQuery q;
  FIDELIS_ASSIGN_OR_RETURN(q.limit, limit_param(ctx));
  if (auto c = ctx.query_param("cursor")) {
    FIDELIS_ASSIGN_OR_RETURN(int64_t after, decode_cursor(*c));
    q.after_id = after;
  }
  q.tag = ctx.query_param("tag");
  q.city = ctx.query_param("city");
  q.postcode = ctx.query_param("postcode");
  q.q = ctx.query_param("q");
  if (auto consent = ctx.query_param("consent")) {
    auto colon = consent->find(':');
    if (colon == std::string::npos) return Error::invalid_argument("consent", "expected channel:purpose, e.g. email:newsletter");
    FIDELIS_ASSIGN_OR_RETURN(q.consent_channel, parse_channel(consent->substr(0, colon), "consent"));
    FIDELIS_ASSIGN_OR_RETURN(q.consent_purpose, parse_purpose(consent->substr(colon + 1), "consent"));
  }
  if (auto v = ctx.query_param("created_after")) {
    FIDELIS_ASSIGN_OR_RETURN(q.created_after, parse_iso8601(*v, "created_after"));
  }
  if (auto v = ctx.query_param("created_before")) {
    FIDELIS_ASSIGN_OR_RETURN(q.created_before, parse_iso8601(*v, "created_before"));
  }
  if (auto d = ctx.query_param("deleted")) {
    if (*d != "exclude" && *d != "include" && *d != "only")
      return Error::invalid_argument("deleted", "expected exclude, include or only");
    if (*d != "exclude" && !ctx.principal->may(Permission::kCustomersRestore))
      return Error::permission_denied("only admins see deleted customers");
    q.include_deleted = *d == "include";
    q.only_deleted = *d == "only";
  }
  return q;
}

Json custom_field_json(const CustomFieldDef& d) {
  Json j = {{"key", d.key}, {"label", d.label}, {"type", custom_field_type_name(d.type)}};
  j["choices"] = d.choices;
  return j;
}

}  // namespace

void add_customer_routes(Router& r, Services& s) {
  r.add({"GET", "/api/v1/customers", "listCustomers", Permission::kCustomersRead, false, true, [&s](Context& ctx) {
           auto q = list_query(ctx);
           if (!q) return problem(q.error());
           auto page = s.customers.list_documents(*q);
           if (!page) return problem(page.error());
           // The stored documents are spliced in as they are: no parsing, no re-rendering.
           Response res;
           res.set("Content-Type", "application/json");
           res.body = "{\"items\":[";
           for (size_t i = 0; i < page->items.size(); ++i) {
             if (i) res.body += ',';
             res.body += page->items[i].json;
           }
           res.body += "],\"next_cursor\":";
           res.body += page->next_after_id ? "\"" + encode_cursor(*page->next_after_id) + "\"" : std::string("null");
           res.body += '}';
           return res;
         }});

  r.add({"POST", "/api/v1/customers", "createCustomer", Permission::kCustomersWrite, false, true, [&s](Context& ctx) {
           return idempotent(ctx, s.db, s.clock, [&]() {
             auto body = ctx.json_body();
             if (!body) return problem(body.error());
             auto in = customer_from_json(*body, false);
             if (!in) return problem(in.error());
             bool dedup = s.config.dedup_on_create;
             if (auto d = ctx.query_param("dedup")) {
               if (*d != "true" && *d != "false") return problem(Error::invalid_argument("dedup", "expected true or false"));
               dedup = *d == "true";
             }
             auto out = s.merges.create(s.customers, std::move(*in), ctx.actor, dedup);
             if (!out) return problem(out.error());
             if (out->merged) {
               // Not created: the same person was already known, and the input went into that profile.
               Response res = customer_response(200, out->customer);
               res.set("Location", fmt::format("/api/v1/customers/{}", out->customer.id));
               res.set("Fidelis-Merged-Into", std::to_string(out->customer.id));
               res.set("Fidelis-Merge-Id", std::to_string(out->merge->id));
               return res;
             }
             Response res = customer_response(201, out->customer);
             if (!out->queued_with.empty()) {
               std::string ids;
               for (int64_t id : out->queued_with) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
               res.set("Fidelis-Review-With", ids);
             }
             return res;
           });
         }});

  r.add({"GET", "/api/v1/customers/{id}", "getCustomer", Permission::kCustomersRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           bool include_deleted = false;
           if (auto d = ctx.query_param("deleted")) {
             if (*d != "include" && *d != "exclude") return problem(Error::invalid_argument("deleted", "expected include or exclude"));
             include_deleted = *d == "include";
             if (include_deleted && !ctx.principal->may(Permission::kCustomersRestore))
               return problem(Error::permission_denied("only admins see deleted customers"));
           }
           auto d = s.customers.get_document(*id, include_deleted);
           if (!d) {
             // A customer merged into another says where it went.
             storage::Value p[] = {*id};
             auto row = s.db.one("SELECT merged_into FROM customers WHERE id = $1 AND merged_into IS NOT NULL", p);
             if (d.error().code != Code::kNotFound || !row || !*row) return problem(d.error());
             int64_t into = (*row)->i64(0);
             Response res = problem(Error::not_found("id", fmt::format("customer {} was merged into customer {}", *id, into)));
             Json body = Json::parse(res.body, nullptr, false);
             body["merged_into"] = into;
             res.body = body.dump();
             res.set("Fidelis-Merged-Into", std::to_string(into));
             return res;
           }
           Response res;
           res.set("ETag", etag(d->version));
           if (std::string_view inm = ctx.req.header("If-None-Match"); !inm.empty() && none_match_hits(inm, d->version)) {
             res.status = 304;
             return res;
           }
           res.set("Content-Type", "application/json");
           res.body = std::move(d->json);
           return res;
         }});

  r.add({"PATCH", "/api/v1/customers/{id}", "updateCustomer", Permission::kCustomersWrite, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           std::string_view if_match = ctx.req.header("If-Match");
           if (if_match.empty())
             return problem(428, "send If-Match with the ETag from your last GET, so no one's change is overwritten", "If-Match");
           std::optional<int64_t> version;
           if (if_match == "*") {  // any current version: an explicit "overwrite whatever is there"
             auto cur = s.customers.get(*id);
             if (!cur) return problem(cur.error());
             version = cur->version;
           } else {
             version = parse_etag(if_match);
           }
           if (!version) return problem(Error::invalid_argument("If-Match", "expected an ETag such as \"v3\""));
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto in = customer_from_json(*body, true);
           if (!in) return problem(in.error());
           auto c = s.customers.update(*id, *version, std::move(*in), ctx.actor);
           if (!c) return problem(c.error());
           return customer_response(200, *c);
         }});

  r.add({"DELETE", "/api/v1/customers/{id}", "deleteCustomer", Permission::kCustomersDelete, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           std::optional<int64_t> version;
           if (std::string_view m = ctx.req.header("If-Match"); !m.empty()) {
             version = parse_etag(m);
             if (!version) return problem(Error::invalid_argument("If-Match", "expected an ETag such as \"v3\""));
           }
           if (auto st = s.customers.remove(*id, version, ctx.actor); !st) return problem(st.error());
           return no_content();
         }});

  r.add({"POST", "/api/v1/customers/{id}/restore", "restoreCustomer", Permission::kCustomersRestore, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto c = s.customers.restore(*id, ctx.actor);
           if (!c) return problem(c.error());
           return customer_response(200, *c);
         }});

  r.add({"GET", "/api/v1/customers/{id}/consents", "listCustomerConsentHistory", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto events = s.customers.consent_history(*id, ctx.principal->may(Permission::kCustomersRestore));
           if (!events) return problem(events.error());
           Json items = Json::array();
           for (const auto& e : *events)
             items.push_back({{"channel", channel_name(e.channel)}, {"purpose", purpose_name(e.purpose)},
                              {"granted", e.granted}, {"source", e.source}, {"at", iso(e.at)},
                              {"source_at", e.source_at ? Json(iso(*e.source_at)) : Json(nullptr)}});
           return json_response(200, {{"items", std::move(items)}});
         }});

  r.add({"GET", "/api/v1/customers/{id}/flags", "listCustomerFlags", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto flags = s.customers.flags(*id, ctx.principal->may(Permission::kCustomersRestore));
           if (!flags) return problem(flags.error());
           Json items = Json::array();
           for (const auto& f : *flags)
             items.push_back({{"field", f.field}, {"value", f.value}, {"reason", f.reason}, {"source", f.source}, {"at", iso(f.at)}});
           return json_response(200, {{"items", std::move(items)}});
         }});

  r.add({"GET", "/api/v1/custom-fields", "listCustomFields", Permission::kCustomersRead, false, true, [&s](Context&) {
           auto defs = s.customers.custom_fields();
           if (!defs) return problem(defs.error());
           Json items = Json::array();
           for (const auto& d : *defs) items.push_back(custom_field_json(d));
           return json_response(200, {{"items", std::move(items)}});
         }});

  r.add({"POST", "/api/v1/custom-fields", "createCustomField", Permission::kCustomFieldsManage, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"key", "label", "type", "choices"}); !st) return problem(st.error());
           CustomFieldDef d;
           auto key = get_string(*body, "key", "key");
           auto label = get_string(*body, "label", "label");
           auto type = get_string(*body, "type", "type");
           if (!key) return problem(key.error());
           if (!label) return problem(label.error());
           if (!type) return problem(type.error());
           d.key = key->value_or("");
           d.label = label->value_or("");
           auto t = parse_custom_field_type(type->value_or(""), "type");
           if (!t) return problem(t.error());
           d.type = *t;
           if (auto it = body->find("choices"); it != body->end() && !it->is_null()) {
             if (!it->is_array()) return problem(Error::invalid_argument("choices", "expected an array of strings"));
             for (size_t i = 0; i < it->size(); ++i) {
               if (!(*it)[i].is_string())
                 return problem(Error::invalid_argument(fmt::format("choices[{}]", i), "expected a string"));
               d.choices.push_back((*it)[i].get<std::string>());
             }
           }
           auto created = s.customers.define_custom_field(std::move(d), ctx.actor);
           if (!created) return problem(created.error());
           return json_response(201, custom_field_json(*created));
         }});
}

}  // namespace fidelis::http
