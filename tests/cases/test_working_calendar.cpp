// Deadlines of follow-up cases in working days: weekends and configured holidays skipped, the
// count starting from the next working day when something arrives on a day off.
#include "cases/WorkingCalendar.h"
#include "index/Periods.h"

#include <hailong/Problem.h>

#include <catch2/catch.hpp>

#include <random>

using namespace hailong;
using hailong::cases::WorkingCalendar;

namespace {

std::int64_t day(const char* text) {
    const auto d = index::parseDay(text);
    REQUIRE(d);
    return *d;
}

std::string name(std::int64_t d) {
    return index::format(d);
}

}  // namespace

TEST_CASE("working calendar: weekends and holidays are not working days", "[cases]") {
    const WorkingCalendar plain;
    CHECK(plain.isWorkingDay(day("2026-12-03")));        // a Thursday
    CHECK(plain.isWorkingDay(day("2026-12-04")));        // Friday
    CHECK_FALSE(plain.isWorkingDay(day("2026-12-05")));  // Saturday
    CHECK_FALSE(plain.isWorkingDay(day("2026-12-06")));  // Sunday
    CHECK(plain.isWorkingDay(day("2026-12-07")));        // Monday
    CHECK(plain.isWorkingDay(day("1970-01-01")));        // a Thursday too
    CHECK_FALSE(plain.isWorkingDay(day("1970-01-04")));  // and a Sunday

    const auto holidays = WorkingCalendar::parse(" 2026-12-31..2027-01-01 , 2026-12-24");
    CHECK(holidays.holidays().size() == 3);
    CHECK_FALSE(holidays.isWorkingDay(day("2026-12-24")));
    CHECK_FALSE(holidays.isWorkingDay(day("2027-01-01")));
    CHECK(holidays.isWorkingDay(day("2026-12-30")));
    CHECK(WorkingCalendar::parse("").holidays().empty());
}

TEST_CASE("working calendar: deadlines in working days", "[cases]") {
    const WorkingCalendar plain;
    CHECK(name(plain.addWorkingDays(day("2026-12-03"), 0)) == "2026-12-03");
    CHECK(name(plain.addWorkingDays(day("2026-12-03"), 1)) == "2026-12-04");
    CHECK(name(plain.addWorkingDays(day("2026-12-03"), 2)) == "2026-12-07");  // over a weekend
    CHECK(name(plain.addWorkingDays(day("2026-12-07"), 5)) == "2026-12-14");  // a whole week
    // Received on a Saturday: counted from Monday.
    CHECK(name(plain.addWorkingDays(day("2026-12-05"), 0)) == "2026-12-07");
    CHECK(name(plain.addWorkingDays(day("2026-12-05"), 1)) == "2026-12-08");
    CHECK_THROWS_AS(plain.addWorkingDays(day("2026-12-05"), -1), std::invalid_argument);

    // New Year's holidays and a weekend in a row: Wednesday + 1 is the next Monday.
    const auto holidays = WorkingCalendar::parse("2026-12-31..2027-01-01");
    CHECK(name(holidays.addWorkingDays(day("2026-12-30"), 1)) == "2027-01-04");
    CHECK(name(holidays.addWorkingDays(day("2026-12-31"), 0)) == "2027-01-04");
    CHECK(name(holidays.addWorkingDays(day("2026-12-28"), 5)) == "2027-01-06");

    CHECK(plain.workingDaysBetween(day("2026-12-03"), day("2026-12-07")) == 2);
    CHECK(plain.workingDaysBetween(day("2026-12-07"), day("2026-12-03")) == -2);
    CHECK(plain.workingDaysBetween(day("2026-12-05"), day("2026-12-06")) == 0);
    CHECK(holidays.workingDaysBetween(day("2026-12-30"), day("2027-01-04")) == 1);

    // The deadline is the end of the due day, local time (UTC+7).
    const std::int64_t thursday4pm = index::dayStartMs(day("2026-12-03")) + 16 * 3600000;
    CHECK(plain.deadlineMs(thursday4pm, 1) == index::dayStartMs(day("2026-12-05")) - 1);
    CHECK(index::localDay(plain.deadlineMs(thursday4pm, 1)) == day("2026-12-04"));
}

TEST_CASE("working calendar: adding n working days is n working days later", "[cases]") {
    const auto calendar = WorkingCalendar::parse(
        "2026-01-01, 2026-02-16..2026-02-20, 2026-04-27, 2026-04-30..2026-05-01, "
        "2026-09-01..2026-09-02");
    std::mt19937 rng(11);
    for (int i = 0; i < 2000; ++i) {
        const std::int64_t from = day("2025-12-01") + static_cast<std::int64_t>(rng() % 400);
        const int n = static_cast<int>(rng() % 40);
        const std::int64_t due = calendar.addWorkingDays(from, n);
        INFO(name(from) << " + " << n);
        CHECK(calendar.isWorkingDay(due));
        CHECK(calendar.workingDaysBetween(calendar.nextWorkingDay(from), due) == n);
    }
}

TEST_CASE("working calendar: a bad holiday is named", "[cases]") {
    for (const char* bad : {"2026-13-01", "Tết", "2026-01-05..2026-01-01", "2026-01-01..2027-06-01",
                            "2026-01-01, 2026-02-30"}) {
        INFO(bad);
        try {
            WorkingCalendar::parse(bad);
            FAIL("accepted");
        } catch (const Problem& p) {
            CHECK(p.code() == "cases.bad_holiday");
            CHECK_FALSE(p.params().at("item").empty());
        }
    }
}
