// EM estimation of the Fellegi-Sunter parameters from unlabelled candidate pairs (Winkler 1988,
// "Using the EM algorithm for weight computation in the Fellegi-Sunter model of record linkage"):
// a two-class latent model, fields conditionally independent given the class, missing fields
// ignored. Pairs are first reduced to distinct comparison patterns with counts, so one iteration
// costs O(patterns), not O(pairs).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "dedup/dedup.h"

namespace fidelis::dedup {

namespace {

constexpr uint8_t kAbsent = 0xF;  // field not weighed in this pattern

// One field's slot: level + 4 * context, or kAbsent. Fits in 4 bits (levels < 4, contexts < 2).
struct Pattern {
  std::array<uint8_t, kFieldCount> slot{};
  double count = 0;
};

uint64_t encode(const Comparison& c) {
  uint64_t key = 0;
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto field = static_cast<Field>(f);
    uint64_t slot = Model::counts(c, field)
                        ? static_cast<uint64_t>(c.level[f]) + 4 * static_cast<uint64_t>(Model::context(c, field))
                        : kAbsent;
    key |= slot << (4 * f);
  }
  return key;
}

// Clamps each probability of one field's distribution into [lo, 1 - lo] and renormalises; twice,
// because renormalising can push a clamped value slightly back under the bound.
void clamp_distribution(std::array<double, kMaxLevels>& p, int levels, double lo) {
  for (int pass = 0; pass < 2; ++pass) {
    double sum = 0;
    for (int l = 0; l < levels; ++l) {
      p[static_cast<size_t>(l)] = std::clamp(p[static_cast<size_t>(l)], lo, 1 - lo);
      sum += p[static_cast<size_t>(l)];
    }
    for (int l = 0; l < levels; ++l) p[static_cast<size_t>(l)] /= sum;
  }
}

}  // namespace

