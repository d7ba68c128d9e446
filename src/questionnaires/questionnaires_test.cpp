// Questionnaires on both drivers: definitions, signed links, answers that update the profile,
// completion rates.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "questionnaires/questionnaires.h"
#include "storage/test_db.h"

namespace fidelis::questionnaires {
namespace {

Questionnaire qualification() {
  Questionnaire q;
  q.slug = "qualification-2026";
  q.title = "Mieux vous connaître";
  q.sections = {
      {"coordonnees", "Vos coordonnées",
       {{"mobile", "Votre mobile", QuestionType::kText, "phone", {}, true},
        {"ville", "Votre ville", QuestionType::kText, "city", {}, false},
        {"courriel", "Votre e-mail", QuestionType::kText, "email", {}, false}}},
      {"anniversaires", "Anniversaires", {{"naissance", "Votre date de naissance", QuestionType::kDate, "birth_date", {}, true}}},
      {"famille", "Votre famille", {{"enfants", "Vos enfants", QuestionType::kChildren, "children", {}, false}}},
      {"appetences", "Vos rayons préférés",
       {{"rayons", "Ce qui vous intéresse", QuestionType::kMultiChoice, "affinities", {"jardin", "bricolage", "cuisine"}, true}}},
      {"abonnement", "Gestion de l'abonnement",
       {{"newsletter", "Recevoir la lettre d'information", QuestionType::kBoolean, "consent:email:newsletter", {}, true}}},
  };
  return q;
}

class QuestionnaireTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    customers_ = std::make_unique<customers::CustomerService>(*t_.db, clock_);
    svc_ = std::make_unique<QuestionnaireService>(*t_.db, clock_, *customers_);
    customers::CustomerInput in;
    in.first_name = "Claire";
    in.last_name = "Morel";
    in.emails = std::vector<customers::EmailAddress>{{"claire.morel@exemple.fr", ""}};
    in.affinities = std::vector<customers::Affinity>{{"mode femme", 60}, {"jardin", 40}};
    auto c = customers_->create(in, actor_);
    ASSERT_TRUE(c);
    customer_ = c->id;
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<customers::CustomerService> customers_;
  std::unique_ptr<QuestionnaireService> svc_;
  audit::Actor actor_ = audit::Actor::cli("test");
  int64_t customer_ = 0;
};

TEST_P(QuestionnaireTest, AnswersUpdateTheProfileAndCount) {
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q) << q.error().field << ": " << q.error().message;
  auto token = svc_->issue_link(q->id, customer_, 30LL * 86'400'000, actor_);
  ASSERT_TRUE(token) << token.error().field << "/" << static_cast<int>(token.error().code) << ": " << token.error().message;
  auto form = svc_->open(*token);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->questionnaire.sections.size(), 5u);

  // A first, partial visit.
  auto partial = svc_->answer(*token, {{"mobile", std::string("06 98 76 54 23")}, {"naissance", std::string("14/02/1988")}});
  ASSERT_TRUE(partial) << partial.error().field << ": " << partial.error().message;
  auto c = customers_->get(customer_);
  EXPECT_EQ(c->phones[0].e164, "+33698765423");
  EXPECT_EQ(c->birth_date, "1988-02-14");
  auto stats = svc_->completion(q->id);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->links_issued, 1);
  EXPECT_EQ(stats->started, 1);
  EXPECT_EQ(stats->completed, 0);
  EXPECT_EQ(stats->sections[0].completed, 1);  // coordonnées: its required question is answered
  EXPECT_EQ(stats->sections[1].completed, 1);

  // The rest, on a second visit.
  std::vector<Child> kids = {{std::string("Léo"), std::string("2016-05-01")}};
  auto rest = svc_->answer(*token, {{"rayons", std::vector<std::string>{"cuisine"}},
                                    {"newsletter", true},
                                    {"enfants", kids}});
  ASSERT_TRUE(rest) << rest.error().field << ": " << rest.error().message;
  c = customers_->get(customer_);
  ASSERT_EQ(c->household.size(), 1u);
  EXPECT_EQ(c->household[0].first_name, "Léo");
  // "jardin" was offered and not picked: removed; "mode femme" was not offered: kept.
  std::vector<std::string> cats;
  for (const auto& a : c->affinities) cats.push_back(a.category);
  EXPECT_EQ(cats, (std::vector<std::string>{"cuisine", "mode femme"}));
  ASSERT_EQ(c->consents.size(), 1u);
  EXPECT_EQ(c->consents[0].source, "questionnaire");
  EXPECT_TRUE(c->consents[0].granted);
  EXPECT_EQ(customers_->consent_history(customer_)->at(0).source, "questionnaire");
  stats = svc_->completion(q->id);
  EXPECT_EQ(stats->completed, 1);
  EXPECT_DOUBLE_EQ(stats->completion_rate, 1.0);
  EXPECT_EQ(svc_->open(*token)->answered.size(), 5u);

  // A second customer starts, then is deleted: no longer counted.
  customers::CustomerInput other;
  other.last_name = "Vidal";
  other.emails = std::vector<customers::EmailAddress>{{"paul.vidal@exemple.fr", ""}};
  auto o = customers_->create(other, actor_);
  ASSERT_TRUE(o);
  auto other_token = svc_->issue_link(q->id, o->id, 86'400'000, actor_);
  ASSERT_TRUE(other_token);
  ASSERT_TRUE(svc_->answer(*other_token, {{"mobile", std::string("06 55 44 33 22")}}));
  stats = svc_->completion(q->id);
  EXPECT_EQ(stats->links_issued, 2);
  EXPECT_EQ(stats->started, 2);
  ASSERT_TRUE(customers_->remove(o->id, std::nullopt, actor_));
  EXPECT_EQ(svc_->issue_link(q->id, o->id, 86'400'000, actor_).error().message, fmt::format("customer {} is deleted", o->id));
  stats = svc_->completion(q->id);
  EXPECT_EQ(stats->links_issued, 1);
  EXPECT_EQ(stats->started, 1);
  EXPECT_DOUBLE_EQ(stats->completion_rate, 1.0);
  // A link for a record merged into another names the customer it is now; an unknown id is none.
  storage::Value merged[] = {o->id, customer_};
  ASSERT_TRUE(t_.db->exec("UPDATE customers SET merged_into = $2 WHERE id = $1", merged));
  auto refused = svc_->issue_link(q->id, o->id, 86'400'000, actor_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "customer_id");
  EXPECT_EQ(refused.error().message, fmt::format("customer {} was merged into customer {}: issue the link for {}", o->id,
                                                 customer_, customer_));
  EXPECT_EQ(svc_->issue_link(q->id, 999, 86'400'000, actor_).error().code, Code::kNotFound);
}

