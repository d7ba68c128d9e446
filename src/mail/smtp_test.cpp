// Sending through a real SMTP server (aiosmtpd): what arrives, and what a refusal, a temporary
// failure and a server that is not there leave in the outbox.

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include "mail/mail.h"
#include "mail/mail_test_support.h"
#include "storage/test_db.h"

namespace fidelis::mail {
namespace {

class SmtpTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    ASSERT_EQ(server_.error(), "");
  }
  std::unique_ptr<MailService> make(std::string url, int max_attempts = 3) {
    auto s = MailService::create(*t_.db, clock_,
                                 {.smtp = {.url = std::move(url), .timeout_ms = 10'000},
                                  .from = "Boutique Éléonore <noreply@exemple.fr>",
                                  .max_attempts = max_attempts,
                                  .retry_base_ms = 1000});
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }
  int64_t queue(std::string to_email, std::string to_name = "Hélène Dupré", std::string locale = "fr") {
    Result<int64_t> id = Error::internal("not run");
    EXPECT_TRUE(t_.db->transact([&](storage::Tx& tx) -> Status {
      id = enqueue(tx, {"order_confirmation", locale, to_email, to_name, testing::kOrderContext, "", 7}, clock_.now());
      return id ? ok() : Status(id.error());
    }));
    EXPECT_TRUE(id) << id.error().message;
    return id.value_or(0);
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  testing::SmtpServer server_;
};

struct Received {
  std::string subject, from, to, message_id, fidelis_id, content_type;
  std::vector<std::string> parts;  // "type/subtype; charset" then the decoded text, in turn
};

Received read_message(const std::string& raw) {
  g_mime_init();
  Received r;
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  if (msg != nullptr) {
    r.subject = g_mime_message_get_subject(msg);
    char* from = internet_address_list_to_string(g_mime_message_get_from(msg), nullptr, FALSE);
    char* to = internet_address_list_to_string(g_mime_message_get_to(msg), nullptr, FALSE);
    r.from = from;
    r.to = to;
    g_free(from);
    g_free(to);
    r.message_id = g_mime_message_get_message_id(msg) ? g_mime_message_get_message_id(msg) : "";
    const char* fid = g_mime_object_get_header(GMIME_OBJECT(msg), "X-Fidelis-Message-Id");
    r.fidelis_id = fid ? fid : "";
    GMimeObject* body = g_mime_message_get_mime_part(msg);
    char* ct = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(body));
    r.content_type = ct;
    g_free(ct);
    if (GMIME_IS_MULTIPART(body)) {
      for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(body)); ++i) {
        GMimeObject* part = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
        char* type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(part));
        const char* cs = g_mime_object_get_content_type_parameter(part, "charset");
        r.parts.push_back(std::string(type) + "; " + (cs ? cs : ""));
        g_free(type);
        char* text = GMIME_IS_TEXT_PART(part) ? g_mime_text_part_get_text(GMIME_TEXT_PART(part)) : nullptr;
        r.parts.push_back(text ? text : "");
        g_free(text);
      }
    }
    g_object_unref(msg);
  }
  g_object_unref(parser);
  g_object_unref(stream);
  return r;
}

TEST_P(SmtpTest, AQueuedOrderConfirmationArrivesDecodedAndComplete) {
  int64_t id = queue("helene@exemple.fr");
  auto svc = make(server_.url());
  auto report = svc->send_pending();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->sent, 1);
  auto received = server_.messages();
  ASSERT_EQ(received.size(), 1u);
  Received r = read_message(received[0]);
  EXPECT_EQ(r.subject, "Votre commande CMD-2026-0042 est confirmée");
  EXPECT_EQ(r.from, "Boutique Éléonore <noreply@exemple.fr>");
  EXPECT_EQ(r.to, "Hélène Dupré <helene@exemple.fr>");
  EXPECT_EQ(r.fidelis_id, "mail-" + std::to_string(id));
  EXPECT_EQ(r.content_type, "multipart/alternative");
  ASSERT_EQ(r.parts.size(), 4u);
  EXPECT_EQ(r.parts[0], "text/plain; utf-8");
  EXPECT_NE(r.parts[1].find("Bonjour Hélène,"), std::string::npos) << r.parts[1];
  EXPECT_NE(r.parts[1].find("Total : 1\u202f225,70\u00a0€"), std::string::npos) << r.parts[1];
  EXPECT_EQ(r.parts[2], "text/html; utf-8");
  EXPECT_NE(r.parts[3].find("<td>Tondeuse électrique</td>"), std::string::npos) << r.parts[3];

  auto m = svc->get_message(id);
  EXPECT_EQ(m->state, State::kSent);
  EXPECT_EQ(m->attempts, 1);
  EXPECT_EQ(m->last_code, 250);
  EXPECT_EQ(m->last_reply, "250 2.0.0 Ok: queued as 000001");
  EXPECT_EQ(m->message_id, r.message_id);
  // Nothing left to send.
  EXPECT_EQ(svc->send_pending()->sent, 0);
  EXPECT_EQ(server_.messages().size(), 1u);
}

