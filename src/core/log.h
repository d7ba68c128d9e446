#pragma once
// Structured logs: one JSON object per line on stderr, with level, time, message, request id and
// free key/value fields. Thread-safe. Level from config `log_level` (debug, info, warn, error).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace fidelis::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_level(Level level);
bool enabled(Level level);
bool parse_level(std::string_view name, Level& out);
// The request id of the request being handled on this thread, or empty; set by the HTTP layer.
void set_request_id(std::string id);
const std::string& request_id();

using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;
void write(Level level, std::string_view message, Fields fields = {});
inline void debug(std::string_view m, Fields f = {}) { write(Level::kDebug, m, f); }
inline void info(std::string_view m, Fields f = {}) { write(Level::kInfo, m, f); }
inline void warn(std::string_view m, Fields f = {}) { write(Level::kWarn, m, f); }
inline void error(std::string_view m, Fields f = {}) { write(Level::kError, m, f); }

// JSON string escaping, also used by other modules that write JSON by hand.
std::string json_escape(std::string_view s);

}  // namespace fidelis::log
