// Merging on both drivers: candidates, survivorship, merge and unmerge, the review queue, creates
// with detection, and the whole-base run.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "merging/merging.h"
#include "storage/test_db.h"

namespace fidelis::merging {
namespace {

using customers::Customer;
using customers::CustomerInput;

// ---- survivorship (pure) ----

Customer person(int64_t id, Millis updated) {
  Customer c;
  c.id = id;
  c.updated_at = updated;
  return c;
}

TEST(Survivorship, SourcePriorityThenRecencyPerField) {
  Customer w = person(1, 100), l = person(2, 200);
  w.first_name = "Helene";
  l.first_name = "Hélène";
  w.last_name = "LEVY";
  l.last_name = "Lévy";
  w.birth_date = "1984-07-09";
  w.address = {"12 rue de la Roquette", std::nullopt, "75011", "Paris", "FR"};
  l.address = {"3 avenue Jean Jaurès", std::nullopt, "69007", "Lyon", "FR"};
  w.emails = {{"helene@exemple.fr", ""}};
  l.emails = {{"HELENE@exemple.fr", ""}, {"h.levy@travail.fr", "travail"}};
  w.tags = {"vip"};
  l.tags = {"newsletter", "vip"};
  w.consents = {{customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "api", 100}};
  l.consents = {{customers::Channel::kEmail, customers::Purpose::kNewsletter, false, "web-form", 300},
                {customers::Channel::kSms, customers::Purpose::kOffers, true, "import", 50}};

  // One name written twice is one value: the accented, mixed-case writing is kept, whatever the
  // priorities (a shop's old system writes without accents); the address is the most recent one.
  Survived s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  EXPECT_EQ(s.input.first_name, "Hélène");
  EXPECT_EQ(s.input.last_name, "Lévy");
  auto written = std::find_if(s.choices.begin(), s.choices.end(), [](const auto& c) { return c.field == "first_name"; });
  ASSERT_NE(written, s.choices.end());
  EXPECT_TRUE(written->from_loser);
  EXPECT_EQ(written->rule, "better written");
  EXPECT_EQ(s.input.birth_date, "1984-07-09");
  EXPECT_EQ(s.input.address->city, "Lyon");
  ASSERT_EQ(s.input.emails->size(), 2u);  // same address in another case is one address
  EXPECT_EQ(s.input.emails->at(0).email, "helene@exemple.fr");
  EXPECT_EQ(s.input.tags, (std::vector<std::string>{"newsletter", "vip"}));
  ASSERT_EQ(s.input.consents->size(), 2u);  // the later refusal and the consent only the loser had
  EXPECT_FALSE(s.input.consents->at(0).granted);

  // Two names: the winner's source ranks higher, its name stays; the loser's ranks higher, its name
  // wins, and says so.
  w.last_name = "Levi";
  s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  EXPECT_EQ(s.input.last_name, "Levi");
  s = survive({&w, 20}, {&l, 80}, Rules::defaults());
  EXPECT_EQ(s.input.first_name, "Hélène");
  EXPECT_EQ(s.input.last_name, "Lévy");
  auto choice = std::find_if(s.choices.begin(), s.choices.end(), [](const auto& c) { return c.field == "last_name"; });
  ASSERT_NE(choice, s.choices.end());
  EXPECT_TRUE(choice->from_loser);
  EXPECT_EQ(choice->rule, "source_priority");

  // Most complete: the longer, accented, mixed-case spelling, whatever the priorities.
  auto rules = parse_rules("first_name=most_complete, last_name=most_complete, address=source_priority");
  ASSERT_TRUE(rules);
  w.last_name = "Lévy-Bruhl";
  s = survive({&w, 20}, {&l, 80}, *rules);
  EXPECT_EQ(s.input.first_name, "Hélène");
  EXPECT_EQ(s.input.last_name, "Lévy-Bruhl");
  EXPECT_EQ(s.input.address->city, "Lyon");
}

// One address written twice ("4 rue Emile Zola" in a newer file without accents): the careful
// writing stays, whatever the rule, and what either side adds is kept.
TEST(Survivorship, OneValueWrittenTwiceKeepsItsCarefulWriting) {
  Customer w = person(1, 100), l = person(2, 200);  // the loser is newer: "most recent" would pick it
  w.first_name = "Hélène";
  w.last_name = "Bérubé";
  w.address = {"4 rue Émile Zola", std::nullopt, "69003", "Lyon", std::nullopt};
  l.first_name = "Helene";
  l.last_name = "BERUBE";
  l.address = {"4 RUE EMILE ZOLA", std::nullopt, "69003", "LYON", "FR"};
  Survived s = survive({&w, 50}, {&l, 50}, Rules::defaults());
  EXPECT_EQ(s.input.first_name, "Hélène");
  EXPECT_EQ(s.input.last_name, "Bérubé");
  EXPECT_EQ(s.input.address->street, "4 rue Émile Zola");
  EXPECT_EQ(s.input.address->city, "Lyon");
  EXPECT_EQ(s.input.address->country, "FR");  // the other side's country fills the gap
  // The other way round: the careful writing comes from the loser, and says so.
  s = survive({&l, 50}, {&w, 50}, Rules::defaults());
  EXPECT_EQ(s.input.last_name, "Bérubé");
  EXPECT_EQ(s.input.address->street, "4 rue Émile Zola");
  auto choice = std::find_if(s.choices.begin(), s.choices.end(), [](const auto& c) { return c.field == "address"; });
  ASSERT_NE(choice, s.choices.end());
  EXPECT_EQ(choice->rule, "better written");
  // A person's own case ("MacDonald") over a file's in capitals, which case-normalisation made
  // "Macdonald"; and punctuation is no accent: the capitals' curly apostrophe does not make them careful.
  Customer mc = person(5, 100), caps = person(6, 200);
  mc.last_name = "MacDonald";
  mc.address = {"12 rue de l'Abbé Groult", std::nullopt, "75015", "Paris", "FR"};
  caps.last_name = "Macdonald";
  caps.address = {"12 RUE DE L\u2019ABB\u00C9 GROULT", std::nullopt, "75015", "PARIS", "FR"};
  for (bool mc_wins : {true, false}) {
    Survived both = mc_wins ? survive({&mc, 50}, {&caps, 50}, Rules::defaults()) : survive({&caps, 50}, {&mc, 50}, Rules::defaults());
    EXPECT_EQ(both.input.last_name, "MacDonald");
    EXPECT_EQ(both.input.address->street, "12 rue de l'Abbé Groult");
  }
  // A complement one side lacks is still the same place (a file without that column).
  w.address.street2 = "Bâtiment B";
  s = survive({&w, 50}, {&l, 50}, Rules::defaults());
  EXPECT_EQ(s.input.address->street, "4 rue Émile Zola");
  EXPECT_EQ(s.input.address->street2, "Bâtiment B");
  // Another street is another address: the rule decides.
  l.address.street = "9 rue Paul Bert";
  s = survive({&w, 50}, {&l, 50}, Rules::defaults());
  EXPECT_EQ(s.input.address->street, "9 rue Paul Bert");
  // What a person typed (rank 100) is a correction, not a careless writing: "Zoe" stays over an
  // old file's "Zoé", by the rules.
  Customer typed = person(3, 300), old = person(4, 100);
  typed.first_name = "Zoe";
  old.first_name = "Zoé";
  EXPECT_EQ(survive({&old, 50}, {&typed, kTypedByPeopleRank}, Rules::defaults()).input.first_name, "Zoe");
  EXPECT_EQ(survive({&typed, kTypedByPeopleRank}, {&old, 50}, Rules::defaults()).input.first_name, "Zoe");
}

TEST(Survivorship, SwappedNamesKeepTheWinnersOrder) {
  Customer w = person(1, 100), l = person(2, 200);  // the loser is newer: "most recent" would pick it
  w.first_name = "Mathieu";
  w.last_name = "Garnier";
  l.first_name = "GARNIER";
  l.last_name = "Mathieu";
  Survived s = survive({&w, 50}, {&l, 50}, Rules::defaults());
  EXPECT_EQ(s.input.first_name, "Mathieu");
  EXPECT_EQ(s.input.last_name, "Garnier");
  // Not swapped: the rules apply per field as before.
  l.first_name = "Matthieu";
  l.last_name = "Garnier";
  s = survive({&w, 50}, {&l, 50}, Rules::defaults());
  EXPECT_EQ(s.input.first_name, "Matthieu");
}

TEST(Records, ASwitchboardNumberIsNoOnesOwn) {
  // Colleagues reached through one switchboard, each at an extension: the number says nothing of
  // who they are, so matching leaves it out; a number of one's own counts.
  customers::CustomerInput in;
  in.phones = std::vector<customers::Phone>{customers::normalize_phone("01 42 68 53 00 poste 12"),
                                            customers::normalize_phone("06 12 34 56 87")};
  EXPECT_EQ(record_of(in).phone_e164, "+33612345687");
  in.phones->pop_back();
  EXPECT_EQ(record_of(in).phone_e164, "");
  Customer c;
  c.phones = *in.phones;
  EXPECT_EQ(record_of(c).phone_e164, "");
  // A merge keeps both lines of one switchboard.
  Customer w = person(1, 100), l = person(2, 200);
  w.phones = {customers::normalize_phone("01 42 68 53 00")};
  l.phones = {customers::normalize_phone("01 42 68 53 00 poste 12")};
  EXPECT_EQ(survive({&w, 50}, {&l, 50}, Rules::defaults()).input.phones->size(), 2u);
}

TEST(Survivorship, ABirthdayWithoutAYearNeverErasesTheYear) {
  Customer w = person(1, 100), l = person(2, 200);
  w.birth_date = "--05-12";  // a loyalty card's day and month, from the higher source
  l.birth_date = "1984-05-12";
  EXPECT_EQ(survive({&w, 80}, {&l, 20}, Rules::defaults()).input.birth_date, "1984-05-12");
  Survived s = survive({&l, 20}, {&w, 80}, Rules::defaults());
  EXPECT_EQ(s.input.birth_date, "1984-05-12");
  auto choice = std::find_if(s.choices.begin(), s.choices.end(), [](const auto& c) { return c.field == "birth_date"; });
  ASSERT_NE(choice, s.choices.end());
  EXPECT_EQ(choice->rule, "year kept");
  EXPECT_FALSE(choice->from_loser);  // the winner (l here) had the year
  s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  choice = std::find_if(s.choices.begin(), s.choices.end(), [](const auto& c) { return c.field == "birth_date"; });
  ASSERT_NE(choice, s.choices.end());
  EXPECT_TRUE(choice->from_loser);
  // A child of the same first name keeps the year one side knows.
  w.household = {{"enfant", "Léa", "--04-02"}};
  l.household = {{"enfant", "Léa", "2015-04-02"}, {"enfant", "Tom", std::nullopt}};
  s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  ASSERT_EQ(s.input.household->size(), 2u);
  EXPECT_EQ(s.input.household->at(0).birth_date, "2015-04-02");
  // Another day is another answer: the rules decide, as for any field.
  w.birth_date = "--06-12";
  EXPECT_EQ(survive({&w, 80}, {&l, 20}, Rules::defaults()).input.birth_date, "--06-12");
  EXPECT_EQ(customers::with_birth_year(std::string("--05-12"), std::nullopt), "--05-12");
  EXPECT_EQ(customers::with_birth_year(std::nullopt, std::string("1984-05-12")), std::nullopt);
  EXPECT_EQ(customers::with_birth_year(std::string("1990-05-12"), std::string("1984-05-12")), "1990-05-12");
}

TEST(Survivorship, TheSameAddressLessCompleteKeepsTheStreet) {
  // The newer record knows only the postcode and city of the same place: taking "its" address must
  // not wipe the street the older one gave.
  Customer w = person(1, 100), l = person(2, 200);
  w.address = {"12 rue de la République", std::nullopt, "69002", "Lyon", "FR"};
  l.address = {std::nullopt, std::nullopt, "69002", "LYON", std::nullopt};
  Survived s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  ASSERT_TRUE(s.input.address);
  EXPECT_EQ(s.input.address->street, "12 rue de la République");
  EXPECT_EQ(s.input.address->city, "Lyon");  // one city written twice: the careful writing
  EXPECT_EQ(s.input.address->country, "FR");

  // Another place altogether moves as one: no street from one side with the city of the other.
  l.address = {std::nullopt, std::nullopt, "33000", "Bordeaux", "FR"};
  s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  EXPECT_FALSE(s.input.address->street);
  EXPECT_EQ(s.input.address->city, "Bordeaux");
  // Two different streets in the same town are two addresses, too.
  l.address = {"3 place Bellecour", std::nullopt, "69002", "Lyon", "FR"};
  s = survive({&w, 80}, {&l, 20}, Rules::defaults());
  EXPECT_EQ(s.input.address->street, "3 place Bellecour");
}

TEST(Survivorship, AnImportedGrantNeverBeatsAWithdrawal) {
  Customer w = person(1, 100), l = person(2, 200);
  using customers::Channel, customers::Purpose;
  w.consents = {{Channel::kEmail, Purpose::kNewsletter, false, "api", 1000}};    // the person withdrew
  l.consents = {{Channel::kEmail, Purpose::kNewsletter, true, "salon", 2000}};   // a later file said yes
  Survived s = survive({&w, 50}, {&l, 50}, Rules::defaults(), {"salon"});
  EXPECT_TRUE(s.input.consents->empty());  // the winner's withdrawal stays
  // The other way round: the loser's withdrawal beats the winner's imported grant.
  std::swap(w.consents, l.consents);
  s = survive({&w, 50}, {&l, 50}, Rules::defaults(), {"salon"});
  ASSERT_EQ(s.input.consents->size(), 1u);
  EXPECT_FALSE((*s.input.consents)[0].granted);
  // A grant the person made later (not an import's) wins, as the latest decision.
  w.consents = {{Channel::kEmail, Purpose::kNewsletter, false, "api", 1000}};
  l.consents = {{Channel::kEmail, Purpose::kNewsletter, true, "questionnaire", 2000}};
  s = survive({&w, 50}, {&l, 50}, Rules::defaults(), {"salon"});
  ASSERT_EQ(s.input.consents->size(), 1u);
  EXPECT_TRUE((*s.input.consents)[0].granted);
}

// Two decisions both dated (a source's date, or when the person acted in Fidelis): the later one,
// whoever recorded it; an import's undated word is weighed as before.
TEST(Survivorship, DatedDecisionsAreWeighedByTheirDates) {
  Customer w = person(1, 100), l = person(2, 200);
  using customers::Channel, customers::Purpose;
  const std::set<std::string> imports = {"salon", "brevo"};
  // A file's opt-in confirmed in 2025, another's opt-out of 2024 recorded later: the opt-in stays.
  w.consents = {{Channel::kEmail, Purpose::kNewsletter, true, "salon", 5000, Millis{3000}}};
  l.consents = {{Channel::kEmail, Purpose::kNewsletter, false, "brevo", 6000, Millis{2000}}};
  Survived s = survive({&w, 50}, {&l, 50}, Rules::defaults(), imports);
  EXPECT_TRUE(s.input.consents->empty());
  // The other way round: the loser's later-dated opt-in beats the winner's older opt-out.
  std::swap(w.consents, l.consents);
  s = survive({&w, 50}, {&l, 50}, Rules::defaults(), imports);
  ASSERT_EQ(s.input.consents->size(), 1u);
  EXPECT_TRUE((*s.input.consents)[0].granted);
  // An opt-out dated before the person subscribed on a form (recorded at 4000) does not undo it.
  w.consents = {{Channel::kEmail, Purpose::kNewsletter, true, "web-form", 4000}};
  l.consents = {{Channel::kEmail, Purpose::kNewsletter, false, "brevo", 6000, Millis{2000}}};
  s = survive({&w, 50}, {&l, 50}, Rules::defaults(), imports);
  EXPECT_TRUE(s.input.consents->empty());
  // A file's opt-in confirmed after the person unsubscribed in Fidelis (recorded at 1000) wins.
  w.consents = {{Channel::kEmail, Purpose::kNewsletter, false, "api", 1000}};
  l.consents = {{Channel::kEmail, Purpose::kNewsletter, true, "salon", 9000, Millis{2000}}};
  s = survive({&w, 50}, {&l, 50}, Rules::defaults(), imports);
  ASSERT_EQ(s.input.consents->size(), 1u);
  EXPECT_TRUE((*s.input.consents)[0].granted);
  // An undated imported opt-in is not dated by its recording: the dated opt-out stays.
  w.consents = {{Channel::kEmail, Purpose::kNewsletter, false, "brevo", 1000, Millis{500}}};
  l.consents = {{Channel::kEmail, Purpose::kNewsletter, true, "salon", 9000}};
  s = survive({&w, 50}, {&l, 50}, Rules::defaults(), imports);
  EXPECT_TRUE(s.input.consents->empty());
}

TEST(Survivorship, AnEmptySideNeverWinsAndBadRulesAreNamed) {
  Customer w = person(1, 500), l = person(2, 100);
  w.first_name = "Jean";
  l.last_name = "Dupont";
  l.birth_date = "1970-01-02";
  Survived s = survive({&w, 90}, {&l, 10}, Rules::defaults());
  EXPECT_EQ(s.input.first_name, "Jean");
  EXPECT_EQ(s.input.last_name, "Dupont");
  EXPECT_EQ(s.input.birth_date, "1970-01-02");
  EXPECT_EQ(parse_rules("nom=most_recent").error().field, "survivorship");
  EXPECT_NE(parse_rules("first_name=newest").error().message.find("newest"), std::string::npos);
  EXPECT_EQ(parse_rules("first_name").error().field, "survivorship");
}

// ---- in the database ----

class MergingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    customers_ = std::make_unique<customers::CustomerService>(*t_.db, clock_);
    svc_ = std::make_unique<MergeService>(*t_.db, clock_);
  }

