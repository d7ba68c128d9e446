// CustomerService on both drivers.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <phonenumbers/phonenumberutil.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "customers/customer_internal.h"
#include "customers/customers.h"
#include "storage/test_db.h"

namespace fidelis::customers {
namespace {

CustomerInput jeanne() {
  CustomerInput in;
  in.civility = "Madame";
  in.first_name = "JEANNE";
  in.last_name = "lefèvre-durand";
  in.birth_date = "1984-07-09";
  in.emails = std::vector<EmailAddress>{{" Jeanne.Lefevre@Orange.FR ", "perso"}};
  in.phones = std::vector<Phone>{Phone{.raw = "06 12 34 56 87"}, Phone{.raw = "12"}};
  in.address = Address{"12 rue de la République", std::nullopt, "69002", "lyon", "fr"};
  in.household = std::vector<HouseholdMember>{{"Enfant", "lucas", "2015-03-02"}};
  in.affinities = std::vector<Affinity>{{"Jardin", 80}, {"puériculture", 40}};
  in.consents = std::vector<Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "web-form", 0},
                                     {Channel::kSms, Purpose::kOffers, false, "", 0}};
  in.tags = std::vector<std::string>{"VIP", "fidèle", "vip"};
  in.external_ids = std::vector<ExternalId>{{"PrestaShop", "PS-1001"}};
  return in;
}

class CustomersTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    svc_ = std::make_unique<CustomerService>(*t_.db, clock_);
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<CustomerService> svc_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(CustomersTest, CreateNormalisesAndStoresTheWholeProfile) {
  auto c = svc_->create(jeanne(), actor_);
  ASSERT_TRUE(c) << c.error().field << ": " << c.error().message;
  EXPECT_EQ(c->civility, "Mme");
  EXPECT_EQ(c->first_name, "Jeanne");
  EXPECT_EQ(c->last_name, "Lefèvre-Durand");
  ASSERT_EQ(c->emails.size(), 1u);
  EXPECT_EQ(c->emails[0].email, "Jeanne.Lefevre@orange.fr");
  ASSERT_EQ(c->phones.size(), 2u);
  EXPECT_EQ(c->phones[0].e164, "+33612345687");
  EXPECT_EQ(c->phones[0].type, PhoneType::kMobile);
  EXPECT_TRUE(c->phones[0].valid);
  EXPECT_FALSE(c->phones[1].valid);  // kept as given, flagged
  EXPECT_EQ(c->phones[1].raw, "12");
  EXPECT_EQ(c->address.city, "Lyon");
  EXPECT_EQ(c->address.country, "FR");
  ASSERT_EQ(c->household.size(), 1u);
  EXPECT_EQ(c->household[0].relation, "enfant");
  EXPECT_EQ(c->household[0].first_name, "Lucas");
  ASSERT_EQ(c->affinities.size(), 2u);
  EXPECT_EQ(c->affinities[0].category, "jardin");
  EXPECT_EQ(c->tags, (std::vector<std::string>{"fidèle", "vip"}));
  ASSERT_EQ(c->consents.size(), 2u);
  EXPECT_EQ(c->external_ids[0].source, "prestashop");
  EXPECT_EQ(c->version, 1);

  auto again = svc_->get(c->id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->emails[0].email, c->emails[0].email);
  EXPECT_EQ(again->consents.size(), 2u);
}

TEST_P(CustomersTest, BadInputNamesTheField) {
  struct Case {
    std::function<void(CustomerInput&)> edit;
    std::string field;
  } cases[] = {
      {[](CustomerInput& in) { in.birth_date = "1984-02-30"; }, "birth_date"},
      {[](CustomerInput& in) { in.birth_date = "2999-01-01"; }, "birth_date"},
      {[](CustomerInput& in) { in.birth_date = "--02-30"; }, "birth_date"},
      {[](CustomerInput& in) { in.birth_date = "12/05"; }, "birth_date"},
      {[](CustomerInput& in) { in.household = std::vector<HouseholdMember>{{"enfant", "Léa", "--13-01"}}; },
       "household[0].birth_date"},
      {[](CustomerInput& in) { in.emails->push_back({"no-at-sign", ""}); }, "emails[1].email"},
      {[](CustomerInput& in) { in.address->postcode = "6900"; }, "address.postcode"},
      {[](CustomerInput& in) { in.affinities->at(0).strength = 101; }, "affinities[0].strength"},
      {[](CustomerInput& in) { in.civility = "Sir"; }, "civility"},
      {[](CustomerInput& in) { in.address->country = "France"; }, "address.country"},
      {[](CustomerInput& in) { in.custom_fields = std::map<std::string, std::optional<CustomValue>>{{"nope", int64_t{1}}}; },
       "custom_fields.nope"},
      {[](CustomerInput& in) { in.last_name = std::string("caf\xE9"); }, "last_name"},
      {[](CustomerInput& in) { in.last_name = "N/A"; }, "last_name"},
      {[](CustomerInput& in) { in.first_name = "."; }, "first_name"},
      {[](CustomerInput& in) { in.first_name = "inconnu"; }, "first_name"},
      {[](CustomerInput& in) { in.last_name = "n.c."; }, "last_name"},
      {[](CustomerInput& in) { in.first_name = "Jean\nPierre"; }, "first_name"},
      {[](CustomerInput& in) { in.address->street = std::string("12 rue\0Haute", 13); }, "address.street"},
      {[](CustomerInput& in) { in.last_name = std::string(101, 'a'); }, "last_name"},
  };
  for (auto& c : cases) {
    CustomerInput in = jeanne();
    c.edit(in);
    auto r = svc_->create(in, actor_);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().field, c.field);
  }
  CustomerInput france = jeanne();  // a country by its name says which code it wants
  france.address->country = "France";
  EXPECT_EQ(svc_->create(france, actor_).error().message, "expected an ISO 3166-1 alpha-2 code: FR for 'France'");
  auto none = svc_->list({});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->items.empty());  // nothing half-written
  // Limits count characters: a hundred accented letters are a hundred, not two hundred bytes.
  CustomerInput accents = jeanne();
  std::string long_name;
  for (int i = 0; i < 100; ++i) long_name += "é";
  accents.last_name = long_name;
  EXPECT_TRUE(svc_->create(accents, actor_));
  // The day and month alone, when the year is unknown (ISO 8601's --MM-DD), for anyone.
  CustomerInput birthday = jeanne();
  birthday.emails = std::vector<EmailAddress>{{"jeanne.anniversaire@exemple.fr", ""}};
  birthday.external_ids.reset();
  birthday.birth_date = "--02-29";
  birthday.household = std::vector<HouseholdMember>{{"enfant", "Léa", "--04-02"}};
  auto b = svc_->create(birthday, actor_);
  ASSERT_TRUE(b) << b.error().field << ": " << b.error().message;
  EXPECT_EQ(svc_->get(b->id)->birth_date, "--02-29");
  EXPECT_EQ(svc_->get(b->id)->household.at(0).birth_date, "--04-02");
}

