// Tests for http/server.h: a real Server on 127.0.0.1 driven over loopback with raw POSIX sockets
// (no Beast here, so Beast stays in server.cpp), to see exactly the bytes a client would see.

#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fidelis::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct RawResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  std::string header(std::string_view name) const {
    Request r;  // reuse the server's case-insensitive look-up
    r.headers = headers;
    return std::string(r.header(name));
  }
};

// A blocking loopback client with deadlines on every read (SO_RCVTIMEO), so a server bug shows
// as a failed expectation, not a hung test.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  bool send(std::string_view data) {
    while (!data.empty()) {
      // MSG_NOSIGNAL: a server that already closed must fail the send, not kill the test.
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One response; nullopt if the connection closes or the deadline passes first. `head`: the
  // response to a HEAD request, whose Content-Length announces a body that is not sent.
  std::optional<RawResponse> read_response(bool head = false, milliseconds timeout = milliseconds(2000)) {
    const auto end = Clock::now() + timeout;
    std::size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(end)) return std::nullopt;
    RawResponse r;
    std::string_view head_text = std::string_view(buf_).substr(0, header_end);
    std::size_t line_end = head_text.find("\r\n");
    std::string_view status_line = head_text.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
    r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    std::size_t content_length = 0;
    while (line_end != std::string_view::npos) {
      head_text.remove_prefix(line_end + 2);
      line_end = head_text.find("\r\n");
      std::string_view line = head_text.substr(0, line_end);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
      if (r.headers.back().name == "Content-Length") content_length = std::stoul(std::string(value));
    }
    buf_.erase(0, header_end + 4);
    if (head || r.status == 204 || r.status == 304) content_length = 0;
    while (buf_.size() < content_length)
      if (!fill(end)) return std::nullopt;
    r.body = buf_.substr(0, content_length);
    buf_.erase(0, content_length);
    return r;
  }

  // True when the server closes the connection (EOF or reset) within `timeout`; bytes received
  // meanwhile are discarded.
  bool closed_by_peer(milliseconds timeout = milliseconds(2000)) {
    const auto end = Clock::now() + timeout;
    for (;;) {
      int result = recv_some(end);
      if (result <= 0) return result == 0;
    }
  }

  // Bytes received after the last response (to check that a HEAD response had no body).
  const std::string& leftover() const { return buf_; }

 private:
  // 1 when bytes arrived, 0 on EOF or reset, -1 on timeout.
  int recv_some(Clock::time_point end) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(end - Clock::now()).count();
      if (left <= 0) return -1;
      timeval tv{};
      tv.tv_sec = static_cast<time_t>(left / 1'000'000);
      tv.tv_usec = static_cast<suseconds_t>(left % 1'000'000);
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char chunk[16384];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<std::size_t>(n));
        return 1;
      }
      if (n == 0) return 0;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
      if (errno == EINTR) continue;
      return 0;  // ECONNRESET and friends: closed
    }
  }
  bool fill(Clock::time_point end) { return recv_some(end) == 1; }

  int fd_ = -1;
  std::string buf_;
};

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return std::string("GET ") + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  static ServerOptions small_options() {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.worker_threads = 2;
    o.max_body_bytes = 1024;
    o.max_header_bytes = 1024;
    o.request_timeout_ms = 1000;
    o.max_connections = 100;
    o.shutdown_grace_ms = 2000;
    return o;
  }

  void start(ServerOptions options = small_options()) {
    server_ = std::make_unique<Server>(
        options, [this](const Request& r) { return handle(r); },
        [](std::string_view, std::string_view path) { return path.starts_with("/slow"); });
    auto status = server_->start();
    ASSERT_TRUE(status) << status.error().message;
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    release_held();
    if (server_) server_->stop();
  }

  // Lets every /slow-hold handler return.
  void release_held() {
    std::lock_guard lock(hold_mu_);
    released_ = true;
    hold_cv_.notify_all();
  }

  // Waits (up to 10 s) until `n` /slow-long or /slow-hold handlers have started: a request the
  // handler runs has been read, whatever the machine's load.
  bool wait_started(int n) {
    for (int i = 0; i < 2000 && started_.load() < n; ++i) std::this_thread::sleep_for(milliseconds(5));
    return started_.load() >= n;
  }

  Response handle(const Request& r) {
    Response res;
    if (r.path == "/throw") throw std::runtime_error("boom");
    if (r.path == "/slow") std::this_thread::sleep_for(milliseconds(50));
    if (r.path == "/slow-long") {
      ++started_;
      std::this_thread::sleep_for(milliseconds(300));
    }
    if (r.path == "/slow-hold") {
      ++started_;
      std::unique_lock lock(hold_mu_);
      hold_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return released_; });
      ++held_done_;
    }
    if (r.path == "/slow" || r.path == "/fast") {
      std::lock_guard lock(mu_);
      (r.path == "/slow" ? slow_thread_ : fast_thread_) = std::this_thread::get_id();
    }
    if (r.path == "/big") {
      res.body.assign(8 << 20, 'x');
      return res;
    }
    res.set("Content-Type", "text/plain");
    res.set("X-Echo", std::string(r.header("x-test")));
    res.body = r.method + "|" + r.path + "|" + r.query + "|" + std::string(r.header("X-TEST")) + "|" + r.body;
    return res;
  }

  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::thread::id slow_thread_;
  std::thread::id fast_thread_;
  std::atomic<int> started_{0};
  std::atomic<int> held_done_{0};  // /slow-hold handlers that returned
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool released_ = false;
};