  Customer make(CustomerInput in) {
    auto c = customers_->create(std::move(in), actor_);
    EXPECT_TRUE(c) << c.error().field << ": " << c.error().message;
    clock_.advance(1000);
    return c ? *c : Customer{};
  }

  static CustomerInput input(std::string first, std::string last, std::string email, std::string phone,
                             std::string postcode = "75011", std::string street = "12 rue de la Roquette") {
    CustomerInput in;
    in.first_name = std::move(first);
    in.last_name = std::move(last);
    if (!email.empty()) in.emails = std::vector<customers::EmailAddress>{{std::move(email), ""}};
    if (!phone.empty()) in.phones = std::vector<customers::Phone>{{.raw = std::move(phone)}};
    in.address = customers::Address{std::move(street), std::nullopt, std::move(postcode), "Paris", "FR"};
    return in;
  }

  std::string document(int64_t id) {
    auto d = customers_->get_document(id, true);
    return d ? d->json : "";
  }

  int64_t count(const std::string& sql, int64_t id) {
    storage::Value p[] = {id};
    auto r = t_.db->one(sql, p);
    return r && *r ? (*r)->i64(0) : -1;
  }

  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<customers::CustomerService> customers_;
  std::unique_ptr<MergeService> svc_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(MergingTest, CandidatesComeFromEveryIndexedBlockAndAreScored) {
  Customer helene = make(input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87"));
  Customer other = make(input("Marc", "Durand", "marc@exemple.fr", "07 11 22 33 44", "33000", "1 cours Victor Hugo"));
  (void)other;
  dedup::Model model = dedup::Model::default_french();
  auto in_tx = [&](const dedup::Record& r) {
    std::vector<Candidate> out;
    EXPECT_TRUE(t_.db->read([&](storage::Tx& tx) -> Status {
      FIDELIS_ASSIGN_OR_RETURN(out, find_candidates(tx, r, model));
      return ok();
    }));
    return out;
  };
  // Same person, new e-mail, phone written differently: found through the phone and the name.
  dedup::Record r{.first_name = "Helene", .last_name = "LEVY", .email = "h.levy@gmail.com", .phone_e164 = "+33612345687",
                  .street = "12 rue de la Roquette", .postcode = "75011", .city = "Paris"};
  auto found = in_tx(r);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].customer_id, helene.id);
  EXPECT_EQ(found[0].decision, dedup::Decision::kMerge);
  // Names swapped, nothing else: the name block in the other order finds her, to review at most.
  dedup::Record swapped{.first_name = "Lévy", .last_name = "Hélène", .postcode = "75011", .city = "Paris"};
  found = in_tx(swapped);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].customer_id, helene.id);
  // Another surname (married) but the same first name and birth date block.
  ASSERT_TRUE(customers_->update(helene.id, helene.version, [] {
    CustomerInput u;
    u.birth_date = "1984-07-09";
    return u;
  }(), actor_));
  dedup::Record married{.first_name = "Hélène", .last_name = "Levi", .email = "helene.levy@orange.fr",
                        .birth_date = "1984-07-09", .postcode = "75011"};
  found = in_tx(married);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].customer_id, helene.id);
  // A stranger finds nobody; the record itself is excluded.
  EXPECT_TRUE(in_tx({.first_name = "Paul", .last_name = "Martin", .email = "paul@exemple.fr"}).empty());
  dedup::Record self = record_of(*customers_->get(helene.id));
  std::vector<Candidate> none;
  ASSERT_TRUE(t_.db->read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(none, find_candidates(tx, self, model, helene.id));
    return ok();
  }));
  EXPECT_TRUE(none.empty());
}

