#pragma once
// customers: the customer profile, as the qualification questionnaire describes it, and its store.
//
// A profile holds identity (civility, first and last name), contact details (e-mails, phones, one
// postal address), birth date, household members, category affinities ("appétences rayons"),
// consents per channel and purpose with the source and time of every change, tags, typed custom
// fields defined per installation, and ids in external systems. Customers are soft-deleted and an
// admin can restore them. Every change bumps `version` (the ETag), writes an audit entry and an
// outbox event in the same transaction.
//
// Thread-safety: CustomerService is shared by all request threads.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/email.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::customers {

enum class Channel { kEmail, kSms, kPost, kPhone };
enum class Purpose { kNewsletter, kOffers, kService };
std::string_view channel_name(Channel c);
std::string_view purpose_name(Purpose p);
Result<Channel> parse_channel(std::string_view s, std::string_view field);
Result<Purpose> parse_purpose(std::string_view s, std::string_view field);

struct EmailAddress {
  std::string email;  // normalised: trimmed, domain lower-cased
  std::string label;  // "perso", "travail", ... free text
  // The import that first brought the address (customer_emails.import_id); unset when it was
  // entered otherwise. Kept by every later write of the list; the NPAI rates count by it.
  std::optional<int64_t> import_id;
};

enum class PhoneType { kMobile, kFixed, kOther, kUnknown };
std::string_view phone_type_name(PhoneType t);

struct Phone {
  std::string raw;                  // as given
  std::optional<std::string> e164;  // "+33647219358" when the number is valid
  PhoneType type = PhoneType::kUnknown;
  bool valid = false;               // invalid numbers are kept as given, flagged
  bool placeholder = false;         // invalid as typed for "no number" (is_placeholder_phone); not stored
  std::string label;
};

struct Address {
  std::optional<std::string> street, street2, postcode, city;
  std::optional<std::string> country;  // ISO 3166-1 alpha-2, upper-case ("FR")
};

struct HouseholdMember {
  std::string relation;  // "enfant", "conjoint", "parent", ... free text, lower-case
  std::optional<std::string> first_name;
  std::optional<std::string> birth_date;  // YYYY-MM-DD, or --MM-DD when only the day and month are known
};

struct Affinity {
  std::string category;  // shop department, e.g. "jardin"
  int strength = 50;     // 0..100
};

struct Consent {
  Channel channel = Channel::kEmail;
  Purpose purpose = Purpose::kNewsletter;
  bool granted = false;
  std::string source;  // "api", "import", "questionnaire", "demo", "web-form", ...
  Millis changed_at = 0;  // when Fidelis recorded the decision
  // When the person decided, as the source dates it (an import's opt-out or consent date column,
  // the API's source_at); unset when it gave no date. Never after changed_at.
  std::optional<Millis> source_at;
};

struct ConsentEvent {
  Channel channel;
  Purpose purpose;
  bool granted;
  std::string source;
  Millis at;                        // when it was recorded
  std::optional<Millis> source_at;  // when the person decided, as the source dates it
};

struct ExternalId {
  std::string source;  // system name, e.g. "prestashop"
  std::string id;
};

// Custom field value: text, integer, number, boolean; dates and choices are text validated by type.
using CustomValue = std::variant<std::string, int64_t, double, bool>;
// A custom value as text: the text itself, "true"/"false", or the number.
std::string custom_value_text(const CustomValue& v);

enum class CustomFieldType { kText, kInteger, kNumber, kBoolean, kDate, kChoice };
std::string_view custom_field_type_name(CustomFieldType t);
Result<CustomFieldType> parse_custom_field_type(std::string_view s, std::string_view field);

struct CustomFieldDef {
  std::string key;  // [a-z][a-z0-9_]{0,39}
  std::string label;
  CustomFieldType type = CustomFieldType::kText;
  std::vector<std::string> choices;  // kChoice only
};