// Many people give the day and month of their birthday and keep their year to themselves.
TEST_P(QuestionnaireTest, ABirthdayMayBeGivenWithoutItsYear) {
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q) << q.error().message;
  auto token = svc_->issue_link(q->id, customer_, 30LL * 86'400'000, actor_);
  ASSERT_TRUE(token);
  std::vector<Child> kids = {{std::string("Léo"), std::string("2 mai")}};
  auto day = svc_->answer(*token, {{"naissance", std::string("14/02")}, {"enfants", kids}});
  ASSERT_TRUE(day) << day.error().field << ": " << day.error().message;
  auto c = customers_->get(customer_);
  EXPECT_EQ(c->birth_date, "--02-14");
  ASSERT_EQ(c->household.size(), 1u);
  EXPECT_EQ(c->household[0].birth_date, "--05-02");
  ASSERT_TRUE(svc_->answer(*token, {{"naissance", std::string("14/02/1988")}}));
  EXPECT_EQ(customers_->get(customer_)->birth_date, "1988-02-14");
  // The same day and month again: the year stays.
  ASSERT_TRUE(svc_->answer(*token, {{"naissance", std::string("--02-14")}}));
  EXPECT_EQ(customers_->get(customer_)->birth_date, "1988-02-14");
  // Léo's birthday given again without the year, once his year is known.
  std::vector<Child> born = {{std::string("Léo"), std::string("02/05/2016")}};
  ASSERT_TRUE(svc_->answer(*token, {{"enfants", born}}));
  std::vector<Child> again = {{std::string("leo"), std::string("2 mai")}};
  ASSERT_TRUE(svc_->answer(*token, {{"enfants", again}}));
  ASSERT_EQ(customers_->get(customer_)->household.size(), 1u);
  EXPECT_EQ(customers_->get(customer_)->household[0].birth_date, "2016-05-02");
  auto bad = svc_->answer(*token, {{"naissance", std::string("30/02")}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "answers.naissance");
  EXPECT_EQ(customers_->get(customer_)->birth_date, "1988-02-14");
}

