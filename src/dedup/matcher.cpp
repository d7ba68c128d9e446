// Candidate generation and scoring over a whole set of records.
//
// Blocks are found by sorting (64-bit key hash, record index) entries: no strings are kept after
// hashing, so memory stays linear and small. A pair sharing several keys is scored once, in the
// first kind (KeyKind order) where both records sit in a block that was not skipped as oversized;
// that is checked from each record's per-kind hashes, so no set of seen pairs is needed.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>
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

// Scores the pairs of blocks [first, last) into `out`; one call per thread.
struct Scorer {
  std::span<const Record> records;
  const std::vector<PreparedRecord>& prepared;
  const std::vector<std::array<uint64_t, kKeyKindCount>>& keys;
  const std::vector<Entry>& entries;
  const Model& model;
  bool keep_distinct;

  void run(std::span<const std::pair<size_t, size_t>> blocks, std::vector<ScoredPair>& out, MatchStats& stats) const {
    for (const auto& [begin, end] : blocks) {
      const size_t kind = entries[begin].kind;
      for (size_t x = begin; x < end; ++x) {
        const uint32_t i = entries[x].index;
        for (size_t y = x + 1; y < end; ++y) {
          const uint32_t j = entries[y].index;
          if (i == j) continue;  // only on a hash collision between two kinds of one record
          // Scored already in an earlier kind's block?
          bool seen = false;
          for (size_t k = 0; k < kind && !seen; ++k) seen = keys[i][k] != 0 && keys[i][k] == keys[j][k];
          if (seen) continue;
          Comparison c = compare(prepared[i], prepared[j]);
          double score = model.score(c);
          Decision d = model.decide(c, score);
          ++stats.compared_pairs;
          ++stats.decisions[static_cast<size_t>(d)];
          if (d == Decision::kDistinct && !keep_distinct) continue;
          out.push_back({i, j, records[i].id, records[j].id, score, d, c});
        }
      }
    }
  }
};

Result<MatchResult> match_all(std::span<const Record> records, const Model& model, const MatchOptions& options) {
  if (records.size() >= std::numeric_limits<uint32_t>::max())
    return Error::invalid_argument("records", "at most 2^32 - 2 records can be matched at once");
  if (options.max_block_size < 2) return Error::invalid_argument("max_block_size", "a block needs room for a pair");
  if (options.threads < 1 || options.threads > 64) return Error::invalid_argument("threads", "threads must be in 1..64");

  const size_t n = records.size();
  const unsigned threads = static_cast<unsigned>(std::min<size_t>(options.threads, std::max<size_t>(1, n / 1000)));
  MatchResult result;
  MatchStats& stats = result.stats;
  stats.records = n;

  // Normalise and hash, each thread a contiguous slice of records.
  std::vector<PreparedRecord> prepared(n);
  // keys[i][k]: hash of record i's key of kind k, 0 when it has none or its block was skipped.
  std::vector<std::array<uint64_t, kKeyKindCount>> keys(n);
  std::vector<std::vector<Entry>> slices(threads);
  internal::parallel(threads, [&](unsigned t) {
    size_t from = n * t / threads, to = n * (t + 1) / threads;
    std::vector<Entry>& slice = slices[t];
    slice.reserve((to - from) * 5);
    for (size_t i = from; i < to; ++i) {
      prepared[i] = PreparedRecord(records[i]);
      std::array<std::string, kKeyKindCount> record_keys = internal::block_keys(prepared[i]);
      for (size_t k = 0; k < kKeyKindCount; ++k) {
        if (record_keys[k].empty()) continue;
        uint64_t h = internal::hash64(record_keys[k]);
        if (h == 0) h = 1;  // 0 means "no key"
        keys[i][k] = h;
        slice.push_back({h, static_cast<uint32_t>(i), static_cast<uint8_t>(k)});
      }
    }
  });
  std::vector<Entry> entries;
  for (auto& slice : slices) stats.keys += slice.size();
  entries.reserve(stats.keys);
  for (auto& slice : slices) {
    entries.insert(entries.end(), slice.begin(), slice.end());
    std::vector<Entry>().swap(slice);
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.hash != b.hash ? a.hash < b.hash : a.index < b.index; });

  // Runs of equal hashes are blocks. Forget the oversized ones first, so that a pair is not
  // believed scored in a block that was skipped.
  std::vector<std::pair<size_t, size_t>> blocks;  // [begin, end) into entries
  size_t work = 0;
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
        work += size * (size - 1) / 2;
      }
    }
    begin = end;
  }

  // Score, each thread a run of blocks holding about the same number of pairs.
  Scorer scorer{records, prepared, keys, entries, model, options.keep_distinct};
  std::vector<std::vector<ScoredPair>> found(threads);
  std::vector<MatchStats> partial(threads);
  std::vector<size_t> cut(threads + 1, blocks.size());
  cut[0] = 0;
  for (size_t b = 0, t = 1, done = 0; b < blocks.size() && t < threads; ++b) {
    size_t size = blocks[b].second - blocks[b].first;
    done += size * (size - 1) / 2;
    if (done >= work * t / threads) cut[t++] = b + 1;
  }
  internal::parallel(threads, [&](unsigned t) {
    scorer.run(std::span(blocks).subspan(cut[t], cut[t + 1] - cut[t]), found[t], partial[t]);
  });
  size_t total = 0;
  for (unsigned t = 0; t < threads; ++t) {
    total += found[t].size();
    stats.compared_pairs += partial[t].compared_pairs;
    for (size_t d = 0; d < stats.decisions.size(); ++d) stats.decisions[d] += partial[t].decisions[d];
  }
  result.pairs.reserve(total);
  for (auto& f : found) result.pairs.insert(result.pairs.end(), f.begin(), f.end());
  std::sort(result.pairs.begin(), result.pairs.end(), [](const ScoredPair& a, const ScoredPair& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.a != b.a ? a.a < b.a : a.b < b.b;
  });
  return result;
}

}  // namespace

Result<MatchResult> match(std::span<const Record> records, const Model& model, const MatchOptions& options) {
  try {
    return match_all(records, model, options);
  } catch (const std::bad_alloc&) {
    return Error::resource_exhausted("records", fmt::format("not enough memory to match {} records", records.size()));
  } catch (const std::exception& e) {
    return Error::internal(fmt::format("matching stopped on an unexpected error: {}", e.what()));
  }
}

std::vector<ScoredPair> find_pairs(std::span<const Record> records, const Model& model) {
  auto result = match(records, model);
  if (!result) return {};
  return std::move(result->pairs);
}

}  // namespace fidelis::dedup
