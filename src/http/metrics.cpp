// Prometheus text exposition of request counters, latency histograms and pool gauges.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

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
  out += "# HELP fidelis_db_pool_connections Database connections opened by the pool.\n# TYPE fidelis_db_pool_connections gauge\n";
  out += fmt::format("fidelis_db_pool_connections {}\n", pool.size);
  out += "# HELP fidelis_db_pool_in_use Database connections lent out now.\n# TYPE fidelis_db_pool_in_use gauge\n";
  out += fmt::format("fidelis_db_pool_in_use {}\n", pool.in_use);
  out += "# HELP fidelis_db_pool_waits_total Acquisitions that waited for a connection.\n# TYPE fidelis_db_pool_waits_total counter\n";
  out += fmt::format("fidelis_db_pool_waits_total {}\n", pool.waits);
  out += "# HELP fidelis_db_pool_timeouts_total Acquisitions that gave up.\n# TYPE fidelis_db_pool_timeouts_total counter\n";
  out += fmt::format("fidelis_db_pool_timeouts_total {}\n", pool.timeouts);
  out += "# HELP fidelis_http_open_connections Open client connections.\n# TYPE fidelis_http_open_connections gauge\n";
  out += fmt::format("fidelis_http_open_connections {}\n", server.open_connections);
  out += "# HELP fidelis_http_connections_total Accepted client connections.\n# TYPE fidelis_http_connections_total counter\n";
  out += fmt::format("fidelis_http_connections_total {}\n", server.accepted_connections);
  out += "# HELP fidelis_http_rejected_connections_total Connections refused over the limit.\n# TYPE fidelis_http_rejected_connections_total counter\n";
  out += fmt::format("fidelis_http_rejected_connections_total {}\n", server.rejected_connections);
  out += "# HELP fidelis_http_bad_requests_total Unparseable, oversized or timed-out requests.\n# TYPE fidelis_http_bad_requests_total counter\n";
  out += fmt::format("fidelis_http_bad_requests_total {}\n", server.bad_requests);
  return out;
}

}  // namespace fidelis::http
