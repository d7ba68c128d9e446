// /api/v1/auth, /api/v1/users, /api/v1/api-keys and /api/v1/audit.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

using auth::Permission;

namespace {

Json user_json(const auth::User& u) {
  return {{"id", u.id}, {"email", u.email}, {"name", u.name}, {"role", auth::role_name(u.role)},
          {"disabled", u.disabled}, {"created_at", iso(u.created_at)}};
}

Json key_json(const auth::ApiKey& k) {
  Json scopes = Json::array();
  for (auto p : k.scopes) scopes.push_back(auth::permission_name(p));
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"role", auth::role_name(k.role)},
          {"scopes", scopes},
          {"created_at", iso(k.created_at)},
          {"revoked_at", k.revoked_at ? Json(iso(*k.revoked_at)) : Json(nullptr)},
          {"last_used_at", k.last_used_at ? Json(iso(*k.last_used_at)) : Json(nullptr)}};
}

std::string session_cookie(const Services& s, std::string_view value, int64_t max_age_s) {
  return fmt::format("fidelis_session={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", value, max_age_s,
                     s.config.secure_cookies ? "; Secure" : "");
}

}  // namespace

void add_auth_routes(Router& r, Services& s) {
  r.add({"POST", "/api/v1/auth/login", "login", std::nullopt, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"email", "password"}); !st) return problem(st.error());
           auto email = get_string(*body, "email", "email");
           auto password = get_string(*body, "password", "password");
           if (!email) return problem(email.error());
           if (!password) return problem(password.error());
           if (!*email) return problem(Error::invalid_argument("email", "is required"));
           if (!*password) return problem(Error::invalid_argument("password", "is required"));
           auto session = s.auth.login(**email, **password, ctx.req.remote_ip);
           if (!session) return problem(session.error());
           Response res = json_response(200, {{"user", user_json(session->user)},
                                              {"csrf_token", session->csrf_token},
                                              {"expires_at", iso(session->expires_at)}});
           res.set("Set-Cookie", session_cookie(s, session->token, s.config.session_ttl_ms / 1000));
           res.set("Cache-Control", "no-store");
           return res;
         }});

  r.add({"POST", "/api/v1/auth/logout", "logout", std::nullopt, true, true, [&s](Context& ctx) {
           if (std::string token = cookie_value(ctx.req.header("Cookie"), "fidelis_session"); !token.empty())
             if (auto st = s.auth.logout(token); !st) return problem(st.error());
           Response res = no_content();
           res.set("Set-Cookie", session_cookie(s, "", 0));
           return res;
         }});

  r.add({"GET", "/api/v1/auth/me", "me", std::nullopt, true, true, [](Context& ctx) {
           const auth::Principal& p = *ctx.principal;
           Json perms = Json::array();
           for (auto perm : auth::kAllPermissions)
             if (p.may(perm)) perms.push_back(auth::permission_name(perm));
           Json out = {{"kind", p.kind == auth::Principal::Kind::kUser ? "user" : "api_key"},
                       {"id", p.id},
                       {"name", p.name},
                       {"role", auth::role_name(p.role)},
                       {"permissions", perms}};
           if (!p.csrf_token.empty()) out["csrf_token"] = p.csrf_token;
           return json_response(200, out);
         }});

  r.add({"GET", "/api/v1/users", "listUsers", Permission::kUsersManage, false, true, [&s](Context&) {
           auto users = s.auth.list_users();
           if (!users) return problem(users.error());
           Json items = Json::array();
           for (const auto& u : *users) items.push_back(user_json(u));
           return json_response(200, {{"items", items}});
         }});

  r.add({"POST", "/api/v1/users", "createUser", Permission::kUsersManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"email", "name", "role", "password"}); !st) return problem(st.error());
           auto email = get_string(*body, "email", "email");
           auto name = get_string(*body, "name", "name");
           auto role_s = get_string(*body, "role", "role");
           auto password = get_string(*body, "password", "password");
           for (auto* f : {&email, &name, &role_s, &password})
             if (!*f) return problem(f->error());
           auto role = auth::parse_role(role_s->value_or(""), "role");
           if (!role) return problem(role.error());
           auto u = s.auth.add_user(email->value_or(""), name->value_or(""), *role, password->value_or(""), ctx.actor);
           if (!u) return problem(u.error());
           return json_response(201, user_json(*u));
         }});

  for (bool disable : {true, false}) {
    r.add({"POST", disable ? "/api/v1/users/{email}/disable" : "/api/v1/users/{email}/enable",
           disable ? "disableUser" : "enableUser", Permission::kUsersManage, false, true, [&s, disable](Context& ctx) {
             if (auto st = s.auth.set_user_disabled(ctx.params.at("email"), disable, ctx.actor); !st)
               return problem(st.error());
             return no_content();
           }});
  }

  r.add({"GET", "/api/v1/api-keys", "listApiKeys", Permission::kApiKeysManage, false, true, [&s](Context&) {
           auto keys = s.auth.list_api_keys();
           if (!keys) return problem(keys.error());
           Json items = Json::array();
           for (const auto& k : *keys) items.push_back(key_json(k));
           return json_response(200, {{"items", items}});
         }});

  r.add({"POST", "/api/v1/api-keys", "createApiKey", Permission::kApiKeysManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"name", "role", "scopes"}); !st) return problem(st.error());
           auto name = get_string(*body, "name", "name");
           auto role_s = get_string(*body, "role", "role");
           if (!name) return problem(name.error());
           if (!role_s) return problem(role_s.error());
           auto role = auth::parse_role(role_s->value_or(""), "role");
           if (!role) return problem(role.error());
           std::set<Permission> scopes;
           if (auto it = body->find("scopes"); it != body->end() && !it->is_null()) {
             if (!it->is_array()) return problem(Error::invalid_argument("scopes", "expected an array of scope names"));
             for (size_t i = 0; i < it->size(); ++i) {
               if (!(*it)[i].is_string()) return problem(Error::invalid_argument(fmt::format("scopes[{}]", i), "expected a string"));
               auto p = auth::parse_permission((*it)[i].get<std::string>(), fmt::format("scopes[{}]", i));
               if (!p) return problem(p.error());
               scopes.insert(*p);
             }
           }
           auto k = s.auth.create_api_key(name->value_or(""), *role, scopes, ctx.actor);
           if (!k) return problem(k.error());
           Json out = key_json(k->key);
           out["key"] = k->secret;
           Response res = json_response(201, out);
           res.set("Cache-Control", "no-store");
           return res;
         }});

  r.add({"DELETE", "/api/v1/api-keys/{name}", "revokeApiKey", Permission::kApiKeysManage, false, true, [&s](Context& ctx) {
           if (auto st = s.auth.revoke_api_key(ctx.params.at("name"), ctx.actor); !st) return problem(st.error());
           return no_content();
         }});

  r.add({"GET", "/api/v1/audit", "listAudit", Permission::kAuditRead, false, true, [&s](Context& ctx) {
           audit::Query q;
           auto limit = limit_param(ctx);
           if (!limit) return problem(limit.error());
           q.limit = *limit;
           q.entity = ctx.query_param("entity");
           q.entity_id = ctx.query_param("entity_id");
           if (auto c = ctx.query_param("cursor")) {
             auto before = decode_cursor(*c);
             if (!before) return problem(before.error());
             q.before_id = *before;
           }
           auto entries = audit::list(s.db, q);
           if (!entries) return problem(entries.error());
           Json items = Json::array();
           for (const auto& e : entries->items) {
             auto parse = [](const std::optional<std::string>& t) {
               if (!t) return Json(nullptr);
               Json j = Json::parse(*t, nullptr, false);
               return j.is_discarded() ? Json(*t) : j;
             };
             items.push_back({{"id", e.id},
                              {"at", iso(e.at)},
                              {"actor", {{"type", e.actor.type}, {"id", e.actor.id ? Json(*e.actor.id) : Json(nullptr)},
                                         {"name", e.actor.name}, {"ip", e.actor.ip}}},
                              {"action", e.change.action},
                              {"entity", e.change.entity},
                              {"entity_id", e.change.entity_id},
                              {"before", parse(e.change.before)},
                              {"after", parse(e.change.after)},
                              {"request_id", e.actor.request_id}});
           }
           Json next = entries->next_before_id ? Json(encode_cursor(*entries->next_before_id)) : Json(nullptr);
           return json_response(200, {{"items", items}, {"next_cursor", next}});
         }});
}

}  // namespace fidelis::http
