// Pairwise precision / recall / F1 of matcher decisions against ground-truth clusters.
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "dedup/dedup.h"

namespace fidelis::dedup {

namespace {

Metrics metrics(std::vector<uint64_t>& predicted, std::span<const int64_t> cluster, uint64_t true_pairs) {
  std::sort(predicted.begin(), predicted.end());
  predicted.erase(std::unique(predicted.begin(), predicted.end()), predicted.end());
  Metrics m;
  for (uint64_t key : predicted) {
    if (cluster[key >> 32] == cluster[key & 0xFFFFFFFFu]) ++m.true_positives;
    else ++m.false_positives;
  }
  m.false_negatives = true_pairs - m.true_positives;
  auto ratio = [](uint64_t a, uint64_t b) { return b == 0 ? 1.0 : static_cast<double>(a) / static_cast<double>(b); };
  m.precision = ratio(m.true_positives, m.true_positives + m.false_positives);
  m.recall = ratio(m.true_positives, true_pairs);
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  return m;
}

}  // namespace

Result<Evaluation> evaluate(std::span<const ScoredPair> pairs, std::span<const int64_t> cluster) {
  Evaluation e;
  std::unordered_map<int64_t, uint64_t> sizes;
  for (int64_t c : cluster) ++sizes[c];
  for (const auto& [c, size] : sizes) e.true_pairs += size * (size - 1) / 2;

  std::vector<uint64_t> merge, merge_or_review;
  for (const ScoredPair& p : pairs) {
    if (p.a >= cluster.size() || p.b >= cluster.size())
      return Error::invalid_argument("pairs", "a pair refers to a record outside the ground truth");
    if (p.a == p.b || p.decision == Decision::kDistinct) continue;
    uint64_t key = (static_cast<uint64_t>(std::min(p.a, p.b)) << 32) | std::max(p.a, p.b);
    merge_or_review.push_back(key);
    if (p.decision == Decision::kMerge) merge.push_back(key);
  }
  e.merge = metrics(merge, cluster, e.true_pairs);
  e.merge_or_review = metrics(merge_or_review, cluster, e.true_pairs);
  return e;
}

}  // namespace fidelis::dedup
