// The relay's check of a row before it is produced: a row that fails it is poison.
#pragma once

#include <optional>
#include <string>

#include "outbox/relay/outbox_row.hpp"

namespace ticketing {

inline constexpr size_t kMaxEventBytes = 512 * 1024;

// nullopt when the row can be published as the contract says (payload a JSON object whose
// eventId, type and userId agree with the row's columns); otherwise why not.
std::optional<std::string> ValidateOutboxRow(const OutboxRow& row);

// 8-4-4-4-12 hexadecimal digits.
bool IsUuid(std::string_view text);

}  // namespace ticketing
