#pragma once
// tracking: web visits and page views, from the first-party snippet (/t.js), the pixel (/t.gif),
// the server-side batch API and the Segment-compatible API (see docs/TRACKING.md).
//
// Model: a visitor (an anonymous browser id) has sessions (its events with less than 30 minutes
// between them: kSessionGap) made of events. A visitor is stitched to a customer on login, order
// or questionnaire (`stitch`): its anonymous history joins the profile, and its later events go to
// that customer. Counters per customer (visits, page views, last visit, visits per source) are kept
// in customer_web_counters in the transaction of each batch, aggregated per batch.
//
// Ingestion is append-only and batched: `ingest` validates the whole batch first (an invalid event
// rejects the batch, naming "events[3].url"), then writes it in one transaction; it returns only
// once that transaction is committed, so an acknowledged batch survives a crash.
//
// A session's source comes from its first event's UTM parameters and referrer (`classify_source`):
//   1. utm_medium email/e-mail/newsletter/mail                      -> email
//   2. utm_medium cpc/ppc/paid/paidsearch/paid_social/cpm/display/ads/retargeting -> ads
//      (also any gclid/fbclid/msclkid in the landing URL)
//   3. utm_medium affiliate/affiliation/partner/partenaire          -> partner
//   4. utm_medium social/social-network/sm                          -> social
//   5. utm_medium organic or a referrer on a known search engine    -> search
//      (google.*, bing.com, yahoo.*, duckduckgo.com, qwant.com, ecosia.org, baidu.com, yandex.*, startpage.com)
//   6. a referrer on a known social network                         -> social
//      (facebook.com, fb.me, instagram.com, t.co, twitter.com, x.com, linkedin.com, lnkd.in,
//       pinterest.*, tiktok.com, youtube.com, reddit.com, snapchat.com)
//   7. a referrer on a webmail (mail.google.com, outlook.live.com, mail.yahoo.com, webmail.*) -> email
//   8. any other utm_source                                         -> partner
//   9. any other referrer outside the shop's own host               -> referral
//  10. nothing                                                      -> direct
//
// Thread-safety: TrackingService is shared by all request threads; the free functions are pure or
// work in the caller's transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::tracking {

inline constexpr Millis kSessionGap = 30LL * 60 * 1000;
// Limits, checked by `validate` (and documented in docs/TRACKING.md).
inline constexpr size_t kMaxBatchEvents = 1000;
inline constexpr size_t kMaxVisitorIdBytes = 64;
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxTextBytes = 500;        // title, name, query, step, sku, utm values
inline constexpr size_t kMaxPropertiesBytes = 4096;  // properties as JSON text
inline constexpr Millis kMaxPastMs = 7LL * 24 * 3600 * 1000;  // events older than this are refused
inline constexpr Millis kMaxFutureMs = 10LL * 60 * 1000;      // clock skew allowed

enum class Source : uint8_t { kDirect, kSearch, kSocial, kEmail, kAds, kPartner, kReferral };
inline constexpr size_t kSourceCount = 7;
std::string_view source_name(Source s);  // "direct", "search", ...

struct Utm {
  std::string source, medium, campaign;
};
// The rules above. `url` is the landing page (for click ids and the shop's own host), `referrer`
// the page before it (empty when none).
Source classify_source(std::string_view url, std::string_view referrer, const Utm& utm);
// utm_source, utm_medium and utm_campaign read from a URL's query string (percent-decoded).
Utm utm_from_url(std::string_view url);
// The lower-cased host of an http(s) URL, or "" when it has none.
std::string url_host(std::string_view url);

enum class EventType : uint8_t {
  kSessionStart, kPageView, kProductView, kSearch, kCartAdd, kCartRemove, kCheckoutStep, kTrack
};
std::string_view event_type_name(EventType t);  // "session_start", "page_view", ... "track"
// InvalidArgument naming `field` for an unknown name.
Result<EventType> parse_event_type(std::string_view name, std::string_view field);

struct Event {
  std::string visitor_id;        // 1..64 of [A-Za-z0-9._:-]
  EventType type = EventType::kPageView;
  std::optional<Millis> at;      // unset: the time it is received
  std::string url, title, referrer;
  Utm utm;                       // empty: read from `url`
  std::string sku;               // product_view, cart_add, cart_remove (required)
  std::string query;             // search (required)
  std::optional<int64_t> quantity;  // cart_add, cart_remove: 1..10000 (default 1)
  std::string step;              // checkout_step (required)
  std::string name;              // track (required): the custom event's name
  std::string properties;        // JSON object text, or empty
};

// Checks every event of a batch; InvalidArgument naming "events[i].field" for the first bad one,
// ("events") for an empty or oversized batch. Sets unset `at` to `now`.
Status validate(std::vector<Event>& events, Millis now);

struct IngestResult {
  int64_t accepted = 0;
  int64_t sessions_started = 0;
};

// Links the visitor to the customer, in the caller's transaction: its sessions and events not yet
// attributed to anyone become the customer's, its later events too, and the customer's counters
// take that history in. Called by the identify APIs and by other modules (orders, questionnaires)
// when a visitor is known to be a customer. NotFound ("customer_id") for no live customer;
// InvalidArgument ("visitor_id"). Returns the number of events attributed.
Result<int64_t> stitch(storage::Tx& tx, std::string_view visitor_id, int64_t customer_id, Millis now);

// A customer's web figures: the sum of its customer_web_counters rows.
struct Counters {
  int64_t visits = 0, page_views = 0, events = 0;
  std::optional<Millis> first_visit_at, last_visit_at;
  std::string last_source;  // "" when no visit
  int64_t visits_by_source[kSourceCount] = {};
};
Result<Counters> counters(storage::Db& db, int64_t customer_id);

struct Options {
  bool require_consent = false;  // browser endpoints store nothing without a consent signal
  bool honor_dnt = true;         // browser endpoints store nothing with DNT: 1 or Sec-GPC: 1
};

// What a browser request says about privacy (the HTTP layer reads it from headers and parameters).
struct Privacy {
  bool do_not_track = false;  // DNT: 1 or Sec-GPC: 1
  bool consent = false;       // the page signalled consent (parameter, body field or cookie)
};

class TrackingService {
 public:
  TrackingService(storage::Db& db, const Clock& clock, Options options);

  const Options& options() const { return options_; }
  // Whether a browser request may be stored (and a visitor cookie set) under the options.
  bool may_store(const Privacy& p) const;

  // Validates then stores the batch in one transaction; see the header comment.
  Result<IngestResult> ingest(std::vector<Event> events);
  // `stitch` in its own transaction, with an audit entry and a "web.visitor_stitched" event.
  Result<int64_t> identify(std::string_view visitor_id, int64_t customer_id, const audit::Actor& actor);
  // The live customer an identify call names: a Fidelis id ("123"), else an external id of
  // source `external_source`, else the e-mail. nullopt when none matches.
  Result<std::optional<int64_t>> resolve_customer(std::string_view user_id, std::string_view external_source,
                                                  std::string_view email);

 private:
  storage::Db& db_;
  const Clock& clock_;
  Options options_;
};

// A new random visitor id (22 URL-safe characters).
std::string new_visitor_id();
// Whether `id` is a well-formed visitor id.
bool valid_visitor_id(std::string_view id);

}  // namespace fidelis::tracking
