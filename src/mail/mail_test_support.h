#pragma once
// Test support for the mail tests: a real SMTP server (Debian's aiosmtpd with
// tests/smtp/recorder.py) on a free loopback port, writing what it accepts to a temporary
// directory (recipients named reject...@ get 550, tempfail...@ get 451), and an order context as
// the orders code sends it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace fidelis::mail::testing {

inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline bool accepts_connections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// An order of two lines, a delivery slot, no tracking yet.
inline constexpr const char* kOrderContext = R"({
  "customer": {"first_name": "Hélène"},
  "order": {
    "number": "CMD-2026-0042",
    "lines": [
      {"name": "Tondeuse électrique", "sku": "TON-42", "quantity": 1,
       "unit_price": {"minor": 19990, "currency": "EUR"}, "total": {"minor": 19990, "currency": "EUR"}},
      {"name": "Engrais gazon <bio> & co", "sku": "ENG-1", "quantity": 2,
       "unit_price": {"minor": 1290, "currency": "EUR"}, "total": {"minor": 2580, "currency": "EUR"}}
    ],
    "total": {"minor": 122570, "currency": "EUR"}
  },
  "delivery": {"method": "Colissimo à domicile", "address_lines": ["12 rue de la République", "69002 Lyon"],
               "slot": "mardi 20 janvier, 8 h – 13 h"},
  "shop": {"name": "Boutique Exemple"}
})";

class SmtpServer {
 public:
  // Starts the server; `error()` is non-empty when it could not.
  SmtpServer() {
    dir_ = std::filesystem::temp_directory_path() / ("fidelis-smtp-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::string pythonpath = std::string("PYTHONPATH=") + FIDELIS_SOURCE_DIR + "/tests/smtp";
    std::vector<std::string> args = {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c", "recorder.Recorder",
                                     dir_.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp = {pythonpath.data()};
    for (char** e = environ; *e != nullptr; ++e)
      if (std::string_view(*e).substr(0, 11) != "PYTHONPATH=") envp.push_back(*e);
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) {
      error_ = "cannot start /usr/bin/python3 -m aiosmtpd (install python3-aiosmtpd)";
      pid_ = 0;
      return;
    }
    for (int i = 0; i < 800 && !accepts_connections(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!accepts_connections(port_)) error_ = "aiosmtpd did not listen on " + listen;
  }
  ~SmtpServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = 0;
    }
  }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  // The messages received so far, oldest first, as bytes.
  std::vector<std::string> messages() const {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      if (e.path().extension() == ".eml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back(ss.str());
    }
    return out;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  std::string error_;
};

}  // namespace fidelis::mail::testing
