// Whether an e-mail domain can receive mail: MX, then address records, asked with the C library's
// resolver (res_nquery), each query bounded by a timeout, answers cached per domain.

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <idn2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/email.h"
#include "core/text.h"

namespace fidelis {

std::string_view mail_domain_name(MailDomain d) {
  switch (d) {
    case MailDomain::kAccepts: return "accepts";
    case MailDomain::kNoMail: return "no_mail";
    case MailDomain::kUnknown: return "unknown";
  }
  return "unknown";
}

struct MxChecker::Impl {
  Options options;
  std::mutex mu;
  struct Entry {
    MailDomain answer;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<std::string, Entry> cache;
};

MxChecker::MxChecker(Options options) : impl_(std::make_shared<Impl>()) { impl_->options = std::move(options); }

namespace {

enum class Answer { kRecords, kNoRecords, kNoDomain, kNullMx, kFailed };

// One query of `type` for `domain` on `state`; kNullMx when the only MX is "." (RFC 7505).
Answer query(res_state state, const std::string& domain, int type) {
  unsigned char buf[4096];
  int n = res_nquery(state, domain.c_str(), ns_c_in, type, buf, sizeof buf);
  if (n < 0) {
    switch (state->res_h_errno) {
      case HOST_NOT_FOUND: return Answer::kNoDomain;
      case NO_DATA: return Answer::kNoRecords;
      default: return Answer::kFailed;  // TRY_AGAIN (timeout, SERVFAIL), NO_RECOVERY
    }
  }
  if (n > static_cast<int>(sizeof buf)) return Answer::kFailed;  // truncated to the buffer: not parsed
  ns_msg msg;
  if (ns_initparse(buf, n, &msg) < 0) return Answer::kFailed;
  int count = ns_msg_count(msg, ns_s_an);
  int matching = 0;
  bool null_mx = false;
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return Answer::kFailed;
    if (ns_rr_type(rr) != type) continue;  // CNAMEs on the way
    ++matching;
    if (type == ns_t_mx && ns_rr_rdlen(rr) >= 3) {
      char host[NS_MAXDNAME];
      if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, host, sizeof host) >= 0 &&
          (host[0] == '\0' || std::strcmp(host, ".") == 0))
        null_mx = true;
    }
  }
  if (matching == 0) return Answer::kNoRecords;
  if (null_mx && matching == 1) return Answer::kNullMx;
  return Answer::kRecords;
}

MailDomain resolve(const MxChecker::Options& o, const std::string& ascii_domain) {
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) return MailDomain::kUnknown;
  // Two tries within the timeout, whole seconds as the resolver counts them (at least 1).
  state.retrans = std::max(1, o.timeout_ms / 2000);
  state.retry = 2;
  if (!o.nameserver.empty()) {
    std::string host = o.nameserver;
    uint16_t port = 53;
    if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) {
      port = static_cast<uint16_t>(std::atoi(host.c_str() + colon + 1));
      host.resize(colon);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
      res_nclose(&state);
      return MailDomain::kUnknown;
    }
    state.nsaddr_list[0] = addr;
    state.nscount = 1;
  }
  MailDomain out = MailDomain::kUnknown;
  switch (query(&state, ascii_domain, ns_t_mx)) {
    case Answer::kRecords: out = MailDomain::kAccepts; break;
    case Answer::kNullMx:
    case Answer::kNoDomain: out = MailDomain::kNoMail; break;
    case Answer::kFailed: out = MailDomain::kUnknown; break;
    case Answer::kNoRecords: {
      // No MX: the domain's own address receives mail (the "implicit MX").
      Answer a = query(&state, ascii_domain, ns_t_a);
      if (a == Answer::kNoRecords) a = query(&state, ascii_domain, ns_t_aaaa);
      out = a == Answer::kRecords ? MailDomain::kAccepts
            : a == Answer::kFailed ? MailDomain::kUnknown
                                   : MailDomain::kNoMail;
      break;
    }
  }
  res_nclose(&state);
  return out;
}

}  // namespace

MailDomain MxChecker::check(std::string_view email_or_domain) {
  std::string_view domain = email_or_domain;
  if (auto at = domain.rfind('@'); at != std::string_view::npos) domain = domain.substr(at + 1);
  std::string key = text::to_lower(text::trim(domain));
  if (key.empty()) return MailDomain::kUnknown;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->cache.find(key);
    if (it != impl_->cache.end() &&
        now - it->second.at < std::chrono::milliseconds(impl_->options.cache_ttl_ms))
      return it->second.answer;
  }
  std::string ascii = key;
  char* converted = nullptr;
  if (idn2_to_ascii_8z(key.c_str(), &converted, IDN2_NONTRANSITIONAL) == IDN2_OK && converted != nullptr) {
    ascii = converted;
  } else {
    ascii.clear();
  }
  idn2_free(converted);
  MailDomain answer = ascii.empty() ? MailDomain::kNoMail : resolve(impl_->options, ascii);
  std::lock_guard lock(impl_->mu);
  // A failure is not remembered as long: the next import may reach the server.
  if (answer != MailDomain::kUnknown) impl_->cache[key] = {answer, now};
  return answer;
}

}  // namespace fidelis
