// The kinds of timeline items, one entry each: where they come from and how their columns map.
// Each source must be readable by (customer, time) through an index. A source whose table does not
// exist in the database (orders before the orders migration) is left out.

#include "timeline/timeline.h"

namespace fidelis::timeline {

const std::vector<SourceSpec>& timeline_sources() {
  static const std::vector<SourceSpec> sources = {
      // text1 direction, text2 outcome, number1 agent id
      {.kind = "interaction", .from = "interactions t",
       .customer = "t.customer_id", .id = "t.id", .at = "t.at", .channel = "t.channel", .title = "t.subject",
       .text1 = "t.direction", .text2 = "t.outcome", .number1 = "t.agent_id", .number2 = "CAST(NULL AS BIGINT)"},
      // title landing page, text1 source, text2 referrer, number1 page views, number2 end of the visit
      {.kind = "web_session", .from = "web_sessions t",
       .customer = "t.customer_id", .id = "t.id", .at = "t.started_at", .channel = "'web'",
       .title = "COALESCE(t.landing_url, '')", .text1 = "t.source", .text2 = "t.referrer", .number1 = "t.page_views",
       .number2 = "t.last_at"},
      // title subject, text1 status, text2 recipient, number1 sent at
      {.kind = "email", .from = "mail_messages t",
       .customer = "t.customer_id", .id = "t.id", .at = "t.created_at", .channel = "'email'", .title = "t.subject",
       .text1 = "t.status", .text2 = "t.to_email", .number1 = "t.sent_at", .number2 = "CAST(NULL AS BIGINT)"},
      // channel and title (purpose) of the consent, text1 its source, number1 1 granted / 0 withdrawn
      {.kind = "consent", .from = "consent_events t",
       .customer = "t.customer_id", .id = "t.id", .at = "t.at", .channel = "t.channel", .title = "t.purpose",
       .text1 = "t.source", .text2 = "CAST(NULL AS TEXT)", .number1 = "CAST(t.granted AS BIGINT)",
       .number2 = "CAST(NULL AS BIGINT)"},
      // title order number, text1 status, text2 currency, number1 total in minor units
      {.kind = "order", .from = "orders t",
       .customer = "t.customer_id", .id = "t.id", .at = "t.placed_at", .channel = "t.channel", .title = "t.number",
       .text1 = "t.status", .text2 = "t.currency", .number1 = "t.total_minor", .number2 = "CAST(NULL AS BIGINT)"},
      // title order number, text1 the new status, number1 the order id
      {.kind = "order_status", .from = "orders o JOIN order_status_history t ON t.order_id = o.id",
       .customer = "o.customer_id", .id = "t.id", .at = "t.at", .channel = "o.channel", .title = "o.number",
       .text1 = "t.status", .text2 = "CAST(NULL AS TEXT)", .number1 = "t.order_id", .number2 = "CAST(NULL AS BIGINT)"},
      // channel the carrier, title tracking number, text1 tracking URL, number1 the order id
      {.kind = "shipment", .from = "shipments t",
       .customer = "t.customer_id", .id = "t.id", .at = "t.shipped_at", .channel = "t.carrier",
       .title = "t.tracking_number", .text1 = "t.tracking_url", .text2 = "CAST(NULL AS TEXT)", .number1 = "t.order_id",
       .number2 = "CAST(NULL AS BIGINT)"},
  };
  return sources;
}

}  // namespace fidelis::timeline