// A form corrects every bad field at once: each is named, with the request's own list positions.
TEST_P(CustomersTest, EveryBadFieldOfARequestIsNamed) {
  CustomerInput in = jeanne();
  in.birth_date = "1990-02-31";
  in.emails = std::vector<EmailAddress>{{"jean@", ""}, {"jeanne.ok@exemple.fr", ""}, {"06 11 22 33 44", ""}, {"a b", ""}};
  in.address->postcode = "ABCDE";
  in.civility = "Sir";
  in.tags = std::vector<std::string>{"ok", "a|b", "c|d"};
  auto r = svc_->create(in, actor_);
  ASSERT_FALSE(r);
  std::map<std::string, std::string> all{{r.error().field, r.error().message}};
  for (const FieldError& e : r.error().more) all[e.field] = e.message;
  EXPECT_EQ(all.size(), 8u);
  for (const char* f : {"birth_date", "emails[0].email", "emails[2].email", "emails[3].email", "address.postcode", "civility",
                        "tags[1]", "tags[2]"})
    EXPECT_TRUE(all.contains(f)) << f;
  EXPECT_NE(all["emails[2].email"].find("phone number"), std::string::npos) << all["emails[2].email"];
  EXPECT_TRUE(svc_->list({})->items.empty());
  // A consent in error does not stop the list.
  CustomerInput consent = jeanne();
  consent.emails = std::vector<EmailAddress>{{"jeanne.consent@exemple.fr", ""}};
  consent.external_ids.reset();
  consent.consents = std::vector<Consent>{{Channel::kEmail, Purpose::kNewsletter, true, "web", 0, int64_t{32'503'680'000'000}}};
  consent.tags = std::vector<std::string>{"a|b"};
  auto rc = svc_->create(consent, actor_);
  ASSERT_FALSE(rc);
  std::set<std::string> fields{rc.error().field};
  for (const FieldError& e : rc.error().more) fields.insert(e.field);
  EXPECT_TRUE(fields.contains("tags[0]")) << rc.error().field;
  EXPECT_EQ(fields.size(), 2u) << rc.error().field;
  // One bad field: no list of others.
  CustomerInput one = jeanne();
  one.civility = "Sir";
  EXPECT_TRUE(svc_->create(one, actor_).error().more.empty());
}

TEST_P(CustomersTest, DisposableAddressesAreAcceptedAndFlagged) {
  CustomerInput in;
  in.last_name = "Jetable";
  in.emails = std::vector<EmailAddress>{{"zoe@yopmail.com", ""}};
  auto c = svc_->create(in, actor_);
  ASSERT_TRUE(c);
  auto flags = svc_->flags(c->id);
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].field, "email");
  EXPECT_EQ((*flags)[0].value, "zoe@yopmail.com");
  EXPECT_EQ((*flags)[0].source, "api");
  EXPECT_EQ(svc_->flags(999999).error().code, Code::kNotFound);
}

TEST_P(CustomersTest, InvalidPhonesAreFlaggedAndMakeNoCustomerAlone) {
  CustomerInput in;
  in.last_name = "Numéro";
  in.phones = std::vector<Phone>{Phone{.raw = "abc"}, Phone{.raw = "06 12 34 56 87"}};
  auto c = svc_->create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  auto flags = svc_->flags(c->id);
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].field, "phone");
  EXPECT_EQ((*flags)[0].value, "abc");
  EXPECT_EQ((*flags)[0].reason, kInvalidPhoneReason);

  CustomerInput only_bad;
  only_bad.phones = std::vector<Phone>{Phone{.raw = "12"}};
  auto refused = svc_->create(only_bad, actor_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "phones");

  CustomerInput nowhere;
  nowhere.last_name = "Nulle-Part";
  nowhere.address = Address{std::nullopt, std::nullopt, "75011", "Paris", "XX"};
  EXPECT_EQ(svc_->create(nowhere, actor_).error().field, "address.country");
}

// Numbers typed for "no number" are kept as given but reach nobody: flagged with their own reason,
// no E.164, and a profile with nothing else is refused as with any invalid number.
TEST_P(CustomersTest, PlaceholderPhonesAreKeptInvalidAndFlagged) {
  for (const char* raw : {"06 00 00 00 00", "0611111111", "+33 6 12 34 56 78", "01 23 45 67 89", "09 87 65 43 21",
                          "06 06 06 06 06", "01 02 03 04 05", "07 77 77 77 77", "0033 6 98 76 54 32", "0 612 345 678"}) {
    Phone p = normalize_phone(raw);
    EXPECT_FALSE(p.valid) << raw;
    EXPECT_TRUE(p.placeholder) << raw;
    EXPECT_FALSE(p.e164) << raw;
    EXPECT_EQ(p.raw, raw);
  }
  // Near misses are real numbers; so is a number libphonenumber refuses, which is invalid but no
  // placeholder.
  for (const char* raw : {"06 12 34 56 87", "06 00 00 00 01", "06 06 06 06 07", "01 02 03 04 06", "06 11 11 11 12",
                          "01 42 68 53 00", "+32 470 00 00 00", "+49 30 1234567", "+1 415 555 2671"}) {
    Phone p = normalize_phone(raw);
    EXPECT_TRUE(p.valid) << raw;
    EXPECT_FALSE(p.placeholder) << raw;
  }
  EXPECT_FALSE(normalize_phone("12").placeholder);
  EXPECT_FALSE(is_placeholder_phone(33, "60000000"));   // not a French number's length
  EXPECT_FALSE(is_placeholder_phone(32, "600000000"));  // another country's plan: never guessed
  EXPECT_TRUE(is_placeholder_phone(33, "600000000"));

  CustomerInput in;
  in.last_name = "Sans-Numéro";
  in.phones = std::vector<Phone>{Phone{.raw = "06 00 00 00 00"}};
  auto c = svc_->create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->phones.size(), 1u);
  EXPECT_FALSE(c->phones[0].valid);
  auto flags = svc_->flags(c->id);
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].value, "06 00 00 00 00");
  EXPECT_EQ((*flags)[0].reason, kPlaceholderPhoneReason);
  CustomerInput only_that;
  only_that.phones = std::vector<Phone>{Phone{.raw = "06 12 34 56 78"}};
  auto refused = svc_->create(only_that, actor_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "phones");
}

