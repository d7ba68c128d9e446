// The HTTP/1.1 server behind http/server.h: Boost.Beast + Asio with C++20 coroutines.
//
// This is the only translation unit that includes Beast/Asio, so their (heavy) headers and their
// types stay out of the rest of the project.
//
// Shape:
// - One io_context run by `io_threads` threads. The acceptor and every connection get their own
//   strand, so a connection's coroutine and anything posted to it (stop, deadline) never run
//   concurrently.
// - One coroutine per connection (`session`) reads requests in a loop. A request's life:
//     1. idle: waiting for its first byte (tcp_stream timeout; on expiry close silently);
//     2. reading: header and body under a per-request deadline timer that cancels the socket
//        instead of closing it, so a 408 can still be written;
//     3. handling: inline, or on the worker pool when `blocking` says so;
//     4. writing: under the same deadline (tcp_stream timeout; closes on expiry).
// - stop(): close the acceptor, close idle connections, let busy ones finish their current
//   request (the response then says `Connection: close`), force-close what is left after the
//   grace period, then stop the threads.

#include "http/server.h"

#include <utility>  // before Asio: with g++ 12 its headers use std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "core/text.h"

// GCC 12 inlines Asio's coroutine-frame operator new (which calls ::operator new) into every
// coroutine and then flags the frame's class-specific operator delete as "mismatched". The pair is
// correct (Asio's recycling allocator); the warning is reported at our coroutines' closing braces,
// outside the system headers, so it has to be silenced here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace fidelis::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;
using BeastResponse = bhttp::response<bhttp::string_body>;
using FileResponse = bhttp::response<bhttp::file_body>;
// How long a client has to download a file body (Response::body_file), from the end of the handler.
constexpr auto kFileBodyWriteTime = std::chrono::minutes(30);

