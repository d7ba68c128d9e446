#pragma once
// Shared by interactions.cpp and interaction_import.cpp.

#include "timeline/timeline.h"

namespace fidelis::timeline {

// Checks and normalises what an input sets (InvalidArgument naming the field).
Status check_interaction(InteractionInput& in, Millis now);
// NotFound ("customer_id", "agent_id") when a reference does not exist, in `tx`.
Status check_references(storage::Tx& tx, const InteractionInput& in);
// Inserts a checked, complete create with its audit entry and event, in `tx`.
Result<Interaction> insert_interaction(storage::Tx& tx, const InteractionInput& in, const audit::Actor& actor,
                                       std::string_view source, Millis now);

}  // namespace fidelis::timeline