// Numbers stored under earlier rules are read again: a placeholder stored as valid becomes invalid
// and flagged, an extension joins the search key; a number read in another region stays so.
TEST_P(CustomersTest, StoredPhonesAreReadAgainUnderTheCurrentRules) {
  auto make = [&](const char* last, const char* phone) {
    CustomerInput in;
    in.last_name = last;
    in.phones = std::vector<Phone>{Phone{.raw = phone}};
    auto c = svc_->create(in, actor_);
    EXPECT_TRUE(c) << c.error().message;
    return c ? c->id : 0;
  };
  const int64_t filler = make("Bouche-Trou", "06 47 21 93 58"), office = make("Bureau", "01 42 68 53 00 poste 12"),
                belgian = make("Peeters", "06 47 21 93 59"), gone = make("Parti", "06 47 21 93 60"),
                keyed = make("Ancien", "06 47 21 93 61"), known = make("Connu", "06 47 21 93 62"),
                swiss = make("Suisse", "06 47 21 93 63");
  // As an earlier version stored them: the placeholder valid, the extension out of the key, and a
  // Belgian mobile read with an import's default country and no address.
  auto exec = [&](std::string sql) { ASSERT_TRUE(t_.db->exec(sql)) << sql; };
  exec(fmt::format("UPDATE customer_phones SET raw = '06 00 00 00 00', e164 = '+33600000000', phone_key = '33600000000' "
                   "WHERE customer_id = {}", filler));
  exec(fmt::format("UPDATE customer_phones SET phone_key = '33142685300' WHERE customer_id = {}", office));
  exec(fmt::format("UPDATE customer_phones SET raw = '0470 12 34 56', e164 = '+32470123456', phone_key = '32470123456' "
                   "WHERE customer_id = {}", belgian));
  // A deleted customer's placeholder (a restore brings it back), one stored invalid but keyed by
  // its digits, a number the plan did not know then (flagged), and a Swiss number left invalid by
  // an import whose default country is unknown now.
  ASSERT_TRUE(svc_->remove(gone, std::nullopt, actor_));
  exec(fmt::format("UPDATE customer_phones SET raw = '07 77 77 77 77', e164 = '+33777777777', phone_key = '33777777777' "
                   "WHERE customer_id = {}", gone));
  exec(fmt::format("UPDATE customer_phones SET raw = '06 11 11 11 11', e164 = NULL, valid = 0, phone_key = '0611111111' "
                   "WHERE customer_id = {}", keyed));
  exec(fmt::format("UPDATE customer_phones SET raw = '+33 6 47 21 93 62', e164 = NULL, valid = 0, type = 'unknown', "
                   "phone_key = '33647219362' WHERE customer_id = {}", known));
  ASSERT_TRUE(svc_->add_flag(known, {"phone", "+33 6 47 21 93 62", std::string(kInvalidPhoneReason), "api", 0}));
  exec(fmt::format("UPDATE customer_phones SET raw = '079 123 45 67', e164 = NULL, valid = 0, phone_key = '0791234567' "
                   "WHERE customer_id = {}", swiss));
  const int64_t version = svc_->get(filler)->version;
  clock_.advance(1000);
  // At start: the suspects only, once.
  ASSERT_TRUE(upgrade_stored_phones(*t_.db, clock_));
  auto was_filler = svc_->get(filler);
  ASSERT_TRUE(was_filler);
  ASSERT_EQ(was_filler->phones.size(), 1u);
  EXPECT_FALSE(was_filler->phones[0].valid);
  EXPECT_FALSE(was_filler->phones[0].e164);
  EXPECT_EQ(was_filler->version, version + 1);
  auto doc = svc_->get_document(filler);
  ASSERT_TRUE(doc);
  EXPECT_NE(doc->json.find("\"valid\":false"), std::string::npos) << doc->json;
  auto flags = svc_->flags(filler);
  ASSERT_TRUE(flags);
  ASSERT_EQ(flags->size(), 1u);
  EXPECT_EQ((*flags)[0].reason, kPlaceholderPhoneReason);
  EXPECT_EQ((*flags)[0].source, "phone check");
  auto key = [&](int64_t id) { return t_.db->one(fmt::format("SELECT phone_key FROM customer_phones WHERE customer_id = {}", id))->value().str(0); };
  EXPECT_EQ(key(filler), "33600000000");  // found by the number as typed
  EXPECT_EQ(key(office), "33142685300x12");
  EXPECT_EQ(key(keyed), "33611111111");
  auto revived = svc_->get(gone, /*include_deleted=*/true);
  ASSERT_TRUE(revived);
  EXPECT_FALSE(revived->phones[0].valid);
  EXPECT_FALSE(svc_->get(known)->phones[0].valid);  // no rule of this version reads it otherwise
  EXPECT_EQ(svc_->list({.q = "06 00 00 00 00"})->items.size(), 1u);
  auto events = t_.db->one(fmt::format("SELECT COUNT(*) FROM outbox_events WHERE type = 'customer.updated' AND customer_id = {}", filler));
  ASSERT_TRUE(events && *events);
  EXPECT_EQ((*events)->i64(0), 1);
  // Recorded: a second start does nothing, even to a number stored the old way since.
  exec(fmt::format("UPDATE customer_phones SET phone_key = '33142685300' WHERE customer_id = {}", office));
  ASSERT_TRUE(upgrade_stored_phones(*t_.db, clock_));
  EXPECT_EQ(key(office), "33142685300");
  // The command reads every number; the Belgian one, read in Belgium as stored, is unchanged.
  auto all = svc_->recheck_phones(true, actor_);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->phones_read, 7);
  EXPECT_EQ(all->phones_changed, 2);  // the office's key, and the number now known
  EXPECT_EQ(all->customers_changed, 2);
  EXPECT_EQ(key(office), "33142685300x12");
  auto now_known = svc_->get(known);
  ASSERT_TRUE(now_known);
  EXPECT_TRUE(now_known->phones[0].valid);
  EXPECT_TRUE(svc_->flags(known)->empty());  // its flag went with it
  EXPECT_FALSE(svc_->get(swiss)->phones[0].valid);  // not read as French
  auto be = svc_->get(belgian);
  ASSERT_TRUE(be);
  EXPECT_TRUE(be->phones[0].valid);
  EXPECT_EQ(be->phones[0].e164, "+32470123456");
}