// A placeholder address stored before placeholders were refused does not stand in the way of a
// real one, and goes.
TEST_P(QuestionnaireTest, ARealAddressReplacesAStoredPlaceholder) {
  storage::Value p[] = {customer_};
  ASSERT_TRUE(t_.db->exec("INSERT INTO customer_emails (customer_id, position, email, email_key, label) "
                          "VALUES ($1, 1, 'noemail@nomail.com', 'noemail@nomail.com', '')",
                          p));
  Questionnaire q;
  q.slug = "courriel";
  q.title = "Courriel";
  q.sections.push_back({.key = "s", .title = "", .questions = {{.key = "mail", .label = "E-mail", .type = QuestionType::kText,
                                                                .target = "email"}}});
  auto made = svc_->create(q, actor_);
  ASSERT_TRUE(made) << made.error().message;
  auto token = svc_->issue_link(made->id, customer_, 86'400'000, actor_);
  ASSERT_TRUE(token);
  auto answered = svc_->answer(*token, {{"mail", std::string("claire.pro@exemple.fr")}});
  ASSERT_TRUE(answered) << answered.error().field << ": " << answered.error().message;
  auto after = customers_->get(customer_);
  ASSERT_TRUE(after);
  std::vector<std::string> emails;
  for (const auto& e : after->emails) emails.push_back(e.email);
  EXPECT_EQ(emails, (std::vector<std::string>{"claire.pro@exemple.fr", "claire.morel@exemple.fr"}));
}

// Numbers answered as people type them, read as an import reads a spreadsheet's.
TEST_P(QuestionnaireTest, NumbersAreReadAsPeopleTypeThem) {
  using customers::CustomFieldType;
  ASSERT_TRUE(customers_->define_custom_field({.key = "points", .label = "Points", .type = CustomFieldType::kInteger}, actor_));
  ASSERT_TRUE(customers_->define_custom_field({.key = "budget", .label = "Budget", .type = CustomFieldType::kNumber}, actor_));
  Questionnaire q;
  q.slug = "nombres";
  q.title = "Nombres";
  q.sections.push_back({.key = "s", .title = "", .questions = {{.key = "points", .label = "Points", .type = QuestionType::kText,
                                                                .target = "custom_fields.points"},
                                                               {.key = "budget", .label = "Budget", .type = QuestionType::kText,
                                                                .target = "custom_fields.budget"}}});
  auto made = svc_->create(q, actor_);
  ASSERT_TRUE(made) << made.error().field << ": " << made.error().message;
  auto token = svc_->issue_link(made->id, customer_, 86'400'000, actor_);
  ASSERT_TRUE(token);
  auto value = [&](const std::string& key) { return customers_->get(customer_)->custom_fields.at(key); };
  ASSERT_TRUE(svc_->answer(*token, {{"points", std::string("1 234")}, {"budget", std::string("1 234,50 €")}}));
  EXPECT_EQ(std::get<int64_t>(value("points")), 1234);
  EXPECT_DOUBLE_EQ(std::get<double>(value("budget")), 1234.5);
  ASSERT_TRUE(svc_->answer(*token, {{"budget", std::string("12,5")}}));
  EXPECT_DOUBLE_EQ(std::get<double>(value("budget")), 12.5);
  for (const char* bad : {"12 %", "1,5,6", "1e5", "abc"}) {
    auto r = svc_->answer(*token, {{"budget", std::string(bad)}});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field, "answers.budget");
  }
  auto big = svc_->answer(*token, {{"points", std::string("99999999999999999999")}});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().field, "answers.points");
  EXPECT_DOUBLE_EQ(std::get<double>(value("budget")), 12.5);  // nothing changed by the refused answers
}

