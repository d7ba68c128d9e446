#include "core/result.h"

namespace fidelis {

Error combined(std::vector<Error> errors) {
  Error first = std::move(errors.front());
  for (size_t i = 1; i < errors.size(); ++i) {
    first.more.push_back({std::move(errors[i].field), std::move(errors[i].message)});
    for (FieldError& e : errors[i].more) first.more.push_back(std::move(e));
  }
  return first;
}

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kConflict: return "conflict";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kResourceExhausted: return "resource_exhausted";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace fidelis