// A customer whose numbers an update changes while the phone check reads them (PostgreSQL: the
// update holds the row) is read again: the check writes nothing over the update, and no version.
TEST_P(CustomersTest, ThePhoneCheckLeavesAChangeMadeMeanwhile) {
  if (GetParam() != "postgres") GTEST_SKIP() << "SQLite runs one writer at a time";
  CustomerInput in;
  in.last_name = "Changeant";
  in.phones = std::vector<Phone>{Phone{.raw = "06 47 21 93 58"}};
  auto c = svc_->create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  storage::Value id[] = {c->id};
  // Stored as an earlier version did: a placeholder, valid.
  ASSERT_TRUE(t_.db->exec("UPDATE customer_phones SET raw = '06 00 00 00 00', e164 = '+33600000000', "
                          "phone_key = '33600000000' WHERE customer_id = $1",
                          id));
  std::thread check;
  Result<CustomerService::PhoneRecheck> done = Error::internal("not run");
  Status update = t_.db->transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customers SET version = version + 1 WHERE id = $1", id));
    FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customer_phones SET raw = '06 47 21 93 70', e164 = '+33647219370', "
                                    "phone_key = '33647219370' WHERE customer_id = $1",
                                    id));
    check = std::thread([&] { done = svc_->recheck_phones(false, actor_); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the check has read, and waits
    return ok();
  });
  check.join();
  ASSERT_TRUE(update) << update.error().message;
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->customers_changed, 0);
  auto after = svc_->get(c->id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->version, c->version + 1);  // the update's alone
  ASSERT_EQ(after->phones.size(), 1u);
  EXPECT_EQ(after->phones[0].e164, "+33647219370");
  EXPECT_TRUE(after->phones[0].valid);
}

// An import merging a row into a customer that an API update changes meanwhile (PostgreSQL: the
// update holds the row while the import reads it) merges into the customer as it then is: neither
// change is lost.
TEST_P(CustomersTest, AMergeIntoACustomerChangedMeanwhileLosesNoChange) {
  if (GetParam() != "postgres") GTEST_SKIP() << "SQLite runs one writer at a time";
  CustomerInput jean;
  jean.first_name = "Jean";
  jean.last_name = "Martin";
  jean.emails = std::vector<EmailAddress>{{.email = "jean.martin@exemple.fr"}};
  auto c = svc_->create(jean, actor_);
  ASSERT_TRUE(c) << c.error().message;
  CustomerInput row;  // what the import brings: a tag
  row.tags = std::vector<std::string>{"salon"};
  std::thread importer;
  Status merged = ok();
  Status api = t_.db->transact([&](storage::Tx& tx) -> Status {
    storage::Value p[] = {c->id};
    FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customers SET first_name = 'Jeannot', version = version + 1 WHERE id = $1", p));
    importer = std::thread([&] {
      merged = t_.db->transact([&](storage::Tx& other) -> Status {
        auto m = merge_into(other, c->id, row, Replace::kGaps, clock_.now());
        return m ? ok() : Status(m.error());
      });
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the import has read, and waits
    return ok();
  });
  importer.join();
  ASSERT_TRUE(api) << api.error().message;
  ASSERT_TRUE(merged) << merged.error().message;
  auto after = svc_->get(c->id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->first_name, "Jeannot");  // the update stays
  EXPECT_EQ(after->tags, std::vector<std::string>{"salon"});
  EXPECT_EQ(after->version, c->version + 2);
}

// The import that brought an address stays with it through every rewrite of the list: a label
// changed, another address added, the order changed.
TEST_P(CustomersTest, AnAddressKeepsTheImportThatBroughtIt) {
  CustomerInput in;
  in.last_name = "Provenance";
  in.emails = std::vector<EmailAddress>{{.email = "venu@exemple.fr"}};
  auto c = svc_->create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->emails[0].import_id);  // typed, not imported
  storage::Value p[] = {c->id};
  ASSERT_TRUE(t_.db->exec("UPDATE customer_emails SET import_id = 7 WHERE customer_id = $1", p));
  CustomerInput patch;
  patch.emails = std::vector<EmailAddress>{{.email = "autre@exemple.fr"}, {.email = "VENU@exemple.fr", .label = "perso"}};
  auto u = svc_->update(c->id, c->version, patch, actor_);
  ASSERT_TRUE(u) << u.error().message;
  auto after = svc_->get(c->id);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->emails.size(), 2u);
  EXPECT_FALSE(after->emails[0].import_id);
  EXPECT_EQ(after->emails[1].import_id, 7);
  EXPECT_EQ(after->emails[1].label, "perso");
}