namespace {

// Bytes asked for when waiting for the first bytes of a request.
constexpr std::size_t kFirstReadBytes = 4096;
// After an error response or `Connection: close`, we keep reading (and discarding) for a while
// before closing: closing a socket with unread input sends a RST, which can make the client lose
// the response we just wrote.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr std::size_t kLingerMaxBytes = 1 << 20;
// Upper bound for writing an error response (400, 408, 413, 431, 503) to a client.
constexpr auto kErrorWriteTimeout = std::chrono::seconds(2);
// How often stop() looks at the open-connection count while it waits.
constexpr auto kStopPollInterval = std::chrono::milliseconds(5);
// After the grace period, how long stop() lets force-closed connections unwind.
constexpr auto kForceCloseWait = std::chrono::milliseconds(200);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Beast 1.74 uses boost::string_view.
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Whether a comma-separated header value (Connection, Expect) holds `token`.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// RFC 9110 token characters, for header names coming from handlers.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A handler must never be able to split the response (CR/LF in a header) or send a broken one.
bool valid_header(const Header& h) {
  if (h.name.empty()) return false;
  for (char c : h.name)
    if (!is_token_char(c)) return false;
  for (char c : h.value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// A small RFC 9457 problem document, for the errors the server answers on its own.
// An answer given before any handler ran, shaped like the API's (http/api.h): with a code, and the
// part of the request at fault as its field.
Response problem(int status, std::string_view title, std::string_view detail) {
  std::string_view code = status == 408   ? "request_timeout"
                          : status == 413 ? "payload_too_large"
                          : status == 431 ? "headers_too_large"
                          : status == 503 ? "unavailable"
                          : status >= 500 ? "internal"
                                          : "invalid_argument";
  std::string_view field = status == 413 ? "body" : status == 431 ? "headers" : "";
  Response r;
  r.status = status;
  r.set("Content-Type", "application/problem+json");
  r.body = fmt::format(R"({{"type":"about:blank","title":"{}","status":{},"detail":"{}","code":"{}"{}}})",
                       log::json_escape(title), status, log::json_escape(detail), code,
                       field.empty() ? std::string() : fmt::format(R"(,"field":"{}")", field));
  return r;
}

template <typename Message>
void copy_headers(const Response& r, Message& res) {
  for (const Header& h : r.headers) {
    if (!valid_header(h)) {
      log::warn("dropping an invalid response header", {{"name", h.name}});
      continue;
    }
    // Framing and connection management are the server's job; a handler's values could
    // contradict the body we actually send.
    if (iequals(h.name, "Content-Length") || iequals(h.name, "Transfer-Encoding") ||
        iequals(h.name, "Connection"))
      continue;
    res.insert(h.name, h.value);
  }
}

BeastResponse to_beast(Response&& r, unsigned version, bool head, bool keep_alive) {
  if (r.status < 100 || r.status > 599) {
    log::error("handler returned an invalid HTTP status", {{"status", std::to_string(r.status)}});
    r = problem(500, "Internal Server Error", "the request handler returned an invalid status");
  }
  BeastResponse res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  copy_headers(r, res);
  // 1xx, 204 and 304 never carry a body; they get no Content-Length either.
  const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
  if (!bodiless) {
    if (head) {
      // HEAD: announce the size the GET would have, send no body bytes.
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
  }
  res.keep_alive(keep_alive);
  return res;
}

// A response whose body is a file (Response::body_file), opened then unlinked. nullopt when the
// file cannot be opened.
std::optional<FileResponse> to_beast_file(Response& r, unsigned version, bool head, bool keep_alive) {
  bhttp::file_body::value_type body;
  beast::error_code ec;
  body.open(r.body_file.c_str(), beast::file_mode::scan, ec);
  std::remove(r.body_file.c_str());
  if (ec) {
    log::error("cannot open a response file", {{"error", ec.message()}});
    return std::nullopt;
  }
  FileResponse res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  copy_headers(r, res);
  if (head) {
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  res.keep_alive(keep_alive);
  return res;
}

// Reads and discards what the client still sends, then closes; see kLingerTime.
asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    stream.expires_after(kLingerTime);
    std::array<char, 4096> sink;
    std::size_t total = 0;
    while (total < kLingerMaxBytes) {
      std::size_t n =
          co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      total += n;
    }
  }
  stream.close();
}

// Writes a server-generated error response with `Connection: close`, then closes.
asio::awaitable<void> send_and_close(beast::tcp_stream& stream, Response response, unsigned version) {
  BeastResponse res = to_beast(std::move(response), version, /*head=*/false, /*keep_alive=*/false);
  beast::error_code ec;
  stream.expires_after(kErrorWriteTimeout);
  co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    stream.close();
    co_return;
  }
  co_await linger_close(stream);
}

// Answers a connection over max_connections with 503; it is not counted as open.
asio::awaitable<void> reject_connection(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  Response busy = problem(503, "Service Unavailable", "too many open connections");
  co_await send_and_close(stream, std::move(busy), 11);
}

// Runs `fn` (returning Response) on `pool` and completes on the awaiting coroutine's executor, so
// the coroutine resumes on its connection's strand, never on a worker thread.
template <typename Fn, typename CompletionToken>
auto run_on_pool(asio::thread_pool& pool, Fn fn, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(Response)>(
      [&pool](auto handler, Fn f) {
        auto ex = asio::get_associated_executor(handler);
        asio::post(pool, [f = std::move(f), handler = std::move(handler), ex]() mutable {
          Response response = f();
          asio::post(ex, [handler = std::move(handler), response = std::move(response)]() mutable {
            std::move(handler)(std::move(response));
          });
        });
      },
      token, std::move(fn));
}

void log_coroutine_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("http connection failed", {{"error", ex.what()}});
  } catch (...) {
    log::error("http connection failed", {{"error", "unknown exception"}});
  }
}

std::string peer_ip(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return {};
  asio::ip::address addr = ep.address();
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; report the plain IPv4 form.
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string();
}

// Counts a request in progress for as long as it lives.
class InFlight {
 public:
  explicit InFlight(std::atomic<int64_t>& counter) : counter_(counter) { ++counter_; }
  ~InFlight() { --counter_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int64_t>& counter_;
};

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const Header& h : headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

void Response::set(std::string name, std::string value) {
  auto it = std::find_if(headers.begin(), headers.end(), [&](const Header& h) { return iequals(h.name, name); });
  if (it == headers.end()) {
    headers.push_back({std::move(name), std::move(value)});
    return;
  }
  it->name = std::move(name);
  it->value = std::move(value);
  // Later duplicates would contradict the replacement.
  headers.erase(std::remove_if(std::next(it), headers.end(), [&](const Header& h) { return iequals(h.name, it->name); }),
                headers.end());
}

struct Server::Impl {
  // One accepted connection. All fields are touched only on the connection's strand, except
  // `id`, which never changes.
  struct Conn {
    Conn(tcp::socket socket, uint64_t conn_id)
        : remote_ip(peer_ip(socket)), stream(std::move(socket)), deadline(stream.get_executor()), id(conn_id) {}
    std::string remote_ip;
    beast::tcp_stream stream;
    asio::steady_timer deadline;  // the request deadline while reading; see arm_deadline()
    const uint64_t id;
    bool idle = false;        // waiting for the first byte of a request: stop() may close it
    bool timed_out = false;   // the deadline fired during the current read
    uint64_t generation = 0;  // lets a deadline handler that fired late recognise it is stale
  };

