// The Fellegi-Sunter model: m/u parameters, log2 weights, scores and decisions.
#include <cmath>
#include <string>

#include "dedup/dedup.h"

namespace fidelis::dedup {

namespace {

size_t idx(Field f) { return static_cast<size_t>(f); }

// Fills m and u of one field for context 0 and, for contextual fields, copies them to context 1
// unless given separately.
FieldParams field_params(std::array<double, kMaxLevels> m, std::array<double, kMaxLevels> u) {
  FieldParams p;
  p.m = {m, m};
  p.u = {u, u};
  return p;
}

}  // namespace

std::string_view decision_name(Decision d) {
  switch (d) {
    case Decision::kDistinct: return "distinct";
    case Decision::kReview: return "review";
    case Decision::kMerge: return "merge";
  }
  return "";
}

Model Model::default_french() {
  // m: how often a duplicate of the same person shows the level (typos, moves, new e-mails, fields
  // left empty are what make it less than 1). u: how often two different people among candidate
  // pairs do. Levels: 0 = different ... top = same (see dedup.h).
  std::array<FieldParams, kFieldCount> p;
  // First names: ~200 common French first names; a typo gives "close" or "similar".
  p[idx(Field::kFirstName)] = field_params({0.01, 0.03, 0.09, 0.87}, {0.975, 0.012, 0.004, 0.009});
  // Surnames are more spread out than first names...
  p[idx(Field::kLastName)] = field_params({0.02, 0.03, 0.08, 0.87}, {0.982, 0.008, 0.003, 0.007});
  // ... except at one address, where half the other residents share it (a family).
  // A surname one typo away from a co-resident's is rare, though: "close" keeps its weight.
  p[idx(Field::kLastName)].u[1] = {0.465, 0.02, 0.005, 0.51};
  // E-mail: a duplicate often comes with a new or work address (m of "different" is high), but two
  // people almost never share one.
  // "Same local part at another provider" is weaker: namesakes get jean.martin@ everywhere.
  p[idx(Field::kEmail)] = field_params({0.35, 0.10, 0.55, 0}, {0.9899, 0.01, 0.0001, 0});
  // Phone: a mobile is personal; a French landline belongs to a household. Same-address context:
  // different residents often give the same landline, rarely the same mobile.
  p[idx(Field::kPhone)] = field_params({0.30, 0.15, 0.55, 0}, {0.9996, 0.0003, 0.0001, 0});
  p[idx(Field::kPhone)].u[1] = {0.69, 0.30, 0.01, 0};
  // Birth date: candidate pairs often share the year (the "ff:" block); a full date rarely.
  p[idx(Field::kBirthDate)] = field_params({0.01, 0.05, 0.94, 0}, {0.985, 0.01, 0.005, 0});
  // Address: duplicates move (~12 %); the "np:" block makes a shared postcode common among
  // candidates that are different people, so its u is far above the population's.
  p[idx(Field::kPostcode)] = field_params({0.12, 0.03, 0.85, 0}, {0.95, 0.04, 0.01, 0});
  // Street, in another postcode (or one unknown): a duplicate there has mostly moved, so a
  // different street says little; the same street says "postcode mistyped".
  p[idx(Field::kStreet)] = field_params({0.90, 0.03, 0.07, 0}, {0.997, 0.002, 0.001, 0});
  // Street in the same postcode: a duplicate keeps it; neighbours and namesakes do not.
  p[idx(Field::kStreet)].m[1] = {0.02, 0.06, 0.92, 0};
  p[idx(Field::kStreet)].u[1] = {0.96, 0.025, 0.015, 0};
  // City, weighed only when the postcodes differ: then a duplicate has mostly moved elsewhere.
  p[idx(Field::kCity)] = field_params({0.65, 0.05, 0.30, 0}, {0.975, 0.005, 0.02, 0});
  auto model = create(p, Thresholds{.review = 12.0, .merge = 18.0});
  return *model;  // the values above are valid by construction; model_test checks create() accepts them
}

Result<Model> Model::create(const std::array<FieldParams, kFieldCount>& params, Thresholds thresholds) {
  if (!(thresholds.review <= thresholds.merge))
    return Error::invalid_argument("thresholds", "the review threshold must not exceed the merge threshold");
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto field = static_cast<Field>(f);
    std::string where = "params[" + std::string(field_name(field)) + "]";
    int contexts = has_context(field) ? 2 : 1;
    for (int ctx = 0; ctx < contexts; ++ctx) {
      double sum_m = 0, sum_u = 0;
      for (int l = 0; l < level_count(field); ++l) {
        double m = params[f].m[static_cast<size_t>(ctx)][static_cast<size_t>(l)];
        double u = params[f].u[static_cast<size_t>(ctx)][static_cast<size_t>(l)];
        if (!(m > 0 && m < 1 && u > 0 && u < 1))
          return Error::invalid_argument(where, "every m and u must be strictly between 0 and 1");
        sum_m += m;
        sum_u += u;
      }
      if (std::abs(sum_m - 1) > 1e-6 || std::abs(sum_u - 1) > 1e-6)
        return Error::invalid_argument(where, "m and u must each sum to 1 over the levels");
    }
  }
  Model model;
  model.params_ = params;
  for (size_t f = 0; f < kFieldCount; ++f) {
    if (has_context(static_cast<Field>(f))) continue;
    model.params_[f].m[1] = model.params_[f].m[0];  // one set of values for context-free fields
    model.params_[f].u[1] = model.params_[f].u[0];
  }
  model.thresholds_ = thresholds;
  model.refresh_weights();
  return model;
}

