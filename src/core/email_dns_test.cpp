// The e-mail domain check against a real DNS server on loopback (dnsmasq, started by the test).

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/email.h"

extern char** environ;

namespace fidelis {
namespace {

class DnsServer {
 public:
  // Tries a few ports: one may be taken (dnsmasq then exits), and "ready" means a real answer.
  DnsServer() {
    for (int attempt = 0; attempt < 5 && !ready_; ++attempt) {
      port_ = 20000 + static_cast<int>((getpid() * 7919 + attempt * 104729) % 20000);
      start();
      MxChecker probe({.timeout_ms = 200, .nameserver = address()});
      for (int i = 0; i < 100 && pid_ > 0 && !ready_; ++i) {
        ready_ = probe.check("boutique.test") == MailDomain::kAccepts;
        if (!ready_ && waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = 0;  // it could not bind
        if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!ready_) stop();
    }
  }
  ~DnsServer() { stop(); }
  bool running() const { return ready_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void start() {
    std::vector<std::string> args = {
        "/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
        "--listen-address=127.0.0.1", "--bind-interfaces", "--port=" + std::to_string(port_), "--pid-file=",
        "--user=root",
        // Answers for .test itself: what it does not know does not exist.
        "--local=/test/",
        // A shop with its own mail server.
        "--mx-host=boutique.test,mx1.boutique.test,10", "--host-record=mx1.boutique.test,127.0.0.10",
        // No MX, but an address: mail goes to the domain itself.
        "--host-record=petit-site.test,127.0.0.11",
        // IDN: the ASCII form is what DNS knows.
        "--mx-host=xn--caf-dma.test,mx.xn--caf-dma.test,10",
    };
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = 0;
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = 0;
  }

  int port_ = 0;
  pid_t pid_ = 0;
  bool ready_ = false;
};

TEST(MxChecker, AsksARealDnsServer) {
  DnsServer dns;
  ASSERT_TRUE(dns.running()) << "dnsmasq (Debian package dnsmasq-base) is needed: scripts/install-deps test";
  MxChecker mx({.timeout_ms = 1000, .nameserver = dns.address()});
  EXPECT_EQ(mx.check("client@boutique.test"), MailDomain::kAccepts);
  EXPECT_EQ(mx.check("client@Boutique.TEST"), MailDomain::kAccepts);
  EXPECT_EQ(mx.check("petit-site.test"), MailDomain::kAccepts);        // implicit MX
  EXPECT_EQ(mx.check("jean@inexistant.test"), MailDomain::kNoMail);     // NXDOMAIN
  EXPECT_EQ(mx.check("zoé@café.test"), MailDomain::kAccepts);          // IDN, asked as xn--caf-dma.test
  EXPECT_EQ(mail_domain_name(mx.check("x@inexistant.test")), "no_mail");
}

TEST(MxChecker, AnUnreachableServerIsUnknownWithinTheTimeout) {
  // Nothing listens there: the answer is "unknown", never "no mail", and it comes back in time.
  MxChecker mx({.timeout_ms = 500, .nameserver = "127.0.0.1:9"});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(mx.check("client@boutique.test"), MailDomain::kUnknown);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(mx.check(""), MailDomain::kUnknown);
}

}  // namespace
}  // namespace fidelis
