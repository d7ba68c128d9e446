// Orders on both drivers: creation and idempotency by number, totals, customer matching, the
// workflow and its history, returns, shipments, hooks, tracking, the mail context, CSV import.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "commerce/commerce.h"
#include "customers/customers.h"
#include "storage/test_db.h"

namespace fidelis::commerce {
namespace {

class OrdersTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    catalogue_ = std::make_unique<CatalogueService>(*t_.db, clock_);
    OrderEvents ev;
    ev.on_transition = [this](storage::Tx&, const Order& o, std::string_view event, Millis) -> Status {
      events_.push_back(std::string(event) + ":" + o.number);
      if (fail_hook_) return Error::unavailable("mail queue down");
      return ok();
    };
    svc_ = std::make_unique<OrderService>(*t_.db, clock_, ev);
    ASSERT_TRUE(catalogue_->create_product({.sku = "ENG-1", .name = "Engrais gazon", .price_minor = 1250, .currency = "EUR"}, actor_));
  }
  OrderInput basic(std::string number) {
    OrderInput in;
    in.number = std::move(number);
    in.customer.email = "Jeanne.Dupont@Orange.FR";
    in.customer.first_name = "Jeanne";
    in.customer.last_name = "Dupont";
    in.lines = {{.sku = "ENG-1", .quantity = 2}, {.sku = "GANTS", .name = "Gants", .quantity = 1, .unit_price_minor = 990, .discount_minor = 100}};
    in.shipping_minor = 490;
    in.address.postcode = "69002";
    in.address.city = "Lyon";
    in.address.street = "12 rue de la République";
    return in;
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<CatalogueService> catalogue_;
  std::unique_ptr<OrderService> svc_;
  std::vector<std::string> events_;
  bool fail_hook_ = false;
  dedup::Model dedup_model_ = dedup::Model::default_french();
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(OrdersTest, CreatesWithCatalogueAndComputedTotals) {
  auto c = svc_->create(basic("CMD-1"), actor_);
  ASSERT_TRUE(c) << c.error().field << ": " << c.error().message;
  EXPECT_TRUE(c->created);
  const Order& o = c->order;
  EXPECT_EQ(o.currency, "EUR");
  ASSERT_EQ(o.lines.size(), 2u);
  EXPECT_EQ(o.lines[0].name, "Engrais gazon");
  EXPECT_TRUE(o.lines[0].product_id);
  EXPECT_FALSE(o.lines[1].product_id);
  EXPECT_EQ(o.subtotal_minor, 2 * 1250 + 990);
  EXPECT_EQ(o.discount_minor, 100);
  EXPECT_EQ(o.total_minor, 2500 + 990 - 100 + 490);
  EXPECT_EQ(o.status, OrderStatus::kPlaced);
  ASSERT_EQ(o.history.size(), 1u);
  EXPECT_EQ(o.contact_email, "Jeanne.Dupont@orange.fr");
  EXPECT_EQ(o.customer_first_name, "Jeanne");

  // Same number, same content: the same order; other content: refused.
  auto again = svc_->create(basic("CMD-1"), actor_);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->order.id, o.id);
  OrderInput changed = basic("CMD-1");
  changed.lines[0].quantity = 3;
  EXPECT_EQ(svc_->create(changed, actor_).error().field, "number");

  // The same e-mail finds the same customer.
  auto second = svc_->create(basic("CMD-2"), actor_);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->order.customer_id, o.customer_id);
  auto mine = svc_->list({.customer_id = o.customer_id});
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->items.size(), 2u);

  // What a till types for "no e-mail" names nobody: two people, two customers, neither with it.
  OrderInput paul = basic("CMD-3"), lea = basic("CMD-4");
  paul.customer.email = lea.customer.email = "noemail@nomail.com";
  paul.customer.first_name = "Paul";
  paul.customer.last_name = "Martin";
  lea.customer.first_name = "Léa";
  lea.customer.last_name = "Garnier";
  lea.address.postcode = "33000";
  lea.address.city = "Bordeaux";
  auto p1 = svc_->create(paul, actor_);
  ASSERT_TRUE(p1) << p1.error().field << ": " << p1.error().message;
  auto p2 = svc_->create(lea, actor_);
  ASSERT_TRUE(p2) << p2.error().field << ": " << p2.error().message;
  EXPECT_NE(p1->order.customer_id, p2->order.customer_id);
  EXPECT_NE(p1->order.customer_id, o.customer_id);
  customers::CustomerService people(*t_.db, clock_);
  EXPECT_TRUE(people.get(p1->order.customer_id)->emails.empty());
  EXPECT_FALSE(p1->order.contact_email);  // no mail goes to it, and it opens no tracking page
  OrderInput nobody = basic("CMD-5");
  nobody.customer = {.email = "noemail@nomail.com"};
  auto refused = svc_->create(nobody, actor_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "customer.email");
  // A number typed for none is kept and flagged on a customer its name makes; alone, it is refused.
  OrderInput theo = basic("CMD-6");
  theo.customer = {.first_name = "Théo", .last_name = "Roux", .phone = "06 00 00 00 00"};
  auto t = svc_->create(theo, actor_);
  ASSERT_TRUE(t) << t.error().field << ": " << t.error().message;
  auto theo_flags = people.flags(t->order.customer_id);
  ASSERT_TRUE(theo_flags);
  ASSERT_EQ(theo_flags->size(), 1u);
  EXPECT_EQ((*theo_flags)[0].reason, customers::kPlaceholderPhoneReason);
  EXPECT_EQ((*theo_flags)[0].source, "order:CMD-6");
  OrderInput number_only = basic("CMD-7");
  number_only.customer = {.phone = "06 12 34 56 78"};
  auto no_one = svc_->create(number_only, actor_);
  ASSERT_FALSE(no_one);
  EXPECT_EQ(no_one.error().field, "customer.phone");
}