TEST_P(QuestionnaireTest, AChoiceItsTargetFieldRefusesIsRefusedWhenDefined) {
  ASSERT_TRUE(customers_->define_custom_field(
      {.key = "niveau", .label = "Niveau", .type = customers::CustomFieldType::kChoice, .choices = {"bronze", "argent", "or"}},
      actor_));
  Questionnaire q;
  q.slug = "niveau";
  q.title = "Votre niveau";
  q.sections.push_back({.key = "fidelite", .title = "Fidélité",
                        .questions = {{.key = "niveau", .label = "Niveau", .type = QuestionType::kChoice,
                                       .target = "custom_fields.niveau", .choices = {"Bronze", "diamant"}}}});
  auto refused = svc_->create(q, actor_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "sections[0].questions[0].choices[1]");
  EXPECT_NE(refused.error().message.find("'diamant'"), std::string::npos) << refused.error().message;
  q.sections[0].questions[0].type = QuestionType::kMultiChoice;  // the field holds one value
  EXPECT_EQ(svc_->create(q, actor_).error().field, "sections[0].questions[0].target");
  q.sections[0].questions[0].type = QuestionType::kChoice;
  q.sections[0].questions[0].choices = {"Bronze", "Or"};  // case aside, the field's own choices
  EXPECT_TRUE(svc_->create(q, actor_));
}

TEST_P(QuestionnaireTest, PairsThatCouldNeverBeAnsweredAreRefusedWhenDefined) {
  using customers::CustomFieldType;
  ASSERT_TRUE(customers_->define_custom_field({.key = "nb_chiens", .label = "Chiens", .type = CustomFieldType::kInteger}, actor_));
  ASSERT_TRUE(customers_->define_custom_field({.key = "poids", .label = "Poids", .type = CustomFieldType::kNumber}, actor_));
  ASSERT_TRUE(customers_->define_custom_field({.key = "papier", .label = "Papier", .type = CustomFieldType::kBoolean}, actor_));
  ASSERT_TRUE(customers_->define_custom_field({.key = "depuis", .label = "Depuis", .type = CustomFieldType::kDate}, actor_));
  ASSERT_TRUE(customers_->define_custom_field({.key = "note", .label = "Note", .type = CustomFieldType::kText}, actor_));
  ASSERT_TRUE(customers_->define_custom_field(
      {.key = "taille", .label = "Taille", .type = CustomFieldType::kChoice, .choices = {"S", "M", "L"}}, actor_));
  int n = 0;
  auto define = [&](QuestionType type, std::string target, std::vector<std::string> choices = {}) {
    Questionnaire q;
    q.slug = fmt::format("paire-{}", ++n);
    q.title = "Une question";
    q.sections.push_back({.key = "s", .title = "", .questions = {{.key = "q", .label = "Question", .type = type,
                                                                  .target = std::move(target), .choices = std::move(choices)}}});
    return svc_->create(q, actor_);
  };
  auto refused = [&](Result<Questionnaire> r, std::string_view field) {
    if (r) return ::testing::AssertionFailure() << "accepted";
    if (r.error().field != field) return ::testing::AssertionFailure() << r.error().field << ": " << r.error().message;
    return ::testing::AssertionSuccess();
  };
  const std::string target = "sections[0].questions[0].target";
  // A yes/no answer goes to a consent or a boolean field only.
  auto boolean = define(QuestionType::kBoolean, "custom_fields.nb_chiens");
  EXPECT_TRUE(refused(boolean, target));
  EXPECT_NE(boolean.error().message.find("a boolean question needs a boolean target"), std::string::npos) << boolean.error().message;
  EXPECT_TRUE(refused(define(QuestionType::kBoolean, "custom_fields.note"), target));
  EXPECT_TRUE(define(QuestionType::kBoolean, "custom_fields.papier"));
  // No custom field holds several values: a multiple choice would keep only its first pick.
  EXPECT_TRUE(refused(define(QuestionType::kMultiChoice, "custom_fields.taille", {"S", "M"}), target));
  EXPECT_TRUE(refused(define(QuestionType::kMultiChoice, "custom_fields.note", {"a", "b"}), target));
  EXPECT_TRUE(refused(define(QuestionType::kMultiChoice, "civility", {"Mme", "M."}), target));
  // A choice the target refuses.
  auto civility = define(QuestionType::kChoice, "civility", {"Mme", "Monseigneur"});
  EXPECT_TRUE(refused(civility, "sections[0].questions[0].choices[1]"));
  EXPECT_NE(civility.error().message.find("'Monseigneur'"), std::string::npos) << civility.error().message;
  EXPECT_TRUE(define(QuestionType::kChoice, "civility", {"Madame", "Monsieur", "Dr"}));
  EXPECT_TRUE(refused(define(QuestionType::kChoice, "custom_fields.nb_chiens", {"1", "2"}), target));
  EXPECT_TRUE(refused(define(QuestionType::kChoice, "custom_fields.papier", {"oui", "non"}), target));
  EXPECT_TRUE(define(QuestionType::kChoice, "custom_fields.note", {"bien", "moyen"}));
  // Children fill the household, nothing else; text cannot say yes or no; a date is not a number.
  EXPECT_TRUE(refused(define(QuestionType::kChildren, "custom_fields.note"), target));
  EXPECT_TRUE(refused(define(QuestionType::kText, "custom_fields.papier"), target));
  EXPECT_TRUE(refused(define(QuestionType::kDate, "custom_fields.nb_chiens"), target));
  EXPECT_TRUE(refused(define(QuestionType::kDate, "custom_fields.poids"), target));
  EXPECT_TRUE(refused(define(QuestionType::kDate, "custom_fields.taille"), target));

  // What is accepted can be answered.
  auto text_integer = define(QuestionType::kText, "custom_fields.nb_chiens");
  auto text_number = define(QuestionType::kText, "custom_fields.poids");
  auto date_date = define(QuestionType::kDate, "custom_fields.depuis");
  auto date_text = define(QuestionType::kDate, "custom_fields.note");
  auto text_choice = define(QuestionType::kText, "custom_fields.taille");
  auto yes_no = define(QuestionType::kBoolean, "custom_fields.papier");
  for (auto* q : {&text_integer, &text_number, &date_date, &date_text, &text_choice, &yes_no}) ASSERT_TRUE(*q) << q->error().message;
  auto answer = [&](const Questionnaire& q, AnswerValue v) {
    auto token = svc_->issue_link(q.id, customer_, 86'400'000, actor_);
    EXPECT_TRUE(token);
    auto r = svc_->answer(*token, {{"q", std::move(v)}});
    EXPECT_TRUE(r) << q.sections[0].questions[0].target << ": " << r.error().message;
  };
  answer(*text_integer, std::string("3"));
  answer(*text_number, std::string("12,5"));
  answer(*date_date, std::string("14/02/2019"));
  answer(*date_text, std::string("2019-02-14"));
  answer(*text_choice, std::string("m"));
  answer(*yes_no, true);
  auto c = customers_->get(customer_);
  EXPECT_EQ(std::get<int64_t>(c->custom_fields.at("nb_chiens")), 3);
  EXPECT_DOUBLE_EQ(std::get<double>(c->custom_fields.at("poids")), 12.5);
  EXPECT_EQ(std::get<std::string>(c->custom_fields.at("depuis")), "2019-02-14");
  EXPECT_EQ(std::get<std::string>(c->custom_fields.at("taille")), "M");
  EXPECT_TRUE(std::get<bool>(c->custom_fields.at("papier")));
  // A number too large for its field is refused, naming the question, not stored as the largest one.
  auto token = svc_->issue_link(text_integer->id, customer_, 86'400'000, actor_);
  ASSERT_TRUE(token);
  auto huge = svc_->answer(*token, {{"q", std::string("99999999999999999999")}});
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("too large"), std::string::npos) << huge.error().message;
  EXPECT_EQ(std::get<int64_t>(customers_->get(customer_)->custom_fields.at("nb_chiens")), 3);
}

