// /api/v1/mail: the outbox of transactional e-mail and its versioned templates.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace mail;

namespace {

Json opt_time(const std::optional<Millis>& t) { return t ? Json(iso(*t)) : Json(nullptr); }

Json message_json(const Message& m, bool bodies) {
  Json j = {{"id", m.id},
            {"customer_id", m.customer_id ? Json(*m.customer_id) : Json(nullptr)},
            {"template_key", m.template_key},
            {"locale", m.locale},
            {"template_version", m.template_version},
            {"dedup_key", m.dedup_key ? Json(*m.dedup_key) : Json(nullptr)},
            {"to_email", m.to_email},
            {"to_name", m.to_name},
            {"subject", m.subject},
            {"status", state_name(m.state)},
            {"attempts", m.attempts},
            {"next_attempt_at", opt_time(m.next_attempt_at)},
            {"last_code", m.last_code ? Json(*m.last_code) : Json(nullptr)},
            {"last_reply", m.last_reply ? Json(*m.last_reply) : Json(nullptr)},
            {"message_id", m.message_id ? Json(*m.message_id) : Json(nullptr)},
            {"created_at", iso(m.created_at)},
            {"updated_at", iso(m.updated_at)},
            {"sent_at", opt_time(m.sent_at)}};
  if (bodies) {
    j["text"] = m.text;
    j["html"] = m.html;
  }
  return j;
}

Json template_json(const Template& t, bool bodies) {
  Json j = {{"key", t.key},       {"locale", t.locale},         {"version", t.version},
            {"created_at", iso(t.created_at)}, {"created_by", t.created_by}};
  if (bodies) {
    j["subject"] = t.body.subject;
    j["text"] = t.body.text;
    j["html"] = t.body.html;
  }
  return j;
}

// A template that does not parse or render is well-formed JSON with unusable content: 422.
Response template_problem(const Error& e) {
  if (e.code == Code::kInvalidArgument && (e.field == "subject" || e.field == "text" || e.field == "html"))
    return problem(422, e.message, e.field);
  if (e.code == Code::kInvalidArgument && e.field == "context_json") return problem(Error::invalid_argument("context", e.message));
  return problem(e);
}

// {subject, text, html}: all three strings. `required` false: all three or none (nullopt).
Result<std::optional<TemplateText>> template_from_json(const Json& b, bool required) {
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> subject, get_string(b, "subject", "subject"));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> text, get_string(b, "text", "text"));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> html, get_string(b, "html", "html"));
  if (!required && !subject && !text && !html) return std::optional<TemplateText>();
  if (!subject) return Error::invalid_argument("subject", "is required");
  if (!text) return Error::invalid_argument("text", "is required");
  if (!html) return Error::invalid_argument("html", "is required");
  return std::optional<TemplateText>(TemplateText{*subject, *text, *html});
}

}  // namespace

