#include "cases/WorkingCalendar.h"

#include "common/Utf8.h"

#include "index/Periods.h"

#include <hailong/Problem.h>

#include <stdexcept>

namespace hailong::cases {

namespace {

// Monday 0 … Sunday 6 (1970-01-01 was a Thursday).
int weekday(std::int64_t day) {
    return static_cast<int>(((day + 3) % 7 + 7) % 7);
}

}  // namespace

WorkingCalendar::WorkingCalendar(std::set<std::int64_t> holidays)
    : holidays_(std::move(holidays)) {}

WorkingCalendar WorkingCalendar::parse(std::string_view text) {
    std::set<std::int64_t> days;
    for (std::size_t at = 0; at <= text.size();) {
        const std::size_t end = std::min(text.find(',', at), text.size());
        const std::string item = utf8::trim(text.substr(at, end - at));
        at = end + 1;
        if (item.empty()) continue;
        const std::size_t dots = item.find("..");
        const auto first = index::parseDay(utf8::trim(item.substr(0, dots)));
        const auto last =
            dots == std::string::npos ? first : index::parseDay(utf8::trim(item.substr(dots + 2)));
        if (!first || !last || *last < *first || *last - *first > 365)
            throw Problem(400, "cases.bad_holiday", {{"item", item}});
        for (std::int64_t d = *first; d <= *last; ++d) days.insert(d);
    }
    return WorkingCalendar(std::move(days));
}

bool WorkingCalendar::isWorkingDay(std::int64_t day) const {
    return weekday(day) < 5 && !holidays_.contains(day);
}

std::int64_t WorkingCalendar::nextWorkingDay(std::int64_t day) const {
    // Holidays are finite and weekends two days long: this ends within holidays + 3 steps.
    for (std::size_t steps = 0; steps <= holidays_.size() + 3; ++steps, ++day)
        if (isWorkingDay(day)) return day;
    throw std::logic_error("WorkingCalendar: no working day found");
}

std::int64_t WorkingCalendar::addWorkingDays(std::int64_t day, int n) const {
    if (n < 0) throw std::invalid_argument("WorkingCalendar: negative working days");
    day = nextWorkingDay(day);
    for (int i = 0; i < n; ++i) day = nextWorkingDay(day + 1);
    return day;
}

int WorkingCalendar::workingDaysBetween(std::int64_t from, std::int64_t to) const {
    if (to < from) return -workingDaysBetween(to, from);
    int n = 0;
    for (std::int64_t d = from + 1; d <= to; ++d)
        if (isWorkingDay(d)) ++n;
    return n;
}

std::int64_t WorkingCalendar::deadlineMs(std::int64_t receivedMs, int days) const {
    const std::int64_t due = addWorkingDays(index::localDay(receivedMs), days);
    return index::dayStartMs(due + 1) - 1;
}

}  // namespace hailong::cases
