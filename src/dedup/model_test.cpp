#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "dedup/dedup.h"

namespace fidelis::dedup {
namespace {

constexpr Field kAllFields[] = {Field::kFirstName, Field::kLastName, Field::kEmail,    Field::kPhone,
                                Field::kBirthDate, Field::kPostcode, Field::kStreet, Field::kCity};

TEST(Model, DefaultFrenchIsAValidModel) {
  Model d = Model::default_french();
  auto again = Model::create(d.params(), d.thresholds());
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_LT(d.thresholds().review, d.thresholds().merge);
}

TEST(Model, WeightsGrowWithAgreement) {
  Model d = Model::default_french();
  for (Field f : kAllFields) {
    for (int ctx = 0; ctx < 2; ++ctx) {
      EXPECT_LT(d.weight(f, 0, ctx), 0) << field_name(f);  // disagreement is evidence against
      // Top level is the strongest agreement, except where the household context makes a shared
      // surname or landline nearly worthless (still not below disagreement).
      for (int l = 1; l < level_count(f); ++l) EXPECT_GT(d.weight(f, l, ctx), d.weight(f, 0, ctx)) << field_name(f);
      EXPECT_NEAR(d.weight(f, 1, ctx), std::log2(d.m(f, 1, ctx) / d.u(f, 1, ctx)), 1e-12);
    }
  }
  EXPECT_EQ(d.weight(Field::kEmail, kMissing), 0);
}

TEST(Model, MissingFieldsWeighNothing) {
  Model d = Model::default_french();
  Comparison c;
  c.level.fill(kMissing);
  EXPECT_EQ(d.score(c), 0);
  c.level[static_cast<size_t>(Field::kPhone)] = 2;
  EXPECT_DOUBLE_EQ(d.score(c), d.weight(Field::kPhone, 2));
}

TEST(Model, CityCountsOnlyWhenPostcodesDiffer) {
  Comparison c;
  c.level.fill(kMissing);
  c.level[static_cast<size_t>(Field::kCity)] = 2;
  c.level[static_cast<size_t>(Field::kPostcode)] = 2;
  EXPECT_FALSE(Model::counts(c, Field::kCity));
  c.level[static_cast<size_t>(Field::kPostcode)] = 0;
  EXPECT_TRUE(Model::counts(c, Field::kCity));
  EXPECT_EQ(Model::context(c, Field::kStreet), 0);
  c.level[static_cast<size_t>(Field::kPostcode)] = 2;
  EXPECT_EQ(Model::context(c, Field::kStreet), 1);
}

TEST(Model, DecideUsesBothThresholds) {
  Model d = Model::default_french().with_thresholds({.review = 5, .merge = 10});
  EXPECT_EQ(d.decide(4.99), Decision::kDistinct);
  EXPECT_EQ(d.decide(5), Decision::kReview);
  EXPECT_EQ(d.decide(9.99), Decision::kReview);
  EXPECT_EQ(d.decide(10), Decision::kMerge);
  EXPECT_EQ(decision_name(Decision::kReview), "review");
  Model clamped = d.with_thresholds({.review = 12, .merge = 10});
  EXPECT_EQ(clamped.thresholds().review, 10);
}

TEST(Model, CreateRejectsBadParameters) {
  auto params = Model::default_french().params();
  auto bad = params;
  bad[static_cast<size_t>(Field::kEmail)].m[0][0] = 0;  // log2(0) would be -inf
  auto r = Model::create(bad, {1, 2});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().field, "params[email]");
  bad = params;
  bad[static_cast<size_t>(Field::kPhone)].u[1][0] += 0.1;  // no longer sums to 1
  EXPECT_EQ(Model::create(bad, {1, 2}).error().field, "params[phone]");
  EXPECT_EQ(Model::create(params, {3, 2}).error().field, "thresholds");
}

Record person() {
  return {.id = 1,
          .first_name = "Martine",
          .last_name = "Dupont",
          .email = "martine.dupont@orange.fr",
          .phone_e164 = "+33145678912",  // the family landline
          .birth_date = "1958-11-02",
          .street = "4 rue des Lilas",
          .postcode = "75020",
          .city = "Paris"};
}

TEST(Model, HouseholdMembersAreNotMerged) {
  Model d = Model::default_french();
  Record husband = person();
  husband.first_name = "Gérard";
  husband.email = "gerard.dupont@free.fr";
  husband.birth_date = "1955-04-17";
  double s = d.score(compare(person(), husband));
  EXPECT_EQ(d.decide(s), Decision::kDistinct) << s;
}

TEST(Model, NamesakesInOnePostcodeGoToReviewNotToAMerge) {
  // Four Jean Dupont in the 15th arrondissement, each with his own e-mail: the names and the
  // postcode score past the merge threshold, but nothing identifies one person.
  Model d = Model::default_french();
  Record a{.id = 1, .first_name = "Jean", .last_name = "Dupont", .email = "jean.dupont@free.fr", .postcode = "75015",
           .city = "Paris"};
  Record b = a;
  b.id = 2;
  b.email = "jdupont75@orange.fr";
  Comparison c = compare(a, b);
  double s = d.score(c);
  ASSERT_GE(s, d.thresholds().merge);
  EXPECT_EQ(d.decide(s), Decision::kMerge);        // the thresholds alone
  EXPECT_EQ(d.decide(c, s), Decision::kReview);    // the pair
  // The same street, a phone or a whole birth date that agrees: a merge again.
  Record same_street = b;
  a.street = same_street.street = "12 rue de la Convention";
  c = compare(a, same_street);
  EXPECT_EQ(d.decide(c, d.score(c)), Decision::kMerge);
  a.street.clear();
  Record born = b;
  a.birth_date = born.birth_date = "1970-03-04";
  c = compare(a, born);
  EXPECT_EQ(d.decide(c, d.score(c)), Decision::kMerge);
  // No e-mail on one side, or a phone on one side and an e-mail on the other: nothing conflicts,
  // but nothing identifies one person either (the namesake who left a phone, the one who left an
  // e-mail): review too.
  Record no_email = b;
  no_email.email.clear();
  a.birth_date.clear();
  no_email.birth_date.clear();
  c = compare(a, no_email);
  ASSERT_EQ(d.decide(d.score(c)), Decision::kMerge);
  EXPECT_EQ(d.decide(c, d.score(c)), Decision::kReview);
  Record phone_only = no_email;
  phone_only.phone_e164 = "+33612121212";
  Record email_only = a;
  c = compare(email_only, phone_only);
  EXPECT_EQ(d.decide(c, d.score(c)), Decision::kReview);
  // The same phone on both: a merge.
  email_only.phone_e164 = phone_only.phone_e164;
  c = compare(email_only, phone_only);
  EXPECT_EQ(d.decide(c, d.score(c)), Decision::kMerge);
}

TEST(Model, DuplicatesAreFoundDespiteChanges) {
  Model d = Model::default_french();
  Record moved = person();
  moved.last_name = "DUPOND";
  moved.email = "martine.dupont@gmail.com";
  moved.phone_e164 = "";
  moved.street = "17 avenue Jean Jaurès";
  moved.postcode = "69007";
  moved.city = "Lyon";
  double s = d.score(compare(person(), moved));
  EXPECT_NE(d.decide(s), Decision::kDistinct) << s;
  Record retyped = person();
  retyped.first_name = "DUPONT";
  retyped.last_name = "Martine";
  retyped.email = "Martine.Dupont+promo@orange.fr";
  retyped.street = "4 r. des Lilas";
  double t = d.score(compare(person(), retyped));
  EXPECT_EQ(d.decide(t), Decision::kMerge) << t;
}

// Comparisons drawn from a known model: EM must find its parameters again.
struct Truth {
  double share = 0.3;
  std::array<FieldParams, kFieldCount> params;
};

Truth make_truth() {
  Truth t;
  auto set = [&](Field f, std::array<double, 4> m, std::array<double, 4> u) {
    t.params[static_cast<size_t>(f)].m = {m, m};
    t.params[static_cast<size_t>(f)].u = {u, u};
  };
  set(Field::kFirstName, {0.05, 0.05, 0.1, 0.8}, {0.8, 0.1, 0.05, 0.05});
  set(Field::kLastName, {0.05, 0.05, 0.1, 0.8}, {0.6, 0.1, 0.1, 0.2});
  set(Field::kEmail, {0.3, 0.1, 0.6, 0}, {0.9, 0.07, 0.03, 0});
  set(Field::kPhone, {0.3, 0.2, 0.5, 0}, {0.9, 0.05, 0.05, 0});
  set(Field::kBirthDate, {0.05, 0.1, 0.85, 0}, {0.85, 0.1, 0.05, 0});
  set(Field::kPostcode, {0.2, 0.1, 0.7, 0}, {0.5, 0.2, 0.3, 0});
  set(Field::kStreet, {0.3, 0.1, 0.6, 0}, {0.8, 0.1, 0.1, 0});
  set(Field::kCity, {0.3, 0.1, 0.6, 0}, {0.7, 0.1, 0.2, 0});
  // Contexts that differ, as in real data.
  t.params[static_cast<size_t>(Field::kStreet)].m[1] = {0.05, 0.05, 0.9, 0};
  t.params[static_cast<size_t>(Field::kStreet)].u[1] = {0.6, 0.1, 0.3, 0};
  t.params[static_cast<size_t>(Field::kLastName)].u[1] = {0.3, 0.1, 0.1, 0.5};
  t.params[static_cast<size_t>(Field::kPhone)].u[1] = {0.5, 0.4, 0.1, 0};
  return t;
}

std::vector<Comparison> sample(const Truth& t, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  auto draw = [&](const std::array<double, kMaxLevels>& p, int levels) {
    double x = unit(rng), acc = 0;
    for (int l = 0; l < levels; ++l) {
      acc += p[static_cast<size_t>(l)];
      if (x < acc) return static_cast<int8_t>(l);
    }
    return static_cast<int8_t>(levels - 1);
  };
  std::vector<Comparison> out(n);
  for (Comparison& c : out) {
    bool match = unit(rng) < t.share;
    auto level = [&](Field f, int ctx) -> int8_t {
      if (unit(rng) < 0.1) return kMissing;  // missing at random
      const FieldParams& p = t.params[static_cast<size_t>(f)];
      return draw(match ? p.m[static_cast<size_t>(ctx)] : p.u[static_cast<size_t>(ctx)], level_count(f));
    };
    auto at = [&](Field f) -> int8_t& { return c.level[static_cast<size_t>(f)]; };
    // Contexts follow the fields they depend on, so draw those first.
    at(Field::kPostcode) = level(Field::kPostcode, 0);
    at(Field::kStreet) = level(Field::kStreet, at(Field::kPostcode) == 2 ? 1 : 0);
    c.same_address = at(Field::kPostcode) == 2 && at(Field::kStreet) >= 1;
    at(Field::kLastName) = level(Field::kLastName, c.same_address ? 1 : 0);
    at(Field::kPhone) = level(Field::kPhone, c.same_address ? 1 : 0);
    for (Field f : {Field::kFirstName, Field::kEmail, Field::kBirthDate, Field::kCity}) at(f) = level(f, 0);
  }
  return out;
}

TEST(Em, RecoversTheParametersOfSyntheticData) {
  Truth truth = make_truth();
  std::vector<Comparison> pairs = sample(truth, 200000, 7);
  auto r = Model::default_french().estimate(pairs);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->converged);
  EXPECT_NEAR(r->match_share, truth.share, 0.01);
  for (Field f : kAllFields) {
    for (int ctx = 0; ctx < (Model::has_context(f) ? 2 : 1); ++ctx) {
      for (int l = 0; l < level_count(f); ++l) {
        const FieldParams& p = truth.params[static_cast<size_t>(f)];
        double m = p.m[static_cast<size_t>(ctx)][static_cast<size_t>(l)], u = p.u[static_cast<size_t>(ctx)][static_cast<size_t>(l)];
        EXPECT_NEAR(r->model.m(f, l, ctx), m, 0.02) << field_name(f) << " ctx " << ctx << " level " << l;
        EXPECT_NEAR(r->model.u(f, l, ctx), u, 0.02) << field_name(f) << " ctx " << ctx << " level " << l;
        EXPECT_NEAR(r->model.weight(f, l, ctx), std::log2(m / u), 0.35) << field_name(f) << " ctx " << ctx << " level " << l;
      }
    }
  }
  EXPECT_EQ(r->model.thresholds().merge, Model::default_french().thresholds().merge);
}

