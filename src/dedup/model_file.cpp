// A model's parameters as a text file an admin can read, edit and give back (dedup.model_file).

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "dedup/dedup.h"

namespace fidelis::dedup {

std::string model_to_text(const Model& model) {
  std::string out =
      "# Fidelis duplicate model (Fellegi-Sunter): for each field and context, m then u, one value per\n"
      "# agreement level. m: how often a duplicate shows the level; u: how often two different people\n"
      "# do. Each row sums to 1. Context 1 is the same address (last_name, phone) or the same postcode\n"
      "# (street). Lines left out keep the built-in values.\n";
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto field = static_cast<Field>(f);
    out += "#";
    for (int l = 0; l < level_count(field); ++l) out += fmt::format(" {}", level_name(field, l));
    out += "\n";
    for (int ctx = 0; ctx < (Model::has_context(field) ? 2 : 1); ++ctx)
      for (char kind : {'m', 'u'}) {
        out += fmt::format("{} {} {}", field_name(field), ctx, kind);
        for (int l = 0; l < level_count(field); ++l)
          out += fmt::format(" {}", kind == 'm' ? model.m(field, l, ctx) : model.u(field, l, ctx));
        out += "\n";
      }
  }
  return out;
}

Result<Model> model_from_text(std::string_view text, Thresholds thresholds) {
  std::array<FieldParams, kFieldCount> params = Model::default_french().params();
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto bad = [&](std::string_view why) { return Error::invalid_argument(fmt::format("line {}", n), std::string(why)); };
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string name, kind;
    int ctx = -1;
    if (!(words >> name)) continue;  // blank or a comment
    size_t f = 0;
    while (f < kFieldCount && field_name(static_cast<Field>(f)) != name) ++f;
    if (f == kFieldCount) return bad(fmt::format("unknown field \"{}\"", name));
    auto field = static_cast<Field>(f);
    if (!(words >> ctx) || ctx < 0 || ctx > (Model::has_context(field) ? 1 : 0))
      return bad(fmt::format("{} has context 0{}", name, Model::has_context(field) ? " or 1" : " only"));
    if (!(words >> kind) || (kind != "m" && kind != "u")) return bad("expected m or u after the context");
    auto& row = (kind == "m" ? params[f].m : params[f].u)[static_cast<size_t>(ctx)];
    std::string value;
    int l = 0;
    for (; words >> value; ++l) {
      if (l >= level_count(field)) return bad(fmt::format("{} has {} levels", name, level_count(field)));
      double v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || end != value.data() + value.size()) return bad(fmt::format("\"{}\" is not a number", value));
      row[static_cast<size_t>(l)] = v;
    }
    if (l != level_count(field)) return bad(fmt::format("{} has {} levels", name, level_count(field)));
  }
  return Model::create(params, thresholds);
}

}  // namespace fidelis::dedup