TEST_P(QuestionnaireTest, EmptyOrDuplicateChoicesAreRefused) {
  auto with_choices = [&](std::vector<std::string> choices) {
    Questionnaire q = qualification();
    q.sections[3].questions[0].choices = std::move(choices);  // rayons -> affinities
    return svc_->create(q, actor_);
  };
  const std::string f = "sections[3].questions[0].choices";
  auto twice = with_choices({"jardin", "a", "A"});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, f + "[2]");
  EXPECT_NE(twice.error().message.find("choices[1] ('a')"), std::string::npos) << twice.error().message;
  EXPECT_EQ(with_choices({"Crème", "creme"}).error().field, f + "[1]");
  EXPECT_EQ(with_choices({"jardin", ""}).error().field, f + "[1]");
  EXPECT_EQ(with_choices({"jardin", "   "}).error().field, f + "[1]");
  EXPECT_EQ(with_choices({"jardin", "-"}).error().field, f + "[1]");
  // Choices are kept one a line: a line break would make two of one.
  EXPECT_EQ(with_choices({"jardin\ncuisine"}).error().field, f + "[0]");
  auto ok = with_choices({" Jardin ", "Cuisine", "Crème glacée"});
  ASSERT_TRUE(ok) << ok.error().field << ": " << ok.error().message;
  EXPECT_EQ(svc_->get(ok->id)->sections[3].questions[0].choices, (std::vector<std::string>{"Jardin", "Cuisine", "Crème glacée"}));
}

