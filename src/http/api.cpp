// The request pipeline: request id, routing, credentials, permission, handler, metrics, access log.

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "core/log.h"
#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

namespace {

std::string new_request_id() {
  unsigned char b[8];
  randombytes_buf(b, sizeof b);
  return fmt::format("{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

bool safe_method(std::string_view m) { return m == "GET" || m == "HEAD" || m == "OPTIONS"; }

// The user name of HTTP Basic credentials ("user:password" in base64), or "" when malformed.
std::string basic_user(std::string_view b64) {
  std::string raw(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), b64.data(), b64.size(), " ", &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return "";
  raw.resize(len);
  return raw.substr(0, raw.find(':'));
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The first query parameter the route does not take (Route::query_parameters), as an error naming it.
// A public route (a link in an e-mail: order tracking, a questionnaire, the pixel) takes what mail
// clients and trackers add to links (utm_*, fbclid): it reads what it knows and ignores the rest.
std::optional<Error> unknown_query_parameter(const Route& route, const Context& ctx) {
  if (!route.query_parameters || (!route.permission && !route.authenticated_only)) return std::nullopt;
  if (std::optional<std::string> twice = ctx.repeated_query_parameter())
    return Error::invalid_argument(*twice, "given more than once: give it once");
  for (const auto& [k, v] : ctx.query())
    if (std::find(route.query_parameters->begin(), route.query_parameters->end(), k) == route.query_parameters->end())
      return Error::invalid_argument(k, "unknown query parameter");
  return std::nullopt;
}

}  // namespace

Api::Api(Services services) : s_(std::move(services)), metrics_(std::make_unique<Metrics>()) {
  if (sodium_init() < 0) log::error("libsodium failed to initialise");
  add_system_routes(router_, s_, *metrics_);
  add_auth_routes(router_, s_);
  add_merge_routes(router_, s_);
  add_customer_routes(router_, s_);
  add_import_routes(router_, s_);
  add_questionnaire_routes(router_, s_);
  add_deliverability_routes(router_, s_);
  add_catalogue_routes(router_, s_);
  add_mail_routes(router_, s_);
  add_order_routes(router_, s_);
  add_delivery_routes(router_, s_);
  add_tracking_routes(router_, s_);
  add_segment_routes(router_, s_);
  add_interaction_routes(router_, s_);
}

bool Api::blocking(std::string_view method, std::string_view path) const {
  auto m = router_.match(method, path);
  if (m.route == nullptr || !m.route->blocking) return false;
  // On SQLite a GET is a few microseconds of local reading that never waits for the writer (its
  // bookkeeping writes are best-effort try_transact): handing it to the worker pool costs more
  // than it does (measured, docs/BENCHMARKS.md). PostgreSQL round trips always go to the pool.
  return !(method == "GET" && s_.db.dialect() == storage::Dialect::kSqlite && !m.route->always_on_pool);
}

Response Api::handle(const Request& req) {
  auto start = std::chrono::steady_clock::now();
  std::string rid(req.header("X-Request-Id"));
  if (!sane_request_id(rid)) rid = new_request_id();
  log::set_request_id(rid);

  Router::Match m = router_.match(req.method, req.path);
  Response res;
  size_t metric_index = Metrics::kCapacity - 1;
  if (m.route == nullptr) {
    if (!m.allowed.empty()) {
      res = problem(405, fmt::format("{} is not allowed here; allowed: {}", req.method, fmt::join(m.allowed, ", ")));
      res.set("Allow", fmt::format("{}", fmt::join(m.allowed, ", ")));
    } else {
      res = problem(404, "no such resource: " + req.path);
    }
  } else {
    metric_index = m.index;
    const Route& route = *m.route;
    Context ctx(req, std::move(m.params), audit::Actor{"public", std::nullopt, "", req.remote_ip, rid}, rid);
    bool needs_auth = route.permission.has_value() || route.authenticated_only;
    std::optional<Error> denied;
    if (needs_auth) {
      std::string_view authz = req.header("Authorization");
      Result<auth::Principal> p = Error::unauthenticated("send an API key (Authorization: Bearer KEY) or log in");
      bool via_session = false;
      if (authz.size() > 7 && text::to_lower_ascii(authz.substr(0, 7)) == "bearer ") {
        p = s_.auth.authenticate_api_key(authz.substr(7));
      } else if (authz.size() > 6 && text::to_lower_ascii(authz.substr(0, 6)) == "basic ") {
        // HTTP Basic with an API key as the user name (the Segment SDKs' write key); no password.
        p = s_.auth.authenticate_api_key(basic_user(authz.substr(6)));
      } else if (std::string token = cookie_value(req.header("Cookie"), "fidelis_session"); !token.empty()) {
        p = s_.auth.authenticate_session(token);
        via_session = true;
      }
      if (!p) {
        denied = p.error();
      } else if (via_session && !safe_method(req.method) && !same_secret(req.header("X-CSRF-Token"), p->csrf_token)) {
        denied = Error{Code::kPermissionDenied, "X-CSRF-Token", "a browser session must send its CSRF token on changes"};
      } else if (route.permission && !p->may(*route.permission)) {
        denied = Error::permission_denied(fmt::format("this needs the {} permission, which {} does not have",
                                                      auth::permission_name(*route.permission), p->name));
      } else {
        ctx.actor = audit::Actor{p->kind == auth::Principal::Kind::kUser ? "user" : "api_key", p->id, p->name,
                                 req.remote_ip, rid};
        ctx.principal = std::move(*p);
      }
    }
    if (denied) {
      res = problem(*denied);
    } else {
      try {
        std::optional<Error> unknown = unknown_query_parameter(route, ctx);
        res = unknown ? problem(*unknown) : route.handler(ctx);
      } catch (const std::exception& e) {
        res = problem(Error::internal(std::string("unhandled exception: ") + e.what()));
      }
    }
  }
  res.set("X-Request-Id", rid);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_->observe(metric_index, res.status, seconds);
  bool notable = res.status >= 400 || !safe_method(req.method);
  if (notable || log::enabled(log::Level::kDebug)) {
    log::write(notable ? log::Level::kInfo : log::Level::kDebug, "request",
               {{"method", req.method}, {"path", router_.loggable_path(req.path)}, {"status", std::to_string(res.status)},
                {"ms", fmt::format("{:.3f}", seconds * 1000)}, {"ip", req.remote_ip}});
  }
  log::set_request_id("");
  return res;
}

}  // namespace fidelis::http
