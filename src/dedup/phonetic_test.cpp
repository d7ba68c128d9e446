#include <gtest/gtest.h>

#include "dedup/dedup.h"

namespace fidelis::dedup {
namespace {

TEST(Phonex, SpellingVariantsShareAKey) {
  EXPECT_EQ(phonex("Lefèvre"), "lefefre");
  EXPECT_EQ(phonex("Lefebvre"), "lefefre");
  EXPECT_EQ(phonex("Lefebre"), "lefefre");
  EXPECT_EQ(phonex("Dupond"), phonex("Dupont"));
  EXPECT_EQ(phonex("Dupont"), "tuton");
  EXPECT_EQ(phonex("Thomas"), phonex("Tomas"));
  EXPECT_EQ(phonex("Philippe"), phonex("Filippe"));
  EXPECT_EQ(phonex("Gauthier"), phonex("Gautier"));
  EXPECT_EQ(phonex("Mathieu"), phonex("Matthieu"));
  EXPECT_EQ(phonex("Rousseau"), phonex("Roussot"));
  EXPECT_EQ(phonex("Emmanuel"), phonex("Emanuel"));
}

TEST(Phonex, CaseAccentsAndSeparatorsDoNotMatter) {
  EXPECT_EQ(phonex("LEFÈVRE"), phonex("lefevre"));
  EXPECT_EQ(phonex("Guérin"), phonex("GUERIN"));
  EXPECT_EQ(phonex("Le Gall"), phonex("Legall"));
  EXPECT_EQ(phonex("Jean-François"), phonex("jean francois"));
}

TEST(Phonex, FollowsThePublishedRules) {
  EXPECT_EQ(phonex("Martin"), "nort4");     // in -> 4 (step 8), a -> o, m -> n (step 14)
  EXPECT_EQ(phonex("Bernard"), "fyrnor");   // er -> yr (7), b -> f, d -> t, final t dropped (16)
  EXPECT_EQ(phonex("Henri"), "1ri");        // leading h dropped (2), en -> 1 (8)
  EXPECT_EQ(phonex("Chevalier"), "5efoliyr");  // ch -> 5 (11)
  EXPECT_EQ(phonex("Rousseau"), "r3so");    // eau -> o (6), ou -> 3 (10), ss -> s (11)
  EXPECT_EQ(phonex("Pascal"), "toskol");    // sc stays hard before a
  EXPECT_EQ(phonex("Piscine"), "tisine");   // sc before i sounds s
}

TEST(Phonex, DifferentNamesStayApart) {
  EXPECT_NE(phonex("Martin"), phonex("Bernard"));
  EXPECT_NE(phonex("Dupont"), phonex("Durand"));
  EXPECT_NE(phonex("Faure"), phonex("Fort"));
  EXPECT_NE(phonex("Thomas"), phonex("Thierry"));
}

TEST(Phonex, EmptyWithoutLetters) {
  EXPECT_EQ(phonex(""), "");
  EXPECT_EQ(phonex("123 - '"), "");
}

}  // namespace
}  // namespace fidelis::dedup