// An address finds the customers of the same mailbox written otherwise: a "+tag", Gmail's dots,
// googlemail.com; through the database's index, the index in memory, and once stored addresses
// are given their keys at the first start.
TEST_P(MergingTest, CandidatesComeThroughTheMailboxAnAddressDeliversTo) {
  Customer jm = make(input("Jean-Marc", "Dupuis", "jeanmarc.dupuis@gmail.com", ""));
  Customer tagged = make(input("Marie", "Le Goff", "Marie.LeGoff+boutique@orange.fr", ""));
  make(input("Paul", "Martin", "paul.martin@orange.fr", ""));
  dedup::Model model = dedup::Model::default_french();
  auto found_by = [&](const std::string& first, const std::string& last, const std::string& email) {
    dedup::Record r{.first_name = first, .last_name = last, .email = email};
    std::vector<std::pair<int64_t, dedup::Decision>> sql, memory;
    EXPECT_TRUE(t_.db->read([&](storage::Tx& tx) -> Status {
      FIDELIS_ASSIGN_OR_RETURN(std::vector<Candidate> a, find_candidates(tx, r, model));
      for (const Candidate& c : a) sql.emplace_back(c.customer_id, c.decision);
      auto index = KeyIndex::load(*t_.db);
      if (!index) return index.error();
      FIDELIS_ASSIGN_OR_RETURN(std::vector<Candidate> b, score_candidates(tx, r, index->candidates(r), model));
      for (const Candidate& c : b) memory.emplace_back(c.customer_id, c.decision);
      return ok();
    }));
    EXPECT_EQ(sql, memory) << email;
    return sql;
  };
  using Found = std::vector<std::pair<int64_t, dedup::Decision>>;
  for (const char* variant : {"jean.marc.dupuis@gmail.com", "JeanMarc.Dupuis+promo@GMAIL.com", "jeanmarc.dupuis@googlemail.com",
                              "jeanmarcdupuis@gmail.com"})
    EXPECT_EQ(found_by("Jean-Marc", "Dupuis", variant), (Found{{jm.id, dedup::Decision::kMerge}})) << variant;
  // The tag on the stored side: the bare address finds it; another mailbox of the domain does not.
  EXPECT_EQ(found_by("Marie", "Le Goff", "marie.legoff@orange.fr"), (Found{{tagged.id, dedup::Decision::kMerge}}));
  EXPECT_TRUE(found_by("Marie", "Le Goff", "marielegoff@orange.fr").empty());  // dots count outside Gmail
  // An undone merge writes the winner's addresses back with their keys.
  Customer other = make(input("Jean-Marc", "Dupuis", "jm.dupuis@free.fr", ""));
  auto m = svc_->merge({.a = jm.id, .b = other.id, .winner = jm.id}, actor_);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  auto found = found_by("Jean-Marc", "Dupuis", "jean.marc.dupuis@gmail.com");
  EXPECT_TRUE(std::find(found.begin(), found.end(), std::pair{jm.id, dedup::Decision::kMerge}) != found.end());
  // A base whose addresses were stored before their mailbox keys existed gets them at its first start.
  ASSERT_TRUE(t_.db->exec("UPDATE customer_emails SET mailbox_key = NULL"));
  ASSERT_TRUE(t_.db->exec("DELETE FROM settings WHERE key = 'emails.rules'"));
  EXPECT_TRUE(found_by("Jean-Marc", "Dupuis", "jean.marc.dupuis@gmail.com").empty());
  ASSERT_TRUE(customers::upgrade_stored_emails(*t_.db));
  auto keyed = [&] { return (*t_.db->one("SELECT COUNT(*) FROM customer_emails WHERE mailbox_key IS NOT NULL"))->i64(0); };
  EXPECT_EQ(keyed(), 2);
  EXPECT_EQ(found_by("Jean-Marc", "Dupuis", "jean.marc.dupuis@gmail.com"), (Found{{jm.id, dedup::Decision::kMerge}}));
  // Once: the next start leaves them as they are.
  ASSERT_TRUE(t_.db->exec("UPDATE customer_emails SET mailbox_key = NULL"));
  ASSERT_TRUE(customers::upgrade_stored_emails(*t_.db));
  EXPECT_EQ(keyed(), 0);
}

