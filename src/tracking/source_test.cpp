// Source classification rules (tracking.h) and URL helpers.

#include <gtest/gtest.h>

#include "tracking/tracking.h"

namespace fidelis::tracking {
namespace {

Source classify(std::string_view url, std::string_view ref = "") { return classify_source(url, ref, utm_from_url(url)); }

TEST(SourceTest, UtmMediumDecidesFirst) {
  EXPECT_EQ(classify("https://shop.fr/?utm_source=brevo&utm_medium=email"), Source::kEmail);
  EXPECT_EQ(classify("https://shop.fr/?utm_source=nl&utm_medium=Newsletter", "https://www.google.fr/"), Source::kEmail);
  EXPECT_EQ(classify("https://shop.fr/?utm_source=google&utm_medium=cpc", "https://www.google.com/"), Source::kAds);
  EXPECT_EQ(classify("https://shop.fr/p?gclid=abc"), Source::kAds);
  EXPECT_EQ(classify("https://shop.fr/?utm_source=awin&utm_medium=affiliate"), Source::kPartner);
  EXPECT_EQ(classify("https://shop.fr/?utm_source=fb&utm_medium=social"), Source::kSocial);
  EXPECT_EQ(classify("https://shop.fr/?utm_medium=organic"), Source::kSearch);
}

TEST(SourceTest, ReferrerHosts) {
  EXPECT_EQ(classify("https://shop.fr/", "https://www.google.fr/search?q=x"), Source::kSearch);
  EXPECT_EQ(classify("https://shop.fr/", "https://www.google.co.uk/"), Source::kSearch);
  EXPECT_EQ(classify("https://shop.fr/", "https://duckduckgo.com/"), Source::kSearch);
  EXPECT_EQ(classify("https://shop.fr/", "https://www.qwant.com/?q=x"), Source::kSearch);
  EXPECT_EQ(classify("https://shop.fr/", "https://l.facebook.com/l.php"), Source::kSocial);
  EXPECT_EQ(classify("https://shop.fr/", "https://t.co/abc"), Source::kSocial);
  EXPECT_EQ(classify("https://shop.fr/", "https://fr.pinterest.com/pin/1"), Source::kSocial);
  EXPECT_EQ(classify("https://shop.fr/", "https://mail.google.com/mail/u/0/"), Source::kEmail);
  EXPECT_EQ(classify("https://shop.fr/", "https://blog.jardin.fr/article"), Source::kReferral);
  EXPECT_EQ(classify("https://shop.fr/b", "https://shop.fr/a"), Source::kDirect);  // the shop itself
  EXPECT_EQ(classify("https://shop.fr/"), Source::kDirect);
  EXPECT_EQ(classify("https://shop.fr/?utm_source=partenaire-x"), Source::kPartner);
  // Look-alikes are not search engines.
  EXPECT_EQ(classify("https://shop.fr/", "https://notgoogle.example.com/"), Source::kReferral);
  EXPECT_EQ(classify("https://shop.fr/", "https://fakex.com/"), Source::kReferral);
}

TEST(SourceTest, UrlHelpers) {
  EXPECT_EQ(url_host("HTTPS://User@WWW.Shop.FR:8443/a?b#c"), "www.shop.fr");
  EXPECT_EQ(url_host("ftp://x.fr/"), "");
  EXPECT_EQ(url_host("/relative"), "");
  Utm u = utm_from_url("https://s.fr/?a=1&utm_source=news%20letter&utm_campaign=soldes+hiver#utm_medium=x");
  EXPECT_EQ(u.source, "news letter");
  EXPECT_EQ(u.campaign, "soldes hiver");
  EXPECT_EQ(u.medium, "");
}

TEST(SourceTest, VisitorIds) {
  EXPECT_TRUE(valid_visitor_id("abc_DEF-1.2:3"));
  EXPECT_FALSE(valid_visitor_id(""));
  EXPECT_FALSE(valid_visitor_id("a b"));
  EXPECT_FALSE(valid_visitor_id(std::string(65, 'a')));
  std::string v = new_visitor_id();
  EXPECT_EQ(v.size(), 22u);
  EXPECT_TRUE(valid_visitor_id(v));
  EXPECT_NE(v, new_visitor_id());
}

}  // namespace
}  // namespace fidelis::tracking