Result<EmResult> Model::estimate(std::span<const Comparison> pairs, const EmOptions& options) const {
  if (pairs.empty()) return Error::invalid_argument("pairs", "EM needs at least one comparison");
  if (options.max_iterations < 1 || !(options.min_probability > 0 && options.min_probability <= 0.01))
    return Error::invalid_argument("options", "max_iterations must be >= 1 and min_probability in (0, 0.01]");

  std::unordered_map<uint64_t, size_t> index;
  std::vector<Pattern> patterns;
  for (const Comparison& c : pairs) {
    uint64_t key = encode(c);
    auto [it, inserted] = index.try_emplace(key, patterns.size());
    if (inserted) {
      Pattern p;
      for (size_t f = 0; f < kFieldCount; ++f) p.slot[f] = static_cast<uint8_t>((key >> (4 * f)) & 0xF);
      patterns.push_back(p);
    }
    patterns[it->second].count += 1;
  }
  const double total = static_cast<double>(pairs.size());
  const double lo = options.min_probability;

  Model model = *this;
  // Start the match share from the pairs the starting model would at least send to review:
  // a data-driven start that keeps the classes in the right order.
  double share = 0;
  for (const Pattern& p : patterns) {
    double s = 0;
    for (size_t f = 0; f < kFieldCount; ++f)
      if (p.slot[f] != kAbsent) s += model.weights_[f][p.slot[f] / 4][p.slot[f] % 4];
    if (s >= thresholds_.review) share += p.count;
  }
  share = std::clamp(share / total, 0.01, 0.99);

  EmResult result{model, share, 0, false};
  std::vector<double> posterior(patterns.size());
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    // E step: P(match | pattern).
    for (size_t i = 0; i < patterns.size(); ++i) {
      double pm = share, pu = 1 - share;
      for (size_t f = 0; f < kFieldCount; ++f) {
        uint8_t s = patterns[i].slot[f];
        if (s == kAbsent) continue;
        pm *= model.params_[f].m[s / 4][s % 4];
        pu *= model.params_[f].u[s / 4][s % 4];
      }
      posterior[i] = pm + pu > 0 ? pm / (pm + pu) : 0.5;
    }
    // M step: expected counts per field, context and level.
    std::array<FieldParams, kFieldCount> m_num{}, u_num{};
    double matches = 0;
    for (size_t i = 0; i < patterns.size(); ++i) {
      double g = posterior[i] * patterns[i].count, h = (1 - posterior[i]) * patterns[i].count;
      matches += g;
      for (size_t f = 0; f < kFieldCount; ++f) {
        uint8_t s = patterns[i].slot[f];
        if (s == kAbsent) continue;
        m_num[f].m[s / 4][s % 4] += g;
        u_num[f].u[s / 4][s % 4] += h;
      }
    }
    double change = std::abs(matches / total - share);
    share = matches / total;
    for (size_t f = 0; f < kFieldCount; ++f) {
      int levels = level_count(static_cast<Field>(f));
      for (size_t ctx = 0; ctx < 2; ++ctx) {
        double sum_m = 0, sum_u = 0;
        for (int l = 0; l < levels; ++l) {
          sum_m += m_num[f].m[ctx][static_cast<size_t>(l)];
          sum_u += u_num[f].u[ctx][static_cast<size_t>(l)];
        }
        // A context with no data keeps its current values.
        if (sum_m > 0) {
          std::array<double, kMaxLevels> next{};
          for (int l = 0; l < levels; ++l) next[static_cast<size_t>(l)] = m_num[f].m[ctx][static_cast<size_t>(l)] / sum_m;
          clamp_distribution(next, levels, lo);
          for (int l = 0; l < levels; ++l)
            change = std::max(change, std::abs(next[static_cast<size_t>(l)] - model.params_[f].m[ctx][static_cast<size_t>(l)]));
          model.params_[f].m[ctx] = next;
        }
        if (options.estimate_u && sum_u > 0) {
          std::array<double, kMaxLevels> next{};
          for (int l = 0; l < levels; ++l) next[static_cast<size_t>(l)] = u_num[f].u[ctx][static_cast<size_t>(l)] / sum_u;
          clamp_distribution(next, levels, lo);
          for (int l = 0; l < levels; ++l)
            change = std::max(change, std::abs(next[static_cast<size_t>(l)] - model.params_[f].u[ctx][static_cast<size_t>(l)]));
          model.params_[f].u[ctx] = next;
        }
      }
    }
    if (share <= lo || share >= 1 - lo)
      return Error::failed_precondition("pairs", "EM collapsed to a single class: the pairs do not hold both matches and non-matches");
    result.iterations = iteration;
    if (change < options.tolerance) {
      result.converged = true;
      break;
    }
  }
  // Context-free fields received data in context 0 only; keep context 1 equal to it.
  for (size_t f = 0; f < kFieldCount; ++f) {
    if (Model::has_context(static_cast<Field>(f))) continue;
    model.params_[f].m[1] = model.params_[f].m[0];
    model.params_[f].u[1] = model.params_[f].u[0];
  }
  model.refresh_weights();
  result.model = model;
  result.match_share = share;
  return result;
}

Model keep_unlearned(const Model& estimated, const Model& prior, std::span<const Comparison> pairs, size_t min_pairs,
                     std::vector<Field>& kept) {
  std::array<FieldParams, kFieldCount> params = estimated.params();
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto field = static_cast<Field>(f);
    int top = level_count(field) - 1;
    size_t agree = 0, disagree = 0;
    for (const Comparison& c : pairs) {
      if (!Model::counts(c, field)) continue;
      agree += c.level[f] == top;
      disagree += c.level[f] == 0;
    }
    if (agree >= min_pairs && disagree >= min_pairs) continue;
    params[f] = prior.params()[f];
    kept.push_back(field);
  }
  // Both parameter sets are valid, so their mix is.
  return *Model::create(params, estimated.thresholds());
}

Status check_estimate(const EmResult& r) {
  if (!r.converged)
    return Error::failed_precondition("iterations", fmt::format("no stable estimate after {} iterations", r.iterations));
  if (r.match_share > 0.5)
    return Error::failed_precondition(
        "match_share", fmt::format("{:.1f} % of the candidate pairs would be duplicates: the split found is not "
                                   "duplicates against different people",
                                   100 * r.match_share));
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto field = static_cast<Field>(f);
    int top = level_count(field) - 1;
    if (!(r.model.weight(field, top) > 0) || !(r.model.weight(field, 0) < 0))
      return Error::failed_precondition(
          fmt::format("params[{}]", field_name(field)),
          fmt::format("the estimate weighs {} the wrong way (agreement {:+.2f}, disagreement {:+.2f}): the candidate pairs "
                      "hold too few duplicates, or too different ones, to learn from",
                      field_name(field), r.model.weight(field, top), r.model.weight(field, 0)));
  }
  return ok();
}

}  // namespace fidelis::dedup
