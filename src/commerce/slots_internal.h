#pragma once
// Slot helpers shared by slots.cpp and slot_booking.cpp.

#include <optional>
#include <string_view>
#include <vector>

#include "commerce/commerce.h"

namespace fidelis::commerce::internal {

// The zone serving `postcode` (longest matching prefix), inside `tx`.
Result<std::optional<DeliveryZone>> zone_for_postcode(storage::Tx& tx, std::string_view postcode);
// The zone's slots starting in [from, to), from its templates, with the places already booked.
Result<std::vector<DeliverySlot>> zone_slots(storage::Tx& tx, const DeliveryZone& zone, Millis from, Millis to);
// Gives the order's booked place back and deletes its booking; false when it had none.
Result<bool> release_slot_in(storage::Tx& tx, int64_t order_id);

}  // namespace fidelis::commerce::internal
