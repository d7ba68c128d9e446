// The router: what the access log may show of a path.

#include <gtest/gtest.h>

#include "http/api.h"

namespace fidelis::http {
namespace {

Router public_links() {
  Router r;
  auto none = [](Context&) { return no_content(); };
  r.add({"GET", "/api/v1/customers/{id}", "getCustomer", auth::Permission::kCustomersRead, false, true, none});
  r.add({"GET", "/api/v1/public/questionnaires/{token}", "openQuestionnaire", std::nullopt, false, true, none});
  r.add({"POST", "/api/v1/public/questionnaires/{token}", "answerQuestionnaire", std::nullopt, false, true, none});
  r.add({"GET", "/api/v1/track/{token}", "trackOrderByLink", std::nullopt, false, true, none});
  return r;
}

TEST(RouterTest, LoggablePathsHideSignedLinks) {
  Router r = public_links();
  const std::string token = "MS4xLjE3OTc5NzcwMjYzMjA.78vO8y1D-9s_uXmahTwalO6_LcGvBYC6afGUo5x5gR8";
  EXPECT_EQ(r.loggable_path("/api/v1/public/questionnaires/" + token), "/api/v1/public/questionnaires/{token}");
  EXPECT_EQ(r.loggable_path("/api/v1/track/" + token), "/api/v1/track/{token}");
  // No route matches these (404, 405), but the segment is still a link's secret.
  EXPECT_EQ(r.loggable_path("/api/v1/public/questionnaires/" + token + "/extra"),
            "/api/v1/public/questionnaires/{token}/extra");
  EXPECT_EQ(r.loggable_path("/api/v1/track/" + token + "/"), "/api/v1/track/{token}/");
  // Paths a mail template or a person got wrong hold the token too: a double slash, another case,
  // another prefix.
  EXPECT_EQ(r.loggable_path("/api/v1/public/questionnaires//" + token), "/api/v1/public/questionnaires//{token}");
  EXPECT_EQ(r.loggable_path("/api/v1/public/Questionnaires/" + token), "/api/v1/public/Questionnaires/{token}");
  EXPECT_EQ(r.loggable_path("/api/v1//public/questionnaires/" + token), "/api/v1//public/questionnaires/{token}");
  // Other paths are logged as they came.
  EXPECT_EQ(r.loggable_path("/api/v1/uploads/3f2a9c0e4b1d8e7f6a5b4c3d2e1f0a9b"), "/api/v1/uploads/3f2a9c0e4b1d8e7f6a5b4c3d2e1f0a9b");
  EXPECT_EQ(r.loggable_path("/api/v1/email-status/jean.dupont@orange.fr"), "/api/v1/email-status/jean.dupont@orange.fr");
  EXPECT_EQ(r.loggable_path("/api/v1/customers/42"), "/api/v1/customers/42");
  EXPECT_EQ(r.loggable_path("/api/v1/track"), "/api/v1/track");
  EXPECT_EQ(r.loggable_path("/api/v1/public/questionnaires"), "/api/v1/public/questionnaires");
  EXPECT_EQ(r.loggable_path("/api/v1/public/questionnaires/"), "/api/v1/public/questionnaires/");
  EXPECT_EQ(r.loggable_path("/"), "/");
  // Matching still sees the token itself.
  auto m = r.match("GET", "/api/v1/public/questionnaires/" + token);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("token"), token);
}

}  // namespace
}  // namespace fidelis::http
