// Tests for the counter plugin's TapLimiter: how many taps of a device count in a minute, the
// edges of the minute and of the debounce window, late (out-of-order) taps, forget(), and
// devices that do not disturb each other.
#include "TapLimiter.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

using counter::TapLimiter;
using Verdict = TapLimiter::Verdict;

template <>
struct Catch::StringMaker<Verdict> {
    static std::string convert(Verdict v) {
        switch (v) {
            case Verdict::Count:
                return "Count";
            case Verdict::Debounced:
                return "Debounced";
            case Verdict::Hold:
                return "Hold";
        }
        return "?";
    }
};

namespace {

constexpr std::int64_t kDevice = 7;
constexpr std::int64_t kMinute = 60000;
// Some epoch time, so that no edge sits at zero.
constexpr std::int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

}  // namespace

TEST_CASE("TapLimiter counts perMinute taps in a minute and holds the rest", "[tap_limiter]") {
    TapLimiter limiter(3, 0);
    CHECK(limiter.judge(kDevice, kT0, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 1000, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 2000, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 3000, false) == Verdict::Hold);
    CHECK(limiter.judge(kDevice, kT0 + 59999, false) == Verdict::Hold);
    // The minute ending at kT0 + 60000 no longer holds the tap at kT0: one place is free.
    CHECK(limiter.judge(kDevice, kT0 + kMinute, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + kMinute, false) == Verdict::Hold);
    // Held taps are not remembered: they do not shorten the next minute's allowance.
    CHECK(limiter.judge(kDevice, kT0 + kMinute + 2000, false) == Verdict::Count);
}

TEST_CASE("TapLimiter: taps exactly 60 s apart both count, 1 ms less does not", "[tap_limiter]") {
    TapLimiter limiter(1, 0);
    CHECK(limiter.judge(kDevice, kT0, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + kMinute - 1, false) == Verdict::Hold);
    CHECK(limiter.judge(kDevice, kT0 + kMinute, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 2 * kMinute - 1, false) == Verdict::Hold);
    CHECK(limiter.judge(kDevice, kT0 + 2 * kMinute, false) == Verdict::Count);
    // The same time twice is within the same minute.
    CHECK(limiter.judge(kDevice, kT0 + 2 * kMinute, false) == Verdict::Hold);
}

TEST_CASE("TapLimiter judges a late tap by the minute it was tapped in", "[tap_limiter]") {
    TapLimiter limiter(2, 0);
    CHECK(limiter.judge(kDevice, kT0, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 1000, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 10 * kMinute, false) == Verdict::Count);
    // A queued tap from the busy minute arrives after a newer one: it is still one too many.
    CHECK(limiter.judge(kDevice, kT0 + 2000, false) == Verdict::Hold);
    // A queued tap from a quiet minute in between counts.
    CHECK(limiter.judge(kDevice, kT0 + 5 * kMinute, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 5 * kMinute + 500, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 5 * kMinute + 700, false) == Verdict::Hold);
}

// perMinute taps "in any minute" (TapLimiter.h): a late tap must not make some minute after it
// hold more than that. The limiter only looks at the minute that ends with the tap.
TEST_CASE("TapLimiter holds a late tap that would overfill a minute after it", "[tap_limiter]") {
    TapLimiter limiter(2, 0);
    CHECK(limiter.judge(kDevice, kT0 + 10000, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 20000, false) == Verdict::Count);
    // Counted, [kT0 + 5000, kT0 + 65000) would hold three taps.
    CHECK(limiter.judge(kDevice, kT0 + 5000, false) == Verdict::Hold);
}

// A flood backdated further than the limiter remembers (30 minutes behind the newest tap) must
// be limited like any other: each old tap is forgotten before the next one is judged.
TEST_CASE("TapLimiter limits taps dated long before the device's newest tap", "[tap_limiter]") {
    TapLimiter limiter(5, 0);
    const std::int64_t newest = kT0 + 60 * kMinute;
    REQUIRE(limiter.judge(kDevice, newest, false) == Verdict::Count);
    int counted = 0, held = 0;
    for (int i = 0; i < 12; ++i) {
        const Verdict v = limiter.judge(kDevice, newest - 40 * kMinute + i * 1000, false);
        (v == Verdict::Count ? counted : held) += 1;
    }
    CHECK(counted == 5);
    CHECK(held == 7);
}

