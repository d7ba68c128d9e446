#pragma once
// http: the REST API over the HTTP server. A route parses the request, calls one service, renders
// the answer. This header is the module's contract: the router (with the permission each route
// needs), the error mapping, the JSON helpers shared by route files, metrics, and the wiring.
//
// Request pipeline (Api::handle): request id -> route match (404 / 405 with Allow) -> credentials
// (Authorization: Bearer API key, or the session cookie plus X-CSRF-Token on writes) -> permission
// (401 / 403) -> handler -> metrics and an access-log line. Handlers never throw; a thrown exception
// from third-party code is caught here and becomes a 500 with the request id.

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/config.h"
#include "customers/customers.h"
#include "http/server.h"
#include "commerce/commerce.h"
#include "deliverability/deliverability.h"
#include "imports/imports.h"
#include "mail/mail.h"
#include "questionnaires/questionnaires.h"
#include "storage/db.h"
#include "timeline/timeline.h"
#include "tracking/tracking.h"

namespace fidelis::http {

using Json = nlohmann::json;

// ---- errors (errors.cpp) ----
// The one mapping from an Error code to an HTTP status.
int http_status(Code code);
// RFC 9457 application/problem+json: type, title, status, detail, code, field, request_id.
Response problem(const Error& e);
Response problem(int status, std::string_view detail, std::string_view field = {});
Response json_response(int status, const Json& body);
// 204 No Content: a write that has nothing to say back.
Response no_content();

// ---- request context and routes (router.cpp) ----
struct Context {
  Context(const Request& r, std::map<std::string, std::string> p, audit::Actor a, std::string rid)
      : req(r), params(std::move(p)), actor(std::move(a)), request_id(std::move(rid)) {}
  const Request& req;
  std::map<std::string, std::string> params;  // path parameters: {id} -> "42"
  std::optional<auth::Principal> principal;    // set on authenticated routes
  audit::Actor actor;                          // who, for the audit log
  std::string request_id;

  // Query parameters, percent-decoded. Repeated keys keep the last value.
  const std::map<std::string, std::string>& query() const;
  // The first query parameter the request gives twice or more, if any (routes that need
  // credentials refuse it: which value was meant?).
  std::optional<std::string> repeated_query_parameter() const;
  std::optional<std::string> query_param(const std::string& name) const;
  // The JSON object body. InvalidArgument ("body") when it is not JSON or not an object;
  // the Content-Type must be application/json (InvalidArgument naming "Content-Type").
  Result<Json> json_body() const;
  // Path parameter as a positive integer; InvalidArgument naming it otherwise.
  Result<int64_t> id_param(const std::string& name = "id") const;
  // Query parameter as a positive integer (an id filter); nullopt when absent, InvalidArgument
  // naming it when not a positive integer.
  Result<std::optional<int64_t>> id_query(const std::string& name) const;

