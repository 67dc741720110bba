// hailong — WorkingCalendar: the working days that follow-up cases' deadlines are counted in.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace hailong::cases {

/// Working days: Monday to Friday, less the configured holidays (Tết, 30/4, 1/5, 2/9… as each
/// year's official calendar sets them). Days are local (Asia/Ho_Chi_Minh) days since 1970-01-01,
/// as index/Periods counts them. Immutable after construction; thread-safe.
class WorkingCalendar {
public:
    explicit WorkingCalendar(std::set<std::int64_t> holidays = {});

    /// Holidays as configured: days and inclusive ranges, comma-separated,
    /// "2026-01-01, 2026-02-14..2026-02-22, 2026-04-30..2026-05-01". Throws Problem(400,
    /// "cases.bad_holiday") naming the first item that is not a day or a range (at most 366
    /// days a range).
    static WorkingCalendar parse(std::string_view holidays);

    bool isWorkingDay(std::int64_t day) const;
    /// The first working day on or after `day`.
    std::int64_t nextWorkingDay(std::int64_t day) const;
    /// The working day `n` working days after `day` (n ≥ 0). Something received on a weekend
    /// or a holiday counts from the next working day: n = 0 gives that day.
    std::int64_t addWorkingDays(std::int64_t day, int n) const;
    /// Working days after `from` up to `to` inclusive; negative when `to` is before `from`.
    int workingDaysBetween(std::int64_t from, std::int64_t to) const;
    /// The deadline of something received at `receivedMs` and due in `days` working days: the
    /// last millisecond (local time) of that working day.
    std::int64_t deadlineMs(std::int64_t receivedMs, int days) const;

    const std::set<std::int64_t>& holidays() const { return holidays_; }

private:
    std::set<std::int64_t> holidays_;
};

}  // namespace hailong::cases