  // Unregisters a connection when its session ends, however it ends (including the session's
  // frame being destroyed with the io_context).
  struct SessionGuard {
    Impl* impl;
    std::shared_ptr<Conn> conn;
    SessionGuard(Impl* i, std::shared_ptr<Conn> c) : impl(i), conn(std::move(c)) {}
    SessionGuard(const SessionGuard&) = delete;
    SessionGuard& operator=(const SessionGuard&) = delete;
    ~SessionGuard() {
      beast::error_code ec;
      conn->deadline.cancel();
      conn->stream.socket().close(ec);
      {
        std::lock_guard lock(impl->conns_mu_);
        impl->conns_.erase(conn->id);
      }
      --impl->open_connections_;
    }
  };

  enum class State { kIdle, kRunning, kStopped };

  Impl(ServerOptions options, Handler handler, BlockingPredicate blocking)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        blocking_(std::move(blocking)),
        ioc_(std::max(1, options_.io_threads)),
        acceptor_(asio::make_strand(ioc_)) {}

  ~Impl() {
    stop();
    std::lock_guard lock(stopper_mu_);
    if (stopper_.joinable()) {
      if (stopper_.get_id() == std::this_thread::get_id()) stopper_.detach();
      else stopper_.join();
    }
  }

  Status start() {
    {
      std::lock_guard lock(state_mu_);
      if (state_ != State::kIdle) return Error::failed_precondition("", "the HTTP server was already started");
    }
    std::string host = options_.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto fail = [&](const beast::error_code& ec) -> Status {
      beast::error_code ignored;
      acceptor_.close(ignored);
      return Error::unavailable(fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port, ec.message()));
    };

    beast::error_code ec;
    tcp::endpoint endpoint;
    asio::ip::address address = asio::ip::make_address(host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, options_.port);
    } else {
      // Not a numeric address: let the resolver try (e.g. "localhost").
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(host, std::to_string(options_.port), tcp::resolver::passive, ec);
      if (ec) return fail(ec);
      if (results.empty()) return fail(asio::error::host_not_found);
      endpoint = results.begin()->endpoint();
    }

    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail(ec);
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail(ec);
    acceptor_.bind(endpoint, ec);
    if (ec) return fail(ec);
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(ec);
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return fail(ec);