struct Customer {
  int64_t id = 0;
  std::optional<std::string> civility;  // "M.", "Mme", "Mx"
  std::optional<std::string> first_name, last_name;
  std::optional<std::string> birth_date;  // YYYY-MM-DD, or --MM-DD when only the day and month are known
  std::vector<EmailAddress> emails;       // first is primary
  std::vector<Phone> phones;              // first is primary
  Address address;
  std::vector<HouseholdMember> household;
  std::vector<Affinity> affinities;
  std::vector<Consent> consents;
  std::vector<std::string> tags;  // lower-case, sorted, unique
  std::map<std::string, CustomValue> custom_fields;
  std::vector<ExternalId> external_ids;
  int64_t version = 1;
  Millis created_at = 0, updated_at = 0;
  std::optional<Millis> deleted_at;
};

// Input for create and for update. In an update, a field left unset is unchanged; a set list
// replaces the whole list; `clear` names scalar fields to set to null. Consents are upserted per
// (channel, purpose), never removed.
struct CustomerInput {
  std::optional<std::string> civility, first_name, last_name, birth_date;
  std::optional<std::vector<EmailAddress>> emails;
  std::optional<std::vector<Phone>> phones;  // only `raw` and `label` are read
  std::optional<Address> address;
  std::optional<std::vector<HouseholdMember>> household;
  std::optional<std::vector<Affinity>> affinities;
  std::optional<std::vector<Consent>> consents;  // `changed_at` ignored (now); empty source -> "api"
  std::optional<std::vector<std::string>> tags;
  std::optional<std::map<std::string, std::optional<CustomValue>>> custom_fields;  // nullopt value removes
  std::optional<std::vector<ExternalId>> external_ids;
  // Fields to set to null: "civility", "first_name", "last_name", "birth_date" (the API's); merge_into
  // also takes the address parts "street", "street2", "postcode", "city", "country" (an import's
  // emptied cells, BuiltRow::blank).
  std::vector<std::string> clear;
};

// A value that was dropped or doubted when it came in (an impossible birth date in an import, a
// disposable e-mail address), kept on the record so someone can fix it.
struct QualityFlag {
  std::string field;
  std::string value;
  std::string reason;
  std::string source;  // "api", or the import's source
  Millis at = 0;
};

struct ListQuery {
  std::optional<std::string> tag;
  std::optional<std::string> city;      // matched accent- and case-insensitively
  std::optional<std::string> postcode;
  std::optional<Channel> consent_channel;  // with consent_purpose: customers who granted it
  std::optional<Purpose> consent_purpose;
  std::optional<Millis> created_after, created_before;  // [after, before)
  std::optional<std::string> q;  // prefix of last or first name ("dup", "jean dup"), e-mail or phone
  bool include_deleted = false;  // admins only (the HTTP layer decides)
  bool only_deleted = false;
  std::optional<int64_t> after_id;  // cursor
  int limit = 50;                   // 1..500
};

struct Page {
  std::vector<Customer> items;
  std::optional<int64_t> next_after_id;  // pass back as the cursor; nullopt at the end
};

// A profile's JSON document, as the API serves it. Kept in the customers row (rewritten in the
// transaction of every change) so a read is one row and no rendering.
struct Document {
  int64_t id = 0;
  int64_t version = 0;
  bool deleted = false;
  std::string json;
};
std::string render_document(const Customer& c);

struct DocumentPage {
  std::vector<Document> items;
  std::optional<int64_t> next_after_id;
};

