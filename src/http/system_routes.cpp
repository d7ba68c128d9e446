// /healthz, /readyz, /metrics and /api/v1/openapi.json.

#include "core/embedded.h"
#include "http/api.h"

namespace fidelis::http {

void add_system_routes(Router& r, Services& s, const Metrics& metrics) {
  r.add({"GET", "/healthz", "healthz", std::nullopt, false, /*blocking=*/false, [](Context&) {
           Response res;
           res.set("Content-Type", "application/json");
           res.body = R"({"status":"ok"})";
           return res;
         }});

  r.add({"GET", "/readyz", "readyz", std::nullopt, false, true, [&s](Context&) {
           auto row = s.db.one("SELECT 1");
           if (!row) return problem(Error::unavailable("the database does not answer: " + row.error().message));
           return json_response(200, {{"status", "ready"}});
         }});

  r.add({"GET", "/metrics", "metrics", std::nullopt, false, false, [&s, &metrics, &r](Context&) {
           Response res;
           res.set("Content-Type", "text/plain; version=0.0.4");
           res.body = metrics.render(r.routes(), s.db.pool_stats(), s.server_stats ? s.server_stats() : ServerStats{});
           return res;
         }});

  r.add({"GET", "/api/v1/openapi.json", "openapi", std::nullopt, false, false, [](Context&) {
           static const std::string body = openapi_document().dump();
           Response res;
           res.set("Content-Type", "application/json");
           res.body = body;
           return res;
         }});
}

}  // namespace fidelis::http
