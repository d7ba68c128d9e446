#pragma once
// Internal to the customers module: validation and the SQL that stores and loads profiles.

#include <span>
#include <vector>

#include "customers/customers.h"

namespace fidelis::customers {

// Normalises `in` in place; InvalidArgument naming the first bad field.
// Phone numbers without a country code are read as the address's country's, else `phone_region`'s.
Status validate_input(CustomerInput& in, const std::vector<CustomFieldDef>& defs, Millis now,
                      std::string_view phone_region = "FR");
Status validate_custom_field_def(CustomFieldDef& def);

// A search string as typed in a phone field ("06 12", "+33 6") as phone_key digits; empty if it
// does not look like a phone number.
std::string phone_query_key(std::string_view q);
// The phone_key of a number typed for none written as a French number ("06 00 00 00 00",
// "+33 6 00 00 00 00": "33600000000", the digits its E.164 would have), else empty.
std::string placeholder_phone_key(std::string_view raw);

// customer_emails.mailbox_key for an address of `email_key`: its mailbox_key (core/email.h) where
// that differs from the address, else NULL (the partial index then holds only the variants).
storage::Value mailbox_key_column(std::string_view email_key);

// Replaces the lists `in` sets and upserts its consents (writing consent events when a consent
// changes), for customer `id`.
// `fresh`: the customer was just inserted, so there is nothing to delete or compare against.
// `merged_consents`: the consents are another record's decisions taken over by a merge: they keep
// their own time and source, and no event is written (that record's history moves with it).
Status store_children(storage::Tx& tx, int64_t id, const CustomerInput& in, Millis now, bool fresh = false,
                      bool merged_consents = false);
// Records `c` as the customer's consent for its channel and purpose, at `now`, from its source, and
// writes it in the consent history, whether or not `granted` changes (a source confirming a
// decision is evidence too).
Status record_consent(storage::Tx& tx, int64_t id, const Consent& c, Millis now);
// Loads whole profiles, in the order of `ids`; missing ids are skipped.
Result<std::vector<Customer>> load_customers(storage::Db& db, std::span<const int64_t> ids);
Result<std::vector<Customer>> load_customers(storage::Tx& tx, std::span<const int64_t> ids);
Result<std::vector<CustomFieldDef>> load_custom_field_defs(storage::Db& db);

// AlreadyExists ("emails[i].email") when a live customer other than `self` uses one of `emails`.
// Takes a key lock per address first, so concurrent checks on PostgreSQL cannot both pass.
Status check_emails_free(storage::Tx& tx, int64_t self, const std::vector<EmailAddress>& emails);
// Loads the profile as it now is inside `tx`, stores its document, and returns it.
Result<Customer> refresh_document(storage::Tx& tx, int64_t id);
// Puts a profile's lists in the order load_customers returns them (so a document rendered from
// data in hand is the one a later load would render).
void sort_as_loaded(Customer& c);
// Inserts a validated new customer with its lists and document; no audit entry or event.
Result<Customer> insert_customer(storage::Tx& tx, const CustomerInput& in, Millis now);

}  // namespace fidelis::customers
