#include <gtest/gtest.h>

#include "dedup/dedup.h"

namespace fidelis::dedup {
namespace {

int level(const Comparison& c, Field f) { return c.level[static_cast<size_t>(f)]; }

Record base() {
  return {.id = 1,
          .first_name = "Nathalie",
          .last_name = "Lefèvre",
          .email = "nathalie.lefevre@orange.fr",
          .phone_e164 = "+33612345687",
          .birth_date = "1975-06-21",
          .street = "8 boulevard Gambetta",
          .postcode = "35000",
          .city = "Rennes"};
}

TEST(Compare, IdenticalRecordsAgreeEverywhere) {
  Comparison c = compare(base(), base());
  EXPECT_EQ(level(c, Field::kFirstName), 3);
  EXPECT_EQ(level(c, Field::kLastName), 3);
  EXPECT_EQ(level(c, Field::kEmail), 2);
  EXPECT_EQ(level(c, Field::kPhone), 2);
  EXPECT_EQ(level(c, Field::kBirthDate), 2);
  EXPECT_EQ(level(c, Field::kPostcode), 2);
  EXPECT_EQ(level(c, Field::kStreet), 2);
  EXPECT_EQ(level(c, Field::kCity), 2);
  EXPECT_FALSE(c.names_swapped);
  EXPECT_TRUE(c.same_address);
}

TEST(Compare, NormalisationBeforeComparing) {
  Record b = base();
  b.first_name = "NATHALIE";
  b.last_name = "Lefevre";
  b.email = "Nathalie.Lefevre+promo@orange.fr";
  b.street = "8 bd Gambetta";
  b.postcode = "35 000";
  b.city = "RENNES";
  Comparison c = compare(base(), b);
  for (size_t f = 0; f < kFieldCount; ++f) EXPECT_EQ(c.level[f], level_count(static_cast<Field>(f)) - 1) << f;
}

TEST(Compare, TyposGiveIntermediateLevels) {
  Record b = base();
  b.first_name = "Nathlaie";  // transposition
  b.last_name = "Lefebvre";
  b.street = "8 boulevard Gambeta";
  Comparison c = compare(base(), b);
  EXPECT_EQ(level(c, Field::kFirstName), 2);
  EXPECT_EQ(level(c, Field::kLastName), 2);
  EXPECT_EQ(level(c, Field::kStreet), 2);  // one letter in 20
  EXPECT_GT(c.similarity[static_cast<size_t>(Field::kFirstName)], 0.93f);
  EXPECT_LT(c.similarity[static_cast<size_t>(Field::kFirstName)], 1.0f);
}

TEST(Compare, SwappedNamesAreComparedCrosswise) {
  Record b = base();
  b.first_name = "LEFEVRE";
  b.last_name = "Nathalie";
  Comparison c = compare(base(), b);
  EXPECT_TRUE(c.names_swapped);
  EXPECT_EQ(level(c, Field::kFirstName), 3);
  EXPECT_EQ(level(c, Field::kLastName), 3);
}

TEST(Compare, MissingIsNeitherAgreementNorDisagreement) {
  Record b = base();
  b.email.clear();
  b.phone_e164.clear();
  b.birth_date = "unknown";
  Comparison c = compare(base(), b);
  EXPECT_EQ(level(c, Field::kEmail), kMissing);
  EXPECT_EQ(level(c, Field::kPhone), kMissing);
  EXPECT_EQ(level(c, Field::kBirthDate), kMissing);
  EXPECT_EQ(level_name(Field::kEmail, kMissing), "missing");
}

TEST(Compare, EmailLocalPartLevel) {
  Record b = base();
  b.email = "nathalielefevre@free.fr";  // same person at another provider
  EXPECT_EQ(level(compare(base(), b), Field::kEmail), 1);
  b.email = "nathalie.lefevre35@free.fr";  // digits: how a namesake's address looks
  EXPECT_EQ(level(compare(base(), b), Field::kEmail), 0);
  b.email = "nathalie.lefevbre@orange.fr";  // one letter typed wrong
  EXPECT_EQ(level(compare(base(), b), Field::kEmail), 1);
  b.email = "n.lefevre@orange.fr";
  EXPECT_EQ(level(compare(base(), b), Field::kEmail), 0);
}

TEST(Compare, LandlineAgreementIsItsOwnLevel) {
  Record a = base(), b = base();
  a.phone_e164 = b.phone_e164 = "+33299123456";
  EXPECT_EQ(level(compare(a, b), Field::kPhone), 1);
  EXPECT_EQ(level_name(Field::kPhone, 1), "same fixed line");
  b.phone_e164 = "+33299123457";
  EXPECT_EQ(level(compare(a, b), Field::kPhone), 0);
}

TEST(Compare, BirthDatePartialAgreement) {
  Record b = base();
  b.birth_date = "1975-06-12";  // same year and month
  EXPECT_EQ(level(compare(base(), b), Field::kBirthDate), 1);
  Record a = base();
  a.birth_date = "1975-04-06";
  b.birth_date = "1975-06-04";  // day and month swapped
  EXPECT_EQ(level(compare(a, b), Field::kBirthDate), 1);
  b.birth_date = "1976-04-06";
  EXPECT_EQ(level(compare(a, b), Field::kBirthDate), 0);
}

TEST(Compare, PostcodeDepartementAndCity) {
  Record b = base();
  b.postcode = "35200";
  b.street = "3 rue de Nantes";
  Comparison c = compare(base(), b);
  EXPECT_EQ(level(c, Field::kPostcode), 1);
  EXPECT_EQ(level(c, Field::kStreet), 0);
  EXPECT_EQ(level(c, Field::kCity), 2);
  EXPECT_FALSE(c.same_address);
}

}  // namespace
}  // namespace fidelis::dedup