TEST(Em, CanKeepConfiguredU) {
  Truth truth = make_truth();
  std::vector<Comparison> pairs = sample(truth, 20000, 8);
  Model start = Model::default_french();
  auto r = start.estimate(pairs, {.estimate_u = false});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->model.u(Field::kEmail, 2), start.u(Field::kEmail, 2));
  EXPECT_NE(r->model.m(Field::kEmail, 2), start.m(Field::kEmail, 2));
}

TEST(Em, RejectsBadInputAndReportsCollapse) {
  Model d = Model::default_french();
  EXPECT_EQ(d.estimate({}).error().field, "pairs");
  Comparison c;
  c.level.fill(0);  // every field disagrees: nothing but non-matches
  std::vector<Comparison> all_different(1000, c);
  auto r = d.estimate(all_different);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_EQ(d.estimate(all_different, {.max_iterations = 0}).error().field, "options");
  EXPECT_EQ(d.estimate(all_different, {.min_probability = 0.5}).error().field, "options");
}

TEST(Em, ProbabilitiesStayAwayFromZero) {
  // Every match agrees on e-mail: the raw estimate of m("different") would be 0 and its weight -inf.
  Truth truth = make_truth();
  truth.params[static_cast<size_t>(Field::kEmail)].m = {{{0, 0, 1, 0}, {0, 0, 1, 0}}};
  auto r = Model::default_french().estimate(sample(truth, 20000, 9), {.min_probability = 1e-4});
  ASSERT_TRUE(r.has_value());
  EXPECT_GE(r->model.m(Field::kEmail, 0), 1e-4 * 0.99);
  EXPECT_TRUE(std::isfinite(r->model.weight(Field::kEmail, 0)));
}

