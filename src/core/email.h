#pragma once
// E-mail addresses as real people type them: trimmed, domain lower-cased, local part kept as given.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fidelis {

// InvalidArgument naming `field` unless `text` is `local@domain` with a dot-separated domain of
// letters, digits and hyphens (UTF-8 letters allowed: IDN), a local part without spaces or
// control characters, at most 254 bytes in all. Returns the normalised address: an IDN domain
// written in its ASCII form (xn--...) is given back in Unicode, as people read it.
Result<std::string> normalize_email(std::string_view text, std::string_view field = "email");

// The mailbox an address delivers to, as a key: lower-cased, trimmed, its sub-address tag dropped
// ("jean+promo@x.fr" is jean@x.fr, as Gmail, Outlook, Fastmail... deliver it; in a customer file
// the tag only says where the address was typed), googlemail.com read as gmail.com and the dots of
// a Gmail local part dropped (Gmail ignores them). Empty when `email` is no local@domain. Two
// addresses with one key are one person's: matching finds each through the other.
std::string mailbox_key(std::string_view email);

// True when the address's domain is a known disposable-address service (yopmail, mailinator, ...):
// such an address is accepted but flagged, since it will not reach the customer for long.
bool is_disposable_email(std::string_view normalized_email);

// True when the address is what forms and shop staff type for "no e-mail": a placeholder local
// part ("noemail@...", "pas.de.mail@...", "aucun@...", "inconnu@...", "xxx@...") or a placeholder
// domain ("...@nomail.com", "...@pasdemail.fr", "...@aucun.fr"). Several customers share such an
// address: stored, it would merge strangers and bounce.
bool is_placeholder_email(std::string_view normalized_email);

// The common mailbox provider an address's domain looks mistyped from ("gmial.com", "hotmal.fr",
// "ornage.fr", "hotmail.fe", "hotmail.co", "gmail.fr": gmail.com, hotmail.fr...), or nullopt,
// among the providers French, Belgian and Swiss customers use: any one slip in a name of seven
// letters or more and in gmail and yahoo, two letters swapped or one doubled in the shorter ones
// (whose other one-letter variants are real domains: orage.fr, cloud.com), a top-level domain that
// does not exist, or ".co"/".cm"/".om" for ".com". Real mailbox domains one slip away (ymail.com,
// mail.com, googlemail.com, hotmail.de...) are not. Such an address is accepted but flagged: it
// would bounce (NPAI), and the customer can correct it.
std::optional<std::string> likely_domain_typo(std::string_view normalized_email);

// Whether an e-mail domain can receive mail, asked of DNS (RFC 5321 section 5.1): an MX record, or
// failing that an address record, says yes; a "null MX" (RFC 7505), a domain that does not exist
// or one with neither says no. Off by default (it costs a DNS round trip per new domain); answers
// are cached per domain. IDN domains are asked in their ASCII (punycode) form.
enum class MailDomain { kAccepts, kNoMail, kUnknown /* timeout, server failure: not held against it */ };
std::string_view mail_domain_name(MailDomain d);  // "accepts", "no_mail", "unknown"

class MxChecker {
 public:
  struct Options {
    int timeout_ms = 2000;      // per query (one retry within it)
    std::string nameserver;     // "IP" or "IP:PORT"; empty: the system's resolv.conf
    int64_t cache_ttl_ms = 3'600'000;
  };
  explicit MxChecker(Options options);
  // Thread-safe. `email_or_domain`: an address (its domain is used) or a bare domain.
  MailDomain check(std::string_view email_or_domain);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fidelis
