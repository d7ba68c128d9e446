// JSON -> CustomerInput. Unknown fields are rejected by name so a typo never passes silently.

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

using namespace customers;

namespace {

// Reads an array field: InvalidArgument naming it when it is not an array.
Result<const Json*> get_array(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return static_cast<const Json*>(nullptr);
  if (!it->is_array()) return Error::invalid_argument(std::string(key), "expected an array");
  return &*it;
}

// A list element that must be an object; `at` names it ("household[2]").
Result<const Json*> object_of(const Json& e, const std::string& at) {
  if (!e.is_object()) return Error::invalid_argument(at, "expected an object");
  return &e;
}

// An element of emails or phones: a bare string, or an object with `value_key` (required), a
// label, and the other `allowed` keys. The value and the label.
Result<std::pair<std::string, std::string>> labelled_value(const Json& e, const std::string& at, std::string_view value_key,
                                                           std::initializer_list<std::string_view> allowed) {
  if (e.is_string()) return std::pair{e.get<std::string>(), std::string()};
  FIDELIS_ASSIGN_OR_RETURN(const Json* o, object_of(e, at));
  FIDELIS_RETURN_IF_ERROR(reject_unknown(*o, allowed, at));
  const std::string field = fmt::format("{}.{}", at, value_key);
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> value, get_string(*o, value_key, field));
  if (!value) return Error::invalid_argument(field, "is required");
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> label, get_string(*o, "label", at + ".label"));
  return std::pair{*value, label.value_or("")};
}

}  // namespace