// The in-memory blocks find what the database's indexed blocks find, whether the index is read
// from the base or fed with each profile as it is stored.
TEST_P(MergingTest, TheKeyIndexFindsWhatTheIndexedQueryFinds) {
  auto set = dedup::generate_test_set({.seed = 7, .people = 400});
  ASSERT_TRUE(set);
  KeyIndex fed;
  std::vector<dedup::Record> stored;
  for (const dedup::Record& r : set->records) {
    CustomerInput in;
    if (!r.first_name.empty()) in.first_name = r.first_name;
    if (!r.last_name.empty()) in.last_name = r.last_name;
    if (!r.birth_date.empty()) in.birth_date = r.birth_date;
    if (!r.email.empty()) in.emails = std::vector<customers::EmailAddress>{{r.email, ""}};
    if (!r.phone_e164.empty()) in.phones = std::vector<customers::Phone>{{.raw = r.phone_e164}};
    in.address = customers::Address{r.street.empty() ? std::nullopt : std::optional(r.street), std::nullopt,
                                    r.postcode.empty() ? std::nullopt : std::optional(r.postcode),
                                    r.city.empty() ? std::nullopt : std::optional(r.city), "FR"};
    auto c = customers_->create(in, actor_);
    if (!c) continue;  // a corrupted value the validation refuses
    auto again = customers_->get(c->id);
    ASSERT_TRUE(again);
    customers::CustomerInput as_stored;
    as_stored.first_name = again->first_name;
    as_stored.last_name = again->last_name;
    as_stored.birth_date = again->birth_date;
    as_stored.emails = again->emails;
    as_stored.phones = again->phones;
    as_stored.address = again->address;
    fed.add(c->id, as_stored);
    stored.push_back(record_of(*again));
  }
  ASSERT_GT(stored.size(), 500u);
  auto loaded = KeyIndex::load(*t_.db);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->keys(), fed.keys());
  dedup::Model model = dedup::Model::default_french();
  size_t with_candidates = 0;
  auto ids_of = [](const std::vector<Candidate>& cs) {
    std::vector<std::pair<int64_t, int>> out;
    for (const auto& c : cs) out.emplace_back(c.customer_id, static_cast<int>(c.decision));
    std::sort(out.begin(), out.end());
    return out;
  };
  ASSERT_TRUE(t_.db->read([&](storage::Tx& tx) -> Status {
    for (const dedup::Record& r : stored) {
      FIDELIS_ASSIGN_OR_RETURN(std::vector<Candidate> by_sql, find_candidates(tx, r, model, r.id));
      FIDELIS_ASSIGN_OR_RETURN(std::vector<Candidate> by_fed, score_candidates(tx, r, fed.candidates(r), model, r.id));
      FIDELIS_ASSIGN_OR_RETURN(std::vector<Candidate> by_loaded,
                               score_candidates(tx, r, loaded->candidates(r), model, r.id));
      EXPECT_EQ(ids_of(by_sql), ids_of(by_fed)) << r.first_name << " " << r.last_name;
      EXPECT_EQ(ids_of(by_sql), ids_of(by_loaded)) << r.first_name << " " << r.last_name;
      with_candidates += !by_sql.empty();
    }
    return ok();
  }));
  EXPECT_GT(with_candidates, 100u);  // the set has duplicates: the comparison is not between empty lists
  // E-mail holders: every holder of an address is among them.
  for (const dedup::Record& r : stored)
    if (!r.email.empty()) {
      auto holders = fed.email_holders(r.email);
      EXPECT_TRUE(std::find(holders.begin(), holders.end(), r.id) != holders.end()) << r.email;
    }
}

// A key many customers share (a switchboard, a placeholder number) keeps as many as a look-up
// returns, so adding more costs no more.
TEST(KeyIndex, AKeyKeepsAsManyCustomersAsALookUpReturns) {
  KeyIndex index;
  for (int64_t id = 1; id <= 500; ++id) {
    CustomerInput in;
    in.last_name = "Client" + std::to_string(id);
    in.address = customers::Address{std::nullopt, std::nullopt, "75011", "Paris", "FR"};
    in.phones = std::vector<customers::Phone>{customers::normalize_phone("01 42 68 53 00")};
    index.add(id, in);
  }
  dedup::Record r{.last_name = "Martin", .phone_e164 = "+33142685300"};
  EXPECT_EQ(index.candidates(r).size(), KeyIndex::kBlockCap);
  EXPECT_EQ(index.keys(), 500u + KeyIndex::kBlockCap);  // one name-and-postcode key each, the phone 50 times
  // An e-mail match is never crowded out by the name blocks.
  CustomerInput other;
  other.emails = std::vector<customers::EmailAddress>{{"martin@exemple.fr", ""}};
  index.add(9999, other);
  dedup::Record both{.last_name = "Martin", .email = "martin@exemple.fr", .phone_e164 = "+33142685300"};
  auto found = index.candidates(both);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found.front(), 9999);
}

TEST_P(MergingTest, MergeMovesEverythingAndUnmergeRestoresBoth) {
  CustomerInput a = input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87");
  a.external_ids = std::vector<customers::ExternalId>{{"boutique", "B-1"}};
  a.tags = std::vector<std::string>{"vip"};
  a.consents = std::vector<customers::Consent>{{customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "api", 0}};
  Customer winner = make(a);
  CustomerInput b = input("Helene", "LEVY", "helene@yopmail.com", "01 43 55 66 77", "69007", "3 avenue Jean Jaurès");
  b.external_ids = std::vector<customers::ExternalId>{{"newsletter", "N-9"}};
  b.tags = std::vector<std::string>{"newsletter"};
  b.birth_date = "1984-07-09";
  // Given on a paper form before it was typed in: its date goes with it, and comes back on unmerge
  // (the documents compared below carry it).
  b.consents = std::vector<customers::Consent>{
      {customers::Channel::kSms, customers::Purpose::kOffers, true, "web-form", 0, Millis{1'700'000'000'000}}};
  Customer loser = make(b);
  ASSERT_EQ(loser.consents.size(), 1u);
  EXPECT_EQ(loser.consents[0].source_at, Millis{1'700'000'000'000});
  storage::Value st[] = {std::string("helene@yopmail.com"), loser.id, clock_.now()};
  ASSERT_TRUE(t_.db->exec("INSERT INTO email_status (email_key, customer_id, status, soft_count, sent, last_code, "
                          "last_reason, updated_at) VALUES ($1, $2, 'valid', 0, 3, '', '', $3)",
                          st));
  std::string winner_doc = document(winner.id), loser_doc = document(loser.id);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_flags WHERE customer_id = $1", loser.id), 1);  // disposable address
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", winner.id), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", loser.id), 1);

  auto m = svc_->merge({winner.id, loser.id}, actor_);
  ASSERT_TRUE(m) << m.error().field << ": " << m.error().message;
  EXPECT_EQ(m->winner_id, winner.id);  // the older record survives by default
  auto merged = customers_->get(winner.id);
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->emails.size(), 2u);
  EXPECT_EQ(merged->phones.size(), 2u);
  EXPECT_EQ(merged->tags, (std::vector<std::string>{"newsletter", "vip"}));
  EXPECT_EQ(merged->birth_date, "1984-07-09");
  EXPECT_EQ(merged->address.postcode, "69007");  // the address of the record updated last
  EXPECT_EQ(merged->external_ids.size(), 2u);
  EXPECT_EQ(merged->consents.size(), 2u);
  for (const auto& k : merged->consents)
    EXPECT_EQ(k.source_at, k.channel == customers::Channel::kSms ? std::optional<Millis>(1'700'000'000'000) : std::nullopt);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_flags WHERE customer_id = $1", winner.id), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", loser.id), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM email_status WHERE customer_id = $1", winner.id), 1);
  EXPECT_EQ(customers_->get(loser.id).error().code, Code::kNotFound);
  EXPECT_EQ(count("SELECT merged_into FROM customers WHERE id = $1", loser.id), winner.id);
  // The merged-away record cannot be restored around the merge.
  EXPECT_EQ(customers_->restore(loser.id, actor_).error().code, Code::kConflict);
  auto history = svc_->merges(winner.id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_FALSE(history->at(0).moved.empty());

  // Undone with nothing changed since: both profiles exactly as they were.
  auto undone = svc_->unmerge(m->id, actor_);
  ASSERT_TRUE(undone) << undone.error().field << ": " << undone.error().message;
  EXPECT_TRUE(undone->undone_at.has_value());
  auto strip = [](std::string doc) {  // versions and times move; the content must not
    for (std::string key : {"\"version\":", "\"updated_at\":"}) {
      size_t at = doc.find(key);
      if (at == std::string::npos) continue;
      size_t end = doc.find_first_of(",}", at);
      doc.erase(at, end - at);
    }
    return doc;
  };
  EXPECT_EQ(strip(document(winner.id)), strip(winner_doc));
  EXPECT_EQ(strip(document(loser.id)), strip(loser_doc));
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_flags WHERE customer_id = $1", loser.id), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM email_status WHERE customer_id = $1", loser.id), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customer_external_ids WHERE customer_id = $1", loser.id), 1);
  // Each consent history is as it was: the SMS consent the merge brought is no longer the winner's.
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", winner.id), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1 AND channel = 'sms'", winner.id), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", loser.id), 1);
  EXPECT_EQ(svc_->unmerge(m->id, actor_).error().code, Code::kConflict);
  // Undoing said "two people": the pair is recorded as rejected.
  auto rejected = svc_->reviews({.status = "rejected"});
  ASSERT_TRUE(rejected);
  ASSERT_EQ(rejected->items.size(), 1u);
}