TEST_P(SmtpTest, ARefusedRecipientFailsAtOnceWithTheReply) {
  int64_t id = queue("reject.me@exemple.fr");
  auto svc = make(server_.url());
  auto report = svc->send_pending();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->failed, 1);
  auto m = svc->get_message(id);
  EXPECT_EQ(m->state, State::kFailed);
  EXPECT_EQ(m->attempts, 1);
  EXPECT_EQ(m->last_code, 550);
  EXPECT_EQ(m->last_reply, "550 5.1.1 <reject.me@exemple.fr>: mailbox unavailable");
  EXPECT_TRUE(server_.messages().empty());
}

TEST_P(SmtpTest, ATemporaryRefusalIsRetriedUntilTheLastAttempt) {
  int64_t id = queue("tempfail@exemple.fr");
  int64_t good = queue("jean@exemple.fr", "Jean");
  auto svc = make(server_.url(), 3);
  auto first = svc->send_pending();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->sent, 1);
  EXPECT_EQ(first->retrying, 1);
  auto m = svc->get_message(id);
  EXPECT_EQ(m->state, State::kQueued);
  EXPECT_EQ(m->attempts, 1);
  EXPECT_EQ(m->last_code, 451);
  EXPECT_EQ(m->last_reply, "451 4.3.0 <tempfail@exemple.fr>: mailbox busy, try again later");
  EXPECT_EQ(m->next_attempt_at, clock_.now() + 1000);
  EXPECT_EQ(svc->get_message(good)->state, State::kSent);
  // Not due yet: nothing happens.
  EXPECT_EQ(svc->send_pending()->retrying, 0);
  clock_.advance(1000);
  EXPECT_EQ(svc->send_pending()->retrying, 1);
  EXPECT_EQ(svc->get_message(id)->attempts, 2);
  clock_.advance(2000);
  EXPECT_EQ(svc->send_pending()->failed, 1);
  m = svc->get_message(id);
  EXPECT_EQ(m->state, State::kFailed);
  EXPECT_EQ(m->attempts, 3);
  EXPECT_EQ(m->last_code, 451);
}

TEST_P(SmtpTest, NoServerListeningIsRetriedThenFailsWithTheConnectionError) {
  int64_t id = queue("helene@exemple.fr");
  server_.stop();
  auto svc = make(server_.url(), 2);
  EXPECT_EQ(svc->send_pending()->retrying, 1);
  auto m = svc->get_message(id);
  EXPECT_EQ(m->state, State::kQueued);
  EXPECT_EQ(m->last_code, 0);
  EXPECT_NE(m->last_reply->find("onnect"), std::string::npos) << *m->last_reply;
  clock_.advance(1000);
  EXPECT_EQ(svc->send_pending()->failed, 1);
  EXPECT_EQ(svc->get_message(id)->state, State::kFailed);
}

TEST_P(SmtpTest, RequiredStarttlsNeverFallsBackToClearText) {
  int64_t id = queue("helene@exemple.fr");
  auto s = MailService::create(*t_.db, clock_,
                               {.smtp = {.url = server_.url(), .user = "boutique", .password = "secret", .require_starttls = true},
                                .from = "noreply@exemple.fr"});
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->send_pending()->retrying, 1);
  EXPECT_TRUE(server_.messages().empty());  // this server offers no STARTTLS: nothing went out in clear
  auto m = (*s)->get_message(id);
  EXPECT_EQ(m->state, State::kQueued);
  EXPECT_NE(m->last_reply->find("SSL"), std::string::npos) << *m->last_reply;
}

TEST_P(SmtpTest, TheWorkerSendsInTheBackgroundAndStops) {
  SystemClock clock;
  clock_.set(clock.now());
  int64_t id = queue("helene@exemple.fr", "", "en");
  auto svc = MailService::create(*t_.db, clock, {.smtp = {.url = server_.url()}, .from = "shop@exemple.fr"});
  ASSERT_TRUE(svc);
  MailWorker worker(**svc, 50);
  worker.start();
  for (int i = 0; i < 200 && server_.messages().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  worker.stop();
  ASSERT_EQ(server_.messages().size(), 1u);
  Received r = read_message(server_.messages()[0]);
  EXPECT_EQ(r.subject, "Your order CMD-2026-0042 is confirmed");
  EXPECT_EQ(r.from, "shop@exemple.fr");
  EXPECT_EQ(r.to, "helene@exemple.fr");
  EXPECT_EQ((*svc)->get_message(id)->state, State::kSent);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SmtpTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::mail