TEST(Addresses, CountryCodesAreIsoOnesAndTheSamePlaceIsCompleted) {
  EXPECT_TRUE(is_country_code("FR"));
  EXPECT_TRUE(is_country_code("BE"));
  EXPECT_TRUE(is_country_code("RE"));
  EXPECT_FALSE(is_country_code("XX"));
  EXPECT_FALSE(is_country_code("fr"));
  EXPECT_FALSE(is_country_code("FRA"));

  Address full{"12 rue de la République", "Bât. B", "69002", "Lyon", "FR"};
  Address partial{std::nullopt, std::nullopt, "69 002", "lyon", std::nullopt};
  Address done = combine_addresses(partial, full);
  EXPECT_EQ(done.street, "12 rue de la République");
  EXPECT_EQ(done.street2, "Bât. B");
  EXPECT_EQ(done.postcode, "69 002");
  EXPECT_EQ(done.city, "lyon");
  EXPECT_EQ(done.country, "FR");
  Address elsewhere{std::nullopt, std::nullopt, "69003", "Lyon", "FR"};
  EXPECT_FALSE(combine_addresses(elsewhere, full).street);
  Address other_country{std::nullopt, std::nullopt, "69002", "Lyon", "BE"};
  EXPECT_FALSE(combine_addresses(other_country, full).street);
  Address city_only{std::nullopt, std::nullopt, std::nullopt, "Lyon", std::nullopt};
  EXPECT_EQ(combine_addresses(city_only, full).street, "12 rue de la République");
  Address street_only{"1 rue X", std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_FALSE(combine_addresses(street_only, full).city);  // nothing on both sides says it is the same place
}

TEST_P(CustomersTest, EmailAndExternalIdConflicts) {
  ASSERT_TRUE(svc_->create(jeanne(), actor_));
  CustomerInput other;
  other.last_name = "Autre";
  other.emails = std::vector<EmailAddress>{{"jeanne.lefevre@orange.fr", ""}};
  auto r = svc_->create(other, actor_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kAlreadyExists);
  EXPECT_EQ(r.error().field, "emails[0].email");
  other.emails.reset();
  other.external_ids = std::vector<ExternalId>{{"prestashop", "PS-1001"}};
  r = svc_->create(other, actor_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "external_ids[0]");
}

TEST_P(CustomersTest, UpdateChecksVersionAndRecordsConsentChanges) {
  auto c = svc_->create(jeanne(), actor_);
  ASSERT_TRUE(c);
  clock_.advance(1000);
  CustomerInput patch;
  patch.address = Address{"3 quai Pasteur", std::nullopt, "33000", "Bordeaux", "FR"};
  patch.consents = std::vector<Consent>{{Channel::kEmail, Purpose::kNewsletter, false, "unsubscribe-link", 0}};
  patch.clear = {"birth_date"};
  auto u = svc_->update(c->id, 1, patch, actor_);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->version, 2);
  EXPECT_EQ(u->address.city, "Bordeaux");
  EXPECT_FALSE(u->birth_date);
  EXPECT_EQ(u->first_name, "Jeanne");  // untouched
  EXPECT_EQ(u->emails.size(), 1u);     // untouched
  auto stale = svc_->update(c->id, 1, CustomerInput{.first_name = "X"}, actor_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Code::kFailedPrecondition);
  EXPECT_EQ(stale.error().field, "If-Match");
  auto history = svc_->consent_history(c->id);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);  // two at creation, one change
  EXPECT_EQ((*history)[0].source, "unsubscribe-link");
  EXPECT_FALSE((*history)[0].granted);
  // Re-sending the same consent changes nothing and records nothing: no new version, no event.
  auto events = [&] { return (*t_.db->one("SELECT COUNT(*) FROM outbox_events"))->i64(0); };
  const int64_t before = events();
  auto same = svc_->update(c->id, 2, CustomerInput{.consents = patch.consents}, actor_);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->version, 2);
  EXPECT_EQ(svc_->consent_history(c->id)->size(), 3u);
  // Nor does the same first name, or a known number written otherwise.
  auto name = svc_->update(c->id, 2, CustomerInput{.first_name = "jeanne"}, actor_);
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_EQ(name->version, 2);
  EXPECT_EQ(events(), before);
  EXPECT_EQ(svc_->get(c->id)->version, 2);
  // A real change still makes a version.
  auto real = svc_->update(c->id, 2, CustomerInput{.first_name = "Jeanine"}, actor_);
  ASSERT_TRUE(real);
  EXPECT_EQ(real->version, 3);
  EXPECT_EQ(events(), before + 1);
}

TEST_P(CustomersTest, StoredDocumentFollowsEveryChange) {
  auto c = svc_->create(jeanne(), actor_);
  ASSERT_TRUE(c);
  auto same = [&](int64_t id) {
    auto doc = svc_->get_document(id, true);
    auto full = svc_->get(id, true);
    ASSERT_TRUE(doc && full);
    EXPECT_EQ(doc->json, render_document(*full));
    EXPECT_EQ(doc->version, full->version);
  };
  same(c->id);
  clock_.advance(10);
  ASSERT_TRUE(svc_->update(c->id, 1, CustomerInput{.tags = std::vector<std::string>{"nouveau"}}, actor_));
  same(c->id);
  ASSERT_TRUE(svc_->remove(c->id, 2, actor_));
  same(c->id);
  EXPECT_TRUE(svc_->get_document(c->id, true)->deleted);
  EXPECT_EQ(svc_->get_document(c->id).error().code, Code::kNotFound);
  ASSERT_TRUE(svc_->restore(c->id, actor_));
  same(c->id);
  auto page = svc_->list_documents({.limit = 10});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].json, svc_->get_document(c->id)->json);
}

TEST(Document, EscapesAndTypes) {
  Customer c;
  c.id = 7;
  c.last_name = "Quote\"Back\\slash\nNL";
  c.custom_fields = {{"n", 2.5}, {"i", int64_t{3}}, {"b", true}, {"whole", 42.0}};
  std::string doc = render_document(c);
  EXPECT_NE(doc.find(R"("last_name":"Quote\"Back\\slash\nNL")"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"("custom_fields":{"b":true,"i":3,"n":2.5,"whole":42.0})"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"("first_name":null)"), std::string::npos);
}

TEST_P(CustomersTest, SoftDeleteAndRestore) {
  auto c = svc_->create(jeanne(), actor_);
  ASSERT_TRUE(c);
  ASSERT_TRUE(svc_->remove(c->id, 1, actor_));
  EXPECT_EQ(svc_->get(c->id).error().code, Code::kNotFound);
  EXPECT_TRUE(svc_->get(c->id, true)->deleted_at);
  EXPECT_EQ(svc_->remove(c->id, std::nullopt, actor_).error().code, Code::kNotFound);
  EXPECT_TRUE(svc_->list({})->items.empty());
  EXPECT_EQ(svc_->list({.only_deleted = true})->items.size(), 1u);
  auto r = svc_->restore(c->id, actor_);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->deleted_at);
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(svc_->restore(c->id, actor_).error().code, Code::kFailedPrecondition);
  // Deleted again, its e-mail taken by someone else: restoring would duplicate the address.
  ASSERT_TRUE(svc_->remove(c->id, std::nullopt, actor_));
  CustomerInput other;
  other.last_name = "Autre";
  other.emails = std::vector<EmailAddress>{{"jeanne.lefevre@orange.fr", ""}};
  ASSERT_TRUE(svc_->create(other, actor_));
  auto blocked = svc_->restore(c->id, actor_);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, Code::kAlreadyExists);
  EXPECT_EQ(blocked.error().field, "emails[0].email");
  auto audit_entries = audit::list(*t_.db, {.entity = "customer", .entity_id = std::to_string(c->id)});
  ASSERT_TRUE(audit_entries);
  ASSERT_EQ(audit_entries->items.size(), 4u);
  EXPECT_EQ(audit_entries->items[0].change.action, "customer.delete");
  EXPECT_EQ(audit_entries->items[1].change.action, "customer.restore");
  EXPECT_EQ(audit_entries->items[3].change.action, "customer.create");
}