TEST(ModelFile, RoundTripsAndNamesTheBadLine) {
  Model base = Model::default_french();
  std::string text = model_to_text(base);
  auto back = model_from_text(text, base.thresholds());
  ASSERT_TRUE(back) << back.error().message;
  for (size_t f = 0; f < kFieldCount; ++f)
    for (int ctx = 0; ctx < 2; ++ctx)
      for (int l = 0; l < level_count(static_cast<Field>(f)); ++l) {
        EXPECT_EQ(back->m(static_cast<Field>(f), l, ctx), base.m(static_cast<Field>(f), l, ctx));
        EXPECT_EQ(back->u(static_cast<Field>(f), l, ctx), base.u(static_cast<Field>(f), l, ctx));
      }
  // One row replaced, the rest built in; the thresholds are the caller's.
  auto edited = model_from_text("# e-mails are shared in this shop\nemail 0 u 0.9 0.05 0.05\n", {10, 20});
  ASSERT_TRUE(edited) << edited.error().message;
  EXPECT_DOUBLE_EQ(edited->u(Field::kEmail, 2), 0.05);
  EXPECT_LT(edited->weight(Field::kEmail, 2), base.weight(Field::kEmail, 2));
  EXPECT_EQ(edited->m(Field::kFirstName, 3), base.m(Field::kFirstName, 3));
  EXPECT_EQ(edited->thresholds().merge, 20);
  auto field = [](std::string_view t) {
    auto r = model_from_text(t, Model::default_french().thresholds());
    return r ? std::string("ok") : r.error().field + ": " + r.error().message;
  };
  EXPECT_EQ(field("\n\nshoe_size 0 m 1\n"), "line 3: unknown field \"shoe_size\"");
  EXPECT_EQ(field("email 1 m 0.3 0.1 0.6\n"), "line 1: email has context 0 only");
  EXPECT_EQ(field("email 0 x 0.3 0.1 0.6\n"), "line 1: expected m or u after the context");
  EXPECT_EQ(field("email 0 m 0.3 0.1\n"), "line 1: email has 3 levels");
  EXPECT_EQ(field("email 0 m 0.3 0.1 0.6 0.1\n"), "line 1: email has 3 levels");
  EXPECT_EQ(field("email 0 m 0.3 zéro 0.6\n"), "line 1: \"zéro\" is not a number");
  EXPECT_TRUE(field("email 0 m 0.3 0.3 0.6\n").starts_with("params[email]: "));
}

