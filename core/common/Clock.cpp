#include "common/Clock.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <cctype>
#include <charconv>

namespace hailong {
namespace {

constexpr std::int64_t kVietnamOffsetMs = 7LL * 3600 * 1000;

struct Cursor {
    std::string_view s;
    std::size_t i = 0;
    bool done() const { return i >= s.size(); }
    bool number(int digits, int& out) {
        if (i + static_cast<std::size_t>(digits) > s.size()) return false;
        int v = 0;
        for (int k = 0; k < digits; ++k) {
            const char c = s[i + static_cast<std::size_t>(k)];
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
            v = v * 10 + (c - '0');
        }
        i += static_cast<std::size_t>(digits);
        out = v;
        return true;
    }
    // 1 or 2 digits (Vietnamese dates are often written 4/3/2025).
    bool shortNumber(int& out) {
        if (done() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
        int v = s[i++] - '0';
        if (!done() && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + (s[i++] - '0');
        out = v;
        return true;
    }
    bool eat(char c) {
        if (!done() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
};

std::optional<std::int64_t> compose(int y, int mo, int d, int h, int mi, int sec, int ms,
                                    std::int64_t offsetMs) {
    if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
        return std::nullopt;
    if (d > Poco::DateTime::daysOfMonth(y, mo)) return std::nullopt;
    Poco::DateTime dt(y, mo, d, h, mi, sec == 60 ? 59 : sec, ms);
    return dt.timestamp().epochMicroseconds() / 1000 - offsetMs;
}

// Reads "HH:MM[:SS[.fff]]" and an optional zone ("Z", "+07:00", "+0700").
bool timeAndZone(Cursor& c, int& h, int& mi, int& sec, int& ms, std::int64_t& offsetMs) {
    if (!c.number(2, h) || !c.eat(':') || !c.number(2, mi)) return false;
    if (c.eat(':')) {
        if (!c.number(2, sec)) return false;
        if (c.eat('.') || c.eat(',')) {
            int digits = 0, v = 0;
            while (!c.done() && std::isdigit(static_cast<unsigned char>(c.s[c.i]))) {
                if (digits < 3) v = v * 10 + (c.s[c.i] - '0');
                ++digits, ++c.i;
            }
            if (digits == 0) return false;
            for (int k = digits; k < 3; ++k) v *= 10;
            ms = v;
        }
    }
    if (c.done()) return true;
    if (c.eat('Z') || c.eat('z')) {
        offsetMs = 0;
        return c.done();
    }
    const char sign = c.s[c.i];
    if (sign != '+' && sign != '-') return false;
    ++c.i;
    int oh = 0, om = 0;
    if (!c.number(2, oh)) return false;
    c.eat(':');
    if (!c.done() && !c.number(2, om)) return false;
    offsetMs = (oh * 3600LL + om * 60LL) * 1000 * (sign == '-' ? -1 : 1);
    return c.done();
}

}  // namespace

std::optional<std::int64_t> parseTimeMs(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    if (text.empty() || text.size() > 40) return std::nullopt;

    bool allDigits = true;
    for (char ch : text) allDigits = allDigits && std::isdigit(static_cast<unsigned char>(ch));
    if (allDigits && text.size() >= 11) {  // epoch milliseconds
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
        return v;
    }

    Cursor c{text};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
    std::int64_t offset = kVietnamOffsetMs;
    if (text.size() >= 10 && text[4] == '-') {  // ISO 8601
        if (!c.number(4, y) || !c.eat('-') || !c.number(2, mo) || !c.eat('-') || !c.number(2, d))
            return std::nullopt;
        if (!c.done()) {
            if (!c.eat('T') && !c.eat(' ')) return std::nullopt;
            if (!timeAndZone(c, h, mi, sec, ms, offset)) return std::nullopt;
        }
        return compose(y, mo, d, h, mi, sec, ms, offset);
    }
    // dd/MM/yyyy [HH:mm[:ss]]  (also with '-' or '.')
    if (!c.shortNumber(d)) return std::nullopt;
    const char sep = c.done() ? '\0' : c.s[c.i];
    if (sep != '/' && sep != '-' && sep != '.') return std::nullopt;
    ++c.i;
    if (!c.shortNumber(mo) || !c.eat(sep) || !c.number(4, y)) return std::nullopt;
    if (!c.done()) {
        if (!c.eat(' ') && !c.eat('T')) return std::nullopt;
        while (c.eat(' ')) {
        }
        if (!timeAndZone(c, h, mi, sec, ms, offset)) return std::nullopt;
    }
    return compose(y, mo, d, h, mi, sec, ms, offset);
}

std::string formatTimeMs(std::int64_t ms) {
    Poco::Timestamp ts(ms * 1000);
    return Poco::DateTimeFormatter::format(ts, "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace hailong
