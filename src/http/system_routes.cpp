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
           res.body += metric_line("fidelis_npai_rate", "gauge",
                                   "Share of e-mail addresses sent to that hard-bounce (last computed).",
                                   s.deliverability.last_rate());
           res.body += metric_line("fidelis_npai_alert", "gauge", "1 while the NPAI rate is above its threshold.",
                                   s.deliverability.alert_on() ? 1 : 0);
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