TEST_P(QuestionnaireTest, BadAnswersNameTheQuestionAndChangeNothing) {
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q);
  auto token = *svc_->issue_link(q->id, customer_, 86'400'000, actor_);
  auto r = svc_->answer(token, {{"mobile", std::string("06 11 11 11 12")}, {"naissance", std::string("31/02/1990")}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "answers.naissance");
  EXPECT_TRUE(customers_->get(customer_)->phones.empty());  // nothing applied
  EXPECT_EQ(svc_->answer(token, {{"rayons", std::vector<std::string>{"voyages"}}}).error().field, "answers.rayons");
  EXPECT_EQ(svc_->answer(token, {{"nope", true}}).error().field, "answers.nope");
  EXPECT_EQ(svc_->answer(token, {{"newsletter", std::string("oui")}}).error().field, "answers.newsletter");
  // The person answering is there to correct it: no number, no answer.
  EXPECT_EQ(svc_->answer(token, {{"mobile", std::string("abc")}}).error().field, "answers.mobile");
  EXPECT_TRUE(customers_->get(customer_)->phones.empty());
  // Control characters in text: NUL, line breaks, tabs, C1.
  for (std::string bad : {std::string("Ly\0on", 5), std::string("Lyon\nParis"), std::string("Lyon\r"), std::string("Ly\ton"),
                          std::string("Lyon\xC2\x85")}) {
    auto r = svc_->answer(token, {{"ville", bad}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "answers.ville");
  }
  // A child is someone: a first name or a birth date.
  EXPECT_EQ(svc_->answer(token, {{"enfants", std::vector<Child>{{}}}}).error().field, "answers.enfants[0]");
  EXPECT_EQ(svc_->answer(token, {{"enfants", std::vector<Child>{{std::string("Léo"), std::nullopt}, {std::string(" "), std::string("")}}}})
                .error()
                .field,
            "answers.enfants[1]");
  EXPECT_EQ(svc_->answer(token, {{"enfants", std::vector<Child>{{std::string("Léo\nTom"), std::nullopt}}}}).error().field,
            "answers.enfants[0].first_name");
  // A child's date that is none names that child's birth date.
  EXPECT_EQ(svc_->answer(token, {{"enfants", std::vector<Child>{{std::string("Léo"), std::string("2015-05-02")},
                                                                {std::string("Zoé"), std::string("31/02/2018")}}}})
                .error()
                .field,
            "answers.enfants[1].birth_date");
  auto c = customers_->get(customer_);
  EXPECT_FALSE(c->address.city);
  EXPECT_TRUE(c->household.empty());
  ASSERT_TRUE(svc_->answer(token, {{"enfants", std::vector<Child>{{std::nullopt, std::string("2016-05-01")}}}}));
  c = customers_->get(customer_);
  ASSERT_EQ(c->household.size(), 1u);
  EXPECT_EQ(c->household[0].birth_date, "2016-05-01");
  EXPECT_FALSE(c->household[0].first_name);
}

TEST_P(QuestionnaireTest, AnEmailOfAnotherCustomerIsFlaggedAndTellsTheLinkHolderNothing) {
  customers::CustomerInput other;
  other.last_name = "Autre";
  other.emails = std::vector<customers::EmailAddress>{{"jeanne.dupont@orange.fr", ""}};
  ASSERT_TRUE(customers_->create(other, actor_));
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q);
  auto token = *svc_->issue_link(q->id, customer_, 86'400'000, actor_);
  audit::Actor visitor{"public", std::nullopt, "", "127.0.0.1", "r1"};
  auto r = svc_->answer(token, {{"courriel", std::string("Jeanne.Dupont@orange.fr")}, {"ville", std::string("Lyon")}}, visitor);
  ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;  // taken like any answer
  auto c = customers_->get(customer_);
  ASSERT_EQ(c->emails.size(), 1u);
  EXPECT_EQ(c->emails[0].email, "claire.morel@exemple.fr");  // the profile keeps its own
  EXPECT_EQ(c->address.city, "Lyon");                       // the other answers apply
  auto flags = customers_->flags(customer_);
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].value, "Jeanne.Dupont@orange.fr");
  EXPECT_EQ((*flags)[0].source, "questionnaire");
  EXPECT_NE((*flags)[0].reason.find("likely duplicate"), std::string::npos);
  EXPECT_EQ(svc_->open(token)->answered, (std::vector<std::string>{"courriel", "ville"}));

  // A throwaway address given through a questionnaire is flagged, as by the API.
  ASSERT_TRUE(svc_->answer(token, {{"courriel", std::string("claire@yopmail.com")}}, visitor));
  flags = customers_->flags(customer_);
  ASSERT_EQ(flags->size(), 2u);
  EXPECT_TRUE(std::any_of(flags->begin(), flags->end(), [](const customers::QualityFlag& f) {
    return f.value == "claire@yopmail.com" && f.source == "questionnaire" && f.reason.starts_with("disposable");
  }));
}