    pool_ = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(std::max(1, options_.worker_threads)));
    // Keeps the I/O threads running between connections until stop().
    work_.emplace(asio::make_work_guard(ioc_));
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), log_coroutine_exception);
    {
      std::lock_guard lock(state_mu_);
      state_ = State::kRunning;
    }
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
    log::info("http server listening", {{"host", options_.host}, {"port", std::to_string(port_)}});
    return ok();
  }

  // True on an I/O or worker thread, where stop() must not block: it would join itself.
  bool in_server_thread() {
    if (ioc_.get_executor().running_in_this_thread()) return true;
    return pool_ && pool_->get_executor().running_in_this_thread();
  }

  // Runs stop() on a thread of its own (joined by ~Impl).
  void stop_async() {
    std::lock_guard lock(stopper_mu_);
    if (!stopper_.joinable()) stopper_ = std::thread([this] { stop(); });
  }

  void stop() {
    if (in_server_thread()) {
      stop_async();
      return;
    }
    // Serialises concurrent callers (a signal's stopper thread and the destructor, say): the
    // second one returns only once the first has finished.
    std::lock_guard stop_lock(stop_mu_);
    {
      std::lock_guard lock(state_mu_);
      if (state_ != State::kRunning) return;
    }
    log::info("http server stopping");
    // Set before looking at the connections: a session registered after our scan sees it before
    // its next read, one registered before it gets the posted close.
    stopping_ = true;
    // Waited for: once stop() returns, the port must refuse connections, and a close merely
    // posted could be dropped by ioc_.stop() below.
    std::promise<void> acceptor_closed;
    std::future<void> acceptor_closed_future = acceptor_closed.get_future();
    asio::post(acceptor_.get_executor(), [this, &acceptor_closed] {
      beast::error_code ec;
      acceptor_.close(ec);
      acceptor_closed.set_value();
    });
    acceptor_closed_future.wait();
    for (const auto& conn : snapshot_connections()) {
      asio::post(conn->stream.get_executor(), [conn] {
        // Busy connections finish their request and then close on their own.
        if (conn->idle) conn->stream.cancel();
      });
    }

    const auto grace_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.shutdown_grace_ms);
    while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < grace_end)
      std::this_thread::sleep_for(kStopPollInterval);
    if (open_connections_.load() > 0) {
      log::warn("http server grace period over; closing connections",
                {{"open_connections", std::to_string(open_connections_.load())},
                 {"requests_in_progress", std::to_string(in_flight_.load())}});
      for (const auto& conn : snapshot_connections()) {
        asio::post(conn->stream.get_executor(), [conn] {
          beast::error_code ec;
          conn->deadline.cancel();
          conn->stream.socket().cancel(ec);
          conn->stream.socket().close(ec);
        });
      }
      const auto force_end = std::chrono::steady_clock::now() + kForceCloseWait;
      while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < force_end)
        std::this_thread::sleep_for(kStopPollInterval);
    }

    // Whatever is still suspended (a handler still running on the pool) is destroyed with the
    // io_context; the pool's join() below waits for the handler itself.
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    if (pool_) pool_->join();
    {
      std::lock_guard lock(state_mu_);
      state_ = State::kStopped;
    }
    state_cv_.notify_all();
    log::info("http server stopped");
  }

  void wait() {
    std::unique_lock lock(state_mu_);
    state_cv_.wait(lock, [this] { return state_ != State::kRunning; });
  }

  void handle_signals() {
    if (signals_) return;
    signals_.emplace(ioc_, SIGINT, SIGTERM);
    signals_->async_wait([this](const beast::error_code& ec, int signal) {
      if (ec) return;
      log::info("signal received; stopping", {{"signal", std::to_string(signal)}});
      // This runs on an I/O thread, which stop() joins: stop from a thread of its own.
      stop_async();
    });
  }

  ServerStats stats() const {
    ServerStats s;
    s.open_connections = open_connections_.load();
    s.accepted_connections = accepted_connections_.load();
    s.rejected_connections = rejected_connections_.load();
    s.bad_requests = bad_requests_.load();
    return s;
  }

  std::vector<std::shared_ptr<Conn>> snapshot_connections() {
    std::lock_guard lock(conns_mu_);
    std::vector<std::shared_ptr<Conn>> out;
    out.reserve(conns_.size());
    for (const auto& [id, conn] : conns_) out.push_back(conn);
    return out;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket(asio::make_strand(ioc_));
      beast::error_code ec;
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_.load() || ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        // Typically out of file descriptors: back off instead of spinning on the error.
        log::warn("accept failed", {{"error", ec.message()}});
        asio::steady_timer backoff(acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      // Only this loop increments the count, so checking then incrementing cannot overshoot.
      if (open_connections_.load() >= options_.max_connections) {
        ++rejected_connections_;
        auto ex = socket.get_executor();
        asio::co_spawn(ex, reject_connection(std::move(socket)), log_coroutine_exception);
        continue;
      }
      ++open_connections_;
      ++accepted_connections_;
      auto conn = std::make_shared<Conn>(std::move(socket), next_conn_id_++);
      {
        std::lock_guard lock(conns_mu_);
        conns_.emplace(conn->id, conn);
      }
      asio::co_spawn(conn->stream.get_executor(), session(conn), log_coroutine_exception);
    }
  }

  // Starts the request deadline: when it fires, pending reads are cancelled (not the socket
  // closed, as tcp_stream's own timeout would) so that a 408 can still be sent.
  static void arm_deadline(const std::shared_ptr<Conn>& conn, SteadyTime at) {
    conn->timed_out = false;
    const uint64_t generation = ++conn->generation;
    conn->deadline.expires_at(at);
    conn->deadline.async_wait([conn, generation](const beast::error_code& ec) {
      if (ec || generation != conn->generation) return;
      conn->timed_out = true;
      beast::error_code ignored;
      conn->stream.socket().cancel(ignored);
    });
  }

  // Ends the request deadline; returns whether it fired.
  static bool disarm_deadline(Conn& conn) {
    ++conn.generation;
    conn.deadline.cancel();
    return conn.timed_out;
  }

  // The answer to a failed read, or nothing when there is nobody left to answer.
  std::optional<Response> read_error_response(const beast::error_code& ec, bool timed_out) const {
    if (timed_out)
      return problem(408, "Request Timeout",
                     fmt::format("request not received within {} ms", options_.request_timeout_ms));
    if (ec == bhttp::error::body_limit)
      return problem(413, "Payload Too Large", fmt::format("request body exceeds {} bytes", options_.max_body_bytes));
    if (ec == bhttp::error::header_limit)
      return problem(431, "Request Header Fields Too Large",
                     fmt::format("request header exceeds {} bytes", options_.max_header_bytes));
    if (ec == bhttp::error::end_of_stream) return std::nullopt;
    // partial_message: the client closed (or half-closed) mid-request; it may still read.
    if (ec == bhttp::error::partial_message) return problem(400, "Bad Request", "truncated request");
    if (&ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category())
      return problem(400, "Bad Request", "malformed request: " + ec.message());
    return std::nullopt;  // a socket error: the peer is gone
  }

  Response call_handler(const Request& request) const {
    try {
      return handler_(request);
    } catch (const std::exception& e) {
      log::error("request handler threw", {{"error", e.what()}, {"method", request.method}, {"path", request.path}});
    } catch (...) {
      log::error("request handler threw", {{"error", "unknown exception"}, {"method", request.method}, {"path", request.path}});
    }
    return problem(500, "Internal Server Error", "the request could not be processed");
  }

  bool is_blocking(std::string_view method, std::string_view path) const {
    if (!blocking_) return false;
    try {
      return blocking_(method, path);
    } catch (...) {
      // Guessing wrong towards the pool only costs a thread hop; blocking an I/O thread is worse.
      return true;
    }
  }

  static Request make_request(bhttp::request<bhttp::string_body>& msg, const std::string& remote_ip) {
    Request r;
    r.method = std::string(sv(msg.method_string()));
    r.target = std::string(sv(msg.target()));
    std::string_view target = r.target;
    // Absolute form ("http://host/path", RFC 9112 3.2.2): keep only the path and query.
    if (target.starts_with("http://") || target.starts_with("https://")) {
      std::size_t slash = target.find('/', target.find("//") + 2);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    std::size_t q = target.find('?');
    // A '%' not followed by two hex digits stays: routing will not match such a path (a 404 is a
    // better answer than a 400 here).
    r.path = text::percent_decode(target.substr(0, q), /*plus_is_space=*/false);
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
    for (const auto& field : msg) r.headers.push_back({std::string(sv(field.name_string())), std::string(sv(field.value()))});
    r.body = std::move(msg.body());
    r.remote_ip = remote_ip;
    return r;
  }

  asio::awaitable<void> session(std::shared_ptr<Conn> conn) {
    SessionGuard guard(this, conn);
    beast::tcp_stream& stream = conn->stream;
    beast::flat_buffer buffer;
    beast::error_code ec;
    const auto timeout = std::chrono::milliseconds(options_.request_timeout_ms);
    const auto header_limit = static_cast<std::uint32_t>(
        std::clamp<int64_t>(options_.max_header_bytes, 0, std::numeric_limits<std::uint32_t>::max()));
    const auto body_limit = static_cast<std::uint64_t>(std::max<int64_t>(options_.max_body_bytes, 0));

    for (;;) {
      if (stopping_.load()) co_return;

      // 1. Idle: wait for the first byte (pipelined bytes may already be buffered).
      if (buffer.size() == 0) {
        conn->idle = true;
        stream.expires_after(timeout);
        std::size_t n = co_await stream.async_read_some(buffer.prepare(kFirstReadBytes),
                                                        asio::redirect_error(asio::use_awaitable, ec));
        conn->idle = false;
        // Timed out, closed by the client, or closed by stop(): no request to answer.
        if (ec) co_return;
        buffer.commit(n);
      }
      stream.expires_never();

      // 2. Read the request under its deadline, counted from its first byte.
      InFlight in_flight(in_flight_);
      const SteadyTime deadline = std::chrono::steady_clock::now() + timeout;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(header_limit);
      parser.body_limit(body_limit);
      arm_deadline(conn, deadline);
      co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !parser.is_done()) {
        // Clients such as curl wait (a second) for this before sending a large body.
        const auto& hdr = parser.get();
        if (hdr.version() == 11 && has_token(sv(hdr[bhttp::field::expect]), "100-continue"))
          co_await asio::async_write(stream, asio::buffer(kContinue), asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      }
      const bool timed_out = disarm_deadline(*conn);
      if (ec) {
        std::optional<Response> error_response = read_error_response(ec, timed_out);
        if (!error_response) co_return;
        ++bad_requests_;
        log::debug("bad http request",
                   {{"status", std::to_string(error_response->status)}, {"error", ec.message()}, {"remote_ip", conn->remote_ip}});
        co_await send_and_close(stream, std::move(*error_response), 11);
        co_return;
      }

      bhttp::request<bhttp::string_body> msg = parser.release();
      const unsigned version = msg.version();  // 10 or 11: Beast rejects others as bad_version
      const bool client_keep_alive = msg.keep_alive();
      const bool head = msg.method() == bhttp::verb::head;

      // 3. Handle.
      Request request = make_request(msg, conn->remote_ip);
      Response response;
      if (is_blocking(request.method, request.path)) {
        // The request stays in this frame: the frame cannot go away before the pool is done with
        // it, since the pool job owns the completion handler that owns the frame. (Moving it into
        // the lambda instead trips a g++ 12 coroutine bug that relocates its strings.)
        const Request* in_frame = &request;
        auto job = [this, in_frame] { return call_handler(*in_frame); };
        response = co_await run_on_pool(*pool_, std::move(job), asio::use_awaitable);
      } else {
        response = call_handler(request);
      }

      // 4. Write, still under the request's deadline.
      bool handler_closes = false;
      for (const Header& h : response.headers)
        if (iequals(h.name, "Connection") && has_token(h.value, "close")) handler_closes = true;
      const bool keep_alive = client_keep_alive && !handler_closes && !stopping_.load();
      stream.expires_at(deadline);
      if (!response.body_file.empty()) {
        // A file (an export) may take a slow client longer than a request's deadline to download.
        stream.expires_after(kFileBodyWriteTime);
        std::optional<FileResponse> file = to_beast_file(response, version, head, keep_alive);
        if (file) {
          co_await bhttp::async_write(stream, *file, asio::redirect_error(asio::use_awaitable, ec));
        } else {
          BeastResponse res = to_beast(problem(500, "Internal Server Error", "the response file could not be read"),
                                       version, head, keep_alive);
          co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        }
      } else {
        BeastResponse res = to_beast(std::move(response), version, head, keep_alive);
        co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      }
      stream.expires_never();
      if (ec) co_return;  // the client went away or the deadline passed
      if (!keep_alive) {
        co_await linger_close(stream);
        co_return;
      }
    }
  }

  const ServerOptions options_;
  const Handler handler_;
  const BlockingPredicate blocking_;

  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> accepted_connections_{0};
  std::atomic<int64_t> rejected_connections_{0};
  std::atomic<int64_t> bad_requests_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  uint64_t next_conn_id_ = 1;  // accept loop only
  uint16_t port_ = 0;

  std::mutex conns_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns_;

  std::mutex state_mu_;
  std::condition_variable state_cv_;
  State state_ = State::kIdle;
  std::mutex stop_mu_;
  std::mutex stopper_mu_;
  std::thread stopper_;

  // Declared after everything a session touches when it ends: destroying the io_context destroys
  // the suspended sessions, whose guards use the members above.
  asio::io_context ioc_;
  std::unique_ptr<asio::thread_pool> pool_;
  tcp::acceptor acceptor_;
  std::optional<asio::signal_set> signals_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

Server::Server(ServerOptions options, Handler handler, BlockingPredicate blocking)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(blocking))) {}

Server::~Server() = default;

Status Server::start() { return impl_->start(); }
uint16_t Server::port() const { return impl_->port_; }
void Server::stop() { impl_->stop(); }
void Server::wait() { impl_->wait(); }
void Server::handle_signals() { impl_->handle_signals(); }
ServerStats Server::stats() const { return impl_->stats(); }

}  // namespace fidelis::http
