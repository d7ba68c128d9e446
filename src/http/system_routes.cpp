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
           res.body += "# HELP fidelis_npai_rate Share of e-mail addresses sent to that hard-bounce (last computed).\n"
                       "# TYPE fidelis_npai_rate gauge\n";
           res.body += "fidelis_npai_rate " + std::to_string(s.deliverability.last_rate()) + "\n";
           res.body += "# HELP fidelis_npai_alert 1 while the NPAI rate is above its threshold.\n# TYPE fidelis_npai_alert gauge\n";
           res.body += std::string("fidelis_npai_alert ") + (s.deliverability.alert_on() ? "1" : "0") + "\n";
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