// A merge recorded before addresses kept the import that brought them (its snapshots hold four
// columns of customer_emails) is undone as any other: each record gets its own addresses back, and
// they keep their imports.
TEST_P(MergingTest, AnOlderMergeIsUndoneWithItsAddressesAndTheirImports) {
  Customer winner = make(input("Yves", "Marchand", "yves.marchand@orange.fr", ""));
  Customer loser = make(input("Yves", "MARCHAND", "y.marchand@free.fr", ""));
  storage::Value w[] = {winner.id, int64_t{11}}, l[] = {loser.id, int64_t{12}};
  ASSERT_TRUE(t_.db->exec("UPDATE customer_emails SET import_id = $2 WHERE customer_id = $1", w));
  ASSERT_TRUE(t_.db->exec("UPDATE customer_emails SET import_id = $2 WHERE customer_id = $1", l));
  auto m = svc_->merge({winner.id, loser.id, winner.id}, actor_);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(customers_->get(winner.id)->emails.at(1).import_id, 12);  // moved with its import
  // As a merge of an earlier version recorded it: no import_id in its rows.
  storage::Value id[] = {m->id};
  auto snap = t_.db->one("SELECT winner_before, winner_after FROM customer_merges WHERE id = $1", id);
  ASSERT_TRUE(snap && *snap);
  std::string old[2];
  for (int i = 0; i < 2; ++i) {
    nlohmann::json j = nlohmann::json::parse((*snap)->str(i));
    for (auto& row : j["customer_emails"]) row.erase(4);
    old[i] = j.dump();
  }
  storage::Value up[] = {m->id, old[0], old[1]};
  ASSERT_TRUE(t_.db->exec("UPDATE customer_merges SET winner_before = $2, winner_after = $3 WHERE id = $1", up));
  auto undone = svc_->unmerge(m->id, actor_);
  ASSERT_TRUE(undone) << undone.error().message;
  auto w2 = customers_->get(winner.id), l2 = customers_->get(loser.id);
  ASSERT_TRUE(w2 && l2);
  ASSERT_EQ(w2->emails.size(), 1u);
  EXPECT_EQ(w2->emails[0].email, "yves.marchand@orange.fr");
  EXPECT_EQ(w2->emails[0].import_id, 11);
  ASSERT_EQ(l2->emails.size(), 1u);
  EXPECT_EQ(l2->emails[0].email, "y.marchand@free.fr");
  EXPECT_EQ(l2->emails[0].import_id, 12);
}

TEST_P(MergingTest, MergedConsentsKeepTheirTimeSoTheLatestDecisionWins) {
  using customers::Channel, customers::Purpose;
  CustomerInput b = input("Odile", "Faure", "odile.b@orange.fr", "");
  b.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "web-form", 0}};
  Customer granted = make(b);  // the person subscribed first...
  CustomerInput c = input("Odile", "Faure", "odile.c@free.fr", "");
  c.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, false, "unsubscribe-link", 0}};
  Customer withdrawn = make(c);  // ... and unsubscribed later
  Customer a = make(input("Odile", "Faure", "odile.a@gmail.com", ""));
  ASSERT_TRUE(svc_->merge({.a = a.id, .b = granted.id, .winner = a.id}, actor_));
  auto once = customers_->get(a.id);
  ASSERT_TRUE(once);
  ASSERT_EQ(once->consents.size(), 1u);
  EXPECT_EQ(once->consents[0].changed_at, granted.consents[0].changed_at);  // the subscription's time, not the merge's
  EXPECT_EQ(once->consents[0].source, "web-form");
  ASSERT_TRUE(svc_->merge({.a = a.id, .b = withdrawn.id, .winner = a.id}, actor_));
  auto twice = customers_->get(a.id);
  ASSERT_TRUE(twice);
  ASSERT_EQ(twice->consents.size(), 1u);
  EXPECT_FALSE(twice->consents[0].granted);
  EXPECT_EQ(twice->consents[0].source, "unsubscribe-link");
  // The history holds each decision once, at its time: the two records' own events.
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", a.id), 2);
}

TEST_P(MergingTest, UndoingMergesInAnyOrderGivesTheWinnerItsOwnConsentsBack) {
  using customers::Channel, customers::Purpose;
  auto with_consent = [&](std::string email, bool granted, std::string source) {
    CustomerInput in = input("Odile", "Faure", std::move(email), "");
    in.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, granted, std::move(source), 0}};
    return make(in);
  };
  for (bool in_order : {true, false}) {
    Customer a = with_consent(in_order ? "a1@orange.fr" : "a2@orange.fr", true, "src-a");    // T0
    Customer c = with_consent(in_order ? "c1@free.fr" : "c2@free.fr", false, "src-c");       // T1
    Customer b = with_consent(in_order ? "b1@gmail.com" : "b2@gmail.com", true, "src-b");    // T2
    auto m1 = svc_->merge({.a = a.id, .b = c.id, .winner = a.id}, actor_);
    auto m2 = svc_->merge({.a = a.id, .b = b.id, .winner = a.id}, actor_);
    ASSERT_TRUE(m1 && m2);
    ASSERT_TRUE(svc_->unmerge(in_order ? m2->id : m1->id, actor_));
    auto between = customers_->get(a.id);
    ASSERT_EQ(between->consents.size(), 1u);
    // The merge left in place decides, as if the other had never been made: C's later withdrawal;
    // or B's consent, which agrees with A's own, so A's is kept.
    EXPECT_EQ(between->consents[0].source, in_order ? "src-c" : "src-a");
    ASSERT_TRUE(svc_->unmerge(in_order ? m1->id : m2->id, actor_));
    auto back = customers_->get(a.id);
    ASSERT_EQ(back->consents.size(), 1u);
    EXPECT_TRUE(back->consents[0].granted);
    EXPECT_EQ(back->consents[0].source, "src-a");
    EXPECT_EQ(back->consents[0].changed_at, a.consents[0].changed_at);
    EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", a.id), 1);
    EXPECT_EQ(customers_->get(c.id)->consents[0].source, "src-c");
    EXPECT_EQ(customers_->get(b.id)->consents[0].source, "src-b");
  }
  // A winner without consents is left without any, and without history.
  Customer bare = make(input("Odile", "Faure", "bare@orange.fr", ""));
  Customer given = with_consent("given@free.fr", true, "src-g");
  auto m = svc_->merge({.a = bare.id, .b = given.id, .winner = bare.id}, actor_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  EXPECT_TRUE(customers_->get(bare.id)->consents.empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM consent_events WHERE customer_id = $1", bare.id), 0);
}

// Undoing one merge re-reads the winner's consents from its history as merges weigh them: a
// fair's file's "yes", brought in by an earlier merge after the person had unsubscribed, stays out.
TEST_P(MergingTest, UndoingAnotherMergeGivesNoImportedConsentBack) {
  using customers::Channel, customers::Purpose;
  ASSERT_TRUE(t_.db->exec("INSERT INTO sources (name, priority, created_at) VALUES ('salon', 50, 0)"));
  auto with_consent = [&](std::string email, bool granted, std::string source) {
    CustomerInput in = input("Odile", "Faure", std::move(email), "");
    in.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, granted, std::move(source), 0}};
    return make(in);
  };
  Customer a = with_consent("odile@orange.fr", false, "unsubscribe-link");  // the person left
  Customer b = with_consent("odile.f@gmail.com", true, "salon");            // a fair's file, later
  Customer c = make(input("Odile", "Faure", "o.faure@free.fr", ""));
  auto m1 = svc_->merge({.a = a.id, .b = b.id, .winner = a.id}, actor_);
  ASSERT_TRUE(m1) << m1.error().message;
  ASSERT_FALSE(customers_->get(a.id)->consents[0].granted);
  auto m2 = svc_->merge({.a = a.id, .b = c.id, .winner = a.id}, actor_);
  ASSERT_TRUE(m2) << m2.error().message;
  ASSERT_TRUE(svc_->unmerge(m2->id, actor_));
  auto after = customers_->get(a.id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->consents.size(), 1u);
  EXPECT_FALSE(after->consents[0].granted);
  EXPECT_EQ(after->consents[0].source, "unsubscribe-link");
}

