// Classifying a visit's source from its UTM parameters and referrer (rules in tracking.h).

#include <algorithm>
#include <array>

#include "core/text.h"
#include "tracking/tracking.h"

namespace fidelis::tracking {

namespace {

// Query parameter `name` of `url`, percent-decoded; nullopt when absent.
std::optional<std::string> url_param(std::string_view url, std::string_view name) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(q + 1);
  if (size_t h = rest.find('#'); h != std::string_view::npos) rest = rest.substr(0, h);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : text::percent_decode(pair.substr(eq + 1), /*plus_is_space=*/true);
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

// Whether `host` is `domain` or a subdomain of it.
bool on_domain(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  return host.size() > domain.size() && host.ends_with(domain) && host[host.size() - domain.size() - 1] == '.';
}

// Whether `host` has a label `label` followed only by a public suffix part ("google" in
// www.google.fr, google.co.uk).
bool has_brand(std::string_view host, std::string_view brand) {
  size_t pos = 0;
  while ((pos = host.find(brand, pos)) != std::string_view::npos) {
    bool start = pos == 0 || host[pos - 1] == '.';
    size_t end = pos + brand.size();
    bool dot_after = end < host.size() && host[end] == '.';
    if (start && dot_after) {
      std::string_view suffix = host.substr(end + 1);  // "fr", "co.uk", "com"
      if (!suffix.empty() && suffix.size() <= 6) return true;
    }
    pos = end;
  }
  return false;
}

bool any_of(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

bool search_host(std::string_view h) {
  if (on_domain(h, "mail.google.com")) return false;
  return has_brand(h, "google") || has_brand(h, "yahoo") || has_brand(h, "yandex") || on_domain(h, "bing.com") ||
         on_domain(h, "duckduckgo.com") || on_domain(h, "qwant.com") || on_domain(h, "ecosia.org") ||
         on_domain(h, "baidu.com") || on_domain(h, "startpage.com") || on_domain(h, "search.brave.com");
}

bool social_host(std::string_view h) {
  for (std::string_view d : {"facebook.com", "fb.me", "instagram.com", "t.co", "twitter.com", "x.com", "linkedin.com",
                             "lnkd.in", "tiktok.com", "youtube.com", "reddit.com", "snapchat.com", "threads.net"})
    if (on_domain(h, d)) return true;
  return has_brand(h, "pinterest");
}

bool webmail_host(std::string_view h) {
  return on_domain(h, "mail.google.com") || on_domain(h, "outlook.live.com") || on_domain(h, "mail.yahoo.com") ||
         h.starts_with("webmail.") || on_domain(h, "mail.orange.fr") || on_domain(h, "mail.free.fr");
}

}  // namespace

std::string_view source_name(Source s) {
  static constexpr std::array<std::string_view, kSourceCount> names = {"direct", "search",  "social",  "email",
                                                                       "ads",    "partner", "referral"};
  return names[static_cast<size_t>(s)];
}

std::string url_host(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string lower = text::to_lower_ascii(url.substr(0, scheme));
  if (lower != "http" && lower != "https") return "";
  std::string_view rest = url.substr(scheme + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  if (size_t colon = authority.rfind(':'); colon != std::string_view::npos && authority.find(']') == std::string_view::npos)
    authority = authority.substr(0, colon);
  return text::to_lower_ascii(authority);
}

Utm utm_from_url(std::string_view url) {
  return Utm{url_param(url, "utm_source").value_or(""), url_param(url, "utm_medium").value_or(""),
             url_param(url, "utm_campaign").value_or("")};
}

Source classify_source(std::string_view url, std::string_view referrer, const Utm& utm) {
  std::string medium = text::to_lower_ascii(text::trim(utm.medium));
  if (any_of(medium, {"email", "e-mail", "e_mail", "newsletter", "mail"})) return Source::kEmail;
  if (any_of(medium, {"cpc", "ppc", "paid", "paidsearch", "paid-search", "paid_search", "paid_social", "paid-social",
                      "paidsocial", "cpm", "cpv", "display", "banner", "ads", "retargeting"}) ||
      url_param(url, "gclid") || url_param(url, "fbclid") || url_param(url, "msclkid"))
    return Source::kAds;
  if (any_of(medium, {"affiliate", "affiliation", "affiliates", "partner", "partenaire", "partners"})) return Source::kPartner;
  if (any_of(medium, {"social", "social-network", "social_network", "socialnetwork", "sm"})) return Source::kSocial;
  std::string ref_host = url_host(referrer);
  if (medium == "organic" || (!ref_host.empty() && search_host(ref_host))) return Source::kSearch;
  if (!ref_host.empty() && social_host(ref_host)) return Source::kSocial;
  if (!ref_host.empty() && webmail_host(ref_host)) return Source::kEmail;
  if (!text::trim(utm.source).empty()) return Source::kPartner;
  if (!ref_host.empty() && ref_host != url_host(url)) return Source::kReferral;
  return Source::kDirect;
}

}  // namespace fidelis::tracking