TEST_P(QuestionnaireTest, ANumberOrAddressTheProfileHasKeepsItsEntry) {
  customers::CustomerInput in;
  in.last_name = "Roux";
  in.emails = std::vector<customers::EmailAddress>{{"Paul.Roux@exemple.fr", "perso"}};
  in.phones = std::vector<customers::Phone>{{.raw = "04 78 00 00 01", .label = "fixe"}, {.raw = "07 80 28 00 95", .label = "mobile"}};
  auto c = customers_->create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q);
  auto token = *svc_->issue_link(q->id, c->id, 86'400'000, actor_);
  auto r = svc_->answer(token, {{"mobile", std::string("07.80.28.00.95")}, {"courriel", std::string("paul.roux@exemple.fr")}});
  ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
  auto after = customers_->get(c->id);
  ASSERT_EQ(after->phones.size(), 2u);
  EXPECT_EQ(after->phones[0].raw, "07 80 28 00 95");  // as it was written, first now: the answer
  EXPECT_EQ(after->phones[0].label, "mobile");
  EXPECT_EQ(after->phones[1].raw, "04 78 00 00 01");
  EXPECT_EQ(after->phones[1].label, "fixe");
  ASSERT_EQ(after->emails.size(), 1u);
  EXPECT_EQ(after->emails[0].email, "Paul.Roux@exemple.fr");
  EXPECT_EQ(after->emails[0].label, "perso");
  // A new number is added first, labelled as given through the questionnaire.
  ASSERT_TRUE(svc_->answer(token, {{"mobile", std::string("06 11 22 33 44")}}));
  after = customers_->get(c->id);
  ASSERT_EQ(after->phones.size(), 3u);
  EXPECT_EQ(after->phones[0].raw, "06 11 22 33 44");
  EXPECT_EQ(after->phones[0].label, "questionnaire");
  EXPECT_EQ(after->phones[1].label, "mobile");
}

TEST_P(QuestionnaireTest, LinksAreSignedAndExpire) {
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q);
  auto token = *svc_->issue_link(q->id, customer_, 86'400'000, actor_);
  std::string forged = token;
  forged[3] = forged[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(svc_->open(forged).error().code, Code::kUnauthenticated);
  EXPECT_EQ(svc_->open("garbage").error().field, "token");
  clock_.advance(86'400'001);
  EXPECT_EQ(svc_->open(token).error().code, Code::kUnauthenticated);
}

// Every wrong answer is named at once, and nothing of the others is stored.
TEST_P(QuestionnaireTest, EveryWrongAnswerIsNamed) {
  auto q = svc_->create(qualification(), actor_);
  ASSERT_TRUE(q);
  auto token = svc_->issue_link(q->id, customer_, 86'400'000, actor_);
  ASSERT_TRUE(token);
  std::vector<Child> kids{{"Léo", std::nullopt}, {std::nullopt, std::nullopt}, {"Zoé", "zz"}};
  auto r = svc_->answer(*token, {{"naissance", std::string("hier")},
                                 {"mobile", std::string("0612")},
                                 {"enfants", kids},
                                 {"ville", std::string("Lyon")},
                                 {"inconnue", std::string("x")}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "answers.naissance");
  std::vector<std::string> fields;
  for (const FieldError& e : r.error().more) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"answers.mobile", "answers.enfants[1]", "answers.enfants[2].birth_date",
                                              "answers.inconnue"}));
  EXPECT_FALSE(customers_->get(customer_)->address.city);
  // A child's field the profile refuses names the child.
  auto bar = svc_->answer(*token, {{"enfants", std::vector<Child>{{"Léo", std::nullopt}, {"a|b", std::nullopt}}}});
  ASSERT_FALSE(bar);
  EXPECT_EQ(bar.error().field, "answers.enfants[1].first_name");
}

