// Templates: money per locale, rendering of the context, escaping, validation.

#include <gtest/gtest.h>

#include "mail/mail.h"
#include "mail/mail_test_support.h"

namespace fidelis::mail {
namespace {

TEST(FormatMoney, FrenchAndEnglish) {
  EXPECT_EQ(format_money(19990, "EUR", "fr"), "199,90\u00a0€");
  EXPECT_EQ(format_money(122570, "EUR", "fr"), "1\u202f225,70\u00a0€");
  EXPECT_EQ(format_money(5, "EUR", "fr"), "0,05\u00a0€");
  EXPECT_EQ(format_money(-1250, "EUR", "fr"), "-12,50\u00a0€");
  EXPECT_EQ(format_money(1234567, "CHF", "fr"), "12\u202f345,67\u00a0CHF");
  EXPECT_EQ(format_money(122570, "EUR", "en"), "€1,225.70");
  EXPECT_EQ(format_money(1290, "GBP", "en"), "£12.90");
  EXPECT_EQ(format_money(1290, "CHF", "en"), "CHF 12.90");
  EXPECT_EQ(format_money(1290, "EUR", "de"), "12,90\u00a0€");  // unknown locale: French
}

TEST(Render, ContextMoneyListsSectionsAndEscaping) {
  TemplateText t{"Commande {{order.number}} — {{customer.first_name}}",
                 "{{#order.lines}}{{quantity}} × {{name}} = {{total}}\n{{/order.lines}}"
                 "{{#delivery.slot}}Créneau : {{delivery.slot}}\n{{/delivery.slot}}"
                 "{{#tracking.url}}Suivi : {{tracking.url}}\n{{/tracking.url}}{{^tracking.url}}pas de suivi\n{{/tracking.url}}",
                 "<p>{{#order.lines}}<b>{{name}}</b> {{total}};{{/order.lines}}</p>"};
  auto r = render(t, testing::kOrderContext, "fr");
  ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
  EXPECT_EQ(r->subject, "Commande CMD-2026-0042 — Hélène");
  EXPECT_EQ(r->text,
            "1 × Tondeuse électrique = 199,90\u00a0€\n"
            "2 × Engrais gazon <bio> & co = 25,80\u00a0€\n"
            "Créneau : mardi 20 janvier, 8 h – 13 h\n"
            "pas de suivi\n");
  EXPECT_EQ(r->html, "<p><b>Tondeuse électrique</b> 199,90\u00a0€;<b>Engrais gazon &lt;bio&gt; &amp; co</b> 25,80\u00a0€;</p>");
  auto en = render(t, testing::kOrderContext, "en");
  ASSERT_TRUE(en);
  EXPECT_NE(en->text.find("€199.90"), std::string::npos) << en->text;
}

TEST(Render, SubjectIsOneLineAndBadContextIsNamed) {
  auto r = render({"  Bonjour\n{{x}}  ", "t", "h"}, R"({"x": 42})", "fr");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "Bonjour 42");
  EXPECT_EQ(render({"s", "t", "h"}, "[1, 2]", "fr").error().field, "context_json");
  EXPECT_EQ(render({"s", "t", "h"}, "{not json", "fr").error().field, "context_json");
  EXPECT_TRUE(render({"s", "t", "h"}, "", "fr"));
}

TEST(CheckTemplate, NamesTheFieldWithTheSyntaxError) {
  EXPECT_TRUE(check_template({"Bonjour {{name}}", "{{#a}}x{{/a}}", "<p>{{{raw}}}</p>"}));
  auto open_section = check_template({"ok", "{{#lines}}no end", "<p></p>"});
  ASSERT_FALSE(open_section);
  EXPECT_EQ(open_section.error().field, "text");
  EXPECT_NE(open_section.error().message.find("mustache"), std::string::npos);
  EXPECT_EQ(check_template({"{{unclosed", "t", "h"}).error().field, "subject");
  EXPECT_EQ(check_template({"s", "t", "{{#a}}{{/b}}"}).error().field, "html");
  EXPECT_EQ(check_template({"", "t", "h"}).error().field, "subject");
  EXPECT_EQ(check_template({"a\nb", "t", "h"}).error().field, "subject");
  EXPECT_EQ(check_template({"s", " ", "h"}).error().field, "text");
  EXPECT_EQ(check_template({"s", "t", "h\xff"}).error().field, "html");
}

TEST(CheckNames, KeysAndLocales) {
  EXPECT_TRUE(check_template_key("order_confirmation"));
  EXPECT_FALSE(check_template_key("Order"));
  EXPECT_FALSE(check_template_key(""));
  EXPECT_TRUE(check_locale("en"));
  EXPECT_EQ(check_locale("de").error().field, "locale");
  EXPECT_EQ(normalize_locale("de"), "fr");
  EXPECT_EQ(normalize_locale("en"), "en");
}

}  // namespace
}  // namespace fidelis::mail