// The French numbering plan also covers the overseas departments: dialled as 0590..., 0692...,
// they are numbers of regions of their own for libphonenumber (+590 590..., +262 692...). The
// region ("GP", "RE", "MQ", "GF", "YT", "PM") a national number written with one of these
// prefixes belongs to (ARCEP's plan), else empty.
std::string_view overseas_region(std::string_view national_number);
// Normalises a phone number with libphonenumber (default region `region`, e.g. "FR"; a French
// national number of an overseas department is read in its region: see overseas_region).
Phone normalize_phone(std::string_view raw, std::string_view label = "", std::string_view region = "FR");
// Whether a French number is one typed for "no number", as forms and shop staff do: its eight
// digits after the first repeat one digit (06 00 00 00 00, 06 66 66 66 66) or count up or down
// (06 12 34 56 78, 01 23 45 67 89, 09 87 65 43 21), or it is dialled 0X 0X 0X 0X 0X (06 06 06 06 06)
// or counts up by pairs (01 02 03 04 05, 02 03 04 05 06). `national_number`: the national
// significant number's digits ("612345678"). Only +33 numbers are judged (not the overseas
// departments' own codes, nor other countries').
// normalize_phone keeps such a number as given, invalid, with `placeholder` set: it reaches nobody
// and would tie strangers together in matching.
bool is_placeholder_phone(int country_code, std::string_view national_number);
// The extension written after a number ("01 42 68 53 00 poste 12": "12"; also "ext. 12", "x12",
// "#12"), which normalize_phone leaves out of e164; empty when none. A switchboard's number is
// shared by colleagues: its phone_key carries the extension, and duplicate matching leaves it out.
std::string phone_extension(std::string_view raw);
// "DUPONT" -> "Dupont", "jean-pierre" -> "Jean-Pierre", "o'neil" -> "O'Neil", "MARTIN III" ->
// "Martin III"; mixed case kept. A company's legal form written in capitals stays so in a name of
// several words ("SARL DUPONT" -> "SARL Dupont"; see legal_form).
std::string normalize_name(std::string_view s);
// The legal form a word of a name is, as written ("SARL", "S.A.S.", "sas", "GmbH", "Ltd"), or
// nullopt: French, Belgian, Swiss, German, British and American company forms. The two-letter
// ones ("SA", "BV", "NV", "AG") count only written in capitals, since "Sa" is also a name.
std::optional<std::string> legal_form(std::string_view word);

// The search keys stored beside a profile (customers.name_key, name_key2; customer_phones.phone_key)
// that prefix search and duplicate blocking look up: search_key("last first") and
// search_key("first last"); a phone's E.164 digits without '+' (then "x" and its extension, if
// any), or its raw digits when invalid (a number typed for none: the digits its E.164 would have).
struct NameKeys {
  std::string last_first, first_last;
};
NameKeys name_keys(const std::optional<std::string>& first, const std::optional<std::string>& last);
// Why an accepted e-mail address is flagged on the customer, if it is: a disposable domain, a
// domain that looks mistyped from a common provider's (likely_domain_typo), or (with `mx`) a domain
// that cannot receive mail. API creates and imports flag alike.
std::optional<std::string> email_flag_reason(std::string_view email, MxChecker* mx);
std::string phone_key(const Phone& p);
// The mailbox key stored beside an address whose email_key is `email_key`
// (customer_emails.mailbox_key): its mailbox_key (core/email.h) where that differs from the
// address, else empty (the address itself is the key). Matching, in the database and in memory,
// asks for both.
std::string stored_mailbox_key(std::string_view email_key);
// Locks, inside `tx`, the mailboxes these addresses deliver to (their mailbox_key; PostgreSQL: until
// `tx` ends, SQLite running one writer at a time). API creates and e-mail changes, orders and the
// undoing of merges lock the mailboxes of the addresses they may give a customer before looking
// for their owners, so two of them for one mailbox, written alike or not (jean.dupont@gmail.com,
// jeandupont+shop@gmail.com), run one after the other and the second finds the first's customer.
// Imports do not (a whole-base dedup run finds what an import and a concurrent order made twice).
// The keys are taken in sorted order, so two of these calls never wait for each other in a cycle.
Status lock_mailboxes(storage::Tx& tx, std::span<const std::string> emails);
// Whether a profile has what makes a customer: a name, an e-mail or a valid phone number (one kept
// as given but invalid reaches nobody).
bool makes_a_customer(const std::optional<std::string>& first_name, const std::optional<std::string>& last_name,
                      std::span<const EmailAddress> emails, std::span<const Phone> phones);
// The reason a number kept as given is flagged on its customer.
inline constexpr std::string_view kInvalidPhoneReason = "not a valid phone number (kept as given)";
inline constexpr std::string_view kPlaceholderPhoneReason =
    "a number typed for none, such as 06 00 00 00 00 or 06 12 34 56 78 (kept as given, not used)";