TEST_F(ServerTest, AnswersASimpleGet) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/hello%20world?a=1&b=%20", "X-Test: abc\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET|/hello world|a=1&b=%20|abc|");
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
  EXPECT_EQ(r->header("X-Echo"), "abc");
  EXPECT_EQ(r->header("Content-Type"), "text/plain");
}

TEST_F(ServerTest, KeepsTheConnectionAliveAndAnswersPipelinedRequestsInOrder) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(get("/one")));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body, "GET|/one|||");
  ASSERT_TRUE(c.send(get("/two")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "GET|/two|||");

  // Two requests in one segment.
  ASSERT_TRUE(c.send(get("/three") + get("/four")));
  auto r3 = c.read_response();
  auto r4 = c.read_response();
  ASSERT_TRUE(r3 && r4);
  EXPECT_EQ(r3->body, "GET|/three|||");
  EXPECT_EQ(r4->body, "GET|/four|||");
  EXPECT_EQ(server_->stats().accepted_connections, 1);
}

TEST_F(ServerTest, HonoursConnectionCloseAndHttp10) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(get("/bye", "Connection: close\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());

  Client c10(port_);
  ASSERT_TRUE(c10.send("GET /old HTTP/1.0\r\n\r\n"));
  auto r10 = c10.read_response();
  ASSERT_TRUE(r10);
  EXPECT_EQ(r10->status, 200);
  EXPECT_TRUE(c10.closed_by_peer());
}

TEST_F(ServerTest, EchoesAPostBody) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send("POST /items HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST|/items|||hello world");

  // Chunked bodies are decoded; `Expect: 100-continue` gets its interim response first.
  ASSERT_TRUE(c.send("PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  auto chunked = c.read_response();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "PUT|/c|||hello");
  ASSERT_TRUE(c.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("ok"));
  auto final_response = c.read_response();
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->body, "POST|/e|||ok");
}

TEST_F(ServerTest, AnswersGarbageWith400AndCloses) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("Content-Type"), "application/problem+json");
  EXPECT_NE(r->body.find(R"("status":400)"), std::string::npos) << r->body;
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(server_->stats().bad_requests, 1);
}

TEST_F(ServerTest, AnswersAnOversizedBodyWith413) {
  start();
  Client c(port_);
  std::string body(2000, 'b');
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n"));
  c.send(body);  // the server may already have answered; a failed send is fine
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body,
            R"({"type":"about:blank","title":"Payload Too Large","status":413,"detail":"request body exceeds 1024 bytes",)"
            R"("code":"payload_too_large","field":"body"})");
  EXPECT_TRUE(c.closed_by_peer());

  // Same for a chunked body that grows past the limit.
  Client chunked(port_);
  ASSERT_TRUE(chunked.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n"));
  chunked.send(std::string(0x800, 'c') + "\r\n0\r\n\r\n");
  auto rc = chunked.read_response();
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->status, 413);
}