 private:
  mutable std::optional<std::map<std::string, std::string>> query_;
  mutable std::optional<std::string> repeated_;
};

using RouteHandler = std::function<Response(Context&)>;

struct Route {
  std::string method;   // GET, POST, PATCH, DELETE
  // "/api/v1/customers/{id}". A parameter named {token} is a credential (a signed link): logs
  // never show it (Router::loggable_path).
  std::string pattern;
  std::string operation_id;  // as in docs/api/openapi.yaml
  // nullopt: public (no credentials). Otherwise the permission the caller needs.
  std::optional<auth::Permission> permission;
  bool authenticated_only = false;  // needs credentials but no particular permission (me, logout)
  bool blocking = true;             // touches the database or hashes: runs on the worker pool
                                    // (GETs on SQLite excepted, see Api::blocking)
  RouteHandler handler;
  bool always_on_pool = false;      // a GET that writes (the tracking pixel) or works long (an export):
                                    // on the worker pool even on SQLite
  // The query parameters it takes: Router::add sets those docs/api/openapi.yaml documents for
  // operation_id. On a route that needs credentials any other is refused (400 naming it) before
  // the handler runs; public routes (links in e-mails) ignore the others.
  std::optional<std::vector<std::string>> query_parameters;
};

class Router {
 public:
  void add(Route route);
  struct Match {
    const Route* route = nullptr;
    size_t index = 0;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;  // methods allowed on the path, when the method did not match
  };
  Match match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // `path` as the logs may show it: the segment a route's {token} parameter takes is written
  // "{token}", also in a path no route matches (a 404 or 405 under the same prefix), so a link
  // that grants access never reaches a log line.
  std::string loggable_path(std::string_view path) const;

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // each route's pattern, split at the slashes
  std::vector<std::vector<std::string>> secrets_;   // pattern segments up to a {token}, included
};

// ---- metrics (metrics.cpp) ----
// One metric with its HELP and TYPE lines, in the Prometheus text format.
std::string metric_line(std::string_view name, std::string_view type, std::string_view help, double value);
// Prometheus text format: requests by route and status, a latency histogram per route, database
// pool and connection gauges. Lock-free on the request path.
class Metrics {
 public:
  static constexpr size_t kCapacity = 128;  // routes; index kCapacity - 1 counts unmatched requests
  Metrics();
  void observe(size_t route_index, int status, double seconds);
  std::string render(const std::vector<Route>& routes, const storage::PoolStats& pool, const ServerStats& server) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  struct PerRoute {
    std::array<std::atomic<int64_t>, 600> by_status{};
    std::array<std::atomic<int64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<int64_t> sum_micros{0};
    std::atomic<int64_t> count{0};
  };
  std::vector<std::unique_ptr<PerRoute>> routes_;
};

// ---- JSON helpers shared by route files (json_helpers.cpp) ----
// Reading a field of a given type from an object; InvalidArgument naming `field` on a wrong type.
Result<std::optional<std::string>> get_string(const Json& obj, std::string_view key, std::string_view field);
Result<std::optional<int64_t>> get_int(const Json& obj, std::string_view key, std::string_view field);
Result<std::optional<bool>> get_bool(const Json& obj, std::string_view key, std::string_view field);
// InvalidArgument naming the first key of `obj` not in `allowed`.
Status reject_unknown(const Json& obj, std::initializer_list<std::string_view> allowed, std::string_view prefix = {});
std::string iso(Millis ms);
// A request body that must be a JSON object: parsed, or InvalidArgument naming `body` when it is
// not JSON, not an object, or nests arrays and objects deeper than kMaxJsonDepth (writing such a
// document back out, as events' properties are, recurses once a level).
constexpr size_t kMaxJsonDepth = 32;
Result<Json> parse_json_object(std::string_view text);

// Entity tags carry a record's version: "v3" (quoted). parse_etag also takes the weak form W/"v3".
std::string etag(int64_t version);
std::optional<int64_t> parse_etag(std::string_view tag);
// Opaque list cursors.
std::string encode_cursor(int64_t after_id);
Result<int64_t> decode_cursor(std::string_view cursor);
// The value of cookie `name` in a Cookie header, or empty.
std::string cookie_value(std::string_view header, std::string_view name);
// `limit` query parameter: default 50 (or `max` when lower), 1..max; InvalidArgument ("limit") outside.
Result<int> limit_param(const Context& ctx, int max = 500);

// ---- Idempotency-Key on POST (idempotency.cpp) ----
// Without the header, runs `work`. With it, the first request's answer is stored under (caller,
// key) and replayed to retries (header Idempotent-Replayed: true); the key is claimed before the
// work runs, so two concurrent retries cannot both run it. The same key for another request body
// or route is 400; a 5xx answer is not kept, so the client may retry for real.
Response idempotent(Context& ctx, storage::Db& db, const Clock& clock, const std::function<Response()>& work);

// ---- the services and the API (api.cpp) ----
struct Services {
  storage::Db& db;
  const Clock& clock;
  const Config& config;
  auth::AuthService& auth;
  customers::CustomerService& customers;
  imports::ImportRunner& imports;
  imports::Uploads& uploads;
  questionnaires::QuestionnaireService& questionnaires;
  deliverability::DeliverabilityService& deliverability;
  commerce::CatalogueService& catalogue;
  merging::MergeService& merges;
  mail::MailService& mail;
  commerce::OrderService& orders;
  commerce::SlotService& slots;
  tracking::TrackingService& tracking;
  timeline::InteractionService& interactions;
  timeline::TimelineService& timeline;
  std::function<ServerStats()> server_stats;  // for /metrics; may be empty
};

class Api {
 public:
  explicit Api(Services services);
  Response handle(const Request& req);
  bool blocking(std::string_view method, std::string_view path) const;
  const Router& router() const { return router_; }

 private:
  Services s_;
  Router router_;
  std::unique_ptr<Metrics> metrics_;
};

// Route files: each adds its routes to the router.
void add_system_routes(Router& r, Services& s, const Metrics& metrics);
void add_auth_routes(Router& r, Services& s);
void add_customer_routes(Router& r, Services& s);
void add_import_routes(Router& r, Services& s);
void add_questionnaire_routes(Router& r, Services& s);
void add_deliverability_routes(Router& r, Services& s);
void add_catalogue_routes(Router& r, Services& s);
void add_merge_routes(Router& r, Services& s);  // before the customer routes: /customers/export
void add_mail_routes(Router& r, Services& s);
void add_order_routes(Router& r, Services& s);
void add_delivery_routes(Router& r, Services& s);
void add_tracking_routes(Router& r, Services& s);     // /t.js, /t.gif, /t/collect, /api/v1/tracking/*
void add_segment_routes(Router& r, Services& s);      // /v1/identify, /v1/track, /v1/page, /v1/batch
void add_interaction_routes(Router& r, Services& s);  // interactions and the timeline

// Customer JSON input (customer_json.cpp); the output is customers::render_document.
// Parses a create (`patch` false) or PATCH body (null clears a scalar). InvalidArgument naming the field.
Result<customers::CustomerInput> customer_from_json(const Json& body, bool patch);

// The OpenAPI document, converted from the embedded docs/api/openapi.yaml (openapi.cpp).
const Json& openapi_document();
// The query parameters the document gives operation `operation_id` (its own and its path's,
// references resolved); nullopt when it has no such operation.
std::optional<std::vector<std::string>> documented_query_parameters(std::string_view operation_id);

}  // namespace fidelis::http
