#pragma once
// The HTTP/1.1 server: Boost.Beast + Asio with C++20 coroutines, entirely inside server.cpp (the
// only translation unit that includes Beast) behind a pimpl.
//
// What it guarantees:
// - Limits, set once here from ServerOptions: header bytes (431), body bytes (413), a deadline
//   for each request from its first byte to the last byte of the response (408 if the request is
//   not read in time; the connection closes), and a cap on open connections (beyond it, a new
//   connection gets 503 and is closed).
// - Keep-alive (HTTP/1.1 default, `Connection: close` honoured), pipelined requests answered in order.
// - Malformed or truncated requests get 400 and the connection closes; never a crash or a hang.
// - Handlers marked `blocking` run on a worker thread pool, never on the I/O threads; the others
//   (cheap, no I/O: /healthz, /metrics) run inline on the I/O thread.
// - stop() stops accepting, lets in-flight requests finish (up to a grace period), then closes.
//
// Thread-safety: start/stop/wait from one controlling thread. Handlers run concurrently.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace fidelis::http {

struct Header {
  std::string name;   // as received; look-ups are case-insensitive
  std::string value;
};

struct Request {
  std::string method;  // "GET", "POST", ... (upper-case as sent)
  std::string target;  // raw request-target: "/api/v1/customers?limit=10"
  std::string path;    // target without the query string, percent-decoded
  std::string query;   // raw query string without '?', or empty
  std::vector<Header> headers;
  std::string body;
  std::string remote_ip;  // peer address, e.g. "127.0.0.1"
  // First header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Length and Date are added by the server
  std::string body;
  // When set, the body is this file's content instead, streamed from disk; the server removes the
  // file once it has opened it (a temporary file made for this response). Its download has 30
  // minutes, whatever the request deadline.
  std::string body_file;
  void set(std::string name, std::string value);  // replaces an existing header of that name
};

using Handler = std::function<Response(const Request&)>;

// Decides, from the method and path only, whether the request's handler blocks (database, password
// hashing) and must run on the worker pool.
using BlockingPredicate = std::function<bool(std::string_view method, std::string_view path)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;         // 0 picks a free port; see Server::port()
  int io_threads = 2;
  int worker_threads = 8;
  int64_t max_body_bytes = 1 << 20;
  int64_t max_header_bytes = 16 << 10;
  int64_t request_timeout_ms = 30'000;
  int64_t max_connections = 10'000;
  int64_t shutdown_grace_ms = 10'000;
};

// Counters the server keeps for /metrics. Thread-safe snapshot.
struct ServerStats {
  int64_t open_connections = 0;
  int64_t accepted_connections = 0;
  int64_t rejected_connections = 0;  // over max_connections
  int64_t bad_requests = 0;          // unparseable, too large, timed out
};

class Server {
 public:
  Server(ServerOptions options, Handler handler, BlockingPredicate blocking);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O and worker threads. Unavailable if the address cannot be bound.
  Status start();
  uint16_t port() const;  // the bound port, after start()
  // Graceful stop; safe to call from a signal-watching thread. Idempotent.
  void stop();
  // Blocks until stopped (by stop() or SIGTERM/SIGINT when `handle_signals` was called).
  void wait();
  // Makes SIGTERM and SIGINT call stop().
  void handle_signals();
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fidelis::http
