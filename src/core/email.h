#pragma once
// E-mail addresses as real people type them: trimmed, domain lower-cased, local part kept as given.

#include <string>
#include <string_view>

#include "core/result.h"

namespace fidelis {

// InvalidArgument naming `field` unless `text` is `local@domain` with a dot-separated domain of
// letters, digits and hyphens (UTF-8 letters allowed: IDN), a local part without spaces or
// control characters, at most 254 bytes in all. Returns the normalised address.
Result<std::string> normalize_email(std::string_view text, std::string_view field = "email");

// True when the address's domain is a known disposable-address service (yopmail, mailinator, ...):
// such an address is accepted but flagged, since it will not reach the customer for long.
bool is_disposable_email(std::string_view normalized_email);

}  // namespace fidelis