TEST_P(OrdersTest, BadInputNamesTheField) {
  OrderInput in = basic("X-1");
  in.total_minor = 1;
  EXPECT_EQ(svc_->create(in, actor_).error().field, "total_minor");
  in = basic("X-1");
  in.lines[1].unit_price_minor.reset();
  EXPECT_EQ(svc_->create(in, actor_).error().field, "lines[1].unit_price_minor");
  in = basic("X-1");
  in.lines[0].quantity = 0;
  EXPECT_EQ(svc_->create(in, actor_).error().field, "lines[0].quantity");
  in = basic("X-1");
  in.channel = "fax";
  EXPECT_EQ(svc_->create(in, actor_).error().field, "channel");
  in = basic("X-1");
  in.customer.email = "not-an-email";
  EXPECT_EQ(svc_->create(in, actor_).error().field, "customer.email");
  in = basic("X-1");
  in.customer = {.customer_id = 999999};
  auto missing = svc_->create(in, actor_);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
  EXPECT_EQ(missing.error().field, "customer_id");
  in = basic("");
  EXPECT_EQ(svc_->create(in, actor_).error().field, "number");
  // The delivery address is named as the API names it; a country's name says which code it wants.
  in = basic("X-1");
  in.address.country = "France";
  auto country = svc_->create(in, actor_);
  EXPECT_EQ(country.error().field, "delivery_address.country");
  EXPECT_EQ(country.error().message, "expected an ISO 3166-1 alpha-2 code: FR for 'France'");
  in = basic("X-1");
  in.address.postcode = std::string(30, '7');
  EXPECT_EQ(svc_->create(in, actor_).error().field, "delivery_address.postcode");
}

