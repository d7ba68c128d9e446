#include "core/log.h"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/clock.h"
#include "core/json_writer.h"

namespace fidelis::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mu;
thread_local std::string t_request_id;
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_level(Level level) { g_level = level; }
bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view name, Level& out) {
  for (int i = 0; i < 4; ++i)
    if (kNames[i] == name) {
      out = static_cast<Level>(i);
      return true;
    }
  return false;
}

void set_request_id(std::string id) { t_request_id = std::move(id); }
const std::string& request_id() { return t_request_id; }

std::string json_escape(std::string_view s) {
  std::string quoted;
  append_json_string(quoted, s);
  return quoted.substr(1, quoted.size() - 2);
}

void write(Level level, std::string_view message, Fields fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  std::string line = fmt::format(R"({{"time":"{}","level":"{}","msg":"{}")",
                                 format_iso8601(SystemClock().now()), kNames[static_cast<int>(level)],
                                 json_escape(message));
  if (!t_request_id.empty()) line += fmt::format(R"(,"request_id":"{}")", json_escape(t_request_id));
  for (const auto& [k, v] : fields) line += fmt::format(R"(,"{}":"{}")", json_escape(k), json_escape(v));
  line += "}\n";
  std::lock_guard lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace fidelis::log
