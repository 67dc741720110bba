// hailong — calendar periods in Asia/Ho_Chi_Minh time (UTC+7 all year, no daylight saving
// since 1975): local days, months, and the buckets of a trend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hailong::index {

constexpr std::int64_t kLocalOffsetMs = 7 * 3600 * 1000;

/// Days since 1970-01-01 in local time.
std::int64_t localDay(std::int64_t epochMs);
/// The first epoch millisecond of a local day.
std::int64_t dayStartMs(std::int64_t day);

struct Date {
    int year = 1970, month = 1, day = 1;
};
Date dateOf(std::int64_t day);
std::int64_t dayOf(const Date& d);
/// "2025-03-07"; parse() accepts that form only (nothing on a bad date).
std::string format(std::int64_t day);
std::optional<std::int64_t> parseDay(std::string_view text);

/// Months as year * 12 + (month − 1).
std::int64_t monthOf(std::int64_t day);
std::int64_t firstDayOfMonth(std::int64_t month);
std::int64_t lastDayOfMonth(std::int64_t month);

enum class Grain { Day, Week, Month, Quarter, Year };
std::optional<Grain> parseGrain(std::string_view text);
const char* name(Grain g);

/// The bucket of `day` at `grain`, as its first day (weeks start on Monday, as ISO 8601).
std::int64_t bucketStart(std::int64_t day, Grain grain);
/// The last day of the bucket that starts on `start`.
std::int64_t bucketEnd(std::int64_t start, Grain grain);
/// A label for a bucket: "2025-03-07", "2025-W10", "2025-03", "2025-Q1", "2025".
std::string label(std::int64_t start, Grain grain);

}  // namespace hailong::index