// Why an invalid number is flagged (kInvalidPhoneReason or kPlaceholderPhoneReason).
inline std::string_view phone_flag_reason(const Phone& p) {
  return p.placeholder ? kPlaceholderPhoneReason : kInvalidPhoneReason;
}
// The reason of a flag on a value (an e-mail, an id) a record was given but that stays with
// customer `owner`, who had it first: the evidence a review of the two shows.
std::string already_used_reason(int64_t owner);
// What already_used_reason writes before the owner's id.
inline constexpr std::string_view kAlreadyUsedBy = "already used by customer ";
// An ISO 3166-1 alpha-2 country code, upper-cased ("FR", "BE"), that ICU knows as a country:
// "XX" or "fr" are not.
bool is_country_code(std::string_view code);
// The ISO code of a country written as files write it: a code ("fr", "BE") or a name in French,
// English, German, Spanish, Italian, Dutch or Portuguese ("Belgique", "Deutschland", "La Réunion",
// "Royaume-Uni"), case and accents aside; nullopt when it is none of them.
std::optional<std::string> country_from_name(std::string_view name);
// InvalidArgument naming `field` for `given`, no ISO 3166-1 alpha-2 code: with the code a country's
// name wants ("expected an ISO 3166-1 alpha-2 code: FR for 'France'").
Error not_a_country_code(std::string_view field, std::string_view given);
// `chosen` with the parts it lacks (street, street2, postcode, city, country) taken from `other`
// when both are the same place: the postcodes, cities and countries both give agree, at least a
// postcode or a city is on both sides, and they do not give two different streets. Otherwise
// `chosen` as it is: an address moves as one, and a street from one side with a postcode from the
// other is nowhere.
Address combine_addresses(const Address& chosen, const Address& other);
// Two writings of one value: the same search key (case, accents and punctuation aside), both set.
bool same_value(const std::optional<std::string>& a, const std::optional<std::string>& b);
// One address written twice: the street, complement, postcode and city agree where both give
// them (same_value), the postcode or the city is on both sides, and no two different countries.
bool same_place(const Address& a, const Address& b);
// Of two writings of one value, whether `b` is written with more care than `a`: more accents, then
// lower-case letters where `a` has none ("Hélène" over "Helene" over "HELENE"). An old shop system writes
// without accents: merges and imports keep the careful writing of a value they would only rewrite.
bool better_written(std::string_view b, std::string_view a);
// The same for an address's written parts (street, complement, city) that both give.
bool better_written(const Address& b, const Address& a);
// Of two birth dates of one person, `chosen`, unless it is a day and month whose year `other`
// knows ("--05-12" and "1984-05-12" give "1984-05-12"): an import or a merge loses no year.
std::optional<std::string> with_birth_year(const std::optional<std::string>& chosen,
                                           const std::optional<std::string>& other);

class CustomerService {
 public:
  // `mx`: when set, create() flags e-mails whose domain cannot receive mail (DNS).
  CustomerService(storage::Db& db, const Clock& clock, MxChecker* mx = nullptr);

  // InvalidArgument naming the field (e.g. "emails[1].email", "birth_date", "custom_fields.vip_level").
  // A disposable e-mail address is accepted and flagged (see flags()).
  // AlreadyExists ("emails[0].email") when another live customer has the same e-mail;
  // AlreadyExists ("external_ids[0]") when another customer has the external id.
  Result<Customer> create(CustomerInput in, const audit::Actor& actor);
  // NotFound when missing, or deleted and !include_deleted.
  Result<Customer> get(int64_t id, bool include_deleted = false);
  // FailedPrecondition ("If-Match") when `expected_version` is not the current version;
  // InvalidArgument ("last_name") when the result would have no name, e-mail or phone. Flags the
  // given e-mails and phones as create() does (source "questionnaire" for a public actor).
  Result<Customer> update(int64_t id, int64_t expected_version, CustomerInput in, const audit::Actor& actor);
  // Soft delete. NotFound if missing or already deleted.
  Status remove(int64_t id, std::optional<int64_t> expected_version, const audit::Actor& actor);
  // NotFound if missing; FailedPrecondition if not deleted; Conflict if merged into another
  // customer (a merge is undone through merging::MergeService::unmerge); AlreadyExists ("emails[i].email") when
  // a live customer now uses one of its e-mails.
  Result<Customer> restore(int64_t id, const audit::Actor& actor);
  Result<Page> list(const ListQuery& q);
  // The stored documents: what the read API serves. Same errors as get() and list().
  Result<Document> get_document(int64_t id, bool include_deleted = false);
  Result<DocumentPage> list_documents(const ListQuery& q);
  // Newest first. NotFound when missing, or deleted and !include_deleted.
  Result<std::vector<ConsentEvent>> consent_history(int64_t id, bool include_deleted = false);

