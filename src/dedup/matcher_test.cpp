#include <gtest/gtest.h>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <chrono>
#include <cstdio>

#include "dedup/dedup.h"
#include "dedup/dedup_internal.h"

namespace fidelis::dedup {
namespace {

std::vector<Record> small_file() {
  return {
      {.id = 10, .first_name = "Nathalie", .last_name = "Lefèvre", .email = "nathalie.lefevre@orange.fr",
       .phone_e164 = "+33612345687", .birth_date = "1975-06-21", .street = "8 boulevard Gambetta", .postcode = "35000", .city = "Rennes"},
      {.id = 11, .first_name = "Jacques", .last_name = "Moreau", .email = "jmoreau@free.fr", .phone_e164 = "+33698765423",
       .birth_date = "1948-01-30", .street = "2 place du Marché", .postcode = "13100", .city = "Aix-en-Provence"},
      // Nathalie again: other spelling, capitals, a +tag, no phone.
      {.id = 12, .first_name = "NATHALIE", .last_name = "Lefebvre", .email = "Nathalie.Lefevre+shop@orange.fr",
       .birth_date = "1975-06-21", .street = "8 bd Gambetta", .postcode = "35000", .city = "RENNES"},
      // Her husband: same surname, address and landline, nothing else.
      {.id = 13, .first_name = "Olivier", .last_name = "Lefèvre", .email = "olivier.lefevre@gmail.com",
       .phone_e164 = "+33299001122", .birth_date = "1972-09-03", .street = "8 boulevard Gambetta", .postcode = "35000", .city = "Rennes"},
      // Jacques again, names swapped, moved.
      {.id = 14, .first_name = "Moreau", .last_name = "Jacques", .email = "jmoreau@free.fr", .birth_date = "1948-01-30",
       .street = "40 avenue de Lodève", .postcode = "34000", .city = "Montpellier"},
  };
}

TEST(Match, FindsTheDuplicatesAndOnlyThem) {
  std::vector<Record> records = small_file();
  auto pairs = find_pairs(records, Model::default_french());
  ASSERT_EQ(pairs.size(), 2u);
  std::vector<std::pair<int64_t, int64_t>> ids;
  for (const ScoredPair& p : pairs) {
    ids.emplace_back(p.a_id, p.b_id);
    EXPECT_LT(p.a, p.b);
    EXPECT_EQ(records[p.a].id, p.a_id);
    EXPECT_EQ(p.decision, Decision::kMerge);
    EXPECT_DOUBLE_EQ(p.score, Model::default_french().score(p.comparison));
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::pair<int64_t, int64_t>>{{10, 12}, {11, 14}}));
  EXPECT_GE(pairs[0].score, pairs[1].score);  // best first
  auto jacques = std::find_if(pairs.begin(), pairs.end(), [](const ScoredPair& p) { return p.a_id == 11; });
  EXPECT_TRUE(jacques->comparison.names_swapped);
}

TEST(Match, ScoresEachPairOnceAndCountsDecisions) {
  std::vector<Record> records = small_file();
  auto r = match(records, Model::default_french(), {.keep_distinct = true});
  ASSERT_TRUE(r.has_value());
  // 10-12 share e-mail, np, nb, ff, fb, ad; 10-13 share np and ad; 11-14 share e-mail, nb, ff, fb.
  std::vector<std::pair<uint32_t, uint32_t>> seen;
  for (const ScoredPair& p : r->pairs) seen.emplace_back(p.a, p.b);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(r->stats.compared_pairs, r->pairs.size());
  EXPECT_EQ(r->stats.compared_pairs, 4u);  // 10-12, 10-13, 12-13 (np, ad) and 11-14
  EXPECT_EQ(r->stats.decisions[static_cast<size_t>(Decision::kMerge)], 2u);
  EXPECT_EQ(r->stats.records, 5u);
  EXPECT_EQ(r->stats.oversized_blocks, 0u);
}

TEST(Match, OversizedBlocksAreSkippedAndCounted) {
  // A call centre's number on 6 unrelated profiles, and one real duplicate among them.
  std::vector<Record> records;
  const char* firsts[] = {"Alice", "Bruno", "Chloé", "Denis", "Emma", "Fabien"};
  for (int i = 0; i < 6; ++i)
    records.push_back({.id = i + 1, .first_name = firsts[i], .last_name = "Client" + std::string(1, static_cast<char>('A' + i * 3)),
                       .phone_e164 = "+33140000000", .birth_date = "1980-01-0" + std::to_string(i + 1)});
  records.push_back(records[0]);
  records.back().id = 7;
  auto r = match(records, Model::default_french(), {.max_block_size = 5, .keep_distinct = true});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stats.oversized_blocks, 1u);
  EXPECT_EQ(r->stats.records_in_oversized, 7u);
  EXPECT_EQ(r->stats.oversized_by_kind[static_cast<size_t>(KeyKind::kPhone)], 1u);
  // Only the duplicate is compared, through its name and birth keys.
  ASSERT_EQ(r->pairs.size(), 1u);
  EXPECT_EQ(r->pairs[0].a_id, 1);
  EXPECT_EQ(r->pairs[0].b_id, 7);
  // Without the cap the phone block is scored: 21 pairs.
  auto all = match(records, Model::default_french(), {.keep_distinct = true});
  EXPECT_EQ(all->stats.compared_pairs, 21u);
}

