// Prometheus text exposition of request counters, latency histograms and pool gauges.

#include <fmt/format.h>

#include <cmath>

#include "http/api.h"

namespace fidelis::http {

std::string metric_line(std::string_view name, std::string_view type, std::string_view help, double value) {
  // Counters print as integers ("1000000", not "1e+06").
  std::string v = value == std::floor(value) && std::fabs(value) < 1e15 ? fmt::format("{:.0f}", value) : fmt::format("{}", value);
  return fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
}

Metrics::Metrics() {
  routes_.reserve(kCapacity);
  for (size_t i = 0; i < kCapacity; ++i) routes_.push_back(std::make_unique<PerRoute>());
}

void Metrics::observe(size_t route_index, int status, double seconds) {
  PerRoute& r = *routes_[std::min(route_index, kCapacity - 1)];
  if (status >= 100 && status < 600) r.by_status[static_cast<size_t>(status)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.sum_micros.fetch_add(static_cast<int64_t>(seconds * 1e6), std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render(const std::vector<Route>& routes, const storage::PoolStats& pool,
                            const ServerStats& server) const {
  std::string out;
  out += "# HELP fidelis_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE fidelis_http_requests_total counter\n";
  auto label = [&](size_t i) {
    if (i < routes.size()) return fmt::format("route=\"{}\",method=\"{}\"", routes[i].pattern, routes[i].method);
    return std::string("route=\"unmatched\",method=\"\"");
  };
  auto each_route = [&](auto&& fn) {
    for (size_t i = 0; i < routes.size() && i < kCapacity - 1; ++i) fn(i);
    fn(kCapacity - 1);
  };
  each_route([&](size_t i) {
    const PerRoute& r = *routes_[i];
    for (size_t s = 100; s < 600; ++s) {
      int64_t n = r.by_status[s].load(std::memory_order_relaxed);
      if (n > 0) out += fmt::format("fidelis_http_requests_total{{{},status=\"{}\"}} {}\n", label(i), s, n);
    }
  });
  out += "# HELP fidelis_http_request_duration_seconds Time from parsed request to response, by route.\n";
  out += "# TYPE fidelis_http_request_duration_seconds histogram\n";
  each_route([&](size_t i) {
    const PerRoute& r = *routes_[i];
    int64_t count = r.count.load(std::memory_order_relaxed);
    if (count == 0) return;
    int64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += r.buckets[b].load(std::memory_order_relaxed);
      out += fmt::format("fidelis_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", label(i), kBuckets[b], cumulative);
    }
    cumulative += r.buckets[kBuckets.size()].load(std::memory_order_relaxed);
    out += fmt::format("fidelis_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", label(i), cumulative);
    out += fmt::format("fidelis_http_request_duration_seconds_sum{{{}}} {:.6f}\n", label(i),
                       static_cast<double>(r.sum_micros.load(std::memory_order_relaxed)) / 1e6);
    out += fmt::format("fidelis_http_request_duration_seconds_count{{{}}} {}\n", label(i), cumulative);
  });
  out += metric_line("fidelis_db_pool_connections", "gauge", "Database connections opened by the pool.", pool.size);
  out += metric_line("fidelis_db_pool_in_use", "gauge", "Database connections lent out now.", pool.in_use);
  out += metric_line("fidelis_db_pool_waits_total", "counter", "Acquisitions that waited for a connection.", pool.waits);
  out += metric_line("fidelis_db_pool_timeouts_total", "counter", "Acquisitions that gave up.", pool.timeouts);
  out += metric_line("fidelis_http_open_connections", "gauge", "Open client connections.", server.open_connections);
  out += metric_line("fidelis_http_connections_total", "counter", "Accepted client connections.", server.accepted_connections);
  out += metric_line("fidelis_http_rejected_connections_total", "counter", "Connections refused over the limit.",
                     server.rejected_connections);
  out += metric_line("fidelis_http_bad_requests_total", "counter", "Unparseable, oversized or timed-out requests.",
                     server.bad_requests);
  return out;
}

}  // namespace fidelis::http
