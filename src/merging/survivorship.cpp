// Survivorship: which value of two duplicate profiles the merged profile keeps, field by field.

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "merging/merging.h"

namespace fidelis::merging {

using namespace customers;

std::string_view rule_name(Rule r) {
  switch (r) {
    case Rule::kSourcePriority: return "source_priority";
    case Rule::kMostRecent: return "most_recent";
    case Rule::kMostComplete: return "most_complete";
  }
  return "";
}

std::string_view ruled_field_name(RuledField f) {
  static constexpr std::string_view names[] = {"civility", "first_name", "last_name", "birth_date", "address",
                                               "custom_fields"};
  return names[static_cast<size_t>(f)];
}

Rules Rules::defaults() {
  Rules r;
  r.rule.fill(Rule::kSourcePriority);
  r.rule[static_cast<size_t>(RuledField::kAddress)] = Rule::kMostRecent;
  return r;
}

Result<Rules> parse_rules(std::string_view spec) {
  Rules out = Rules::defaults();
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = text::trim(spec.substr(start, end - start));
    start = end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return Error::invalid_argument("survivorship", fmt::format("'{}' is not field=rule", item));
    std::string_view field = text::trim(item.substr(0, eq)), rule = text::trim(item.substr(eq + 1));
    std::optional<size_t> fi;
    for (size_t i = 0; i < kRuledFieldCount; ++i)
      if (ruled_field_name(static_cast<RuledField>(i)) == field) fi = i;
    if (!fi)
      return Error::invalid_argument(
          "survivorship", fmt::format("unknown field '{}' (civility, first_name, last_name, birth_date, address, "
                                      "custom_fields)", field));
    std::optional<Rule> r;
    for (Rule x : {Rule::kSourcePriority, Rule::kMostRecent, Rule::kMostComplete})
      if (rule_name(x) == rule) r = x;
    if (!r)
      return Error::invalid_argument(
          "survivorship", fmt::format("unknown rule '{}' (source_priority, most_recent, most_complete)", rule));
    out.rule[*fi] = *r;
  }
  return out;
}

namespace {

// How complete a text value is: longer wins, then the one carrying accents or mixed case (a value
// typed with care rather than "DUPONT" or "lefevre").
std::tuple<size_t, int, int> completeness(const std::optional<std::string>& v) {
  if (!v) return {0, 0, 0};
  int accents = 0, lower = 0;
  for (unsigned char c : *v) {
    if (c >= 0x80) ++accents;
    if (c >= 'a' && c <= 'z') ++lower;
  }
  return {text::search_key(*v).size(), accents, lower > 0 ? 1 : 0};
}

int address_completeness(const Address& a) {
  int n = 0;
  for (const auto* f : {&a.street, &a.street2, &a.postcode, &a.city, &a.country})
    if (*f && !(*f)->empty()) n += 2;
  if (a.street) n += static_cast<int>(std::min<size_t>(a.street->size(), 60) / 20);
  return n;
}

bool address_empty(const Address& a) { return !a.street && !a.street2 && !a.postcode && !a.city; }

// Of one value written twice, whether the careful writing (the loser's when `loser_careful`, else
// the winner's) is kept whatever the rule: unless the careless side is what people typed (the API, the
// back office) and the careful side is not, a person's correction ("Zoé" to "Zoe").
bool careful_writing_wins(const Side& winner, const Side& loser, bool loser_careful) {
  const Side& careless = loser_careful ? winner : loser;
  const Side& careful = loser_careful ? loser : winner;
  return careless.priority < kTypedByPeopleRank || careful.priority >= kTypedByPeopleRank;
}

// Whether the loser's side wins a field both sides have, by `rule`; ties keep the winner's value.
template <typename Complete>
bool loser_wins(Rule rule, const Side& w, const Side& l, Complete complete) {
  switch (rule) {
    case Rule::kSourcePriority:
      if (l.priority != w.priority) return l.priority > w.priority;
      return l.customer->updated_at > w.customer->updated_at;
    case Rule::kMostRecent:
      return l.customer->updated_at > w.customer->updated_at;
    case Rule::kMostComplete: {
      auto cw = complete(*w.customer), cl = complete(*l.customer);
      if (cw != cl) return cl > cw;
      return l.priority > w.priority;
    }
  }
  return false;
}

}  // namespace