Result<CustomerInput> customer_from_json(const Json& body, bool patch) {
  // Every field and every element of a list is read, whatever the others hold: a form gets all its
  // mistakes in one answer. An element in error is left out of what is read.
  std::vector<Error> wrong;
  auto note = [&](Status st) {
    if (!st) wrong.push_back(st.error());
  };
  // Read-only fields are accepted and ignored in a PATCH, so a GET body can be edited and sent back.
  if (patch)
    note(reject_unknown(body, {"civility", "first_name", "last_name", "birth_date", "emails", "phones", "address",
                               "household", "affinities", "consents", "tags", "custom_fields", "external_ids", "id",
                               "version", "created_at", "updated_at", "deleted_at"}));
  else
    note(reject_unknown(body, {"civility", "first_name", "last_name", "birth_date", "emails", "phones", "address",
                               "household", "affinities", "consents", "tags", "custom_fields", "external_ids"}));
  CustomerInput in;
  for (std::string_view key : {"civility", "first_name", "last_name", "birth_date"}) {
    note([&]() -> Status {
      FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> v, get_string(body, key, key));
      // In a change, null or an empty text clears the field (a form sends what its user emptied).
      if (patch && body.contains(key) && (body[key].is_null() || (v && text::trim(*v).empty()))) {
        in.clear.emplace_back(key);
        v.reset();
      }
      if (key == "civility") in.civility = v;
      else if (key == "first_name") in.first_name = v;
      else if (key == "last_name") in.last_name = v;
      else in.birth_date = v;
      return ok();
    }());
  }
  // Each element of the array `key` read by `read(element, at)`, `at` naming it ("emails[2]"),
  // which appends what it read.
  auto each = [&](std::string_view key, auto& list, auto read) {
    Result<const Json*> arr = get_array(body, key);
    if (!arr) return note(arr.error());
    if (*arr == nullptr) return;
    list.emplace();
    for (size_t i = 0; i < (*arr)->size(); ++i) note(read((**arr)[i], fmt::format("{}[{}]", key, i)));
  };
  each("emails", in.emails, [&](const Json& e, const std::string& at) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(auto value, labelled_value(e, at, "email", {"email", "label"}));
    in.emails->push_back({std::move(value.first), std::move(value.second)});
    return ok();
  });
  each("phones", in.phones, [&](const Json& e, const std::string& at) -> Status {
    // e164, type and valid are computed; accepted back so a GET body can be PATCHed unchanged.
    FIDELIS_ASSIGN_OR_RETURN(auto value, labelled_value(e, at, "number", {"number", "label", "e164", "type", "valid"}));
    Phone p;
    p.raw = std::move(value.first);
    p.label = std::move(value.second);
    in.phones->push_back(std::move(p));
    return ok();
  });
  note([&]() -> Status {
    auto it = body.find("address");
    if (it == body.end()) return ok();
    if (it->is_null()) {
      in.address = Address{};  // null: remove the address
      return ok();
    }
    if (!it->is_object()) return Error::invalid_argument("address", "expected an object");
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*it, {"street", "street2", "postcode", "city", "country"}, "address"));
    Address a;
    FIDELIS_ASSIGN_OR_RETURN(a.street, get_string(*it, "street", "address.street"));
    FIDELIS_ASSIGN_OR_RETURN(a.street2, get_string(*it, "street2", "address.street2"));
    FIDELIS_ASSIGN_OR_RETURN(a.postcode, get_string(*it, "postcode", "address.postcode"));
    FIDELIS_ASSIGN_OR_RETURN(a.city, get_string(*it, "city", "address.city"));
    FIDELIS_ASSIGN_OR_RETURN(a.country, get_string(*it, "country", "address.country"));
    in.address = a;
    return ok();
  }());
  each("household", in.household, [&](const Json& e, const std::string& prefix) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(const Json* o, object_of(e, prefix));
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*o, {"relation", "first_name", "birth_date"}, prefix));
    HouseholdMember m;
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> rel, get_string(*o, "relation", prefix + ".relation"));
    m.relation = rel.value_or("");
    FIDELIS_ASSIGN_OR_RETURN(m.first_name, get_string(*o, "first_name", prefix + ".first_name"));
    FIDELIS_ASSIGN_OR_RETURN(m.birth_date, get_string(*o, "birth_date", prefix + ".birth_date"));
    in.household->push_back(std::move(m));
    return ok();
  });
  each("affinities", in.affinities, [&](const Json& e, const std::string& prefix) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(const Json* o, object_of(e, prefix));
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*o, {"category", "strength"}, prefix));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> cat, get_string(*o, "category", prefix + ".category"));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> strength, get_int(*o, "strength", prefix + ".strength"));
    // The range is the validation's to check, beside the other fields (an int holds any bad value).
    const int64_t s = std::clamp<int64_t>(strength.value_or(50), -1, 101);
    in.affinities->push_back({cat.value_or(""), static_cast<int>(s)});
    return ok();
  });
  each("consents", in.consents, [&](const Json& e, const std::string& prefix) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(const Json* o, object_of(e, prefix));
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*o, {"channel", "purpose", "granted", "source", "changed_at", "source_at"}, prefix));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> ch, get_string(*o, "channel", prefix + ".channel"));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> pu, get_string(*o, "purpose", prefix + ".purpose"));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<bool> granted, get_bool(*o, "granted", prefix + ".granted"));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> source, get_string(*o, "source", prefix + ".source"));
    if (!granted) return Error::invalid_argument(prefix + ".granted", "is required");
    FIDELIS_ASSIGN_OR_RETURN(Channel channel, parse_channel(ch.value_or(""), prefix + ".channel"));
    FIDELIS_ASSIGN_OR_RETURN(Purpose purpose, parse_purpose(pu.value_or(""), prefix + ".purpose"));
    // When the person decided, if the caller knows (a form filled offline, a migration).
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> at, get_string(*o, "source_at", prefix + ".source_at"));
    std::optional<Millis> source_at;
    if (at) {
      FIDELIS_ASSIGN_OR_RETURN(Millis ms, parse_iso8601(*at, prefix + ".source_at"));
      source_at = ms;
    }
    in.consents->push_back({channel, purpose, *granted, source.value_or("api"), 0, source_at});
    return ok();
  });
  each("tags", in.tags, [&](const Json& t, const std::string& at) -> Status {
    if (!t.is_string()) return Error::invalid_argument(at, "expected a string");
    in.tags->push_back(t.get<std::string>());
    return ok();
  });
  note([&]() -> Status {
    auto it = body.find("custom_fields");
    if (it == body.end() || it->is_null()) return ok();
    if (!it->is_object()) return Error::invalid_argument("custom_fields", "expected an object");
    in.custom_fields.emplace();
    for (auto f = it->begin(); f != it->end(); ++f) {
      std::optional<CustomValue> v;
      const Json& x = f.value();
      if (x.is_string()) v = x.get<std::string>();
      else if (x.is_boolean()) v = x.get<bool>();
      else if (x.is_number_integer()) v = x.get<int64_t>();
      else if (x.is_number()) v = x.get<double>();
      else if (!x.is_null()) {
        note(Error::invalid_argument("custom_fields." + f.key(), "expected text, a number or a boolean"));
        continue;
      }
      (*in.custom_fields)[f.key()] = v;
    }
    return ok();
  }());
  each("external_ids", in.external_ids, [&](const Json& e, const std::string& prefix) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(const Json* o, object_of(e, prefix));
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*o, {"source", "id"}, prefix));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> source, get_string(*o, "source", prefix + ".source"));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> id, get_string(*o, "id", prefix + ".id"));
    in.external_ids->push_back({source.value_or(""), id.value_or("")});
    return ok();
  });
  if (!wrong.empty()) return combined(std::move(wrong));
  return in;
}

}  // namespace fidelis::http
