// Candidate generation and scoring over a whole set of records.
//
// Blocks are found by sorting (64-bit key hash, record index) entries: no strings are kept after
// hashing, so memory stays linear and small. A pair sharing several keys is scored once, in the
// first kind (KeyKind order) where both records sit in a block that was not skipped as oversized;
// that is checked from each record's per-kind hashes, so no set of seen pairs is needed.
#include <algorithm>
#include <limits>
#include <vector>

#include "dedup/dedup.h"
#include "dedup/dedup_internal.h"

namespace fidelis::dedup {

namespace {

struct Entry {
  uint64_t hash;
  uint32_t index;
  uint8_t kind;
};

}  // namespace

Result<MatchResult> match(std::span<const Record> records, const Model& model, const MatchOptions& options) {
  if (records.size() >= std::numeric_limits<uint32_t>::max())
    return Error::invalid_argument("records", "at most 2^32 - 2 records can be matched at once");
  if (options.max_block_size < 2) return Error::invalid_argument("max_block_size", "a block needs room for a pair");

  const size_t n = records.size();
  MatchResult result;
  MatchStats& stats = result.stats;
  stats.records = n;

  std::vector<PreparedRecord> prepared;
  prepared.reserve(n);
  // keys[i][k]: hash of record i's key of kind k, 0 when it has none or its block was skipped.
  std::vector<std::array<uint64_t, kKeyKindCount>> keys(n);
  std::vector<Entry> entries;
  entries.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) {
    prepared.emplace_back(records[i]);
    for (size_t k = 0; k < kKeyKindCount; ++k) {
      std::string key = internal::block_key(prepared.back(), static_cast<KeyKind>(k));
      if (key.empty()) continue;
      uint64_t h = internal::hash64(key);
      if (h == 0) h = 1;  // 0 means "no key"
      keys[i][k] = h;
      entries.push_back({h, static_cast<uint32_t>(i), static_cast<uint8_t>(k)});
    }
  }
  stats.keys = entries.size();
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.hash != b.hash ? a.hash < b.hash : a.index < b.index; });

  // Runs of equal hashes are blocks. First pass: count them and forget the oversized ones, so a
  // pair is not believed scored in a block that was skipped.
  std::vector<std::pair<size_t, size_t>> blocks;  // [begin, end) into entries
  for (size_t begin = 0; begin < entries.size();) {
    size_t end = begin + 1;
    while (end < entries.size() && entries[end].hash == entries[begin].hash) ++end;
    size_t size = end - begin;
    if (size >= 2) {
      ++stats.blocks;
      if (size > options.max_block_size) {
        ++stats.oversized_blocks;
        stats.records_in_oversized += size;
        ++stats.oversized_by_kind[entries[begin].kind];
        for (size_t e = begin; e < end; ++e) keys[entries[e].index][entries[e].kind] = 0;
      } else {
        blocks.emplace_back(begin, end);
      }
    }
    begin = end;
  }

  for (const auto& [begin, end] : blocks) {
    const size_t kind = entries[begin].kind;
    for (size_t x = begin; x < end; ++x) {
      const uint32_t i = entries[x].index;
      for (size_t y = x + 1; y < end; ++y) {
        const uint32_t j = entries[y].index;
        if (i == j) continue;  // only on a hash collision between two kinds of one record
        bool seen = false;
        for (size_t k = 0; k < kind && !seen; ++k) seen = keys[i][k] != 0 && keys[i][k] == keys[j][k];
        if (seen) continue;
        Comparison c = compare(prepared[i], prepared[j]);
        double score = model.score(c);
        Decision d = model.decide(score);
        ++stats.compared_pairs;
        ++stats.decisions[static_cast<size_t>(d)];
        if (d == Decision::kDistinct && !options.keep_distinct) continue;
        result.pairs.push_back({i, j, records[i].id, records[j].id, score, d, c});
      }
    }
  }
  std::sort(result.pairs.begin(), result.pairs.end(), [](const ScoredPair& a, const ScoredPair& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.a != b.a ? a.a < b.a : a.b < b.b;
  });
  return result;
}

std::vector<ScoredPair> find_pairs(std::span<const Record> records, const Model& model) {
  auto result = match(records, model);
  if (!result) return {};
  return std::move(result->pairs);
}

}  // namespace fidelis::dedup
