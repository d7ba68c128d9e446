#include <gtest/gtest.h>

#include <algorithm>

#include "core/email.h"
#include "dedup/dedup.h"

namespace fidelis::dedup {
namespace {

TEST(MailboxKey, LowerCaseAndTags) {
  EXPECT_EQ(mailbox_key("  Jean.Dupont@Orange.FR "), "jean.dupont@orange.fr");
  EXPECT_EQ(mailbox_key("jean.dupont+promo@orange.fr"), "jean.dupont@orange.fr");  // every domain
  EXPECT_EQ(mailbox_key("J.Dupont+news+x@free.fr"), "j.dupont@free.fr");
}

TEST(MailboxKey, GmailIgnoresDotsAndGooglemailIsGmail) {
  EXPECT_EQ(mailbox_key("Jean.Du.Pont+shop@gmail.com"), "jeandupont@gmail.com");
  EXPECT_EQ(mailbox_key("jean.dupont@googlemail.com"), "jeandupont@gmail.com");
  EXPECT_EQ(mailbox_key("jean.dupont@orange.fr"), "jean.dupont@orange.fr");  // dots kept elsewhere
}

TEST(MailboxKey, RejectsWhatIsNotAnAddress) {
  EXPECT_EQ(mailbox_key(""), "");
  EXPECT_EQ(mailbox_key("jean.dupont"), "");
  EXPECT_EQ(mailbox_key("@orange.fr"), "");
  EXPECT_EQ(mailbox_key("jean@"), "");
  EXPECT_EQ(mailbox_key("+promo@orange.fr"), "");
  EXPECT_EQ(mailbox_key("jean dupont@orange.fr"), "");
}

TEST(ParseDate, StrictCalendarDates) {
  EXPECT_EQ(parse_date("1970-03-09"), (Date{1970, 3, 9}));
  EXPECT_EQ(parse_date("2000-02-29"), (Date{2000, 2, 29}));
  EXPECT_FALSE(parse_date("1900-02-29"));
  EXPECT_FALSE(parse_date("1970-13-01"));
  EXPECT_FALSE(parse_date("1970-04-31"));
  EXPECT_FALSE(parse_date("09/03/1970"));
  EXPECT_FALSE(parse_date("1970-3-9"));
  EXPECT_FALSE(parse_date(""));
}

Record full() {
  return {.id = 1,
          .first_name = "Jean-Pierre",
          .last_name = "Lefèvre",
          .email = "Jean.Pierre+promo@GoogleMail.com",
          .phone_e164 = "+33612345687",
          .birth_date = "1970-03-09",
          .street = "12 av. Victor-Hugo",
          .postcode = "75 011",
          .city = "Paris"};
}

std::vector<std::string> key_strings(const Record& r) {
  std::vector<std::string> out;
  for (const auto& k : blocking_keys(r)) out.push_back(k.key);
  return out;
}

TEST(BlockingKeys, AllKindsWithTheirPrefixes) {
  EXPECT_EQ(key_strings(full()), (std::vector<std::string>{
                                     "e:jeanpierre@gmail.com",
                                     "p:+33612345687",
                                     "np:lefefre|75011",
                                     "nb:jean pierre|lefevre|1970-03-09",
                                     "ff:ge1tiyre|lefefre|1970",
                                     "fb:jean pierre|1970-03-09",
                                     "ad:75011|12 avenue victor hugo",
                                 }));
  auto keys = blocking_keys(full());
  for (const auto& k : keys) EXPECT_TRUE(k.key.starts_with(key_prefix(k.kind))) << k.key;
}

TEST(BlockingKeys, VariantsOfOnePersonShareKeys) {
  Record a = full();
  Record b = full();
  b.first_name = "LEFEBVRE";  // swapped, other spelling, capitals
  b.last_name = "jean pierre";
  b.email = "jeanpierre@gmail.com";
  b.street = "12 avenue Victor Hugo";
  auto ka = key_strings(a), kb = key_strings(b);
  std::vector<std::string> shared;
  for (const auto& k : ka)
    if (std::find(kb.begin(), kb.end(), k) != kb.end()) shared.push_back(k);
  // The spelling defeats "nb:" and the swap "np:" and "fb:"; e-mail, phone, the phonetic names
  // (sorted) and the address still meet.
  EXPECT_EQ(shared, (std::vector<std::string>{"e:jeanpierre@gmail.com", "p:+33612345687", "ff:ge1tiyre|lefefre|1970",
                                              "ad:75011|12 avenue victor hugo"}));
}

TEST(BlockingKeys, SwappedNamesShareNameBirthKey) {
  Record a = full(), b = full();
  std::swap(b.first_name, b.last_name);
  auto ka = key_strings(a), kb = key_strings(b);
  EXPECT_NE(std::find(kb.begin(), kb.end(), ka[3]), kb.end());  // nb:
  EXPECT_NE(std::find(kb.begin(), kb.end(), ka[4]), kb.end());  // ff:
}

TEST(BlockingKeys, MissingInputsGiveNoKey) {
  Record r{.id = 2, .last_name = "Dupont"};
  EXPECT_TRUE(blocking_keys(r).empty());
  r.postcode = "69003";
  EXPECT_EQ(key_strings(r), (std::vector<std::string>{"np:tuton|69003"}));
  r.phone_e164 = "06 12 34 56 87";  // not E.164: the caller must normalise first
  r.email = "not an address";
  r.birth_date = "1970-02-30";
  EXPECT_EQ(key_strings(r), (std::vector<std::string>{"np:tuton|69003"}));
}

}  // namespace
}  // namespace fidelis::dedup