// Undoing one merge leaves the others' consents as they weighed them, by the dates the person
// decided: a consent given in 2025 but recorded after the withdrawal of 2026 it predates does not
// come back because it was recorded later.
TEST_P(MergingTest, UndoingAnotherMergeWeighsMergedDecisionsByTheirDates) {
  using customers::Channel, customers::Purpose;
  constexpr Millis kDay = 86'400'000;
  const Millis start = clock_.now();
  CustomerInput left = input("Odile", "Faure", "odile.left@orange.fr", "");
  left.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, false, "api", 0, start - 10 * kDay}};
  Customer a = make(left);  // withdrew ten days ago
  clock_.advance(kDay);
  CustomerInput old = input("Odile", "Faure", "odile.old@gmail.com", "");
  old.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "api", 0, start - 300 * kDay}};
  Customer b = make(old);  // a consent of last year, sent to Fidelis only now
  Customer c = make(input("Odile", "Faure", "o.faure.dates@free.fr", ""));
  auto m1 = svc_->merge({.a = a.id, .b = b.id, .winner = a.id}, actor_);
  ASSERT_TRUE(m1) << m1.error().message;
  ASSERT_FALSE(customers_->get(a.id)->consents[0].granted);
  auto m2 = svc_->merge({.a = a.id, .b = c.id, .winner = a.id}, actor_);
  ASSERT_TRUE(m2) << m2.error().message;
  ASSERT_TRUE(svc_->unmerge(m2->id, actor_));
  auto after = customers_->get(a.id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->consents.size(), 1u);
  EXPECT_FALSE(after->consents[0].granted);
  EXPECT_EQ(after->consents[0].source_at, start - 10 * kDay);
  // Undoing the merge that brought the old consent changes nothing either: the withdrawal is A's own.
  ASSERT_TRUE(svc_->unmerge(m1->id, actor_));
  EXPECT_FALSE(customers_->get(a.id)->consents[0].granted);
  EXPECT_TRUE(customers_->get(b.id)->consents[0].granted);
}

// A record merged into another before that one was merged is read as part of it: its decision
// was weighed against that record's first, as the earlier merge weighed them.
TEST_P(MergingTest, UndoingAMergeReadsEarlierMergesIntoTheMergedRecord) {
  using customers::Channel, customers::Purpose;
  constexpr Millis kDay = 86'400'000;
  const Millis start = clock_.now();
  auto with_consent = [&](std::string email, bool granted, Millis decided) {
    CustomerInput in = input("Odile", "Faure", std::move(email), "");
    in.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, granted, "api", 0, decided}};
    return make(in);
  };
  Customer c = with_consent("odile.chain.c@orange.fr", true, start - 30 * kDay);  // subscribed a month ago
  clock_.advance(kDay);
  Customer l = with_consent("odile.chain.l@gmail.com", false, start - 200 * kDay);  // a withdrawal of last spring
  Customer x = make(input("Odile", "Faure", "odile.chain.x@free.fr", ""));
  Customer d = make(input("Odile", "Faure", "odile.chain.d@laposte.net", ""));
  auto m1 = svc_->merge({.a = l.id, .b = c.id, .winner = l.id}, actor_);
  ASSERT_TRUE(m1) << m1.error().message;
  ASSERT_TRUE(customers_->get(l.id)->consents[0].granted);  // the later decision
  auto m2 = svc_->merge({.a = x.id, .b = l.id, .winner = x.id}, actor_);
  auto m3 = svc_->merge({.a = x.id, .b = d.id, .winner = x.id}, actor_);
  ASSERT_TRUE(m2 && m3);
  ASSERT_TRUE(customers_->get(x.id)->consents[0].granted);
  ASSERT_TRUE(svc_->unmerge(m3->id, actor_));
  auto after = customers_->get(x.id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->consents.size(), 1u);
  EXPECT_TRUE(after->consents[0].granted);
  EXPECT_EQ(after->consents[0].source_at, start - 30 * kDay);
}

// A decision recorded in the same millisecond as a merge, after it (an import batch writes both at
// one time), is replayed after it when another merge is undone.
TEST_P(MergingTest, UndoingAMergeReplaysADecisionOfTheMergesMillisecondAfterIt) {
  using customers::Channel, customers::Purpose;
  constexpr Millis kDay = 86'400'000;
  const Millis start = clock_.now();
  CustomerInput given = input("Odile", "Faure", "odile.ms@orange.fr", "");
  given.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "api", 0, start - 10 * kDay}};
  Customer l = make(given);
  Customer w = make(input("Odile", "Faure", "odile.ms@gmail.com", ""));
  auto m1 = svc_->merge({.a = w.id, .b = l.id, .winner = w.id}, actor_);
  ASSERT_TRUE(m1) << m1.error().message;
  auto merged = customers_->get(w.id);
  ASSERT_TRUE(merged->consents[0].granted);
  // The same millisecond: the person's withdrawal, sent with an older date, applied as recorded.
  CustomerInput paper;
  paper.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, false, "api", 0, start - 20 * kDay}};
  auto withdrawn = customers_->update(w.id, merged->version, paper, actor_);
  ASSERT_TRUE(withdrawn) << withdrawn.error().message;
  ASSERT_FALSE(withdrawn->consents[0].granted);
  Customer c = make(input("Odile", "Faure", "o.faure.ms@free.fr", ""));
  auto m2 = svc_->merge({.a = w.id, .b = c.id, .winner = w.id}, actor_);
  ASSERT_TRUE(m2) << m2.error().message;
  ASSERT_TRUE(svc_->unmerge(m2->id, actor_));
  auto after = customers_->get(w.id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->consents.size(), 1u);
  EXPECT_FALSE(after->consents[0].granted);
}

// A decision that only repeated the one held, once the undone merge is gone, changes nothing: the
// first stays the proof of consent, as a live update would have kept it.
TEST_P(MergingTest, UndoingAMergeKeepsTheFirstProofOfAConsentRepeatedSince) {
  using customers::Channel, customers::Purpose;
  constexpr Millis kDay = 86'400'000;
  const Millis start = clock_.now();
  CustomerInput form = input("Odile", "Faure", "odile.proof@orange.fr", "");
  form.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "web-form", 0, start - 300 * kDay}};
  Customer b = make(form);
  CustomerInput left = input("Odile", "Faure", "odile.proof@gmail.com", "");
  left.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, false, "api", 0}};
  Customer a = make(left);
  auto m = svc_->merge({.a = b.id, .b = a.id, .winner = b.id}, actor_);
  ASSERT_TRUE(m) << m.error().message;
  auto merged = customers_->get(b.id);
  ASSERT_FALSE(merged->consents[0].granted);
  clock_.advance(kDay);
  CustomerInput phone;  // the person says yes again on the phone
  phone.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "phone", 0}};
  ASSERT_TRUE(customers_->update(b.id, merged->version, phone, actor_));
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  auto after = customers_->get(b.id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->consents.size(), 1u);
  EXPECT_TRUE(after->consents[0].granted);
  EXPECT_EQ(after->consents[0].source, "web-form");
  EXPECT_EQ(after->consents[0].source_at, start - 300 * kDay);
}

// What was applied through the API stays applied when a merge is undone: a withdrawal sent with
// an older date than the consent it undid is read as it was recorded.
TEST_P(MergingTest, UndoingAMergeKeepsWhatTheApiApplied) {
  using customers::Channel, customers::Purpose;
  CustomerInput in = input("Odile", "Faure", "odile.api@orange.fr", "");
  in.consents = std::vector<customers::Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "api", 0}};
  Customer a = make(in);
  clock_.advance(86'400'000);
  CustomerInput paper;  // a withdrawal on paper, dated before the consent
  paper.consents = std::vector<customers::Consent>{
      {Channel::kEmail, Purpose::kNewsletter, false, "api", 0, a.consents[0].changed_at - 3'600'000}};
  auto withdrawn = customers_->update(a.id, a.version, paper, actor_);
  ASSERT_TRUE(withdrawn) << withdrawn.error().message;
  ASSERT_FALSE(withdrawn->consents[0].granted);
  Customer c = make(input("Odile", "Faure", "o.faure.api@free.fr", ""));
  auto m = svc_->merge({.a = a.id, .b = c.id, .winner = a.id}, actor_);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  auto after = customers_->get(a.id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->consents.size(), 1u);
  EXPECT_FALSE(after->consents[0].granted);
}

TEST_P(MergingTest, UnmergeKeepsWhatChangedOnTheWinnerSince) {
  Customer winner = make(input("Jean", "Dupont", "jean.dupont@free.fr", ""));
  CustomerInput b = input("Jean", "Dupont", "jdupont@gmail.com", "06 98 76 54 23");
  b.tags = std::vector<std::string>{"jardin"};
  Customer loser = make(b);
  auto m = svc_->merge({winner.id, loser.id}, actor_);
  ASSERT_TRUE(m);
  auto merged = customers_->get(winner.id);
  ASSERT_TRUE(merged);
  ASSERT_EQ(merged->tags, (std::vector<std::string>{"jardin"}));
  // An agent corrects the first name and adds a tag on the merged profile.
  CustomerInput u;
  u.first_name = "Jean-Pierre";
  u.tags = std::vector<std::string>{"jardin", "fidele"};
  ASSERT_TRUE(customers_->update(winner.id, merged->version, u, actor_));
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  auto w = customers_->get(winner.id);
  auto l = customers_->get(loser.id);
  ASSERT_TRUE(w);
  ASSERT_TRUE(l);
  EXPECT_EQ(w->first_name, "Jean-Pierre");                               // changed since: kept
  EXPECT_EQ(w->tags, (std::vector<std::string>{"fidele"}));              // the loser's tag went back
  ASSERT_EQ(w->emails.size(), 1u);
  EXPECT_EQ(w->emails[0].email, "jean.dupont@free.fr");
  EXPECT_TRUE(w->phones.empty());
  ASSERT_EQ(l->emails.size(), 1u);
  EXPECT_EQ(l->emails[0].email, "jdupont@gmail.com");
  EXPECT_EQ(l->tags, (std::vector<std::string>{"jardin"}));
}

