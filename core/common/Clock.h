// hailong — time as epoch milliseconds (UTC), the only time representation we store.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hailong {

inline std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Parses the time formats one-stop systems export: ISO 8601 ("2025-03-04T08:15:00+07:00",
/// "2025-03-04 08:15", "2025-03-04"), Vietnamese "04/03/2025 08:15[:00]" and "04/03/2025", or
/// epoch milliseconds. Times without a zone are Vietnam time (UTC+7). nullopt if unreadable.
std::optional<std::int64_t> parseTimeMs(std::string_view text);

/// ISO 8601 in UTC with milliseconds: "2025-03-04T01:15:00.000Z".
std::string formatTimeMs(std::int64_t ms);

}  // namespace hailong