TEST_F(ServerTest, AnswersOversizedHeadersWith431) {
  start();
  Client c(port_);
  c.send(get("/x", "X-Big: " + std::string(4000, 'h') + "\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, TimesOutSlowAndTruncatedRequestsAndKeepsServing) {
  ServerOptions o = small_options();
  o.request_timeout_ms = 300;
  start(o);

  // Slowloris: half a header, then silence.
  Client slow(port_);
  ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n"));
  // Truncated body: Content-Length promises more than is sent.
  Client truncated(port_);
  ASSERT_TRUE(truncated.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
  // Idle: connected, never sends anything.
  Client idle(port_);

  const auto begin = Clock::now();
  auto r1 = slow.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 408);
  EXPECT_TRUE(slow.closed_by_peer());
  auto r2 = truncated.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 408);
  EXPECT_TRUE(truncated.closed_by_peer());
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_TRUE(idle.leftover().empty());  // an idle connection is closed silently
  EXPECT_LT(Clock::now() - begin, milliseconds(2000));

  // Truncated, then the client closes its side: 400, which it can still read.
  Client half_closed(port_);
  ASSERT_TRUE(half_closed.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
  half_closed.shutdown_write();
  auto r3 = half_closed.read_response();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 400);

  Client fresh(port_);
  ASSERT_TRUE(fresh.send(get("/still-here")));
  auto r4 = fresh.read_response();
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->status, 200);
  EXPECT_EQ(server_->stats().bad_requests, 3);
}

TEST_F(ServerTest, RejectsConnectionsOverTheCapWith503) {
  ServerOptions o = small_options();
  o.max_connections = 2;
  start(o);
  Client a(port_), b(port_);
  ASSERT_TRUE(a.send(get("/a")));
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.send(get("/b")));
  ASSERT_TRUE(b.read_response());

  Client c(port_);
  c.send(get("/c"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(server_->stats().rejected_connections, 1);
  EXPECT_EQ(server_->stats().open_connections, 2);

  // Room again once one closes.
  a.close();
  const auto end = Clock::now() + milliseconds(2000);
  while (server_->stats().open_connections > 1 && Clock::now() < end) std::this_thread::sleep_for(milliseconds(5));
  Client d(port_);
  ASSERT_TRUE(d.send(get("/d")));
  auto rd = d.read_response();
  ASSERT_TRUE(rd);
  EXPECT_EQ(rd->status, 200);
}

TEST_F(ServerTest, RunsBlockingHandlersOnWorkerThreads) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(get("/fast")));
  ASSERT_TRUE(c.read_response());
  ASSERT_TRUE(c.send(get("/slow")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET|/slow|||");
  std::lock_guard lock(mu_);
  EXPECT_NE(fast_thread_, std::thread::id());
  EXPECT_NE(slow_thread_, std::thread::id());
  EXPECT_NE(fast_thread_, slow_thread_);
  EXPECT_NE(slow_thread_, std::this_thread::get_id());
}

TEST_F(ServerTest, AnInlineRequestIsNotHeldUpByABlockingOne) {
  ServerOptions o = small_options();
  o.io_threads = 1;  // the worker pool, not a second I/O thread, must be what keeps /fast quick
  start(o);
  Client slow(port_), fast(port_);
  // The slow handler holds its worker until released: /fast is answered while it still runs.
  ASSERT_TRUE(slow.send(get("/slow-hold")));
  ASSERT_TRUE(wait_started(1));
  ASSERT_TRUE(fast.send(get("/fast")));
  ASSERT_TRUE(fast.read_response());
  EXPECT_EQ(held_done_.load(), 0) << "/fast waited for the held handler";
  release_held();
  auto r = slow.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, StopClosesIdleConnectionsPromptly) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(get("/a")));
  ASSERT_TRUE(c.read_response());
  const auto begin = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - begin, milliseconds(1000));
  EXPECT_TRUE(c.closed_by_peer(milliseconds(500)));
  server_->stop();  // idempotent
  server_->wait();  // returns at once once stopped
  Client refused(port_);
  EXPECT_FALSE(refused.connected());
}

