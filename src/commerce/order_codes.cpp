// The closed lists of an order (channel, payment state, status, delivery method) and their names.

#include <fmt/format.h>

#include <array>

#include "commerce/commerce.h"

namespace fidelis::commerce {

namespace {

constexpr std::array<std::string_view, 4> kChannels = {"web", "store", "phone", "marketplace"};
constexpr std::array<std::string_view, 5> kPayments = {"pending", "paid", "refunded", "partially_refunded", "failed"};
constexpr std::array<std::string_view, 6> kStatuses = {"placed", "confirmed", "shipped", "delivered", "cancelled", "returned"};
constexpr std::array<std::string_view, 4> kMethods = {"home", "pickup", "store", "relay"};

template <typename E, size_t N>
Result<E> parse_in(const std::array<std::string_view, N>& names, std::string_view s, std::string_view field) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  std::string list;
  for (size_t i = 0; i < N; ++i) list += (i ? (i + 1 == N ? " or " : ", ") : "") + std::string(names[i]);
  return Error::invalid_argument(std::string(field), "expected " + list);
}

}  // namespace

std::string_view channel_name(SalesChannel c) { return kChannels[static_cast<size_t>(c)]; }
std::string_view payment_state_name(PaymentState p) { return kPayments[static_cast<size_t>(p)]; }
std::string_view status_name(OrderStatus s) { return kStatuses[static_cast<size_t>(s)]; }
std::string_view delivery_method_name(DeliveryMethod m) { return kMethods[static_cast<size_t>(m)]; }

Result<SalesChannel> parse_channel(std::string_view s, std::string_view field) { return parse_in<SalesChannel>(kChannels, s, field); }
Result<PaymentState> parse_payment_state(std::string_view s, std::string_view field) {
  return parse_in<PaymentState>(kPayments, s, field);
}
Result<OrderStatus> parse_status(std::string_view s, std::string_view field) { return parse_in<OrderStatus>(kStatuses, s, field); }
Result<DeliveryMethod> parse_delivery_method(std::string_view s, std::string_view field) {
  return parse_in<DeliveryMethod>(kMethods, s, field);
}

}  // namespace fidelis::commerce
