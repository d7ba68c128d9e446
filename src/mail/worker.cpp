// The server's background sender.

#include "core/log.h"
#include "mail/mail.h"

namespace fidelis::mail {

MailWorker::MailWorker(MailService& service, Millis poll_ms) : service_(service), poll_ms_(poll_ms) {}

MailWorker::~MailWorker() { stop(); }

void MailWorker::start() {
  if (thread_.joinable() || !service_.sending_enabled()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void MailWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MailWorker::run() {
  while (!stopping_) {
    try {
      auto report = service_.send_pending(&stopping_);
      if (!report) log::warn("mail sending failed", {{"error", report.error().message}});
    } catch (const std::exception& e) {
      // The next round tries again; an exception leaving this thread would end the server.
      log::error("mail sending stopped on an unexpected error", {{"error", e.what()}});
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(poll_ms_), [this] { return stopping_.load(); });
  }
}

}  // namespace fidelis::mail