  // NotFound when missing, or deleted and !include_deleted.
  Result<std::vector<QualityFlag>> flags(int64_t id, bool include_deleted = false);
  // Flags a value on the customer (kept once per field and value); `at` 0 means now.
  Status add_flag(int64_t id, QualityFlag flag);

  Result<std::vector<CustomFieldDef>> custom_fields();  // = custom_field_defs(db)
  Result<CustomFieldDef> define_custom_field(CustomFieldDef def, const audit::Actor& actor);

  // Customers' stored phone numbers read again from their text as given, in the region of their
  // stored E.164, else their address's country (a number stored invalid with neither is read
  // again only when written with its country code, or as a French number typed for none): with
  // `all`, every number (after libphonenumber's plan changed); else only those today's rules read
  // otherwise without the plan (a French number typed for none stored as valid or keyed
  // otherwise, an extension outside the search key). A number that reads otherwise is rewritten
  // (E.164, validity, type, search key), a number now invalid flagged (source "phone check") and
  // one now valid unflagged, and the customer's document refreshed; a live customer's version goes
  // up, with customer.updated emitted and audited (deleted and merged records are rewritten too, so
  // that a restore or an unmerge brings them back right). A customer changed between the reading
  // and the rewriting is read again (PostgreSQL; up to five times, then left as it is). Customers
  // are rewritten 500 to a transaction.
  struct PhoneRecheck {
    int64_t phones_read = 0, phones_changed = 0, customers_changed = 0;
  };
  Result<PhoneRecheck> recheck_phones(bool all, const audit::Actor& actor);

 private:
  Status validate(CustomerInput& in, const std::vector<CustomFieldDef>& defs);
  // The WHERE/ORDER/LIMIT of a list query and its parameters.
  Result<std::pair<std::string, std::vector<storage::Value>>> list_sql(const ListQuery& q, std::string_view columns);

  storage::Db& db_;
  const Clock& clock_;
  MxChecker* mx_;
};

// The installation's custom fields, by key.
Result<std::vector<CustomFieldDef>> custom_field_defs(storage::Db& db);

// Once per change of the phone rules (settings "phones.rules"), after the migrations: the stored
// numbers those rules read otherwise are rewritten (recheck_phones without `all`), as the system.
// A base created under the current rules only records them.
Status upgrade_stored_phones(storage::Db& db, const Clock& clock);
// Gives customer `id`'s addresses their mailbox keys (customer_emails.mailbox_key), inside `tx`:
// for rows written back from a record of them (an unmerge's restore).
Status rekey_emails(storage::Tx& tx, int64_t id);
// Once (settings "emails.rules"), after the migrations: the addresses stored before
// customer_emails.mailbox_key existed are given theirs, so matching finds their variants.
Status upgrade_stored_emails(storage::Db& db);

// ---- for imports and merges (customer_merge.cpp) ----
// Records `flags` on customer `id` inside `tx`; a field and value already flagged keeps its flag.
Status store_flags(storage::Tx& tx, int64_t id, const std::vector<QualityFlag>& flags);
// Removes from `in` the value a validation error names (its field: "birth_date", "emails[2]",
// "phones[0].label" only the label, "custom_fields.KEY", "tags" beyond the limit...); false when
// the field names no value that can be taken out. Imports drop what is bad and keep the rest;
// the API collects every bad field of a request this way.
bool drop_invalid_value(CustomerInput& in, const std::string& field);
// Validates and normalises `in` as create() does (InvalidArgument naming the field).
// Phone numbers without a country code are read as the address's country's, else `phone_region`'s
// (an import's default country).
Status validate_customer_input(CustomerInput& in, const std::vector<CustomFieldDef>& defs, Millis now,
                               std::string_view phone_region = "FR");