TEST_P(CustomersTest, ListFiltersSearchesAndPaginates) {
  std::vector<int64_t> ids;
  const char* last[] = {"Dupont", "Dupond", "Martin", "Éluard", "Durand"};
  const char* city[] = {"Lyon", "Paris", "Lyon", "Saint-Étienne", "Paris"};
  for (int i = 0; i < 5; ++i) {
    CustomerInput in;
    in.first_name = i % 2 ? "Jean" : "Marie";
    in.last_name = last[i];
    in.emails = std::vector<EmailAddress>{{std::string("client") + std::to_string(i) + "@exemple.fr", ""}};
    in.phones = std::vector<Phone>{Phone{.raw = "06 00 00 00 1" + std::to_string(i)}};
    in.address = Address{std::nullopt, std::nullopt, std::nullopt, city[i], "FR"};
    in.tags = std::vector<std::string>{i < 2 ? "vip" : "standard"};
    in.consents = std::vector<Consent>{{Channel::kEmail, Purpose::kNewsletter, i % 2 == 0, "api", 0}};
    auto c = svc_->create(in, actor_);
    ASSERT_TRUE(c) << c.error().message;
    ids.push_back(c->id);
    clock_.advance(1000);
  }
  auto count = [&](ListQuery q) {
    auto r = svc_->list(q);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? r->items.size() : 0u;
  };
  EXPECT_EQ(count({.tag = "VIP"}), 2u);
  EXPECT_EQ(count({.city = "LYON"}), 2u);
  EXPECT_EQ(count({.city = "saint etienne"}), 1u);
  EXPECT_EQ(count({.consent_channel = Channel::kEmail, .consent_purpose = Purpose::kNewsletter}), 3u);
  EXPECT_EQ(count({.q = "dup"}), 2u);
  EXPECT_EQ(count({.q = "jean dup"}), 1u);   // Jean Dupond
  EXPECT_EQ(count({.q = "dupont marie"}), 1u);
  EXPECT_EQ(count({.q = "eluard"}), 1u);
  EXPECT_EQ(count({.q = "client3@"}), 1u);
  EXPECT_EQ(count({.q = "06 00 00 00 14"}), 1u);
  EXPECT_EQ(count({.q = "+33600"}), 5u);
  EXPECT_EQ(count({.created_after = FakeClock().now() + 2000}), 3u);
  EXPECT_EQ(count({.created_after = FakeClock().now() + 1000, .created_before = FakeClock().now() + 3000}), 2u);

  std::vector<int64_t> seen;
  std::optional<int64_t> cursor;
  do {
    auto page = svc_->list({.after_id = cursor, .limit = 2});
    ASSERT_TRUE(page);
    for (const auto& c : page->items) seen.push_back(c.id);
    cursor = page->next_after_id;
  } while (cursor);
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(svc_->list({.limit = 0}).error().field, "limit");
}

TEST_P(CustomersTest, CustomFieldsAreTyped) {
  ASSERT_TRUE(svc_->define_custom_field({"pointure", "Pointure", CustomFieldType::kInteger, {}}, actor_));
  ASSERT_TRUE(svc_->define_custom_field({"vip", "VIP", CustomFieldType::kBoolean, {}}, actor_));
  ASSERT_TRUE(svc_->define_custom_field({"panier_moyen", "Panier moyen", CustomFieldType::kNumber, {}}, actor_));
  ASSERT_TRUE(svc_->define_custom_field({"canal_prefere", "Canal préféré", CustomFieldType::kChoice, {"email", "sms"}}, actor_));
  EXPECT_EQ(svc_->define_custom_field({"Bad Key", "x", CustomFieldType::kText, {}}, actor_).error().field, "key");
  // Choices are told apart whatever their case and accents: two alike, or an empty one, are refused.
  EXPECT_EQ(svc_->define_custom_field({"choix", "Choix", CustomFieldType::kChoice, {"a", "A"}}, actor_).error().field, "choices[1]");
  EXPECT_EQ(svc_->define_custom_field({"choix", "Choix", CustomFieldType::kChoice, {"Été", "ete"}}, actor_).error().field,
            "choices[1]");
  EXPECT_EQ(svc_->define_custom_field({"choix", "Choix", CustomFieldType::kChoice, {"jardin", " "}}, actor_).error().field,
            "choices[1]");
  // A key an export already uses for a column of every profile is taken.
  for (const char* taken : {"id", "city", "email", "deleted_at", "external_ids"})
    EXPECT_EQ(svc_->define_custom_field({taken, "x", CustomFieldType::kText, {}}, actor_).error().field, "key") << taken;
  EXPECT_EQ(svc_->define_custom_field({"pointure", "x", CustomFieldType::kText, {}}, actor_).error().code, Code::kAlreadyExists);
  CustomerInput in = jeanne();
  in.custom_fields = std::map<std::string, std::optional<CustomValue>>{
      {"pointure", int64_t{38}}, {"canal_prefere", std::string("sms")}, {"vip", true}, {"panier_moyen", int64_t{42}}};
  auto c = svc_->create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(std::get<int64_t>(c->custom_fields.at("pointure")), 38);
  EXPECT_EQ(std::get<bool>(c->custom_fields.at("vip")), true);
  EXPECT_DOUBLE_EQ(std::get<double>(c->custom_fields.at("panier_moyen")), 42.0);  // integers widen to numbers
  CustomerInput bad;
  CustomerInput upper;  // a choice in another case is that choice
  upper.custom_fields = std::map<std::string, std::optional<CustomValue>>{{"canal_prefere", std::string("SMS")}};
  CustomerInput copy = upper;
  ASSERT_TRUE(validate_customer_input(copy, *svc_->custom_fields(), 1'767'225'600'000));
  EXPECT_EQ(std::get<std::string>(*copy.custom_fields->at("canal_prefere")), "sms");
  bad.custom_fields = std::map<std::string, std::optional<CustomValue>>{{"canal_prefere", std::string("pigeon")}};
  EXPECT_EQ(svc_->update(c->id, 1, bad, actor_).error().field, "custom_fields.canal_prefere");
  CustomerInput removal;
  removal.custom_fields = std::map<std::string, std::optional<CustomValue>>{{"pointure", std::nullopt}};
  auto u = svc_->update(c->id, 1, removal, actor_);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->custom_fields.contains("pointure"));
  EXPECT_TRUE(u->custom_fields.contains("canal_prefere"));
  // Text is trimmed as names are (an export read back finds it equal); spaces alone are no value.
  ASSERT_TRUE(svc_->define_custom_field({"note", "Note", CustomFieldType::kText, {}}, actor_));
  CustomerInput note;
  note.custom_fields = std::map<std::string, std::optional<CustomValue>>{{"note", std::string("\u00A0 client fidèle  ")}};
  auto n = svc_->update(c->id, u->version, note, actor_);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(std::get<std::string>(n->custom_fields.at("note")), "client fidèle");
  note.custom_fields = std::map<std::string, std::optional<CustomValue>>{{"note", std::string("   ")}};
  n = svc_->update(c->id, n->version, note, actor_);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_FALSE(n->custom_fields.contains("note"));
}