TEST(ModelFile, AnEstimateIsCheckedAndKeepsWhatItCannotLearn) {
  Model base = Model::default_french();
  EmResult good{base, 0.1, 12, true};
  EXPECT_TRUE(check_estimate(good));
  EmResult stuck = good;
  stuck.converged = false;
  EXPECT_EQ(check_estimate(stuck).error().field, "iterations");
  EmResult most = good;
  most.match_share = 0.9;
  EXPECT_EQ(check_estimate(most).error().field, "match_share");
  // Agreeing on the last name counting against a match: the "match" class is not the duplicates.
  auto params = base.params();
  auto& last = params[static_cast<size_t>(Field::kLastName)];
  last.m[0] = {0.5, 0.2, 0.2, 0.1};
  last.u[0] = {0.1, 0.2, 0.2, 0.5};
  EmResult wrong{*Model::create(params, base.thresholds()), 0.1, 12, true};
  EXPECT_EQ(check_estimate(wrong).error().field, "params[last_name]");

  // Pairs that only ever agree on the e-mail: it cannot be learned, and keeps the prior's values.
  Comparison c;
  c.level.fill(kMissing);
  c.level[static_cast<size_t>(Field::kEmail)] = 2;
  c.level[static_cast<size_t>(Field::kFirstName)] = 3;
  Comparison d = c;
  d.level[static_cast<size_t>(Field::kFirstName)] = 0;
  std::vector<Comparison> pairs(30, c);
  pairs.insert(pairs.end(), 30, d);
  std::vector<Field> kept;
  Model mixed = keep_unlearned(wrong.model, base, pairs, 20, kept);
  EXPECT_EQ(mixed.m(Field::kFirstName, 3), wrong.model.m(Field::kFirstName, 3));  // seen both ways: learned
  EXPECT_EQ(mixed.m(Field::kEmail, 2), base.m(Field::kEmail, 2));
  EXPECT_EQ(mixed.m(Field::kLastName, 3), base.m(Field::kLastName, 3));            // never seen
  EXPECT_EQ(std::count(kept.begin(), kept.end(), Field::kFirstName), 0);
  EXPECT_EQ(std::count(kept.begin(), kept.end(), Field::kEmail), 1);
  EXPECT_EQ(kept.size(), kFieldCount - 1);
}

}  // namespace
}  // namespace fidelis::dedup