// Inserts a validated customer inside the caller's transaction. No audit entry (the caller records
// one for the whole import); a customer.created event is emitted.
Result<Customer> create_in(storage::Tx& tx, const CustomerInput& in, Millis now);
// What of a customer's names, civility, birth date and address an input merged into it may replace.
enum class Replace {
  kGaps,     // only what the customer lacks
  kWriting,  // that, and a name or address part the input writes with more care (better_written):
             // the customer's writing is no person's typing (a file without accents filled it)
  kValues,   // every field the input gives
};
// Merges validated `in` into live customer `id` inside `tx`: scalar fields (names, civility, birth
// date, address) are filled where missing, or replaced with `Replace::kValues`, but a name or an
// address given as the same value written with less care (better_written: "HELENE" for "Hélène")
// keeps the customer's writing, unless `replace_lists`; with `Replace::kWriting` or `kValues`, one
// written with more care replaces it (a stored "Helene Berube" becomes "Hélène Bérubé"); e-mails, phones, tags,
// external ids, household members and affinities it lacks are added (with `replace_lists`, the
// e-mails, phones, tags, household members and affinities `in` gives are the lists, in its order: a
// row of the customer's own export edited and imported back); with `kValues`, the fields `in.clear` names are emptied;
// consents go through screen_import_consents; custom fields are set. Bumps the version and
// emits customer.updated when anything changed; returns the customer untouched otherwise. A
// customer another writer changes meanwhile (PostgreSQL) is read again and merged into as it now
// is (Conflict after five tries). NotFound if `id` is not a live customer.
struct MergeOutcome {
  Customer customer;
  bool changed = false;  // false: the row brought nothing new, nothing was written
  // Consents the row would have given back after the customer withdrew them (screen_import_consents).
  std::vector<std::pair<Consent, std::string>> refused_consents;
};
// When the person made consent decision `k`, as far as is known: the date its source gives
// (source_at), else when Fidelis recorded it, unless an import recorded it (a file that dates
// nothing says nothing of when the person decided: a nightly file repeats an old "yes").
std::optional<Millis> decided_at(const Consent& k, bool recorded_by_import);
// Of two differing decisions on one consent (one grants, the other withdraws), whether `b`
// prevails over `a`: the one decided later when both dates are known (decided_at); else a grant
// an import recorded never beats a withdrawal; else the one recorded later. `*_by_import`: whether
// an import recorded each. Merges weigh consents by it.
bool prevails(const Consent& b, bool b_by_import, const Consent& a, bool a_by_import);
// Whether an import's decision `given`, differing from the customer's `held`, changes it: a grant
// only when the row dates it after the withdrawal held was decided, a withdrawal unless the row
// dates it before the consent held was decided (decided_at). screen_import_consents and the undoing
// of merges read an import's decisions by it.
bool import_decision_applies(const Consent& given, const Consent& held, bool held_by_import);
// What an import's consents for live customer `customer_id` may change, inside `tx`. `news`: those
// that differ from the customer's, unless a withdrawal repeats what its source last said (the
// person said yes since, the source does not know). `refused`, with why: a consent the customer
// has withdrawn is not given back by an import (an old export read again, a shop's nightly
// file) unless the row dates it after the withdrawal (decided_at); only the person can, through
// a questionnaire, a form or the API. A withdrawal the row dates before the consent the customer
// holds was decided (decided_at) does not undo it. A consent equal to the customer's changes
// nothing (its source and time stay the proof of consent).
// What a source says is compared with what it last said (its last consent event, or its last
// statement that was not one); `statements` are the given consents recorded as no change (equal to
// the customer's, or refused): written by record_statements, so that the source's next change is
// seen as one (a shop that said "yes" after the person re-subscribed, then "no": a new decision).
struct ScreenedConsents {
  std::vector<Consent> news;
  std::vector<std::pair<Consent, std::string>> refused;
  std::vector<Consent> statements;
};
Result<ScreenedConsents> screen_import_consents(storage::Tx& tx, int64_t customer_id, const std::vector<Consent>& given);
// Keeps `statements` as what their sources last said of customer `customer_id`'s consents, at `now`.
// No version, no event: it is no change of the profile.
Status record_statements(storage::Tx& tx, int64_t customer_id, const std::vector<Consent>& statements, Millis now);
// `dry_run`: only says whether anything would change, writing nothing.
Result<MergeOutcome> merge_into(storage::Tx& tx, int64_t id, const CustomerInput& in, Replace replace, Millis now,
                                bool replace_lists = false, bool dry_run = false);