void Model::refresh_weights() {
  for (size_t f = 0; f < kFieldCount; ++f)
    for (size_t ctx = 0; ctx < 2; ++ctx)
      for (size_t l = 0; l < static_cast<size_t>(level_count(static_cast<Field>(f))); ++l)
        weights_[f][ctx][l] = std::log2(params_[f].m[ctx][l] / params_[f].u[ctx][l]);
}

bool Model::counts(const Comparison& c, Field f) {
  if (c.level[idx(f)] == kMissing) return false;
  // A postcode names one commune or a few: once it agrees, the city adds no evidence of its own.
  if (f == Field::kCity && c.level[idx(Field::kPostcode)] == 2) return false;
  return true;
}

bool Model::has_context(Field f) { return f == Field::kLastName || f == Field::kPhone || f == Field::kStreet; }

int Model::context(const Comparison& c, Field f) {
  if (f == Field::kStreet) return c.level[idx(Field::kPostcode)] == 2 ? 1 : 0;
  return has_context(f) && c.same_address ? 1 : 0;
}

double Model::m(Field f, int level, int context) const {
  if (level < 0 || level >= level_count(f)) return 0;
  return params_[idx(f)].m[context == 1 ? 1 : 0][static_cast<size_t>(level)];
}

double Model::u(Field f, int level, int context) const {
  if (level < 0 || level >= level_count(f)) return 0;
  return params_[idx(f)].u[context == 1 ? 1 : 0][static_cast<size_t>(level)];
}

double Model::weight(Field f, int level, int context) const {
  if (level < 0 || level >= level_count(f)) return 0;
  return weights_[idx(f)][context == 1 ? 1 : 0][static_cast<size_t>(level)];
}

std::array<double, kFieldCount> Model::field_weights(const Comparison& c) const {
  std::array<double, kFieldCount> out{};
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto field = static_cast<Field>(f);
    if (counts(c, field)) out[f] = weight(field, c.level[f], context(c, field));
  }
  return out;
}

double Model::score(const Comparison& c) const {
  double total = 0;
  for (double w : field_weights(c)) total += w;
  return total;
}

Decision Model::decide(double score) const {
  if (score >= thresholds_.merge) return Decision::kMerge;
  if (score >= thresholds_.review) return Decision::kReview;
  return Decision::kDistinct;
}

Decision Model::decide(const Comparison& c, double score) const {
  Decision d = decide(score);
  if (d != Decision::kMerge) return d;
  // A name and a postcode are shared by namesakes (four Jean Dupont in one postcode, one who left a
  // phone, one an e-mail, one nothing): unless something that identifies a person (e-mail, phone,
  // whole birth date) or the street agrees, a person decides.
  auto level = [&](Field f) { return c.level[static_cast<size_t>(f)]; };
  bool identified = level(Field::kEmail) >= 1 || level(Field::kPhone) >= 1 || level(Field::kBirthDate) >= 2;
  bool same_street = level(Field::kStreet) >= 1;
  return identified || same_street ? d : Decision::kReview;
}

Model Model::with_thresholds(Thresholds t) const {
  Model copy = *this;
  if (t.review > t.merge) t.review = t.merge;
  copy.thresholds_ = t;
  return copy;
}

}  // namespace fidelis::dedup
