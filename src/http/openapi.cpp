// The OpenAPI document: docs/api/openapi.yaml, embedded at build time, converted to JSON once.

#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "core/embedded.h"
#include "core/log.h"
#include "http/api.h"

namespace fidelis::http {

namespace {

Json scalar(const YAML::Node& n) {
  const std::string& v = n.Scalar();
  if (n.Tag() == "!") return v;  // quoted: always a string
  if (v == "~" || v == "null" || v == "Null" || v == "NULL") return nullptr;
  if (v == "true" || v == "True") return true;
  if (v == "false" || v == "False") return false;
  if (!v.empty() && (std::isdigit(static_cast<unsigned char>(v[0])) || ((v[0] == '-' || v[0] == '+') && v.size() > 1))) {
    char* end = nullptr;
    long long i = std::strtoll(v.c_str(), &end, 10);
    if (*end == '\0') return i;
    double d = std::strtod(v.c_str(), &end);
    if (*end == '\0') return d;
  }
  return v;
}

Json convert(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = convert(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& x : n) a.push_back(convert(x));
      return a;
    }
    case YAML::NodeType::Scalar: return scalar(n);
    default: return nullptr;
  }
}

}  // namespace

const Json& openapi_document() {
  static const Json doc = [] {
    auto files = embedded::openapi();
    if (files.empty()) return Json::object();
    try {
      return convert(YAML::Load(std::string(files[0].content)));
    } catch (const YAML::Exception& e) {
      log::error("the embedded OpenAPI document does not parse", {{"error", e.what()}});
      return Json::object();
    }
  }();
  return doc;
}

std::optional<std::vector<std::string>> documented_query_parameters(std::string_view operation_id) {
  const Json& doc = openapi_document();
  if (!doc.contains("paths")) return std::nullopt;
  auto query_of = [&](const Json& item, std::vector<std::string>& out) {
    if (!item.is_object() || !item.contains("parameters")) return;
    for (const Json& p : item["parameters"]) {
      const Json* param = &p;
      if (p.contains("$ref")) {  // "#/components/parameters/Name"
        std::string ref = p["$ref"].get<std::string>();
        std::string name = ref.substr(ref.rfind('/') + 1);
        if (!doc.contains("components") || !doc["components"].contains("parameters") ||
            !doc["components"]["parameters"].contains(name))
          continue;
        param = &doc["components"]["parameters"][name];
      }
      if (param->value("in", "") == "query") out.push_back(param->value("name", ""));
    }
  };
  for (const auto& [path, item] : doc["paths"].items())
    for (const char* method : {"get", "post", "put", "patch", "delete"}) {
      if (!item.contains(method) || item[method].value("operationId", "") != operation_id) continue;
      std::vector<std::string> names;
      query_of(item, names);
      query_of(item[method], names);
      return names;
    }
  return std::nullopt;
}

}  // namespace fidelis::http