// The postal address is one value: one typed on the winner after the merge is kept whole, its
// postcode and country too, though they equal what the merge brought.
TEST_P(MergingTest, UnmergeKeepsAnAddressTypedSinceWhole) {
  CustomerInput a = input("Gisèle", "Vandammo", "gisele.vo@orange.fr", "06 55 44 33 22");
  a.address = customers::Address{std::nullopt, std::nullopt, std::nullopt, "Nîmes", std::nullopt};
  Customer winner = make(a);
  Customer loser = make(input("Gisèle", "Vandammo", "gv30@free.fr", "", "30000", "2 place du Marché"));
  auto m = svc_->merge({winner.id, loser.id}, actor_);
  ASSERT_TRUE(m) << m.error().message;
  auto merged = customers_->get(winner.id);
  ASSERT_TRUE(merged);
  ASSERT_EQ(merged->address.street, "2 place du Marché");
  CustomerInput u;
  u.address = customers::Address{"9 rue Neuve", std::nullopt, "30000", "Nîmes", "FR"};
  ASSERT_TRUE(customers_->update(winner.id, merged->version, u, actor_));
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  auto w = customers_->get(winner.id);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->address.street, "9 rue Neuve");
  EXPECT_EQ(w->address.postcode, "30000");
  EXPECT_EQ(w->address.city, "Nîmes");
  EXPECT_EQ(w->address.country, "FR");
}

// A merge asked of a customer that is gone says where it went: merged into another, or deleted.
TEST_P(MergingTest, AMergeOfAGoneCustomerSaysWhereItWent) {
  Customer a = make(input("Jean", "Dupont", "jean.dupont@free.fr", ""));
  Customer b = make(input("Jean", "Dupont", "jdupont@gmail.com", "06 98 76 54 23"));
  Customer c = make(input("Anne", "Roux", "anne.roux@free.fr", ""));
  ASSERT_TRUE(svc_->merge({a.id, b.id}, actor_));
  auto again = svc_->merge({a.id, b.id}, actor_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kNotFound);
  EXPECT_EQ(again.error().field, "b");
  EXPECT_EQ(again.error().message, fmt::format("customer {} was merged into customer {}", b.id, a.id));
  ASSERT_TRUE(customers_->remove(c.id, std::nullopt, actor_));
  auto deleted = svc_->merge({a.id, c.id}, actor_);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().message, fmt::format("customer {} was deleted", c.id));
  EXPECT_EQ(svc_->merge({a.id, 999999}, actor_).error().message, "no customer 999999");
  // Through a chain: b went into a, a into d; then d was deleted.
  Customer d = make(input("Jean", "Dupont", "jean.dupont@orange.fr", "06 98 76 54 23"));
  ASSERT_TRUE(svc_->merge({a.id, d.id, d.id}, actor_));
  EXPECT_EQ(svc_->merge({b.id, c.id}, actor_).error().message, fmt::format("customer {} was merged into customer {}", b.id, d.id));
  ASSERT_TRUE(customers_->remove(d.id, std::nullopt, actor_));
  EXPECT_EQ(svc_->merge({b.id, c.id}, actor_).error().message,
            fmt::format("customer {} was merged into customer {}, since deleted", b.id, d.id));
}

TEST_P(MergingTest, ACreateIsMergedOrQueuedAndReviewsAreDecided) {
  Customer first = make(input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87"));
  // Same person through another channel: merged on create, the older record survives.
  auto again = svc_->create(*customers_, input("Helene", "Levy", "h.levy@gmail.com", "+33 6 12 34 56 87"), actor_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->merged);
  EXPECT_EQ(again->customer.id, first.id);
  EXPECT_EQ(again->customer.emails.size(), 2u);

  // Same name and town, nothing else in common: a person must look.
  auto maybe = svc_->create(*customers_, input("Hélène", "Lévy", "", "", "75011", "40 boulevard Voltaire"), actor_);
  ASSERT_TRUE(maybe);
  EXPECT_FALSE(maybe->merged);
  ASSERT_EQ(maybe->queued_with, (std::vector<int64_t>{first.id}));
  auto page = svc_->reviews({});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  const Review& r = page->items[0];
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.origin, "api");
  ASSERT_EQ(r.fields.size(), dedup::kFieldCount);
  EXPECT_EQ(r.fields[1].field, "last_name");
  EXPECT_EQ(r.fields[1].b, "Lévy");
  EXPECT_EQ(r.fields[1].level, "same");
  EXPECT_NE(r.a_document.find("helene.levy@orange.fr"), std::string::npos);
  EXPECT_EQ(svc_->reviews({.status = "bogus"}).error().field, "status");

  // Rejected: never proposed again, even by a later create.
  auto rejected = svc_->reject(r.id, actor_);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, "rejected");
  EXPECT_EQ(svc_->reject(r.id, actor_).error().code, Code::kConflict);
  EXPECT_TRUE(svc_->reviews({})->items.empty());

  // A third record queued with the first, accepted with the newer one chosen to survive.
  auto third = svc_->create(*customers_, input("Helene", "Lévy", "", "", "75011", "8 rue Keller"), actor_);
  ASSERT_TRUE(third);
  ASSERT_FALSE(third->queued_with.empty());
  page = svc_->reviews({.customer_id = third->customer.id});
  ASSERT_TRUE(page);
  ASSERT_FALSE(page->items.empty());
  auto m = svc_->accept(page->items[0].id, third->customer.id, actor_);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->winner_id, third->customer.id);
  EXPECT_EQ(m->reason, "review");
  auto accepted = svc_->review(page->items[0].id);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, "accepted");
  EXPECT_EQ(accepted->merge_id, m->id);
  // Other pending pairs with the merged-away record are obsolete now.
  auto still_pending = svc_->reviews({.status = "pending"});
  ASSERT_TRUE(still_pending);
  for (const auto& p : still_pending->items) EXPECT_FALSE(p.customer_a == first.id || p.customer_b == first.id);
  EXPECT_EQ(svc_->accept(424242, std::nullopt, actor_).error().code, Code::kNotFound);
  EXPECT_EQ(svc_->merge({first.id, first.id}, actor_).error().field, "b");
}

// A review made obsolete by a merge says, when accepted, where the merged-away record went.
TEST_P(MergingTest, AcceptingAnObsoleteReviewSaysWhereItsCustomerWent) {
  Customer a = make(input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87"));
  auto b = svc_->create(*customers_, input("Hélène", "Lévy", "", "", "75011", "40 boulevard Voltaire"), actor_);
  ASSERT_TRUE(b);
  auto c = svc_->create(*customers_, input("Helene", "Levy", "", "", "75011", "8 rue Keller"), actor_);
  ASSERT_TRUE(c);
  auto with_b = svc_->reviews({.customer_id = b->customer.id});
  ASSERT_TRUE(with_b);
  const Review* ab = nullptr;
  const Review* bc = nullptr;
  for (const Review& r : with_b->items) {
    if (r.customer_a == a.id || r.customer_b == a.id) ab = &r;
    if (r.customer_a == c->customer.id || r.customer_b == c->customer.id) bc = &r;
  }
  ASSERT_TRUE(ab && bc) << with_b->items.size();
  ASSERT_TRUE(svc_->accept(ab->id, a.id, actor_));
  auto late = svc_->accept(bc->id, std::nullopt, actor_);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::kConflict);
  EXPECT_EQ(late.error().message,
            fmt::format("review {} is obsolete: customer {} was merged into customer {}", bc->id, b->customer.id, a.id));
}