TEST_P(QuestionnaireTest, DefinitionsAreChecked) {
  Questionnaire bad = qualification();
  bad.sections[0].questions[0].target = "shoe_size";
  EXPECT_EQ(svc_->create(bad, actor_).error().field, "sections[0].questions[0].target");
  bad = qualification();
  bad.sections[1].questions[0].type = QuestionType::kBoolean;  // a boolean cannot fill birth_date
  EXPECT_EQ(svc_->create(bad, actor_).error().field, "sections[1].questions[0].target");
  bad = qualification();
  bad.sections[4].questions[0].target = "consent:pigeon:newsletter";
  EXPECT_EQ(svc_->create(bad, actor_).error().field, "sections[4].questions[0].target");
  // One field filled by two questions: one answer would overwrite the other.
  bad = qualification();
  bad.sections[4].questions.push_back(
      {"offres", "Recevoir nos offres", QuestionType::kBoolean, "consent:email:newsletter", {}, false});
  auto twice = svc_->create(bad, actor_);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "sections[4].questions[1].target");
  EXPECT_EQ(twice.error().message,
            "'consent:email:newsletter' is already filled by sections[4].questions[0]: one answer would overwrite the other");
  bad = qualification();
  bad.sections[2].questions.push_back({"ville2", "Ville de vacances", QuestionType::kText, "city", {}, false});
  EXPECT_EQ(svc_->create(bad, actor_).error().field, "sections[2].questions[1].target");
  // Lists take several: affinities each question offers, e-mails and phones.
  Questionnaire lists = qualification();
  lists.slug = "listes";
  lists.sections[3].questions.push_back(
      {"rayons2", "Et pour la maison", QuestionType::kMultiChoice, "affinities", {"linge", "literie"}, false});
  lists.sections[0].questions.push_back({"fixe", "Votre fixe", QuestionType::kText, "phone", {}, false});
  EXPECT_TRUE(svc_->create(lists, actor_));
  ASSERT_TRUE(svc_->create(qualification(), actor_));
  EXPECT_EQ(svc_->create(qualification(), actor_).error().code, Code::kAlreadyExists);
}

TEST_P(QuestionnaireTest, LengthLimitsCountCharactersNotBytes) {
  ASSERT_TRUE(customers_->define_custom_field(
      {.key = "couleur", .label = "Couleur", .type = customers::CustomFieldType::kText}, actor_));
  auto e = [](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += "é";
    return s;
  };
  auto make = [&](std::string slug) {
    Questionnaire q;
    q.slug = std::move(slug);
    q.title = e(200);  // 400 bytes
    q.intro = e(2000);
    q.sections.push_back({.key = "gouts", .title = e(200),
                          .questions = {{.key = "couleur", .label = e(500), .type = QuestionType::kChoice,
                                         .target = "custom_fields.couleur", .choices = {e(200), "bleu"}}}});
    return q;
  };
  auto longest = svc_->create(make("longest"), actor_);
  ASSERT_TRUE(longest) << longest.error().field << ": " << longest.error().message;
  EXPECT_EQ(svc_->get(longest->id)->title, e(200));

  Questionnaire q = make("too-long");
  q.title = e(201);
  auto r = svc_->create(q, actor_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "title");
  EXPECT_EQ(r.error().message, "must be 1 to 200 characters");
  q = make("too-long");
  q.intro = e(2001);
  EXPECT_EQ(svc_->create(q, actor_).error().field, "intro");
  q = make("too-long");
  q.sections[0].title = e(201);
  EXPECT_EQ(svc_->create(q, actor_).error().field, "sections[0].title");
  q = make("too-long");
  q.sections[0].questions[0].label = e(501);
  r = svc_->create(q, actor_);
  EXPECT_EQ(r.error().field, "sections[0].questions[0].label");
  EXPECT_EQ(r.error().message, "is longer than 500 characters");
  q = make("too-long");
  q.sections[0].questions[0].choices[1] = e(201);
  EXPECT_EQ(svc_->create(q, actor_).error().field, "sections[0].questions[0].choices[1]");
}

INSTANTIATE_TEST_SUITE_P(Drivers, QuestionnaireTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::questionnaires