TEST_P(OrdersTest, WorkflowHistoryAndInvalidTransitions) {
  auto c = svc_->create(basic("W-1"), actor_);
  ASSERT_TRUE(c);
  int64_t id = c->order.id;
  auto bad = svc_->transition(id, OrderStatus::kShipped, std::nullopt, actor_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::kConflict);
  EXPECT_EQ(bad.error().field, "status");
  clock_.advance(60'000);
  auto conf = svc_->transition(id, OrderStatus::kConfirmed, std::nullopt, actor_);
  ASSERT_TRUE(conf);
  EXPECT_EQ(events_, std::vector<std::string>{"order.confirmed:W-1"});
  EXPECT_EQ(svc_->transition(id, OrderStatus::kPlaced, std::nullopt, actor_).error().field, "status");
  EXPECT_EQ(svc_->transition(id, OrderStatus::kConfirmed, clock_.now() + 86'400'000, actor_).error().code, Code::kConflict);
  clock_.advance(60'000);
  auto shipped = svc_->add_shipment(id, {.carrier = "Colissimo", .tracking_number = "6A123", .tracking_url = "https://suivi.example/6A123"}, actor_);
  ASSERT_TRUE(shipped) << shipped.error().message;
  EXPECT_EQ(shipped->status, OrderStatus::kShipped);
  ASSERT_EQ(shipped->shipments.size(), 1u);
  EXPECT_EQ(events_.back(), "order.shipped:W-1");
  EXPECT_EQ(svc_->transition(id, OrderStatus::kCancelled, std::nullopt, actor_).error().field, "status");
  EXPECT_EQ(svc_->transition(id, OrderStatus::kDelivered, clock_.now() + 86'400'000, actor_).error().field, "at");
  auto delivered = svc_->transition(id, OrderStatus::kDelivered, std::nullopt, actor_);
  ASSERT_TRUE(delivered);
  ASSERT_EQ(delivered->history.size(), 4u);
  EXPECT_EQ(delivered->history[2].status, OrderStatus::kShipped);
  EXPECT_EQ(svc_->transition(id, OrderStatus::kConfirmed, std::nullopt, actor_).error().code, Code::kConflict);

  // A failing hook rolls the transition back.
  auto other = svc_->create(basic("W-2"), actor_);
  ASSERT_TRUE(other);
  fail_hook_ = true;
  EXPECT_FALSE(svc_->transition(other->order.id, OrderStatus::kConfirmed, std::nullopt, actor_));
  EXPECT_EQ(svc_->get(other->order.id)->status, OrderStatus::kPlaced);
}

TEST_P(OrdersTest, PartialThenFullReturns) {
  auto c = svc_->create(basic("R-1"), actor_);
  ASSERT_TRUE(c);
  int64_t id = c->order.id;
  EXPECT_EQ(svc_->add_returns(id, {{.sku = "ENG-1", .quantity = 1, .reason = "abîmé"}}, actor_).error().field, "status");
  ASSERT_TRUE(svc_->transition(id, OrderStatus::kConfirmed, std::nullopt, actor_));
  ASSERT_TRUE(svc_->add_shipment(id, {.carrier = "DPD", .tracking_number = "X1"}, actor_));
  auto part = svc_->add_returns(id, {{.sku = "ENG-1", .quantity = 1, .reason = "abîmé"}}, actor_);
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->status, OrderStatus::kShipped);
  EXPECT_EQ(part->lines[0].returned_quantity, 1);
  EXPECT_EQ(svc_->add_returns(id, {{.sku = "ENG-1", .quantity = 2, .reason = "x"}}, actor_).error().field, "lines[0].quantity");
  EXPECT_EQ(svc_->add_returns(id, {{.sku = "NOPE", .quantity = 1, .reason = "x"}}, actor_).error().field, "lines[0].sku");
  EXPECT_EQ(svc_->add_returns(id, {{.sku = "ENG-1", .quantity = 1, .reason = " "}}, actor_).error().field, "lines[0].reason");
  auto full = svc_->add_returns(id, {{.line_id = part->lines[1].id, .quantity = 1, .reason = "taille"},
                                     {.sku = "ENG-1", .quantity = 1, .reason = "abîmé"}},
                                actor_);
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->status, OrderStatus::kReturned);
  EXPECT_EQ(full->returns.size(), 3u);
}

TEST_P(OrdersTest, TrackingNeverTellsWhichOrdersExist) {
  auto c = svc_->create(basic("T-1"), actor_);
  ASSERT_TRUE(c);
  ASSERT_TRUE(svc_->transition(c->order.id, OrderStatus::kConfirmed, std::nullopt, actor_));
  ASSERT_TRUE(svc_->add_shipment(c->order.id, {.carrier = "Colissimo", .tracking_number = "6A1"}, actor_));
  auto v = svc_->track("T-1", "jeanne.dupont@orange.fr", std::nullopt, "10.0.0.1");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->status, OrderStatus::kShipped);
  EXPECT_EQ(v->lines.size(), 2u);
  EXPECT_EQ(v->shipments.size(), 1u);
  EXPECT_TRUE(svc_->track("T-1", std::nullopt, "69 002", "10.0.0.1"));
  auto wrong = svc_->track("T-1", "someone@else.fr", std::nullopt, "10.0.0.1");
  auto unknown = svc_->track("T-404", "jeanne.dupont@orange.fr", std::nullopt, "10.0.0.1");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(wrong.error().code, Code::kNotFound);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
  EXPECT_EQ(svc_->track("T-1", std::nullopt, "75001", "10.0.0.1").error().code, Code::kNotFound);

  auto token = svc_->tracking_token(c->order.id);
  ASSERT_TRUE(token);
  EXPECT_EQ(svc_->track_token(*token)->number, "T-1");
  std::string forged = *token;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(svc_->track_token(forged).error().code, Code::kNotFound);
  clock_.advance(91LL * 86'400'000);
  EXPECT_EQ(svc_->track_token(*token).error().code, Code::kNotFound);

  // Too many wrong guesses from one address: refused for a while, other addresses unaffected.
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(svc_->track("T-1", "guess" + std::to_string(i) + "@x.fr", std::nullopt, "10.9.9.9"));
  EXPECT_EQ(svc_->track("T-1", "jeanne.dupont@orange.fr", std::nullopt, "10.9.9.9").error().code, Code::kResourceExhausted);
  EXPECT_TRUE(svc_->track("T-1", "jeanne.dupont@orange.fr", std::nullopt, "10.0.0.2"));
}