// A record given an e-mail another customer had first (an import without matching kept it there,
// flagged): the whole-base run scores the pair with that address as the record's.
TEST_P(MergingTest, TheWholeBaseRunFindsTheCustomerAFlaggedEmailBelongsTo) {
  Customer owner = make(input("Marie", "Martin", "marie.martin@orange.fr", "", "69002", "4 rue Mercière"));
  CustomerInput bare;
  bare.first_name = "Marie";
  bare.last_name = "Martin";
  Customer other = make(bare);
  make(input("Paul", "Durand", "paul.durand@free.fr", ""));
  ASSERT_TRUE(t_.db->transact([&](storage::Tx& tx) -> Status {
    return customers::store_flags(tx, other.id, {{"email", "MARIE.MARTIN@ORANGE.FR", customers::already_used_reason(owner.id), "crm", 0}});
  }));
  std::vector<dedup::ScoredPair> pairs;
  auto records = load_records(*t_.db);
  ASSERT_TRUE(records);
  ASSERT_TRUE(add_flagged_pairs(*t_.db, *records, dedup::Model::default_french(), pairs));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(std::min(pairs[0].a_id, pairs[0].b_id), owner.id);
  EXPECT_EQ(std::max(pairs[0].a_id, pairs[0].b_id), other.id);
  EXPECT_NE(pairs[0].decision, dedup::Decision::kDistinct);
  // The customer who had the address, merged into another since: that one.
  Customer later = make(input("Marie", "Martin", "m.martin@free.fr", "06 98 76 54 21", "69002", "4 rue Mercière"));
  ASSERT_TRUE(svc_->merge({later.id, owner.id, later.id}, actor_));
  pairs.clear();
  records = load_records(*t_.db);
  ASSERT_TRUE(records);
  ASSERT_TRUE(add_flagged_pairs(*t_.db, *records, dedup::Model::default_french(), pairs));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ((std::set<int64_t>{pairs[0].a_id, pairs[0].b_id}), (std::set<int64_t>{other.id, later.id}));
  auto run = svc_->run_dedup({}, actor_);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->merged + run->queued, 1);
}

TEST_P(MergingTest, TheWholeBaseRunMergesSureDuplicatesOnceAndQueuesDoubtfulOnes) {
  make(input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87"));
  make(input("Helene", "LEVY", "helene.levy@gmail.com", "0612345687"));  // plain duplicate
  make(input("Marc", "Durand", "marc.durand@free.fr", "07 11 22 33 44", "33000", "1 cours Victor Hugo"));
  make(input("Marc", "Durant", "m.durand@gmail.com", "07 11 22 33 44", "33000", "1 cours Victor-Hugo"));
  make(input("Zoé", "Martin", "zoe.martin@laposte.net", "", "13001", "5 La Canebière"));
  make(input("Zoé", "Martin", "", "", "13001", "9 rue Paradis"));  // namesake nearby: review
  auto dry = svc_->run_dedup({.dry_run = true}, actor_);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_EQ(dry->records, 6);
  EXPECT_GE(dry->pairs_merge, 2);
  EXPECT_EQ(dry->merged, 0);
  EXPECT_EQ(customers_->list({})->items.size(), 6u);

  std::vector<DedupRun> seen;
  auto run = svc_->run_dedup({.progress = [&](const DedupRun& d) { seen.push_back(d); }}, actor_);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->status, "done");
  EXPECT_EQ(run->merged, 2);
  EXPECT_GE(run->queued, 1);
  EXPECT_FALSE(seen.empty());
  EXPECT_EQ(customers_->list({})->items.size(), 4u);
  auto stored = svc_->dedup_run(run->id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->merged, 2);
  EXPECT_TRUE(stored->finished_at.has_value());

  // A second run finds nothing new to merge and does not queue the same pair twice: the pairs
  // waiting are counted as such, not as skipped (which a person's decisions are); a dry run says so.
  auto dry_second = svc_->run_dedup({.dry_run = true}, actor_);
  ASSERT_TRUE(dry_second);
  EXPECT_EQ(dry_second->already_queued, run->queued);
  EXPECT_EQ(dry_second->skipped, 0);
  auto second = svc_->run_dedup({}, actor_);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->merged, 0);
  EXPECT_EQ(second->queued, 0);
  EXPECT_EQ(second->already_queued, run->queued);
  EXPECT_EQ(second->skipped, 0);
  EXPECT_EQ(svc_->dedup_run(second->id)->already_queued, run->queued);
  // An undone merge is not redone.
  auto merges = svc_->merges(std::nullopt);
  ASSERT_TRUE(merges);
  ASSERT_EQ(merges->size(), 2u);
  ASSERT_TRUE(svc_->unmerge(merges->at(0).id, actor_));
  // A dry run forecasts what the run does: the separated pair is not to merge but skipped.
  auto forecast = svc_->run_dedup({.dry_run = true}, actor_);
  ASSERT_TRUE(forecast);
  EXPECT_EQ(forecast->pairs_merge, 0);
  EXPECT_EQ(forecast->skipped, 1);
  auto third = svc_->run_dedup({}, actor_);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->merged, 0);
  EXPECT_EQ(third->pairs_merge, 0);
  EXPECT_EQ(customers_->list({})->items.size(), 5u);
}

// A run whose process died stays "running" only until someone looks: past five minutes without a
// sign of life it is failed, saying why; a run that beats is left alone, and a new run can start.
TEST_P(MergingTest, ARunThatDiedWithItsProcessIsMarkedFailed) {
  make(input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87"));
  storage::Value dead[] = {clock_.now() - MergeService::kRunAbandonedAfter - 1000};
  auto died = t_.db->one("INSERT INTO dedup_runs (status, dry_run, actor, started_at, updated_at) VALUES ('running', 0, "
                         "'cli:test', $1, $1) RETURNING id",
                         dead);
  ASSERT_TRUE(died && *died);
  storage::Value alive[] = {clock_.now() - MergeService::kRunHeartbeat};
  auto beating = t_.db->one("INSERT INTO dedup_runs (status, dry_run, actor, started_at, updated_at) VALUES ('running', 0, "
                            "'cli:test', $1, $1) RETURNING id",
                            alive);
  ASSERT_TRUE(beating && *beating);
  auto runs = svc_->dedup_runs();
  ASSERT_TRUE(runs) << runs.error().message;
  for (const auto& r : *runs) {
    if (r.id == (*died)->i64(0)) {
      EXPECT_EQ(r.status, "failed");
      ASSERT_TRUE(r.error);
      EXPECT_NE(r.error->find("process ended"), std::string::npos) << *r.error;
      EXPECT_EQ(r.finished_at, r.updated_at);
    }
    if (r.id == (*beating)->i64(0)) {
      EXPECT_EQ(r.status, "running");
    }
  }
  auto run = svc_->run_dedup({}, actor_);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->status, "done");
  EXPECT_EQ(svc_->dedup_run((*beating)->i64(0))->status, "running");
  clock_.advance(MergeService::kRunAbandonedAfter);
  EXPECT_EQ(svc_->dedup_run((*beating)->i64(0))->status, "failed");
  EXPECT_EQ(svc_->dedup_run(run->id)->status, "done");
}

TEST_P(MergingTest, ARunNeverJoinsTwoPeopleAPersonSeparatedThroughAThirdRecord) {
  Customer a = make(input("Hélène", "Lévy", "helene.levy@orange.fr", "06 12 34 56 87"));
  Customer c = make(input("Helene", "Levy", "h.levy@gmail.com", "06 12 34 56 87"));
  // Merged, then undone: a person said A and C are two people.
  auto m = svc_->merge({a.id, c.id}, actor_);
  ASSERT_TRUE(m);
  ASSERT_TRUE(svc_->unmerge(m->id, actor_));
  // B looks like both: which one B is would be a guess, so the run merges B with neither and queues
  // both pairs for a person (merging B into one would also take it from the other).
  Customer b = make(input("Hélène", "LEVY", "hlevy@free.fr", "0612345687"));
  auto forecast = svc_->run_dedup({.dry_run = true}, actor_);
  ASSERT_TRUE(forecast);
  EXPECT_EQ(forecast->pairs_merge, 0);
  EXPECT_EQ(forecast->pairs_review, 2);
  EXPECT_EQ(forecast->skipped, 1);  // the separated pair itself
  auto run = svc_->run_dedup({}, actor_);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->merged, 0);
  EXPECT_EQ(run->queued, 2);
  EXPECT_TRUE(customers_->get(a.id));
  EXPECT_TRUE(customers_->get(b.id));
  EXPECT_TRUE(customers_->get(c.id));
  auto pending = svc_->reviews({.customer_id = b.id});
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->items.size(), 2u);
}

TEST_P(MergingTest, EveryTableWithCustomerRowsFollowsAMerge) {
  // Profile tables are merged by survivorship; the event log and the rendered document are not moved.
  const std::set<std::string> profile = {"customers", "customer_docs", "customer_emails", "customer_phones",
                                         "customer_household", "customer_affinities", "customer_consents",
                                         "customer_tags", "customer_custom_values", "outbox_events"};
  std::set<std::string> attached;
  for (const auto& t : attached_tables()) attached.insert(t.table);
  auto tables = GetParam() == "sqlite"
                    ? t_.db->query("SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c "
                                   "WHERE m.type = 'table' AND c.name = 'customer_id'")
                    : t_.db->query("SELECT table_name FROM information_schema.columns WHERE column_name = 'customer_id' "
                                   "AND table_schema = current_schema()");
  ASSERT_TRUE(tables) << tables.error().message;
  ASSERT_GT(tables->rows.size(), 20u);
  for (const auto& r : tables->rows) {
    std::string name = r.str(0);
    EXPECT_TRUE(profile.contains(name) || attached.contains(name)) << name << " has customer rows a merge would leave behind";
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, MergingTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace fidelis::merging
