#include "index/Periods.h"

#include <cstdio>

namespace hailong::index {
namespace {
constexpr std::int64_t kDayMs = 86400000;

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}
}  // namespace

std::int64_t localDay(std::int64_t epochMs) {
    return floorDiv(epochMs + kLocalOffsetMs, kDayMs);
}

std::int64_t dayStartMs(std::int64_t day) {
    return day * kDayMs - kLocalOffsetMs;
}

// Civil-from-days and days-from-civil on the proleptic Gregorian calendar (the algorithms
// published by Howard Hinnant, re-derived here).
Date dateOf(std::int64_t z) {
    z += 719468;
    const std::int64_t era = floorDiv(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return Date{static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0)), m, d};
}

std::int64_t dayOf(const Date& date) {
    const std::int64_t y = date.year - (date.month <= 2 ? 1 : 0);
    const std::int64_t era = floorDiv(y, 400);
    const std::int64_t yoe = y - era * 400;
    const std::int64_t mp = date.month > 2 ? date.month - 3 : date.month + 9;
    const std::int64_t doy = (153 * mp + 2) / 5 + date.day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::string format(std::int64_t day) {
    const Date d = dateOf(day);
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", d.year, d.month, d.day);
    return buffer;
}

std::optional<std::int64_t> parseDay(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    auto number = [&](std::size_t at, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = at; i < at + len; ++i) {
            if (text[i] < '0' || text[i] > '9') return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const Date d{number(0, 4), number(5, 2), number(8, 2)};
    if (d.year < 1970 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1)
        return std::nullopt;
    const std::int64_t day = dayOf(d);
    const Date back = dateOf(day);
    if (back.month != d.month || back.day != d.day) return std::nullopt;  // 2025-02-30
    return day;
}

std::int64_t monthOf(std::int64_t day) {
    const Date d = dateOf(day);
    return static_cast<std::int64_t>(d.year) * 12 + d.month - 1;
}

std::int64_t firstDayOfMonth(std::int64_t month) {
    return dayOf(Date{static_cast<int>(floorDiv(month, 12)),
                      static_cast<int>(month - floorDiv(month, 12) * 12) + 1, 1});
}

std::int64_t lastDayOfMonth(std::int64_t month) {
    return firstDayOfMonth(month + 1) - 1;
}

std::optional<Grain> parseGrain(std::string_view text) {
    if (text == "day") return Grain::Day;
    if (text == "week") return Grain::Week;
    if (text == "month") return Grain::Month;
    if (text == "quarter") return Grain::Quarter;
    if (text == "year") return Grain::Year;
    return std::nullopt;
}

const char* name(Grain g) {
    switch (g) {
        case Grain::Day:
            return "day";
        case Grain::Week:
            return "week";
        case Grain::Month:
            return "month";
        case Grain::Quarter:
            return "quarter";
        case Grain::Year:
            return "year";
    }
    return "";
}

std::int64_t bucketStart(std::int64_t day, Grain grain) {
    switch (grain) {
        case Grain::Day:
            return day;
        case Grain::Week:
            return day - (day + 3 - floorDiv(day + 3, 7) * 7);  // 1970-01-01 was a Thursday
        case Grain::Month:
            return firstDayOfMonth(monthOf(day));
        case Grain::Quarter: {
            const std::int64_t m = monthOf(day);
            return firstDayOfMonth(m - (m % 12) % 3);
        }
        case Grain::Year:
            return firstDayOfMonth(monthOf(day) - monthOf(day) % 12);
    }
    return day;
}

std::int64_t bucketEnd(std::int64_t start, Grain grain) {
    switch (grain) {
        case Grain::Day:
            return start;
        case Grain::Week:
            return start + 6;
        case Grain::Month:
            return lastDayOfMonth(monthOf(start));
        case Grain::Quarter:
            return lastDayOfMonth(monthOf(start) + 2);
        case Grain::Year:
            return lastDayOfMonth(monthOf(start) + 11);
    }
    return start;
}

std::string label(std::int64_t start, Grain grain) {
    const Date d = dateOf(start);
    char buffer[24];
    switch (grain) {
        case Grain::Day:
            return format(start);
        case Grain::Week: {
            // The ISO year and week: the week's Thursday decides the year.
            const std::int64_t thursday = start + 3;
            const Date t = dateOf(thursday);
            const std::int64_t week = (thursday - dayOf(Date{t.year, 1, 1})) / 7 + 1;
            std::snprintf(buffer, sizeof buffer, "%04d-W%02d", t.year, static_cast<int>(week));
            return buffer;
        }
        case Grain::Month:
            std::snprintf(buffer, sizeof buffer, "%04d-%02d", d.year, d.month);
            return buffer;
        case Grain::Quarter:
            std::snprintf(buffer, sizeof buffer, "%04d-Q%d", d.year, (d.month - 1) / 3 + 1);
            return buffer;
        case Grain::Year:
            std::snprintf(buffer, sizeof buffer, "%04d", d.year);
            return buffer;
    }
    return buffer;
}

}  // namespace hailong::index