TEST_P(OrdersTest, MailContextFormatsFrenchMoney) {
  EXPECT_EQ(format_money_fr(1250, "EUR"), "12,50\xC2\xA0€");
  EXPECT_EQ(format_money_fr(129000, "EUR"), "1\xC2\xA0" "290,00\xC2\xA0€");
  EXPECT_EQ(format_money_fr(-5, "USD"), "-0,05\xC2\xA0USD");
  auto c = svc_->create(basic("M-1"), actor_);
  ASSERT_TRUE(c);
  DeliverySlot slot{1, "Lyon", 1'772'528'400'000, 1'772'532'000'000, 60, 10, 1};  // 2026-03-03 09:00Z-11:00Z
  std::string ctx = order_mail_context(c->order, Shipment{0, 0, "Colissimo", "6A1", std::nullopt, 0}, slot, "https://x/t/abc");
  EXPECT_NE(ctx.find(R"("order":{"number":"M-1")"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find(R"("customer":{"first_name":"Jeanne"})"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find(R"("unit_price":{"minor":1250,"currency":"EUR"})"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find(R"("total":{"minor":3880,"currency":"EUR"})"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("mardi 3 mars, 10\xC2\xA0h – 11\xC2\xA0h"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find(R"("tracking":{"carrier":"Colissimo","number":"6A1","url":"https://x/t/abc"})"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find(R"("tracking_link":"https://x/t/abc")"), std::string::npos);
}

TEST_P(OrdersTest, ImportsCsvHistoryWithRejects) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/orders-" + GetParam() + ".csv";
  {
    std::ofstream f(path, std::ios::binary);
    f << "Numéro commande;Date;E-mail;Prénom;Nom;Code postal;Pays;SKU;Libellé;Quantité;Prix unitaire;Frais de port;Statut\n"
         "A-1;2025-03-01;paul@exemple.fr;Paul;Martin;69002;France;ENG-1;;2;12,50;4,90;delivered\n"
         "A-1;2025-03-01;paul@exemple.fr;Paul;Martin;69002;France;GANTS;Gants;1;9,90;4,90;delivered\n"
         "A-2;02/03/2025;lea@exemple.fr;Léa;Petit;75011;FR;ENG-1;;deux;12,50;0;placed\n"
         "A-3;2025-03-03;paul@exemple.fr;Paul;Martin;69002;;ENG-1;;1;12,50;0;placed\n";
  }
  auto st = import_orders(*t_.db, clock_, {.path = path, .source = "prestashop"}, actor_);
  ASSERT_TRUE(st) << st.error().field << ": " << st.error().message;
  EXPECT_EQ(st->lines_read, 4);
  EXPECT_EQ(st->orders_created, 2) << [&] { std::ifstream r(st->rejects_path); return std::string((std::istreambuf_iterator<char>(r)), {}); }();
  EXPECT_EQ(st->orders_rejected, 1);
  EXPECT_EQ(st->delimiter, ';');
  auto a1 = svc_->find_by_number("A-1");
  ASSERT_TRUE(a1 && *a1);
  EXPECT_EQ((*a1)->status, OrderStatus::kDelivered);
  EXPECT_EQ((*a1)->total_minor, 2500 + 990 + 490);
  EXPECT_EQ((*a1)->source, "prestashop");
  EXPECT_EQ((*a1)->address.country, "FR");  // "France", as shop exports write it
  EXPECT_EQ((*svc_->find_by_number("A-3"))->customer_id, (*a1)->customer_id);
  std::ifstream rf(st->rejects_path);
  std::string rejects((std::istreambuf_iterator<char>(rf)), std::istreambuf_iterator<char>());
  // A ';' file came from French Excel: so do its rejects, each with its line as the file has it.
  EXPECT_TRUE(rejects.starts_with("\xEF\xBB\xBFline;column;reason;order_number;original\r\n")) << rejects;
  EXPECT_NE(rejects.find("4;Quantité;expected a whole number"), std::string::npos) << rejects;
  EXPECT_NE(rejects.find(";\"A-2;02/03/2025;lea@exemple.fr;Léa;Petit;75011;FR;ENG-1;;deux;12,50;0;placed\""), std::string::npos)
      << rejects;
  // Again: nothing new.
  auto again = import_orders(*t_.db, clock_, {.path = path, .source = "prestashop"}, actor_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->orders_created, 0);
  EXPECT_EQ(again->orders_existing, 2);
  std::remove(path.c_str());
  std::remove(st->rejects_path.c_str());
}

// Two orders from one new mailbox written two ways, placed at once (PostgreSQL: the first holds
// its transaction while the second comes), make one customer: the second waits for the first's
// mailbox, then finds its customer.
TEST_P(OrdersTest, NamelessOrderGoesToTheMailboxsOneHolder) {
  auto make = [&](CustomerHint h) {
    Result<int64_t> id = Error::internal("not run");
    Status s = t_.db->transact([&](storage::Tx& tx) -> Status {
      id = match_or_create_customer(tx, h, {}, clock_.now(), &dedup_model_);
      return id ? ok() : Status(id.error());
    });
    EXPECT_TRUE(s) << s.error().field << ": " << s.error().message;
    return id ? *id : int64_t{0};
  };
  int64_t jean = make({.email = "jean.dupont@gmail.com", .first_name = "Jean", .last_name = "Dupont"});
  ASSERT_GT(jean, 0);
  // Only an e-mail, the mailbox written otherwise: its one holder's order.
  EXPECT_EQ(make({.email = "JeanDupont+boutique@gmail.com"}), jean);
  EXPECT_EQ(make({.email = "jeandupont@googlemail.com", .phone = "06 12 34 56 79"}), jean);
  // A name that is not the holder's is weighed by the model: another person.
  int64_t paul = make({.email = "jeandupont+paul@gmail.com", .first_name = "Paul", .last_name = "Martin"});
  EXPECT_NE(paul, jean);
  // Two holders of one mailbox: which one is a guess, so a new customer (the model may queue it).
  int64_t nameless = make({.email = "j.e.a.n.dupont+x@gmail.com"});
  EXPECT_NE(nameless, jean);
  EXPECT_NE(nameless, paul);
  auto queued = t_.db->query(fmt::format("SELECT count(*) FROM merge_reviews WHERE status = 'pending' AND "
                                         "(customer_a = {0} OR customer_b = {0})", nameless));
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->rows.at(0).i64(0), 2);  // with each holder
  // Another mailbox is not a variant.
  EXPECT_NE(make({.email = "jean.dupont@orange.fr"}), jean);
}

TEST_P(OrdersTest, ConcurrentOrdersFromOneMailboxMakeOneCustomer) {
  if (GetParam() != "postgres") GTEST_SKIP() << "SQLite runs one writer at a time";
  CustomerHint first;
  first.email = "jean.dupont@gmail.com";
  first.first_name = "Jean";
  first.last_name = "Dupont";
  std::optional<int64_t> owner;
  std::thread second;
  Result<CreatedOrder> other = Error::internal("not run");
  Status placed = t_.db->transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(int64_t id, match_or_create_customer(tx, first, {}, clock_.now(), &dedup_model_));
    owner = id;
    second = std::thread([&] {
      OrderInput in = basic("CMD-GMAIL");
      in.customer.email = "JeanDupont+boutique@gmail.com";
      in.customer.first_name = "Jean";
      in.customer.last_name = "Dupont";
      other = svc_->create(in, actor_);
    });
    // Until the second order waits for the first's mailbox (or 3 s: without the lock it never does,
    // and makes its own customer meanwhile).
    for (int i = 0; i < 30; ++i) {
      auto waiting = t_.db->one("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      if (waiting && *waiting && (*waiting)->i64(0) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return ok();
  });
  second.join();
  ASSERT_TRUE(placed) << placed.error().message;
  ASSERT_TRUE(other) << other.error().field << ": " << other.error().message;
  ASSERT_TRUE(owner);
  EXPECT_EQ(other->order.customer_id, *owner);
  auto count = t_.db->query("SELECT count(*) FROM customers WHERE deleted_at IS NULL");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->rows.at(0).i64(0), 1);
}

INSTANTIATE_TEST_SUITE_P(Drivers, OrdersTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::commerce
