#include <gtest/gtest.h>

#include "dedup/dedup.h"

namespace fidelis::dedup {
namespace {

TEST(Jaro, PublishedExamples) {
  // Values from Winkler (1990) / the usual reference table.
  EXPECT_NEAR(jaro(U"MARTHA", U"MARHTA"), 0.944, 1e-3);
  EXPECT_NEAR(jaro(U"DWAYNE", U"DUANE"), 0.822, 1e-3);
  EXPECT_NEAR(jaro(U"DIXON", U"DICKSONX"), 0.767, 1e-3);
  EXPECT_EQ(jaro(U"", U""), 1.0);
  EXPECT_EQ(jaro(U"abc", U""), 0.0);
  EXPECT_EQ(jaro(U"abc", U"xyz"), 0.0);
}

TEST(JaroWinkler, PublishedExamples) {
  EXPECT_NEAR(jaro_winkler(U"MARTHA", U"MARHTA"), 0.961, 1e-3);
  EXPECT_NEAR(jaro_winkler(U"DWAYNE", U"DUANE"), 0.840, 1e-3);
  EXPECT_NEAR(jaro_winkler(U"DIXON", U"DICKSONX"), 0.813, 1e-3);
  EXPECT_EQ(jaro_winkler(U"dupont", U"dupont"), 1.0);
}

TEST(JaroWinkler, IsSymmetric) {
  EXPECT_DOUBLE_EQ(jaro_winkler(U"lefebvre", U"lefevre"), jaro_winkler(U"lefevre", U"lefebvre"));
  EXPECT_DOUBLE_EQ(jaro_winkler("Nathalie", "Natalie"), jaro_winkler("Natalie", "Nathalie"));
}

TEST(JaroWinkler, TextIgnoresCaseAccentsAndPunctuation) {
  EXPECT_EQ(jaro_winkler("Lefèvre", "LEFEVRE"), 1.0);
  EXPECT_EQ(jaro_winkler("Jean-François", "jean francois"), 1.0);
  EXPECT_GT(jaro_winkler("Lefèvre", "Lefebvre"), 0.93);
  EXPECT_LT(jaro_winkler("Martin", "Bernard"), 0.7);
}

TEST(JaroWinkler, WorksOnCodePointsNotBytes) {
  // "é" is two bytes but one letter: on bytes "Zoé" vs "Zoë" would share a lead byte and differ
  // in length from "Zoe"; on code points both are one substitution away.
  EXPECT_NEAR(jaro_winkler(U"zoé", U"zoë"), jaro_winkler(U"zoa", U"zob"), 1e-12);
  EXPECT_EQ(to_code_points("Zoé").size(), 3u);
  EXPECT_EQ(to_code_points("\xff" "a"), (std::u32string{0xFFFD, U'a'}));
  // Non-Latin text is compared too, letter by letter.
  EXPECT_NEAR(jaro_winkler("Дмитрий", "Дмитри"), jaro_winkler("abcdefg", "abcdef"), 1e-12);
}

TEST(Levenshtein, ClassicValues) {
  EXPECT_EQ(levenshtein(U"kitten", U"sitting"), 3u);
  EXPECT_EQ(levenshtein(U"", U"abc"), 3u);
  EXPECT_EQ(levenshtein(U"abc", U"abc"), 0u);
  EXPECT_EQ(levenshtein(U"ca", U"ac"), 2u);
  EXPECT_EQ(levenshtein(U"é", U"e"), 1u);
}

TEST(Damerau, TranspositionCostsOne) {
  EXPECT_EQ(damerau_levenshtein(U"ca", U"ac"), 1u);
  EXPECT_EQ(damerau_levenshtein(U"dupnot", U"dupont"), 1u);
  EXPECT_EQ(damerau_levenshtein(U"kitten", U"sitting"), 3u);
  // Optimal string alignment: no substring is edited twice, so "ca" -> "abc" is 3 (true
  // Damerau-Levenshtein would say 2).
  EXPECT_EQ(damerau_levenshtein(U"ca", U"abc"), 3u);
  EXPECT_EQ(damerau_levenshtein(U"", U""), 0u);
  std::u32string long_a(300, U'a'), long_b(300, U'a');
  long_b[150] = U'b';
  EXPECT_EQ(damerau_levenshtein(long_a, long_b), 1u);  // past the stack buffer
}

TEST(EditSimilarity, NormalisedToZeroOne) {
  EXPECT_EQ(edit_similarity("12 rue de la Paix", "12 RUE DE LA PAIX"), 1.0);
  EXPECT_NEAR(edit_similarity("12 rue de la Paix", "12 rue de la Piax"), 1.0 - 1.0 / 17, 1e-12);
  EXPECT_EQ(edit_similarity("abc", "xyz"), 0.0);
  EXPECT_EQ(edit_similarity("", ""), 1.0);
  EXPECT_NEAR(edit_similarity("Allée des Chênes", "Allee des Chenes"), 1.0, 1e-12);
}

TEST(ExactMatch, OnSearchKeys) {
  EXPECT_TRUE(exact_match("Saint-Étienne", "saint etienne"));
  EXPECT_FALSE(exact_match("Paris", "Pari"));
  EXPECT_FALSE(exact_match("", ""));  // nothing known is not a match
}

}  // namespace
}  // namespace fidelis::dedup
