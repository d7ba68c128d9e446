#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/email.h"
#include "core/text.h"
#include "dedup/dedup.h"

namespace fidelis::dedup {
namespace {

TEST(TestSet, DeterministicBySeed) {
  auto a = generate_test_set({.seed = 5, .people = 800});
  auto b = generate_test_set({.seed = 5, .people = 800});
  auto c = generate_test_set({.seed = 6, .people = 800});
  ASSERT_TRUE(a && b && c);
  ASSERT_EQ(a->records.size(), b->records.size());
  for (size_t i = 0; i < a->records.size(); ++i) {
    EXPECT_EQ(a->records[i].last_name, b->records[i].last_name);
    EXPECT_EQ(a->records[i].email, b->records[i].email);
    EXPECT_EQ(a->cluster[i], b->cluster[i]);
  }
  size_t same = 0;
  for (size_t i = 0; i < std::min(a->records.size(), c->records.size()); ++i)
    same += a->records[i].email == c->records[i].email;
  EXPECT_LT(same, a->records.size() / 10);
}

TEST(TestSet, GroundTruthIsConsistent) {
  auto set = generate_test_set({.seed = 1, .people = 3000});
  ASSERT_TRUE(set.has_value());
  ASSERT_EQ(set->records.size(), set->cluster.size());
  std::map<int64_t, size_t> sizes;
  for (int64_t c : set->cluster) ++sizes[c];
  size_t pairs = 0, largest = 0;
  for (const auto& [c, n] : sizes) {
    pairs += n * (n - 1) / 2;
    largest = std::max(largest, n);
  }
  EXPECT_EQ(pairs, set->true_pairs);
  EXPECT_EQ(largest, 4u);  // a person and up to 3 duplicates
  for (size_t i = 0; i < set->records.size(); ++i) EXPECT_EQ(set->records[i].id, static_cast<int64_t>(i + 1));
  // Phones come out of libphonenumber: E.164 or nothing.
  for (const Record& r : set->records) {
    if (!r.phone_e164.empty()) {
      EXPECT_TRUE(r.phone_e164.starts_with("+33") && r.phone_e164.size() == 12) << r.phone_e164;
    }
  }
}

// The corruptions the brief promises are really in the data.
TEST(TestSet, HoldsRealisticCorruptionsAndHardNegatives) {
  auto set = generate_test_set({.seed = 1, .people = 4000});
  ASSERT_TRUE(set.has_value());
  std::map<int64_t, std::vector<const Record*>> by_cluster;
  for (size_t i = 0; i < set->records.size(); ++i) by_cluster[set->cluster[i]].push_back(&set->records[i]);
  size_t swapped = 0, accents_lost = 0, upper = 0, tagged = 0, day_month = 0, moved = 0, typo = 0, same_phone_other_text = 0;
  for (const auto& [c, rs] : by_cluster) {
    for (size_t x = 0; x < rs.size(); ++x) {
      for (size_t y = 0; y < rs.size(); ++y) {
        if (x == y) continue;
        const Record &a = *rs[x], &b = *rs[y];
        swapped += !a.first_name.empty() && a.first_name == b.last_name && a.last_name == b.first_name;
        auto ascii = [](const std::string& t) {
          return std::all_of(t.begin(), t.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
        };
        accents_lost += !ascii(a.last_name) && ascii(b.last_name) && text::search_key(a.last_name) == text::search_key(b.last_name);
        upper += a.last_name != b.last_name && text::to_upper(a.last_name) == b.last_name;
        tagged += b.email.find('+') != std::string::npos && mailbox_key(a.email) == mailbox_key(b.email);
        day_month += a.birth_date.size() == 10 && b.birth_date.size() == 10 && a.birth_date != b.birth_date &&
                     a.birth_date.substr(5, 2) == b.birth_date.substr(8, 2) && a.birth_date.substr(8, 2) == b.birth_date.substr(5, 2);
        moved += !a.postcode.empty() && !b.postcode.empty() && a.postcode != b.postcode;
        double jw = jaro_winkler(a.last_name, b.last_name);
        typo += jw < 1.0 && jw > 0.85 && text::search_key(a.last_name) != text::search_key(b.last_name);
        same_phone_other_text += !a.phone_e164.empty() && a.phone_e164 == b.phone_e164;
      }
    }
  }
  EXPECT_GT(swapped, 10u);
  EXPECT_GT(accents_lost, 10u);
  EXPECT_GT(upper, 50u);
  EXPECT_GT(tagged, 10u);
  EXPECT_GT(day_month, 5u);
  EXPECT_GT(moved, 50u);
  EXPECT_GT(typo, 50u);
  EXPECT_GT(same_phone_other_text, 500u);
  // Hard negatives: different people sharing surname and street (households), or first and last name.
  std::map<std::string, std::set<int64_t>> household, namesake;
  for (size_t i = 0; i < set->records.size(); ++i) {
    const Record& r = set->records[i];
    if (r.street.empty()) continue;
    household[text::search_key(r.last_name) + "|" + r.street].insert(set->cluster[i]);
    namesake[text::search_key(r.first_name + " " + r.last_name) + "|" + text::search_key(r.city)].insert(set->cluster[i]);
  }
  size_t households = 0, namesakes = 0;
  for (const auto& [k, clusters] : household) households += clusters.size() > 1;
  for (const auto& [k, clusters] : namesake) namesakes += clusters.size() > 1;
  EXPECT_GT(households, 200u);
  EXPECT_GT(namesakes, 80u);
}

TEST(TestSet, RejectsBadOptions) {
  EXPECT_EQ(generate_test_set({.people = 0}).error().field, "options");
  EXPECT_EQ(generate_test_set({.duplicate_rate = 1.5}).error().code, Code::kInvalidArgument);
  EXPECT_FALSE(generate_test_set({.namesake_rate = -0.1}).has_value());
}

}  // namespace
}  // namespace fidelis::dedup
