// The customer's JSON document: the API's representation of a profile, rendered once per change.

#include "core/clock.h"
#include "core/json_writer.h"
#include "customers/customers.h"

namespace fidelis::customers {

std::string render_document(const Customer& c) {
  std::string out;
  out.reserve(1536);
  JsonWriter w(out);
  w.begin_object();
  w.key("id").integer(c.id);
  w.key("civility").string_or_null(c.civility);
  w.key("first_name").string_or_null(c.first_name);
  w.key("last_name").string_or_null(c.last_name);
  w.key("birth_date").string_or_null(c.birth_date);
  w.key("emails").begin_array();
  for (const auto& e : c.emails) w.begin_object().key("email").string(e.email).key("label").string(e.label).end_object();
  w.end_array();
  w.key("phones").begin_array();
  for (const auto& p : c.phones)
    w.begin_object()
        .key("number").string(p.raw)
        .key("e164").string_or_null(p.e164)
        .key("type").string(phone_type_name(p.type))
        .key("valid").boolean(p.valid)
        .key("label").string(p.label)
        .end_object();
  w.end_array();
  w.key("address").begin_object()
      .key("street").string_or_null(c.address.street)
      .key("street2").string_or_null(c.address.street2)
      .key("postcode").string_or_null(c.address.postcode)
      .key("city").string_or_null(c.address.city)
      .key("country").string_or_null(c.address.country)
      .end_object();
  w.key("household").begin_array();
  for (const auto& m : c.household)
    w.begin_object()
        .key("relation").string(m.relation)
        .key("first_name").string_or_null(m.first_name)
        .key("birth_date").string_or_null(m.birth_date)
        .end_object();
  w.end_array();
  w.key("affinities").begin_array();
  for (const auto& a : c.affinities) w.begin_object().key("category").string(a.category).key("strength").integer(a.strength).end_object();
  w.end_array();
  w.key("consents").begin_array();
  for (const auto& k : c.consents)
    w.begin_object()
        .key("channel").string(channel_name(k.channel))
        .key("purpose").string(purpose_name(k.purpose))
        .key("granted").boolean(k.granted)
        .key("source").string(k.source)
        .key("changed_at").string(format_iso8601(k.changed_at))
        .key("source_at").string_or_null(k.source_at ? std::optional<std::string>(format_iso8601(*k.source_at)) : std::nullopt)
        .end_object();
  w.end_array();
  w.key("tags").begin_array();
  for (const auto& t : c.tags) w.string(t);
  w.end_array();
  w.key("custom_fields").begin_object();
  for (const auto& [k, v] : c.custom_fields) {
    w.key(k);
    if (const auto* s = std::get_if<std::string>(&v)) w.string(*s);
    else if (const auto* n = std::get_if<int64_t>(&v)) w.integer(*n);
    else if (const auto* d = std::get_if<double>(&v)) w.number(*d);
    else w.boolean(std::get<bool>(v));
  }
  w.end_object();
  w.key("external_ids").begin_array();
  for (const auto& x : c.external_ids) w.begin_object().key("source").string(x.source).key("id").string(x.id).end_object();
  w.end_array();
  w.key("version").integer(c.version);
  w.key("created_at").string(format_iso8601(c.created_at));
  w.key("updated_at").string(format_iso8601(c.updated_at));
  w.key("deleted_at");
  if (c.deleted_at) w.string(format_iso8601(*c.deleted_at));
  else w.null();
  w.end_object();
  return out;
}

}  // namespace fidelis::customers