INSTANTIATE_TEST_SUITE_P(Drivers, CustomersTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(Normalise, Civilities) {
  auto civility = [](std::string given) -> std::string {
    CustomerInput in;
    in.last_name = "Martin";
    in.civility = given;
    Status st = validate_customer_input(in, {}, 1'767'225'600'000);
    return st ? *in.civility : "error " + st.error().field;
  };
  for (const char* m : {"M", "M.", "m.", "MR", "Mr.", "monsieur", "MONSIEUR"}) EXPECT_EQ(civility(m), "M.") << m;
  for (const char* mme : {"Mme", "MME", "mme.", "Madame", "madame", "Mrs.", "Mlle", "Mademoiselle"})
    EXPECT_EQ(civility(mme), "Mme") << mme;
  EXPECT_EQ(civility("Dr."), "Dr");
  EXPECT_EQ(civility("Maître"), "Me");
  EXPECT_EQ(civility("Sir"), "error civility");
}

TEST(Normalise, Names) {
  EXPECT_EQ(normalize_name("DUPONT"), "Dupont");
  EXPECT_EQ(normalize_name("jean-pierre"), "Jean-Pierre");
  EXPECT_EQ(normalize_name("  ÉLODIE   "), "Élodie");
  EXPECT_EQ(normalize_name("o'neil"), "O'Neil");
  EXPECT_EQ(normalize_name("JEAN DE LA FONTAINE"), "Jean de la Fontaine");
  EXPECT_EQ(normalize_name("MARTIN III"), "Martin III");
  EXPECT_EQ(normalize_name("SAINT-PÈRE-SUR-LOIRE"), "Saint-Père-sur-Loire");
  EXPECT_EQ(normalize_name("jan van den berg"), "Jan van den Berg");
  EXPECT_EQ(normalize_name("Ivan"), "Ivan");
  EXPECT_EQ(normalize_name("McDonald"), "McDonald");
  EXPECT_EQ(normalize_name("jean-PIERRE"), "Jean-Pierre");
  EXPECT_EQ(normalize_name("de La Tour"), "de La Tour");  // a small particle in a mixed-case name is the person's
  EXPECT_EQ(normalize_name("de Gaulle"), "de Gaulle");
  EXPECT_EQ(normalize_name("d'Alembert"), "d'Alembert");
  EXPECT_EQ(normalize_name("van der Berg"), "van der Berg");
  EXPECT_EQ(normalize_name("DE GAULLE"), "De Gaulle");
  EXPECT_EQ(normalize_name("LE\u00A0GOFF"), "Le Goff");  // a no-break space is a space
  EXPECT_EQ(normalize_name("DUPONT\u2013MARTIN"), "Dupont\u2013Martin");  // an en dash splits like a hyphen
  EXPECT_EQ(normalize_name("LE GOFF"), "Le Goff");
  EXPECT_EQ(normalize_name("D'ARTAGNAN"), "D'Artagnan");
  EXPECT_EQ(normalize_name("D\u2019ARTAGNAN"), "D\u2019Artagnan");  // a curly apostrophe is kept, and splits too
  EXPECT_EQ(normalize_name("jean d'ormesson"), "Jean d'Ormesson");
  EXPECT_EQ(normalize_name("JEAN A DUPONT"), "Jean A Dupont");
  // Towns go through the same rules.
  EXPECT_EQ(normalize_name("Aix-en-Provence"), "Aix-en-Provence");
  EXPECT_EQ(normalize_name("LA ROCHE-SUR-YON"), "La Roche-sur-Yon");
  EXPECT_EQ(normalize_name("POINTE-À-PITRE"), "Pointe-à-Pitre");
  EXPECT_EQ(normalize_name("saint-martin-en-haut"), "Saint-Martin-en-Haut");
  // A company's legal form written in capitals stays so; alone, or after a particle, it is a name.
  EXPECT_EQ(normalize_name("SARL DUPONT"), "SARL Dupont");
  EXPECT_EQ(normalize_name("Boulangerie Martin SAS"), "Boulangerie Martin SAS");
  EXPECT_EQ(normalize_name("MÜLLER GMBH"), "Müller GmbH");
  EXPECT_EQ(normalize_name("S.A.R.L. DURAND"), "S.A.R.L. Durand");
  EXPECT_EQ(normalize_name("MARTIN FRERES SA"), "Martin Freres SA");
  EXPECT_EQ(normalize_name("NUNO SA"), "Nuno Sa");
  EXPECT_EQ(normalize_name("DE SA"), "De Sa");
  EXPECT_EQ(normalize_name("SAS"), "Sas");
  EXPECT_EQ(normalize_name("dupont sas"), "Dupont Sas");
  EXPECT_EQ(legal_form("s.a.s."), "SAS");
  EXPECT_EQ(legal_form("Sa"), std::nullopt);
  EXPECT_EQ(legal_form("Dupont"), std::nullopt);
}

TEST(Normalise, Phones) {
  auto p = normalize_phone("01 42 68 53 00");
  EXPECT_TRUE(p.valid);
  EXPECT_EQ(p.e164, "+33142685300");
  EXPECT_EQ(p.type, PhoneType::kFixed);
  EXPECT_EQ(normalize_phone("+32 470 12 34 56").e164, "+32470123456");
  EXPECT_FALSE(normalize_phone("06 12").valid);
  // Overseas departments, dialled the French way, are numbers of their own regions.
  EXPECT_EQ(normalize_phone("0692 12 34 56").e164, "+262692123456");  // La Réunion, mobile
  EXPECT_EQ(normalize_phone("0692 12 34 56").type, PhoneType::kMobile);
  EXPECT_EQ(normalize_phone("05 90 12 34 56").e164, "+590590123456");  // Guadeloupe, fixed
  EXPECT_EQ(normalize_phone("0696 12 34 56").e164, "+596696123456");  // Martinique, mobile
  EXPECT_EQ(normalize_phone("05 56 12 34 56").e164, "+33556123456");  // Bordeaux stays French
  // An extension is no part of the number to dial; a word in brackets is the number's label.
  for (const char* with_extension : {"01 42 68 53 00 poste 123", "01 42 68 53 00 Poste: 12", "+33 1 42 68 53 00 ext. 7",
                                     "01 42 68 53 00 x123", "01.42.68.53.00 #45", "0142685300 P 3"}) {
    Phone x = normalize_phone(with_extension);
    EXPECT_TRUE(x.valid) << with_extension;
    EXPECT_EQ(x.e164, "+33142685300") << with_extension;
    EXPECT_EQ(x.raw, with_extension);  // as given, extension included
  }
  // A switchboard's number with an extension is its own key: colleagues are not one phone.
  EXPECT_EQ(phone_extension("01 42 68 53 00 poste 12"), "12");
  EXPECT_EQ(phone_extension("01 42 68 53 00"), "");
  EXPECT_EQ(phone_key(normalize_phone("01 42 68 53 00 poste 12")), "33142685300x12");
  EXPECT_NE(phone_key(normalize_phone("01 42 68 53 00 poste 12")), phone_key(normalize_phone("01 42 68 53 00 poste 34")));
  EXPECT_EQ(phone_key(normalize_phone("01 42 68 53 00")), "33142685300");
  Phone office = normalize_phone("+33 1 42 68 53 00 (bureau)");
  EXPECT_EQ(office.e164, "+33142685300");
  EXPECT_EQ(office.label, "bureau");
  EXPECT_EQ(normalize_phone("01 42 68 53 00 (bureau)", "travail").label, "travail");  // a label given wins
  EXPECT_FALSE(normalize_phone("01 42 68 53 00 poste").valid);  // no extension number
  // A word holding x or p is no extension mark: the number before it is read as it is.
  EXPECT_FALSE(normalize_phone("01 42 68 53 00 expert 12").valid);
  EXPECT_EQ(phone_extension("01 42 68 53 00 expert 12"), "");
  EXPECT_EQ(phone_query_key("06 12"), "33612");
  EXPECT_EQ(phone_query_key("0033 6"), "336");
  EXPECT_EQ(phone_query_key("dupont"), "");
}

// Validity comes from the number's type alone: it must agree with the library's own validity test,
// including calling codes shared by several regions and non-geographic numbers.
TEST(Normalise, PhoneValidityAgreesWithTheLibrary) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  const char* numbers[] = {"06 12 34 56 87", "01 42 68 53 00", "09 70 00 00 00", "08 00 10 20 30", "06 12",
                           "+33 1 00 10 20 30", "+262 692 12 34 56", "+262 269 61 00 00", "+1 415 555 2671",
                           "+1 604 555 0123", "+1 200 555 0100", "+800 1234 5678", "+44 7700 900123", "+32 470 12 34 56",
                           "+49 30 1234567", "+590 690 00 11 22", "+687 75 12 34", "0033 6 12 34 56 87", "3615",
                           "+33 6 12 34 56 78 90", "+999 123", "dupont"};
  int valid = 0;
  for (const char* raw : numbers) {
    PhoneNumber n;
    bool parsed = util.Parse(raw, "FR", &n) == PhoneNumberUtil::NO_PARSING_ERROR;
    bool expected = parsed && util.IsValidNumber(n) &&
                    !is_placeholder_phone(n.country_code(), std::to_string(n.national_number()));  // the one difference
    EXPECT_EQ(normalize_phone(raw).valid, expected) << raw;
    valid += expected;
  }
  EXPECT_GE(valid, 10);  // the list holds both kinds
}

