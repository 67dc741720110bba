#include "console/Format.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace hailong::console {

namespace {
constexpr std::int64_t kVietnamOffsetMs = 7 * 3600 * 1000;
}

std::string when(std::int64_t ms, const std::string& lang) {
    const std::time_t t = static_cast<std::time_t>((ms + kVietnamOffsetMs) / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, lang == "en" ? "%Y-%m-%d %H:%M" : "%d/%m/%Y %H:%M", &tm);
    return out;
}

std::string whenIso(const std::string& iso, const std::string& lang) {
    Poco::DateTime parsed;
    int zone = 0;
    if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, iso, parsed,
                                        zone))
        return iso;
    return when(parsed.timestamp().epochMicroseconds() / 1000 - std::int64_t{zone} * 1000, lang);
}

std::string decimal(double v, const std::string& lang) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f", v);
    std::string s = out;
    if (lang != "en") std::replace(s.begin(), s.end(), '.', ',');
    return s;
}

std::string count(std::int64_t n, const std::string& lang) {
    std::string digits = std::to_string(n < 0 ? -n : n), out = n < 0 ? "-" : "";
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += lang == "en" ? ',' : '.';
        out += digits[i];
    }
    return out;
}

}  // namespace hailong::console