void add_mail_routes(Router& r, Services& s) {
  r.add({"GET", "/api/v1/mail/messages", "listMailMessages", Permission::kMailRead, false, true, [&s](Context& ctx) {
           MessageQuery q;
           auto limit = limit_param(ctx);
           if (!limit) return problem(limit.error());
           q.limit = *limit;
           if (auto c = ctx.query_param("cursor")) {
             auto before = decode_cursor(*c);
             if (!before) return problem(before.error());
             q.before_id = *before;
           }
           if (auto st = ctx.query_param("status")) {
             auto state = parse_state(*st, "status");
             if (!state) return problem(state.error());
             q.state = *state;
           }
           auto customer = ctx.id_query("customer_id");
           if (!customer) return problem(customer.error());
           q.customer_id = *customer;
           auto page = s.mail.list_messages(q);
           if (!page) return problem(page.error());
           Json items = Json::array();
           for (const auto& m : page->items) items.push_back(message_json(m, false));
           return json_response(200, {{"items", items},
                                      {"next_cursor", page->next_before_id ? Json(encode_cursor(*page->next_before_id)) : Json(nullptr)}});
         }});
  r.add({"POST", "/api/v1/mail/messages", "queueMailMessage", Permission::kMailManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           const auto& b = *body;
           if (auto st = reject_unknown(b, {"template_key", "locale", "to_email", "to_name", "context", "dedup_key", "customer_id"}); !st)
             return problem(st.error());
           Outgoing m;
           auto key = get_string(b, "template_key", "template_key");
           auto locale = get_string(b, "locale", "locale");
           auto to_email = get_string(b, "to_email", "to_email");
           auto to_name = get_string(b, "to_name", "to_name");
           auto dedup = get_string(b, "dedup_key", "dedup_key");
           auto customer = get_int(b, "customer_id", "customer_id");
           for (const Status& st : {key ? ok() : Status(key.error()), locale ? ok() : Status(locale.error()),
                                    to_email ? ok() : Status(to_email.error()), to_name ? ok() : Status(to_name.error()),
                                    dedup ? ok() : Status(dedup.error()), customer ? ok() : Status(customer.error())})
             if (!st) return problem(st.error());
           if (!*key) return problem(Error::invalid_argument("template_key", "is required"));
           if (!*to_email) return problem(Error::invalid_argument("to_email", "is required"));
           if (*locale) {
             if (auto st = check_locale(**locale); !st) return problem(st.error());
           }
           m.template_key = **key;
           m.locale = locale->value_or("fr");
           m.to_email = **to_email;
           m.to_name = to_name->value_or("");
           m.dedup_key = dedup->value_or("");
           m.customer_id = *customer;
           m.context_json = "{}";
           if (b.contains("context")) {
             if (!b["context"].is_object()) return problem(Error::invalid_argument("context", "expected a JSON object"));
             m.context_json = b["context"].dump();
           }
           auto q = s.mail.queue(m, ctx.actor);
           if (!q) return template_problem(q.error());
           auto msg = s.mail.get_message(q->id);
           if (!msg) return problem(msg.error());
           Response res = json_response(q->created ? 201 : 200, message_json(*msg, true));
           res.set("Location", fmt::format("/api/v1/mail/messages/{}", q->id));
           return res;
         }});
  r.add({"GET", "/api/v1/mail/messages/{id}", "getMailMessage", Permission::kMailRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto m = s.mail.get_message(*id);
           if (!m) return problem(m.error());
           return json_response(200, message_json(*m, true));
         }});
  r.add({"POST", "/api/v1/mail/messages/{id}/retry", "retryMailMessage", Permission::kMailManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto m = s.mail.retry(*id, ctx.actor);
           if (!m) return problem(m.error());
           return json_response(200, message_json(*m, true));
         }});
  r.add({"GET", "/api/v1/mail/templates", "listMailTemplates", Permission::kMailRead, false, true, [&s](Context&) {
           auto list = s.mail.templates();
           if (!list) return problem(list.error());
           Json items = Json::array();
           for (const auto& t : *list) items.push_back(template_json(t, true));
           return json_response(200, {{"items", items}});
         }});
  r.add({"GET", "/api/v1/mail/templates/{key}", "getMailTemplate", Permission::kMailRead, false, true, [&s](Context& ctx) {
           auto h = s.mail.history(ctx.params["key"]);
           if (!h) return problem(h.error());
           Json current = Json::object();
           for (const auto& t : h->current) current[t.locale] = template_json(t, true);
           Json versions = Json::array();
           for (const auto& t : h->versions) versions.push_back(template_json(t, false));
           return json_response(200, {{"key", h->key}, {"current", current}, {"versions", versions}});
         }});
  r.add({"PUT", "/api/v1/mail/templates/{key}/{locale}", "saveMailTemplate", Permission::kMailManage, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"subject", "text", "html"}); !st) return problem(st.error());
           auto in = template_from_json(*body, true);
           if (!in) return problem(in.error());
           auto t = s.mail.save_template(ctx.params["key"], ctx.params["locale"], std::move(**in), ctx.actor);
           if (!t) return template_problem(t.error());
           Response res = json_response(t->version == 1 ? 201 : 200, template_json(*t, true));
           res.set("Location", fmt::format("/api/v1/mail/templates/{}", t->key));
           return res;
         }});
  r.add({"POST", "/api/v1/mail/templates/{key}/{locale}/preview", "previewMailTemplate", Permission::kMailRead, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"context", "subject", "text", "html"}); !st) return problem(st.error());
           std::string context = "{}";
           if (body->contains("context")) {
             if (!(*body)["context"].is_object()) return problem(Error::invalid_argument("context", "expected a JSON object"));
             context = (*body)["context"].dump();
           }
           auto draft = template_from_json(*body, false);
           if (!draft) return problem(draft.error());
           auto out = s.mail.preview(ctx.params["key"], ctx.params["locale"], *draft, context);
           if (!out) return template_problem(out.error());
           return json_response(200, {{"subject", out->subject}, {"text", out->text}, {"html", out->html}});
         }});
}

}  // namespace fidelis::http
