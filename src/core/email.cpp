#include "core/email.h"

#include <idn2.h>

#include <unicode/uloc.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "core/text.h"

namespace fidelis {

std::string mailbox_key(std::string_view email) {
  std::string s = text::to_lower(text::trim(email));
  size_t at = s.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size()) return {};
  std::string local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.find_first_of(" \t") != std::string::npos || domain.find_first_of(" \t@") != std::string::npos) return {};
  if (size_t plus = local.find('+'); plus != std::string::npos) local.resize(plus);
  if (domain == "googlemail.com") domain = "gmail.com";
  if (domain == "gmail.com") std::erase(local, '.');
  if (local.empty()) return {};
  return local + "@" + domain;
}

Result<std::string> normalize_email(std::string_view raw, std::string_view field) {
  auto bad = [&](std::string reason) { return Error::invalid_argument(std::string(field), std::move(reason)); };
  if (!text::is_valid_utf8(raw)) return bad("is not valid UTF-8");
  // Soft hyphens (invisible, left by copies from web pages) are taken out; other invisible
  // characters and spaces make an address no server delivers to, and a duplicate nobody sees.
  const std::string unhyphenated = text::without_soft_hyphens(raw);
  std::string_view s = text::trim(unhyphenated);
  if (s.empty()) return bad("is empty");
  if (s.size() > 254) return bad("is longer than 254 characters");
  if (text::has_control_character(s))
    return bad("holds a control or invisible character (a zero-width space, a bidirectional mark...)");
  auto at = s.rfind('@');
  // "06 11 22 33 44" in an e-mail field: a phone column taken for e-mails, most often.
  if (at == std::string_view::npos) {
    size_t digits = 0;
    bool phone_like = std::all_of(s.begin(), s.end(), [&](char c) {
      if (c >= '0' && c <= '9') return ++digits, true;
      return c == ' ' || c == '+' || c == '.' || c == '-' || c == '(' || c == ')' || c == '/';
    });
    if (phone_like && digits >= 6 && digits <= 40) return bad("is a phone number, not an e-mail address (expected name@domain)");
  }
  if (text::has_unicode_space(s)) return bad("holds a space (a no-break space...)");
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return bad("expected name@domain");
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64) return bad("the part before @ is longer than 64 characters");
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '@' || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' ||
        c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || u == 0x7F)
      return bad("the part before @ has a character not allowed in an address");
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return bad("the part before @ has a misplaced dot");
  std::string d = text::to_lower(domain);  // IDN letters too: MÜNCHEN.DE is münchen.de
  // "orange.fr." is orange.fr written in full (DNS's root label): the dot goes.
  if (d.size() > 1 && d.back() == '.' && d[d.size() - 2] != '.') d.pop_back();
  if (d.find('.') == std::string::npos) return bad("the domain needs a dot, e.g. example.fr");
  size_t label_start = 0;
  for (size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      size_t len = i - label_start;
      if (len == 0 || len > 63) return bad("the domain has an empty or too long part");
      if (d[label_start] == '-' || d[i - 1] == '-') return bad("a domain part cannot start or end with '-'");
      label_start = i + 1;
      continue;
    }
    auto u = static_cast<unsigned char>(d[i]);
    if (!(u >= 0x80 || (d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') || d[i] == '-'))
      return bad("the domain has a character not allowed in a domain name");
  }
  // Top-level domains have two letters at least ("exemple.c" is a typo of ".com" or ".fr").
  if (std::string_view tld = std::string_view(d).substr(d.rfind('.') + 1); tld.size() < 2)
    return bad("the domain ends in a one-letter part: top-level domains have two letters at least");
  // An IDN domain in its ASCII form ("xn--exmple-cua.fr") is the same domain as "exämple.fr": kept
  // in the form people read, so that both spellings are one address.
  if (d.starts_with("xn--") || d.find(".xn--") != std::string::npos) {
    char* unicode = nullptr;
    int rc = idn2_to_unicode_8z8z(d.c_str(), &unicode, 0);
    std::string converted = rc == IDN2_OK && unicode != nullptr ? std::string(unicode) : std::string();
    idn2_free(unicode);
    if (converted.empty() || !text::is_valid_utf8(converted))
      return bad("the domain's xn-- (IDN) form cannot be read");
    d = converted;
  }
  return std::string(local) + "@" + d;
}

bool is_disposable_email(std::string_view email) {
  static constexpr std::string_view kDomains[] = {
      "yopmail.com", "yopmail.fr", "yopmail.net", "jetable.org", "jetable.com", "mailinator.com", "mailinator.net",
      "guerrillamail.com", "guerrillamail.net", "guerrillamail.org", "sharklasers.com", "10minutemail.com",
      "10minutemail.net", "temp-mail.org", "tempmail.com", "tempmailo.com", "trashmail.com", "trashmail.de",
      "trashmail.fr", "throwawaymail.com", "getnada.com", "nada.email", "maildrop.cc", "dispostable.com",
      "mailnesia.com", "mintemail.com", "spamgourmet.com", "mytemp.email", "mohmal.com", "emailondeck.com",
      "fakeinbox.com", "tempail.com", "moakt.com", "mail-temporaire.fr", "mail-temporaire.com", "spambox.us",
      "mailcatch.com", "incognitomail.org", "anonbox.net", "discard.email", "tempr.email", "33mail.com"};
  auto at = email.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view domain = email.substr(at + 1);
  for (std::string_view d : kDomains) {
    if (domain == d) return true;
    // Subdomains of a disposable service are disposable too.
    if (domain.size() > d.size() && domain.ends_with(d) && domain[domain.size() - d.size() - 1] == '.') return true;
  }
  return false;
}

bool is_placeholder_email(std::string_view email) {
  auto at = email.rfind('@');
  if (at == std::string_view::npos) return false;
  auto key = [](std::string_view part) {  // lower-case letters and digits only: "Pas.De-Mail" is "pasdemail"
    std::string k;
    for (char c : part)
      if (std::isalnum(static_cast<unsigned char>(c))) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k;
  };
  static constexpr std::string_view kLocal[] = {
      "noemail",  "nomail",   "pasdemail",  "pasdemel",  "pasdadresse", "pasdadressemail", "sansemail", "sansmail",
      "aucun",    "aucune",   "aucunemail", "aucunmail", "inconnu",     "inconnue",        "unknown",   "none",
      "null",     "nobody",   "nepasutiliser", "xxx",    "xxxx",        "xxxxx",           "noaddress", "nepasenvoyer"};
  const std::string local = key(email.substr(0, at));
  for (std::string_view k : kLocal)
    if (local == k) return true;
  std::string_view domain = email.substr(at + 1);
  const std::string first_label = key(domain.substr(0, domain.find('.')));
  static constexpr std::string_view kDomain[] = {"nomail", "noemail", "pasdemail", "sansmail", "sansemail",
                                                 "aucun",  "inconnu", "fakemail",  "nepasutiliser"};
  for (std::string_view k : kDomain)
    if (first_label == k) return true;
  return false;
}

std::optional<std::string> likely_domain_typo(std::string_view email) {
  static constexpr std::string_view kProviders[] = {
      "gmail.com",      "hotmail.fr",    "hotmail.com",  "yahoo.fr",      "yahoo.com",    "orange.fr",
      "wanadoo.fr",     "free.fr",       "laposte.net",  "outlook.fr",    "outlook.com",  "live.fr",
      "live.com",       "icloud.com",    "neuf.fr",      "bbox.fr",       "numericable.fr", "club-internet.fr",
      "aliceadsl.fr",   "protonmail.com", "skynet.be",   "telenet.be",    "bluewin.ch",   "hotmail.be"};
  // Real mailbox domains one slip away from a provider's ("ymail.com" is Yahoo's, "mail.com" and
  // "email.com" are mail.com's).
  static constexpr std::string_view kAlsoReal[] = {"ymail.com", "mail.com", "email.com",   "rocketmail.com", "gmx.com",
                                                   "gmx.fr",    "web.de",   "wanadoo.com", "googlemail.com"};
  // Generic top-level domains people have addresses in; two-letter ones are countries (ICU's list).
  static constexpr std::string_view kGeneric[] = {"com", "net", "org", "info", "biz", "eu", "uk", "pro", "name"};
  static const std::unordered_set<std::string> kCountries = [] {
    std::unordered_set<std::string> out;
    for (const char* const* c = uloc_getISOCountries(); *c; ++c) {
      std::string code = *c;
      for (char& ch : code) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out.insert(code);
    }
    return out;
  }();
  auto at = email.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view domain = email.substr(at + 1);
  for (std::string_view d : kProviders)
    if (domain == d) return std::nullopt;
  for (std::string_view d : kAlsoReal)
    if (domain == d) return std::nullopt;
  size_t dot = domain.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view label = domain.substr(0, dot), tld = domain.substr(dot + 1);
  // Gmail has no address under another top-level domain ("gmail.fr", "gmail.co").
  if (label == "gmail" || label == "googlemail") return std::string("gmail.com");
  // ".co", ".cm", ".om": ".com" with a letter off; country codes, but no provider's mail is there.
  const bool com_slip = tld == "co" || tld == "cm" || tld == "om" || tld == "con" || tld == "comm" || tld == "cpm";
  std::string_view last = tld.substr(tld.rfind('.') + 1);
  const bool real_tld = kCountries.contains(std::string(last)) ||
                        std::find(std::begin(kGeneric), std::end(kGeneric), last) != std::end(kGeneric);
  // At most one edit: a letter changed, missing or added, or two neighbours swapped.
  auto one_edit = [](std::string_view a, std::string_view b) {
    if (a.size() == b.size()) {
      size_t first = 0;
      while (first < a.size() && a[first] == b[first]) ++first;
      size_t end = a.size();
      while (end > first && a[end - 1] == b[end - 1]) --end;
      if (end - first == 1) return true;  // one letter changed
      return end - first == 2 && a[first] == b[first + 1] && a[first + 1] == b[first];
    }
    if (a.size() + 1 == b.size()) std::swap(a, b);
    if (a.size() != b.size() + 1) return false;
    size_t i = 0;
    while (i < b.size() && a[i] == b[i]) ++i;
    return a.substr(i + 1) == b.substr(i);  // a holds one letter more
  };
  // Two neighbours swapped or a letter doubled ("ornage", "yahooo"): the slips of a short name that
  // no other word makes ("orage", "grange", "cloud" and "livre" are other domains).
  auto slip = [](std::string_view typed, std::string_view name) {
    if (typed.size() == name.size()) {
      size_t first = 0;
      while (first < typed.size() && typed[first] == name[first]) ++first;
      return first + 1 < typed.size() && typed[first] == name[first + 1] && typed[first + 1] == name[first] &&
             typed.substr(first + 2) == name.substr(first + 2);
    }
    if (typed.size() != name.size() + 1) return false;
    size_t i = 0;
    while (i < name.size() && typed[i] == name[i]) ++i;
    return i > 0 && typed[i] == typed[i - 1] && typed.substr(i + 1) == name.substr(i);
  };
  for (std::string_view d : kProviders) {
    std::string_view p_label = d.substr(0, d.find('.')), p_tld = d.substr(d.find('.') + 1);
    const bool own_tld = tld == p_tld || (p_tld == "com" && com_slip);
    // The provider's name mistyped under its own top-level domain ("gmial.com", "hotmal.fr"): any
    // one slip in a name of seven letters or more and in Gmail's and Yahoo's, whose misspellings
    // are no one's mail; a swap or a doubled letter in the other short ones.
    if (own_tld && label != p_label &&
        ((p_label.size() >= 7 || p_label == "gmail" || p_label == "yahoo") ? one_edit(label, p_label) : slip(label, p_label)))
      return std::string(d);
    // The provider's name under a top-level domain that does not exist ("hotmail.fe", "orange.ff"),
    // or ".com" with a letter off ("hotmail.co").
    if (label == p_label && ((!real_tld && one_edit(tld, p_tld)) || (p_tld == "com" && com_slip))) return std::string(d);
  }
  return std::nullopt;
}

}  // namespace fidelis