TEST_CASE("TapLimiter debounces presses within debounceMs of a counted one, both sides",
          "[tap_limiter]") {
    TapLimiter limiter(100, 1000);
    CHECK(limiter.judge(kDevice, kT0, true) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0, true) == Verdict::Debounced);
    CHECK(limiter.judge(kDevice, kT0 + 999, true) == Verdict::Debounced);
    CHECK(limiter.judge(kDevice, kT0 - 999, true) == Verdict::Debounced);
    CHECK(limiter.judge(kDevice, kT0 + 1000, true) == Verdict::Count);
    // Now kT0 and kT0 + 1000 are counted: kT0 - 1000 is exactly debounceMs before the first.
    CHECK(limiter.judge(kDevice, kT0 - 1000, true) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 1999, true) == Verdict::Debounced);
    // A debounced press is not remembered: 2000 ms is 1000 after the last counted one.
    CHECK(limiter.judge(kDevice, kT0 + 2000, true) == Verdict::Count);
    // Taps from a screen (debounce false) are never debounced.
    CHECK(limiter.judge(kDevice, kT0 + 2000, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 2001, false) == Verdict::Count);
}

TEST_CASE("TapLimiter without debounce counts presses at the same time up to perMinute",
          "[tap_limiter]") {
    TapLimiter limiter(2, 0);
    CHECK(limiter.judge(kDevice, kT0, true) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0, true) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0, true) == Verdict::Hold);
}

TEST_CASE("TapLimiter: a held press is not debounced, a bounce of a counted one is",
          "[tap_limiter]") {
    TapLimiter limiter(1, 500);
    CHECK(limiter.judge(kDevice, kT0, true) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 100, true) == Verdict::Debounced);
    CHECK(limiter.judge(kDevice, kT0 + 600, true) == Verdict::Hold);
    // The held one at kT0 + 600 was not remembered, so this is no bounce of it.
    CHECK(limiter.judge(kDevice, kT0 + 700, true) == Verdict::Hold);
}

TEST_CASE("TapLimiter::forget lets a tap whose storing failed count again", "[tap_limiter]") {
    TapLimiter limiter(1, 1000);
    REQUIRE(limiter.judge(kDevice, kT0, true) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0 + 5000, false) == Verdict::Hold);
    limiter.forget(kDevice, kT0);
    CHECK(limiter.judge(kDevice, kT0 + 5000, false) == Verdict::Count);
    // The same press sent again after a failure is not a bounce of itself either.
    limiter.forget(kDevice, kT0 + 5000);
    CHECK(limiter.judge(kDevice, kT0 + 5000, true) == Verdict::Count);
}

TEST_CASE("TapLimiter::forget removes one tap, and nothing it never counted", "[tap_limiter]") {
    TapLimiter limiter(2, 0);
    REQUIRE(limiter.judge(kDevice, kT0, false) == Verdict::Count);
    REQUIRE(limiter.judge(kDevice, kT0, false) == Verdict::Count);
    REQUIRE(limiter.judge(kDevice, kT0, false) == Verdict::Hold);
    limiter.forget(kDevice, kT0 + 5000);  // never counted: nothing changes
    limiter.forget(kDevice + 1, kT0);     // another device: nothing changes
    CHECK(limiter.judge(kDevice, kT0, false) == Verdict::Hold);
    limiter.forget(kDevice, kT0);  // one of the two
    CHECK(limiter.judge(kDevice, kT0, false) == Verdict::Count);
    CHECK(limiter.judge(kDevice, kT0, false) == Verdict::Hold);
    limiter.forget(999, kT0);  // a device never seen
}

TEST_CASE("TapLimiter keeps each device's taps apart", "[tap_limiter]") {
    TapLimiter limiter(2, 1000);
    for (std::int64_t device = 1; device <= 50; ++device) {
        CHECK(limiter.judge(device, kT0, true) == Verdict::Count);
        CHECK(limiter.judge(device, kT0 + 2000, false) == Verdict::Count);
    }
    for (std::int64_t device = 1; device <= 50; ++device) {
        CHECK(limiter.judge(device, kT0 + 3000, false) == Verdict::Hold);
        CHECK(limiter.judge(device, kT0 + 500, true) == Verdict::Debounced);
    }
    CHECK(limiter.judge(51, kT0, true) == Verdict::Count);
    CHECK(limiter.judge(51, kT0 + 3000, false) == Verdict::Count);
    limiter.forget(1, kT0);
    CHECK(limiter.judge(1, kT0 + 3000, false) == Verdict::Count);
    CHECK(limiter.judge(2, kT0 + 3000, false) == Verdict::Hold);
}

TEST_CASE("TapLimiter counts exactly perMinute taps when threads judge at once", "[tap_limiter]") {
    TapLimiter limiter(50, 0);
    std::atomic<int> counted{0}, held{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i)
                (limiter.judge(kDevice, kT0 + i, false) == Verdict::Count ? counted : held)++;
        });
    for (auto& t : threads) t.join();
    CHECK(counted == 50);
    CHECK(held == 750);
}