TEST(Match, ThreadsDoNotChangeTheResult) {
  auto set = generate_test_set({.seed = 3, .people = 2500});
  ASSERT_TRUE(set.has_value());
  auto one = match(set->records, Model::default_french(), {.threads = 1});
  auto two = match(set->records, Model::default_french(), {.threads = 2});
  ASSERT_TRUE(one.has_value() && two.has_value());
  ASSERT_EQ(one->pairs.size(), two->pairs.size());
  for (size_t i = 0; i < one->pairs.size(); ++i) {
    EXPECT_EQ(one->pairs[i].a, two->pairs[i].a);
    EXPECT_EQ(one->pairs[i].b, two->pairs[i].b);
    EXPECT_EQ(one->pairs[i].score, two->pairs[i].score);
  }
  EXPECT_EQ(one->stats.compared_pairs, two->stats.compared_pairs);
}

TEST(Match, RejectsBadOptions) {
  std::vector<Record> records = small_file();
  EXPECT_EQ(match(records, Model::default_french(), {.max_block_size = 1}).error().field, "max_block_size");
  EXPECT_EQ(match(records, Model::default_french(), {.threads = 0}).error().field, "threads");
  auto empty = match({}, Model::default_french());
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->pairs.empty());
}

TEST(Match, AWorkerThreadsExceptionReachesTheCaller) {
  // One leaving a worker thread would end the process; the caller gets it once all have stopped.
  std::vector<int> ran(3, 0);
  EXPECT_THROW(dedup::internal::parallel(3,
                                         [&](unsigned t) {
                                           ran[t] = 1;
                                           if (t == 2) throw std::runtime_error("worker failed");
                                         }),
               std::runtime_error);
  EXPECT_EQ(ran, (std::vector<int>{1, 1, 1}));
  EXPECT_THROW(dedup::internal::parallel(2, [](unsigned t) {
    if (t == 0) throw std::bad_alloc();
  }),
               std::bad_alloc);
  EXPECT_NO_THROW(dedup::internal::parallel(2, [](unsigned) {}));
}

// Scale check, not run by default (no timing assertions in tests):
//   dedup_test --gtest_also_run_disabled_tests --gtest_filter='*MillionRecords*'
TEST(Match, DISABLED_MillionRecords) {
  auto set = generate_test_set({.seed = 11, .people = 600000});
  ASSERT_TRUE(set.has_value());
  for (unsigned threads : {1u, 2u}) {
    auto start = std::chrono::steady_clock::now();
    auto r = match(set->records, Model::default_french(), {.threads = threads});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(r.has_value());
    auto e = evaluate(r->pairs, set->cluster);
    std::printf("%zu records, %u thread(s): %.1f s, %zu keys, %zu blocks (%zu oversized), %zu pairs scored, %zu kept; "
                "merge P %.4f R %.4f, merge+review P %.4f R %.4f\n",
                set->records.size(), threads, seconds, r->stats.keys, r->stats.blocks, r->stats.oversized_blocks,
                r->stats.compared_pairs, r->pairs.size(), e->merge.precision, e->merge.recall,
                e->merge_or_review.precision, e->merge_or_review.recall);
  }
}

}  // namespace
}  // namespace fidelis::dedup