TEST_F(ServerTest, StopLetsAnInFlightRequestFinish) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(get("/slow-long")));
  ASSERT_TRUE(wait_started(1));
  const auto begin = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - begin, milliseconds(1500));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET|/slow-long|||");
  EXPECT_EQ(r->header("Connection"), "close");
}

TEST_F(ServerTest, StopForceClosesWhatOutlivesTheGracePeriod) {
  ServerOptions o = small_options();
  o.shutdown_grace_ms = 50;
  start(o);
  Client busy(port_), loris(port_);
  ASSERT_TRUE(busy.send(get("/slow-long")));
  ASSERT_TRUE(loris.send("GET / HTTP/1.1\r\n"));
  ASSERT_TRUE(wait_started(1));
  std::this_thread::sleep_for(milliseconds(50));
  const auto begin = Clock::now();
  server_->stop();  // waits for the running handler itself, not for its response
  EXPECT_LT(Clock::now() - begin, milliseconds(1000));
  EXPECT_TRUE(loris.closed_by_peer(milliseconds(500)));
  EXPECT_TRUE(busy.closed_by_peer(milliseconds(500)));
}

TEST_F(ServerTest, ServesOnlyHttp1) {
  start();
  Client c(port_);
  // An HTTP/2 preface (prior knowledge) is not an HTTP/1 request.
  ASSERT_TRUE(c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, AnswersAThrowingHandlerWith500) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.send(get("/throw")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("Content-Type"), "application/problem+json");
  // The connection stays usable.
  ASSERT_TRUE(c.send(get("/after")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
}

TEST_F(ServerTest, SendsNoBodyForHead) {
  start();
  Client c(port_);
  // The GET right behind the HEAD shows that no body bytes came in between.
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get("/g")));
  auto head = c.read_response(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(std::string("HEAD|/h|||").size()));
  auto next = c.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "GET|/g|||");
}

TEST_F(ServerTest, SurvivesAClientThatLeavesMidResponse) {
  start();
  {
    Client c(port_);
    ASSERT_TRUE(c.send(get("/big")));
    std::this_thread::sleep_for(milliseconds(20));
  }  // closed with most of 8 MiB unread
  const auto end = Clock::now() + milliseconds(2000);
  while (server_->stats().open_connections > 0 && Clock::now() < end) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(server_->stats().open_connections, 0);
  Client next(port_);
  ASSERT_TRUE(next.send(get("/ok")));
  auto r = next.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, FailsToBindAPortInUse) {
  start();
  ServerOptions o = small_options();
  o.port = port_;
  Server second(o, [](const Request&) { return Response{}; }, nullptr);
  auto status = second.start();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Code::kUnavailable);
  EXPECT_NE(status.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << status.error().message;

  o.host = "192.0.2.1";  // TEST-NET-1: never a local address, so bind fails without any DNS
  o.port = 0;
  Server foreign(o, [](const Request&) { return Response{}; }, nullptr);
  auto foreign_status = foreign.start();
  ASSERT_FALSE(foreign_status);
  EXPECT_EQ(foreign_status.error().code, Code::kUnavailable);
}

TEST_F(ServerTest, StopsOnSigterm) {
  start();
  server_->handle_signals();
  ::kill(::getpid(), SIGTERM);
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    server_->wait();
    done = true;
  });
  const auto end = Clock::now() + milliseconds(2000);
  while (!done && Clock::now() < end) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_TRUE(done);
  if (!done) server_->stop();  // unblock the waiter rather than hang
  waiter.join();
}

TEST(ResponseTest, SetReplacesCaseInsensitively) {
  Response r;
  r.set("Content-Type", "text/plain");
  r.set("X-A", "1");
  r.set("content-type", "application/json");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].value, "application/json");
  Request q;
  q.headers = {{"X-Request-Id", "abc"}, {"x-request-id", "def"}};
  EXPECT_EQ(q.header("X-REQUEST-ID"), "abc");
  EXPECT_EQ(q.header("missing"), "");
}

}  // namespace
}  // namespace fidelis::http