// The live customer record `id` ended up in: itself, or the customer it was merged into (followed
// through later merges); nullopt when it is gone otherwise (deleted, or no such id).
Result<std::optional<int64_t>> survivor(storage::Tx& tx, int64_t id);
// Sets live customer `id`'s scalar fields (civility, names, birth date, address) to exactly `in`'s
// (unset = NULL), replaces the lists `in` sets and upserts its consents (keeping their own time and
// source, writing no consent event: the loser's history moves with it), inside `tx`: what a merge's
// survivorship decided. Bumps the version and rewrites the document; no audit entry or event.
// NotFound if `id` is not a live customer; Conflict when `expected_version` is given and the
// customer changed since it was read (another transaction committed in between).
Result<Customer> replace_in(storage::Tx& tx, int64_t id, const CustomerInput& in, Millis now,
                            std::optional<int64_t> expected_version = std::nullopt);
// Recomputes customer `id`'s search keys from its row after its columns were written directly (an
// unmerge restoring rows), bumps the version and rewrites the document.
Result<Customer> reindex_in(storage::Tx& tx, int64_t id, Millis now);
// Whole profiles by id inside `tx`, in the order of `ids` (missing ids skipped).
Result<std::vector<Customer>> load_customers_for_export(storage::Tx& tx, std::span<const int64_t> ids);
// The customer holding this id in `source` (an id is unique per source, deleted customers
// included: a merged-away record's ids moved to its survivor), inside `tx`.
struct ExternalIdOwner {
  int64_t customer_id = 0;
  bool deleted = false;
};
Result<std::optional<ExternalIdOwner>> external_id_owner(storage::Tx& tx, std::string_view source,
                                                         std::string_view external_id);
// A live customer with this e-mail (normalised), inside `tx`. With `among`, only those customers
// are considered (ids that may be stale: a key table's).
Result<std::optional<int64_t>> find_by_email(storage::Tx& tx, std::string_view email,
                                             std::span<const int64_t> among = {});
// The one live customer holding the mailbox `email` delivers to (its mailbox_key, core/email.h:
// jeandupont+shop@gmail.com for jean.dupont@gmail.com), inside `tx`; nullopt when none or several
// do (a mailbox two profiles share is a question for a person).
Result<std::optional<int64_t>> find_sole_mailbox_holder(storage::Tx& tx, std::string_view email);

// `fidelis demo`: plausible French customers (names, real postcodes and communes, phones,
// birthdays, families, affinities, consents with history, tags, shop ids), deterministic for a
// seed, loaded with the bulk path (COPY / batched transactions). Ids follow the largest existing
// id. Meant for an idle database: it does not take part in other writers' transactions.
struct DemoOptions {
  int64_t customers = 1000;
  uint64_t seed = 42;
  std::function<void(std::string_view table, int64_t done, int64_t total)> progress;  // may be empty
};
struct DemoStats {
  int64_t customers = 0;
  int64_t rows = 0;  // all tables
  int64_t first_id = 0, last_id = 0;
};
Result<DemoStats> generate_demo(storage::Db& db, const Clock& clock, const DemoOptions& options);

}  // namespace fidelis::customers