// French numbers written in full are read without the library's parser: the result must be the
// parser's, for every kind of French number and the look-alikes that must still go to the parser.
TEST(Normalise, FrenchNumbersReadDirectlyAreWhatTheParserFinds) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::vector<std::string> numbers = {"00 33 6 12 34 56 87", "0033612345687", "+33 06 12 34 56 87", "+330612345687",
                                      "06 12 34 56 78 bis 12", "06-12-34-56-87", "+33 (0)6 12 34 56 87",
                                      "+33 6 12 34 56 7", "0 612 345 678", "+ 33 6 12 34 56 87", "++33612345687",
                                      "+3361234567a", "01 00 10 20 30", "0800 123 456", "3615"};
  uint64_t seed = 12345;
  auto next = [&] { return seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int i = 0; i < 3000; ++i) {
    std::string nine;
    for (int d = 0; d < 9; ++d) nine += static_cast<char>('0' + (next() >> 33) % 10);
    nine[0] = static_cast<char>('1' + (next() >> 33) % 9);
    std::string sep = i % 3 == 0 ? " " : i % 3 == 1 ? "." : "";
    std::string spaced = nine.substr(0, 1) + sep + nine.substr(1, 2) + sep + nine.substr(3, 2) + sep + nine.substr(5, 2) +
                         sep + nine.substr(7, 2);
    numbers.push_back(i % 2 ? "0" + spaced : "+33" + sep + spaced);
  }
  int valid = 0;
  for (const std::string& raw : numbers) {
    for (const char* region : {"FR", "BE"}) {
      PhoneNumber n;
      Phone expected;
      std::string_view overseas = std::string_view(region) == "FR" ? overseas_region(raw) : std::string_view();
      std::string in_region = overseas.empty() ? std::string(region) : std::string(overseas);
      if (util.Parse(raw, in_region, &n) == PhoneNumberUtil::NO_PARSING_ERROR && util.IsValidNumber(n) &&
          !is_placeholder_phone(n.country_code(), std::to_string(n.national_number()))) {  // the one difference
        expected.valid = true;
        std::string e164;
        util.Format(n, PhoneNumberUtil::E164, &e164);
        expected.e164 = e164;
      }
      Phone got = normalize_phone(raw, "", region);
      EXPECT_EQ(got.valid, expected.valid) << raw << " in " << region;
      EXPECT_EQ(got.e164, expected.e164) << raw << " in " << region;
      valid += got.valid;
    }
  }
  EXPECT_GT(valid, 1000);
}

}  // namespace
}  // namespace fidelis::customers
