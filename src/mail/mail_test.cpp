// The outbox on both drivers: seeded templates, enqueue and dedup, versions, claims, the retry
// schedule and the statuses.

#include <gtest/gtest.h>

#include "mail/mail.h"
#include "mail/mail_test_support.h"
#include "storage/test_db.h"

namespace fidelis::mail {
namespace {

class MailTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    svc_ = make({});
  }
  std::unique_ptr<MailService> make(MailOptions o) {
    if (o.smtp.url.empty()) o.smtp.url = "smtp://127.0.0.1:9";
    o.from = "Boutique Exemple <noreply@exemple.fr>";
    auto s = MailService::create(*t_.db, clock_, o);
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }
  Result<int64_t> queue(Outgoing m) {
    Result<int64_t> id = Error::internal("not run");
    Status s = t_.db->transact([&](storage::Tx& tx) -> Status {
      id = enqueue(tx, m, clock_.now());
      if (!id) return id.error();
      return ok();
    });
    if (!s) return s.error();
    return id;
  }
  Outgoing order(std::string dedup = "") {
    return {"order_confirmation", "fr", "helene@exemple.fr", "Hélène Dupré", testing::kOrderContext, std::move(dedup), 7};
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<MailService> svc_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(MailTest, SeededTemplatesRenderAnOrderInBothLanguages) {
  auto list = svc_->templates();
  ASSERT_TRUE(list);
  std::vector<std::string> names;
  for (const auto& t : *list) names.push_back(t.key + "/" + t.locale + "/v" + std::to_string(t.version));
  EXPECT_EQ(names, (std::vector<std::string>{"order_confirmation/en/v1", "order_confirmation/fr/v1", "order_shipped/en/v1",
                                             "order_shipped/fr/v1"}));
  auto id = queue(order());
  ASSERT_TRUE(id) << id.error().message;
  auto m = svc_->get_message(*id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->subject, "Votre commande CMD-2026-0042 est confirmée");
  EXPECT_EQ(m->state, State::kQueued);
  EXPECT_EQ(m->template_version, 1);
  EXPECT_EQ(m->customer_id, 7);
  EXPECT_NE(m->text.find("Bonjour Hélène,"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("- Tondeuse électrique (réf. TON-42) : 1 × 199,90\u00a0€ = 199,90\u00a0€\n"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("Total : 1\u202f225,70\u00a0€"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("  12 rue de la République\n  69002 Lyon\n"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("Créneau de livraison : mardi 20 janvier, 8 h – 13 h"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("L’équipe Boutique Exemple"), std::string::npos) << m->text;
  EXPECT_EQ(m->text.find("{{"), std::string::npos) << m->text;
  EXPECT_NE(m->html.find("Engrais gazon &lt;bio&gt; &amp; co"), std::string::npos) << m->html;

  // English, shipped, with tracking and no slot.
  auto shipped = queue({"order_shipped", "en", "helene@exemple.fr", "", R"({
      "order": {"number": "CMD-9", "lines": [{"name": "Rake", "sku": "R-1", "quantity": 3}], "total": {"minor": 4500, "currency": "EUR"}},
      "delivery": {"method": "Parcel locker"},
      "tracking": {"number": "6A12345678901", "url": "https://suivi.exemple.fr/6A12345678901?x=1&y=2"}})",
                        "", std::nullopt});
  ASSERT_TRUE(shipped) << shipped.error().message;
  auto s = svc_->get_message(*shipped);
  EXPECT_EQ(s->subject, "Your order CMD-9 has shipped");
  EXPECT_NE(s->text.find("Hello,\n"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("Tracking number: 6A12345678901\nTrack your parcel: https://suivi.exemple.fr/6A12345678901?x=1&y=2\n"),
            std::string::npos)
      << s->text;
  EXPECT_EQ(s->text.find("Expected delivery"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("Order total: €45.00"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("Customer service"), std::string::npos) << s->text;
  EXPECT_NE(s->html.find("href=\"https://suivi.exemple.fr/6A12345678901?x=1&amp;y=2\""), std::string::npos) << s->html;

  // An unknown locale falls back to French; an unknown template and a bad address are named.
  auto de = queue({"order_shipped", "de", "a@exemple.fr", "", "{}", "", std::nullopt});
  ASSERT_TRUE(de);
  EXPECT_EQ(svc_->get_message(*de)->locale, "fr");
  EXPECT_EQ(queue({"nope", "fr", "a@exemple.fr", "", "{}", "", std::nullopt}).error().field, "template_key");
  EXPECT_EQ(queue({"order_shipped", "fr", "not an address", "", "{}", "", std::nullopt}).error().field, "to_email");
  EXPECT_EQ(queue({"order_shipped", "fr", "a@exemple.fr", "", "[]", "", std::nullopt}).error().field, "context_json");
}

TEST_P(MailTest, ADedupKeyQueuesOnce) {
  auto first = queue(order("order_confirmation:CMD-2026-0042"));
  ASSERT_TRUE(first);
  auto again = queue(order("order_confirmation:CMD-2026-0042"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *first);
  auto other = queue(order("order_shipped:CMD-2026-0042"));
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *first);
  // Without a key, every enqueue is a message.
  EXPECT_NE(*queue(order()), *queue(order()));
  EXPECT_EQ(svc_->list_messages({})->items.size(), 4u);
  // A repeat inside the same transaction as the first is a no-op too, and leaves the transaction usable.
  Status s = t_.db->transact([&](storage::Tx& tx) -> Status {
    auto a = enqueue(tx, order("k:same-tx"), clock_.now());
    auto b = enqueue(tx, order("k:same-tx"), clock_.now());
    EXPECT_TRUE(a && b && *a == *b);
    return tx.exec("SELECT 1").has_value() ? ok() : Status(Error::internal("transaction broken"));
  });
  EXPECT_TRUE(s) << s.error().message;
}

TEST_P(MailTest, EditingCreatesVersionsAndMessagesKeepTheirs) {
  auto before = queue(order());
  ASSERT_TRUE(before);
  clock_.advance(1000);
  auto v2 = svc_->save_template("order_confirmation", "fr",
                                {"Merci {{customer.first_name}} : commande {{order.number}}", "Texte {{order.total}}", "<p>{{order.total}}</p>"},
                                {"user", 3, "marie@exemple.fr", "", ""});
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->created_by, "marie@exemple.fr");
  auto after = queue(order());
  ASSERT_TRUE(after);
  EXPECT_EQ(svc_->get_message(*after)->subject, "Merci Hélène : commande CMD-2026-0042");
  EXPECT_EQ(svc_->get_message(*after)->template_version, 2);
  EXPECT_EQ(svc_->get_message(*before)->template_version, 1);
  EXPECT_EQ(svc_->get_message(*before)->subject, "Votre commande CMD-2026-0042 est confirmée");

  auto h = svc_->history("order_confirmation");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->current.size(), 2u);
  EXPECT_EQ(h->current[0].locale, "en");
  EXPECT_EQ(h->current[0].version, 1);
  EXPECT_EQ(h->current[1].version, 2);
  EXPECT_EQ(h->versions.size(), 3u);
  EXPECT_EQ(h->versions[0].version, 2);

  // A new key; bad input is named and saves nothing.
  EXPECT_EQ(svc_->save_template("welcome", "en", {"Welcome", "Hi", "<p>Hi</p>"}, actor_)->version, 1);
  EXPECT_EQ(svc_->save_template("welcome", "en", {"Welcome", "{{#a}}", "<p>Hi</p>"}, actor_).error().field, "text");
  EXPECT_EQ(svc_->save_template("welcome", "de", {"W", "Hi", "<p>Hi</p>"}, actor_).error().field, "locale");
  EXPECT_EQ(svc_->save_template("Welcome!", "en", {"W", "Hi", "<p>Hi</p>"}, actor_).error().field, "key");
  EXPECT_EQ(svc_->history("welcome")->versions.size(), 1u);
  EXPECT_EQ(svc_->history("nope").error().code, Code::kNotFound);

  // Preview: the current version, or unsaved text.
  auto p = svc_->preview("order_confirmation", "en", std::nullopt, testing::kOrderContext);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->subject, "Your order CMD-2026-0042 is confirmed");
  auto draft = svc_->preview("order_confirmation", "fr", TemplateText{"{{order.total}}", "t", "h"}, testing::kOrderContext);
  ASSERT_TRUE(draft);
  EXPECT_EQ(draft->subject, "1\u202f225,70\u00a0€");
  EXPECT_EQ(svc_->preview("order_confirmation", "fr", TemplateText{"{{#x}}", "t", "h"}, "{}").error().field, "subject");
  EXPECT_EQ(svc_->preview("welcome", "fr", std::nullopt, "{}").error().code, Code::kNotFound);
}

TEST(RetryDelay, DoublesFromTheBaseUpToSixHours) {
  EXPECT_EQ(retry_delay(1, 60'000), 60'000);
  EXPECT_EQ(retry_delay(2, 60'000), 120'000);
  EXPECT_EQ(retry_delay(3, 60'000), 240'000);
  EXPECT_EQ(retry_delay(8, 60'000), 7'680'000);
  EXPECT_EQ(retry_delay(9, 60'000), 15'360'000);
  EXPECT_EQ(retry_delay(10, 60'000), 6 * 3600 * 1000);
  EXPECT_EQ(retry_delay(60, 60'000), 6 * 3600 * 1000);
}

TEST_P(MailTest, OneClaimPerMessageAndExpiredLeasesAreClaimedAgain) {
  auto a = queue(order());
  auto b = queue(order());
  ASSERT_TRUE(a && b);
  auto other = make({});  // a second server on the same database
  auto first = svc_->claim_due(1);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].id, *a);
  EXPECT_EQ((*first)[0].state, State::kSending);
  EXPECT_EQ((*first)[0].attempts, 1);
  ASSERT_TRUE((*first)[0].message_id);
  EXPECT_TRUE((*first)[0].message_id->ends_with("@exemple.fr")) << *(*first)[0].message_id;
  auto second = other->claim_due(10);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].id, *b);
  EXPECT_TRUE(svc_->claim_due(10)->empty());

  // The first sender hangs past its lease: the message is claimed again, with the same Message-ID,
  // and the first sender's late outcome is ignored.
  clock_.advance(MailOptions{}.smtp.timeout_ms + 61'000);
  auto again = other->claim_due(10);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].attempts, 2);
  EXPECT_EQ((*again)[0].message_id, (*first)[0].message_id);
  EXPECT_FALSE(*svc_->record((*first)[0], {true, false, 250, "250 ok"}));
  EXPECT_TRUE(*other->record((*again)[0], {true, false, 250, "250 2.0.0 Ok"}));
  auto m = svc_->get_message(*a);
  EXPECT_EQ(m->state, State::kSent);
  EXPECT_EQ(m->last_code, 250);
  EXPECT_EQ(m->last_reply, "250 2.0.0 Ok");
  EXPECT_EQ(m->sent_at, clock_.now());
  EXPECT_FALSE(m->claimed_until);
}

TEST_P(MailTest, TemporaryFailuresBackOffThenFailAndRetryRequeues) {
  svc_ = make({.max_attempts = 3, .retry_base_ms = 1000});
  auto id = queue(order());
  ASSERT_TRUE(id);
  SmtpReply busy{false, false, 451, "451 4.3.0 try again later"};
  Millis start = clock_.now();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto c = svc_->claim_due(10);
    ASSERT_EQ(c->size(), 1u);
    ASSERT_TRUE(*svc_->record((*c)[0], busy));
    auto m = svc_->get_message(*id);
    EXPECT_EQ(m->state, State::kQueued);
    EXPECT_EQ(m->attempts, attempt);
    EXPECT_EQ(m->last_code, 451);
    EXPECT_EQ(m->next_attempt_at, clock_.now() + retry_delay(attempt, 1000));
    // Not due before its time.
    clock_.advance(retry_delay(attempt, 1000) - 1);
    EXPECT_TRUE(svc_->claim_due(10)->empty());
    clock_.advance(1);
  }
  EXPECT_EQ(clock_.now() - start, 1000 + 2000);
  auto last = svc_->claim_due(10);
  ASSERT_EQ(last->size(), 1u);
  ASSERT_TRUE(*svc_->record((*last)[0], busy));
  auto failed = svc_->get_message(*id);
  EXPECT_EQ(failed->state, State::kFailed);
  EXPECT_EQ(failed->attempts, 3);
  EXPECT_FALSE(failed->next_attempt_at);
  clock_.advance(24LL * 3600 * 1000);
  EXPECT_TRUE(svc_->claim_due(10)->empty());

  // A permanent refusal fails at once.
  auto other = queue(order());
  auto c = svc_->claim_due(10);
  ASSERT_EQ(c->size(), 1u);
  ASSERT_TRUE(*svc_->record((*c)[0], {false, true, 550, "550 5.1.1 mailbox unavailable"}));
  EXPECT_EQ(svc_->get_message(*other)->state, State::kFailed);
  EXPECT_EQ(svc_->get_message(*other)->attempts, 1);

  // Filters.
  EXPECT_EQ(svc_->list_messages({.state = State::kFailed})->items.size(), 2u);
  EXPECT_EQ(svc_->list_messages({.state = State::kQueued})->items.size(), 0u);
  EXPECT_EQ(svc_->list_messages({.customer_id = 7})->items.size(), 2u);
  EXPECT_EQ(svc_->list_messages({.customer_id = 8})->items.size(), 0u);
  auto page = svc_->list_messages({.limit = 1});
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, *other);  // newest first
  EXPECT_TRUE(page->items[0].text.empty());
  EXPECT_EQ(svc_->list_messages({.before_id = page->next_before_id})->items[0].id, *id);

  // Retry: failed -> queued, due now, attempts from zero; only failed messages.
  auto r = svc_->retry(*id, actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, State::kQueued);
  EXPECT_EQ(r->attempts, 0);
  EXPECT_EQ(r->last_code, 451);  // why it failed stays visible until the next attempt
  EXPECT_EQ(svc_->retry(*id, actor_).error().field, "status");
  EXPECT_EQ(svc_->retry(999, actor_).error().code, Code::kNotFound);
  EXPECT_EQ(svc_->claim_due(10)->size(), 1u);
}

TEST_P(MailTest, BadOptionsAreNamed) {
  auto bad = [&](MailOptions o) {
    auto s = MailService::create(*t_.db, clock_, o);
    return s ? std::string() : s.error().field;
  };
  EXPECT_EQ(bad({.from = "nope"}), "mail_from");
  EXPECT_EQ(bad({.max_attempts = 0}), "mail_max_attempts");
  EXPECT_EQ(bad({.retry_base_ms = 0}), "mail_retry_base_ms");
  EXPECT_EQ(bad({.smtp = {.url = "http://x"}}), "smtp_url");
  EXPECT_FALSE(MailService::create(*t_.db, clock_, {.smtp = {.url = ""}}).value()->sending_enabled());
  EXPECT_EQ(MailService::create(*t_.db, clock_, {})->get()->send_pending().error().field, "smtp_url");
}

INSTANTIATE_TEST_SUITE_P(Drivers, MailTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::mail