Survived survive(const Side& winner, const Side& loser, const Rules& rules, const std::set<std::string>& import_sources) {
  const Customer& w = *winner.customer;
  const Customer& l = *loser.customer;
  Survived out;
  CustomerInput& in = out.input;

  auto scalar = [&](RuledField f, std::optional<std::string> Customer::*member) {
    const auto& wv = w.*member;
    const auto& lv = l.*member;
    std::string name(ruled_field_name(f));
    if (!lv || (wv && *wv == *lv)) return wv;
    if (!wv) {
      out.choices.push_back({name, true, "only value"});
      return lv;
    }
    // One value written twice ("Helene" and "Hélène"): the more careful writing, whatever the rule.
    if (customers::same_value(wv, lv)) {
      const bool loser_careful = customers::better_written(*lv, *wv), winner_careful = customers::better_written(*wv, *lv);
      if (!loser_careful && !winner_careful) return wv;
      if (careful_writing_wins(winner, loser, loser_careful)) {
        if (loser_careful) out.choices.push_back({name, true, "better written"});
        return loser_careful ? lv : wv;
      }
    }
    Rule rule = rules.rule[static_cast<size_t>(f)];
    bool take = loser_wins(rule, winner, loser, [&](const Customer& c) { return completeness(c.*member); });
    out.choices.push_back({name, take, std::string(rule_name(rule))});
    return take ? lv : wv;
  };
  in.civility = scalar(RuledField::kCivility, &Customer::civility);
  // The same two names the other way round: one side typed them in the wrong boxes. Rules per field
  // would give one side's first name with the other's last name, the same name twice; the
  // winner's order is kept.
  auto key = [](const std::optional<std::string>& v) { return v ? text::search_key(*v) : std::string(); };
  bool swapped = w.first_name && w.last_name && l.first_name && l.last_name && key(w.first_name) != key(w.last_name) &&
                 key(w.first_name) == key(l.last_name) && key(w.last_name) == key(l.first_name);
  if (swapped) {
    in.first_name = w.first_name;
    in.last_name = w.last_name;
    out.choices.push_back({"first_name", false, "names swapped on the other side"});
    out.choices.push_back({"last_name", false, "names swapped on the other side"});
  } else {
    in.first_name = scalar(RuledField::kFirstName, &Customer::first_name);
    in.last_name = scalar(RuledField::kLastName, &Customer::last_name);
  }
  in.birth_date = scalar(RuledField::kBirthDate, &Customer::birth_date);
  // The same day and month: the side that knows the year gives it, whichever the rule chose.
  if (auto full = with_birth_year(in.birth_date, in.birth_date == w.birth_date ? l.birth_date : w.birth_date);
      full != in.birth_date) {
    in.birth_date = full;
    for (auto& c : out.choices)
      if (c.field == "birth_date") c = {"birth_date", full == l.birth_date, "year kept"};
  }

  // The address moves as one: a street from one side and a postcode from the other is nowhere.
  in.address = w.address;
  if (!address_empty(l.address)) {
    if (address_empty(w.address)) {
      in.address = l.address;
      out.choices.push_back({"address", true, "only value"});
    } else if (customers::same_place(l.address, w.address)) {
      // One address written twice ("4 rue Emile Zola", "4 rue Émile Zola"): the more careful writing.
      const Address &la = l.address, &wa = w.address;
      const bool loser_careful = customers::better_written(la, wa), winner_careful = customers::better_written(wa, la);
      bool take = loser_careful;
      std::string why = "better written";
      if ((loser_careful || winner_careful) && !careful_writing_wins(winner, loser, loser_careful)) {
        Rule rule = rules.rule[static_cast<size_t>(RuledField::kAddress)];
        take = loser_wins(rule, winner, loser, [](const Customer& c) { return address_completeness(c.address); });
        why = rule_name(rule);
      }
      in.address = take ? customers::combine_addresses(la, wa) : customers::combine_addresses(wa, la);
      if (take) out.choices.push_back({"address", true, why});
    } else if (!(l.address.street == w.address.street && l.address.postcode == w.address.postcode &&
                 l.address.city == w.address.city && l.address.street2 == w.address.street2)) {
      Rule rule = rules.rule[static_cast<size_t>(RuledField::kAddress)];
      bool take = loser_wins(rule, winner, loser, [](const Customer& c) { return address_completeness(c.address); });
      // The same place, one side more complete: what the chosen side lacks comes from the other.
      in.address = take ? customers::combine_addresses(l.address, w.address)
                        : customers::combine_addresses(w.address, l.address);
      out.choices.push_back({"address", take, std::string(rule_name(rule))});
    }
  }

  // Lists: the winner's entries first (its primary stays primary), then what only the loser has.
  in.emails = w.emails;
  for (const auto& e : l.emails)
    if (std::none_of(in.emails->begin(), in.emails->end(),
                     [&](const EmailAddress& x) { return text::to_lower(x.email) == text::to_lower(e.email); }))
      in.emails->push_back(e);
  in.phones = w.phones;
  // One number however written (an extension is another line); a text with no digits, as it is.
  auto phone_id = [](const Phone& p) {
    std::string key = phone_key(p);
    return key.empty() ? p.raw : key;
  };
  for (const auto& p : l.phones)
    if (std::none_of(in.phones->begin(), in.phones->end(), [&](const Phone& x) { return phone_id(x) == phone_id(p); }))
      in.phones->push_back(p);
  in.household = w.household;
  for (const auto& m : l.household) {
    auto same = std::find_if(in.household->begin(), in.household->end(), [&](const HouseholdMember& x) {
      return x.relation == m.relation && x.first_name == m.first_name;
    });
    if (same == in.household->end()) in.household->push_back(m);
    else same->birth_date = with_birth_year(same->birth_date, m.birth_date);  // a child's year is not lost
  }
  in.affinities = w.affinities;
  for (const auto& a : l.affinities) {
    auto it = std::find_if(in.affinities->begin(), in.affinities->end(),
                           [&](const Affinity& x) { return x.category == a.category; });
    if (it == in.affinities->end()) in.affinities->push_back(a);
    else it->strength = std::max(it->strength, a.strength);
  }
  in.tags = w.tags;
  for (const auto& t : l.tags)
    if (std::find(in.tags->begin(), in.tags->end(), t) == in.tags->end()) in.tags->push_back(t);
  std::sort(in.tags->begin(), in.tags->end());

  // Consents: per channel and purpose, the latest decision the person made, on either record
  // (customers::prevails: by the dates the decisions were made when both are known; else a grant
  // an import brought never beats a withdrawal, however recent; else the later recorded).
  in.consents.emplace();
  auto by_import = [&](const Consent& k) { return import_sources.contains(k.source); };
  for (const auto& c : l.consents) {
    auto it = std::find_if(w.consents.begin(), w.consents.end(),
                           [&](const Consent& x) { return x.channel == c.channel && x.purpose == c.purpose; });
    bool loser_wins = it == w.consents.end();
    if (!loser_wins && it->granted != c.granted) loser_wins = customers::prevails(c, by_import(c), *it, by_import(*it));
    if (loser_wins) {
      in.consents->push_back(c);
      out.choices.push_back({fmt::format("consents.{}.{}", channel_name(c.channel), purpose_name(c.purpose)), true,
                             it == w.consents.end() ? "only value" : "most_recent"});
    }
  }

  // Custom fields, key by key.
  in.custom_fields.emplace();
  Rule custom_rule = rules.rule[static_cast<size_t>(RuledField::kCustom)];
  for (const auto& [key, value] : l.custom_fields) {
    auto it = w.custom_fields.find(key);
    if (it == w.custom_fields.end()) {
      (*in.custom_fields)[key] = value;
      out.choices.push_back({"custom_fields." + key, true, "only value"});
    } else if (it->second != value) {
      bool take = loser_wins(custom_rule, winner, loser, [&](const Customer& c) {
        auto f = c.custom_fields.find(key);
        return f == c.custom_fields.end() ? 0 : 1;
      });
      if (take) (*in.custom_fields)[key] = value;
      out.choices.push_back({"custom_fields." + key, take, std::string(rule_name(custom_rule))});
    }
  }
  return out;
}

}  // namespace fidelis::merging
