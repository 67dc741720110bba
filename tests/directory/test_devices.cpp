// Tests for devices and held submissions, on SQLite and on PostgreSQL: DeviceRegistry (pairing
// codes, tokens, revocation, PINs and shifts), Ingest::hold, and the official API that reviews
// held submissions and manages devices.
#include "common/Clock.h"
#include "directory/DeviceRegistry.h"
#include "directory/DirectoryStore.h"
#include "ingest/IngestService.h"
#include "ingest/SubmissionJson.h"
#include "support/TestSupport.h"
#include "survey/SurveyStore.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Nullable.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

using test::problemOf;

// A directory with province PT, communes XA and XB, a counter and a device in each commune,
// officers of XA, XB and PT; the surveys published; ingest and the registry on top.
struct Registry {
    explicit Registry(Backend b, DeviceRegistry::Options options = {})
        : tdb(b),
          db(tdb.migrated()),
          surveys(db),
          directory(db, text),
          ingest(db, surveys, directory, text, {}),
          devices(db, directory, options) {
        surveys.publishFolder(test::sourceDir() + "/surveys");
        directory.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
        directory.save(AgencyInput{"XA", "Xã Thử", "PT", "commune", "", true});
        directory.save(AgencyInput{"XB", "Xã Bên", "PT", "commune", "", true});
        directory.save(CounterInput{"XA-Q1", "Quầy 1", "XA", true});
        directory.save(CounterInput{"XB-Q1", "Quầy 1", "XB", true});
        directory.save(OfficerInput{"XA-CB1", "Nguyễn Văn An", "Công chức", "XA", true});
        directory.save(OfficerInput{"XB-CB1", "Lê Văn Cường", "Công chức", "XB", true});
        directory.save(OfficerInput{"PT-CB1", "Phạm Thị Dung", "Chuyên viên", "PT", true});
        directory.save(DeviceInput{"TAB-01", "Máy tính bảng quầy 1", "XA-Q1"});
        directory.save(DeviceInput{"TAB-02", "Máy tính bảng xã Bên", "XB-Q1"});
    }

    std::int64_t count(const std::string& table, const std::string& where = "1 = 1") {
        std::int64_t n = 0;
        db.read([&](Session& s) {
            s << "SELECT COUNT(*) FROM " + table + " WHERE " + where, into(n), now;
        });
        return n;
    }

    std::int64_t deviceId(const std::string& code) {
        auto d = directory.device(code);
        REQUIRE(d);
        return d->id;
    }

    std::string pair(const std::string& device) {
        return devices.pair(devices.issuePairing(device).code).token;
    }

    DeviceState state(const std::string& token) { return devices.authenticate(token).state; }

    test::TestDatabase tdb;
    Database& db;
    IcuTextNormalizer text;
    SurveyStore surveys;
    DirectoryStore directory;
    IngestService ingest;
    DeviceRegistry devices;
};

// A counter rating as the counter plugin hands it in.
Submission tap(const std::string& key, double rating = 3) {
    Submission s;
    s.idempotencyKey = key;
    s.surveyId = "counter-quick";
    s.channel = "counter";
    s.agencyCode = "XA";
    s.counterCode = "XA-Q1";
    s.deviceCode = "TAB-01";
    s.answeredAtMs = nowMs() - 5000;
    s.deviceAtMs = s.answeredAtMs - 3600000;
    s.answers.push_back({"rating", rating, {}, ""});
    return s;
}

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

std::string problemCode(const test::HttpResult& r) {
    return parse(r.body)->optValue<std::string>("code", "");
}

}  // namespace

template <>
struct Catch::StringMaker<hailong::DeviceState> {
    static std::string convert(hailong::DeviceState s) {
        switch (s) {
            case hailong::DeviceState::Unknown:
                return "Unknown";
            case hailong::DeviceState::Revoked:
                return "Revoked";
            case hailong::DeviceState::Active:
                return "Active";
        }
        return "?";
    }
};

// ---- pairing and tokens ----------------------------------------------------------------------

TEST_CASE("DeviceRegistry: a pairing code pairs its device once", "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const std::int64_t before = nowMs();
        const PairingCode code = r.devices.issuePairing("TAB-01");
        REQUIRE(code.code.size() == 9);
        CHECK(code.code[4] == '-');
        CHECK(code.expiresAtMs >= before + 15 * 60000);
        CHECK(code.expiresAtMs <= nowMs() + 15 * 60000);
        // Only hashes are stored.
        CHECK(r.count("devices", "pairing_hash LIKE '%" + code.code.substr(0, 4) + "%'") == 0);

        const DevicePairing paired = r.devices.pair(code.code);
        CHECK(paired.token.rfind("hd_", 0) == 0);
        CHECK(paired.session.device.code == "TAB-01");
        CHECK(paired.session.device.status == "active");
        CHECK(paired.session.counter.code == "XA-Q1");
        CHECK(paired.session.agency.code == "XA");
        CHECK_FALSE(paired.session.officer);
        CHECK(r.count("devices", "token_hash = '" + paired.token + "'") == 0);

        const Problem again = problemOf([&] { r.devices.pair(code.code); });
        CHECK(again.status() == 422);
        CHECK(again.code() == "device.pairing_invalid");

        const DeviceAuth auth = r.devices.authenticate(paired.token);
        CHECK(auth.state == DeviceState::Active);
        REQUIRE(auth.session);
        CHECK(auth.session->device.code == "TAB-01");
        CHECK(r.devices.session("TAB-01")->device.lastSeenAtMs.value_or(0) >= before);

        CHECK(problemOf([&] { r.devices.issuePairing("NOPE"); }).status() == 404);
        CHECK(problemOf([&] { r.devices.pair(""); }).code() == "device.pairing_invalid");
        CHECK(problemOf([&] { r.devices.pair("ABCD-12345"); }).code() == "device.pairing_invalid");
    });
}

TEST_CASE("DeviceRegistry: an expired pairing code, or one replaced by a newer one, pairs nothing",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        DeviceRegistry::Options options;
        options.pairingValidity = std::chrono::minutes(0);
        DeviceRegistry instant(r.db, r.directory, options);
        const PairingCode expired = instant.issuePairing("TAB-01");
        CHECK(problemOf([&] { r.devices.pair(expired.code); }).code() == "device.pairing_invalid");
        CHECK(r.devices.session("TAB-01")->device.status == "unpaired");

        const PairingCode older = r.devices.issuePairing("TAB-01");
        const PairingCode newer = r.devices.issuePairing("TAB-01");
        CHECK(problemOf([&] { r.devices.pair(older.code); }).code() == "device.pairing_invalid");
        CHECK(r.devices.pair(newer.code).session.device.code == "TAB-01");
        // A code is the device's own: another device's code pairs that device.
        const PairingCode other = r.devices.issuePairing("TAB-02");
        CHECK(r.devices.pair(other.code).session.device.code == "TAB-02");
    });
}

TEST_CASE("DeviceRegistry: typed pairing codes ignore case, spaces, dashes and look-alike letters",
          "[devices]") {
    CHECK(DeviceRegistry::canonicalPairingCode("abcd-1234") == "ABCD1234");
    CHECK(DeviceRegistry::canonicalPairingCode(" ab cd - 12 34 ") == "ABCD1234");
    CHECK(DeviceRegistry::canonicalPairingCode("O0o0-IiLl") == "00001111");
    CHECK(DeviceRegistry::canonicalPairingCode("").empty());
    CHECK(DeviceRegistry::canonicalPairingCode(std::string(100, 'A')).size() <= 33);
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const std::string code = r.devices.issuePairing("TAB-01").code;
        std::string typed;
        for (char c : code) {
            if (c == '-') continue;
            typed += c == '0'   ? 'o'
                     : c == '1' ? 'l'
                                : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            typed += ' ';
        }
        INFO("typed \"" << typed << "\" for " << code);
        CHECK(r.devices.pair(typed).session.device.code == "TAB-01");
    });
}

TEST_CASE("DeviceRegistry: pairing again ends the earlier token and unknown tokens stay unknown",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const std::string first = r.pair("TAB-01");
        const std::string second = r.pair("TAB-01");
        CHECK(first != second);
        CHECK(r.state(first) == DeviceState::Unknown);
        CHECK(r.state(second) == DeviceState::Active);
        CHECK(r.state("hd_" + std::string(64, '0')) == DeviceState::Unknown);
        CHECK(r.state("") == DeviceState::Unknown);
        CHECK(r.state("short") == DeviceState::Unknown);
        CHECK(r.state(std::string(200, 'a')) == DeviceState::Unknown);
        CHECK_FALSE(r.devices.authenticate(first).session);
        // Pairing one device leaves the others' tokens alone.
        const std::string other = r.pair("TAB-02");
        CHECK(r.state(second) == DeviceState::Active);
        CHECK(r.state(other) == DeviceState::Active);
    });
}

TEST_CASE("DeviceRegistry: a revoked device is told apart from an unknown one until paired again",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const std::string token = r.pair("TAB-01");
        const std::string other = r.pair("TAB-02");
        const PairingCode pending = r.devices.issuePairing("TAB-01");
        REQUIRE(r.state(token) == DeviceState::Active);
        r.devices.revoke("TAB-01");
        const DeviceAuth auth = r.devices.authenticate(token);
        CHECK(auth.state == DeviceState::Revoked);
        CHECK_FALSE(auth.session);
        CHECK(r.state(other) == DeviceState::Active);
        CHECK(r.devices.session("TAB-01")->device.status == "revoked");
        // A code issued before the revocation no longer pairs.
        CHECK(problemOf([&] { r.devices.pair(pending.code); }).code() == "device.pairing_invalid");
        CHECK(problemOf([&] { r.devices.revoke("NOPE"); }).status() == 404);

        const std::string again = r.pair("TAB-01");
        CHECK(r.state(again) == DeviceState::Active);
        CHECK(r.state(token) == DeviceState::Unknown);
        CHECK(r.devices.session("TAB-01")->device.status == "active");
    });
}

// Two tablets typing the same code at once: one of them pairs.
TEST_CASE("DeviceRegistry: a pairing code raced from several devices pairs one of them",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        for (int round = 0; round < 5; ++round) {
            const std::string code = r.devices.issuePairing("TAB-01").code;
            std::vector<std::string> tokens(6);
            std::vector<std::thread> threads;
            for (std::size_t i = 0; i < tokens.size(); ++i)
                threads.emplace_back([&, i] {
                    try {
                        tokens[i] = r.devices.pair(code).token;
                    } catch (const Problem&) {
                    }
                });
            for (auto& t : threads) t.join();
            const auto paired = std::count_if(tokens.begin(), tokens.end(),
                                              [](const std::string& t) { return !t.empty(); });
            INFO("round " << round);
            CHECK(paired == 1);
        }
    });
}

// ---- PINs and shifts -------------------------------------------------------------------------

TEST_CASE("DeviceRegistry: PINs have 4 to 8 digits and only the right one starts a shift",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        for (const std::string bad : {"123", "abcd", "123456789", "12a4", "12 34", "١٢٣٤"}) {
            INFO("PIN \"" << bad << "\"");
            const Problem p = problemOf([&] { r.devices.setPin("XA-CB1", bad); });
            CHECK(p.status() == 422);
            CHECK(test::hasError(p.errors(), "pin", "officer.pin_shape"));
        }
        CHECK(problemOf([&] { r.devices.setPin("NOPE", "1234"); }).status() == 404);
        const std::int64_t tablet = r.deviceId("TAB-01");
        CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "1234"); }).code() ==
              "shift.no_pin");

        r.devices.setPin("XA-CB1", "0246");
        CHECK(r.count("officers", "pin_hash LIKE '%argon2id%'") == 1);
        CHECK(r.count("officers", "pin_hash LIKE '%0246%'") == 0);
        const Problem wrong = problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "246"); });
        CHECK(wrong.status() == 403);
        CHECK(wrong.code() == "shift.bad_pin");
        CHECK_FALSE(r.devices.session("TAB-01")->officer);
        const Officer officer = r.devices.signIn(tablet, "XA-CB1", "0246");
        CHECK(officer.code == "XA-CB1");
        CHECK(officer.name == "Nguyễn Văn An");
        REQUIRE(r.devices.session("TAB-01")->officer);
        CHECK(r.devices.session("TAB-01")->officer->code == "XA-CB1");
        CHECK(r.count("device_shifts", "started_by = 'pin' AND ended_at IS NULL") == 1);

        // A new PIN replaces the old; an empty one removes it.
        r.devices.setPin("XA-CB1", "13572468");
        CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "0246"); }).code() ==
              "shift.bad_pin");
        CHECK(r.devices.signIn(tablet, "XA-CB1", "13572468").code == "XA-CB1");
        r.devices.setPin("XA-CB1", "");
        CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", ""); }).code() == "shift.no_pin");
        const Problem unknown = problemOf([&] { r.devices.signIn(tablet, "NOPE", "1234"); });
        CHECK(unknown.status() == 422);
        CHECK(test::hasError(unknown.errors(), "officer", "directory.unknown_reference"));
    });
}

TEST_CASE("DeviceRegistry: too many wrong PINs pause an officer's sign-in, even the right PIN",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        DeviceRegistry::Options options;
        options.pinTries = 3;
        Registry r(b, options);
        r.devices.setPin("XA-CB1", "2468");
        r.devices.setPin("PT-CB1", "1357");
        const std::int64_t tablet = r.deviceId("TAB-01");
        // A right PIN in between starts the count again.
        for (int i = 0; i < 2; ++i)
            CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "0000"); }).status() == 403);
        CHECK(r.devices.signIn(tablet, "XA-CB1", "2468").code == "XA-CB1");
        for (int i = 0; i < 3; ++i)
            CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "0000"); }).status() == 403);
        const Problem paused = problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "2468"); });
        CHECK(paused.status() == 429);
        CHECK(paused.code() == "shift.paused");
        CHECK(paused.params().at("minutes") == "15");
        REQUIRE(paused.headers.size() == 1);
        CHECK(paused.headers.front().first == "Retry-After");
        // Others are not paused; the console still starts the paused officer's shift.
        CHECK(r.devices.signIn(tablet, "PT-CB1", "1357").code == "PT-CB1");
        CHECK(r.devices.startShift("TAB-01", "XA-CB1").code == "XA-CB1");
    });
}

TEST_CASE("DeviceRegistry: after the pause, the count of wrong PINs starts again", "[devices]") {
    test::onEachBackend([](Backend b) {
        DeviceRegistry::Options options;
        options.pinTries = 2;
        options.pinPause = std::chrono::minutes(0);  // over as soon as it starts
        Registry r(b, options);
        r.devices.setPin("XA-CB1", "2468");
        const std::int64_t tablet = r.deviceId("TAB-01");
        for (int i = 0; i < 2; ++i)
            CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "0000"); }).status() == 403);
        // One more wrong PIN is the first of a new count, not a pause.
        CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "0000"); }).status() == 403);
        CHECK(r.devices.signIn(tablet, "XA-CB1", "2468").code == "XA-CB1");
    });
}

TEST_CASE("DeviceRegistry: officers sign in at counters of their agency or one above it",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        for (const char* officer : {"XA-CB1", "XB-CB1", "PT-CB1"})
            r.devices.setPin(officer, "2468");
        const std::int64_t tablet = r.deviceId("TAB-01");
        const Problem other = problemOf([&] { r.devices.signIn(tablet, "XB-CB1", "2468"); });
        CHECK(other.status() == 422);
        CHECK(test::hasError(other.errors(), "officer", "shift.other_agency"));
        CHECK(r.count("device_shifts") == 0);
        CHECK(r.devices.signIn(tablet, "PT-CB1", "2468").code == "PT-CB1");
        CHECK(r.devices.signIn(r.deviceId("TAB-02"), "XB-CB1", "2468").code == "XB-CB1");
        CHECK(test::hasError(problemOf([&] { r.devices.startShift("TAB-02", "XA-CB1"); }).errors(),
                             "officer", "shift.other_agency"));
        // An officer who left is no longer signed in.
        r.directory.save(OfficerInput{"XA-CB1", "Nguyễn Văn An", "Công chức", "XA", false});
        CHECK(problemOf([&] { r.devices.signIn(tablet, "XA-CB1", "2468"); }).status() == 422);
        CHECK(problemOf([&] { r.devices.startShift("TAB-01", "XA-CB1"); }).status() == 422);
    });
}

TEST_CASE("DeviceRegistry: a shift is one at a time per device and ends by signing out",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const std::string token = r.pair("TAB-01");
        CHECK(r.devices.startShift("TAB-01", "XA-CB1").code == "XA-CB1");
        CHECK(r.devices.authenticate(token).session->officer->code == "XA-CB1");
        CHECK(r.devices.startShift("TAB-01", "PT-CB1").code == "PT-CB1");
        CHECK(r.count("device_shifts", "ended_at IS NULL") == 1);
        CHECK(r.count("device_shifts", "started_by = 'console'") == 2);
        CHECK(r.devices.authenticate(token).session->officer->code == "PT-CB1");
        // Another device's shift is its own.
        r.devices.startShift("TAB-02", "XB-CB1");
        r.devices.endShift("TAB-01");
        CHECK_FALSE(r.devices.authenticate(token).session->officer);
        CHECK(r.devices.session("TAB-02")->officer->code == "XB-CB1");
        r.devices.signOut(r.deviceId("TAB-02"));
        CHECK_FALSE(r.devices.session("TAB-02")->officer);
        r.devices.signOut(r.deviceId("TAB-02"));  // nothing open: nothing happens
        CHECK(r.count("device_shifts", "ended_at IS NULL") == 0);
        CHECK(problemOf([&] { r.devices.startShift("NOPE", "XA-CB1"); }).status() == 404);
        CHECK(problemOf([&] { r.devices.endShift("NOPE"); }).status() == 404);
        CHECK_FALSE(r.devices.session("NOPE"));
        // Revoking a device ends its shift.
        r.devices.startShift("TAB-01", "XA-CB1");
        r.devices.revoke("TAB-01");
        CHECK(r.count("device_shifts", "ended_at IS NULL") == 0);
    });
}

TEST_CASE("DeviceRegistry: a shift not signed out ends by itself after the longest shift",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        r.devices.startShift("TAB-01", "XA-CB1");
        DeviceRegistry::Options options;
        options.longestShift = std::chrono::hours(0);
        DeviceRegistry strict(r.db, r.directory, options);
        CHECK(r.devices.session("TAB-01")->officer);
        CHECK_FALSE(strict.session("TAB-01")->officer);
    });
}

// ---- Ingest::hold ----------------------------------------------------------------------------

TEST_CASE("Ingest::hold keeps a submission for review without counting it", "[devices][hold]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const Submission s = tap("counter:held-1", 1);
        const Receipt held = r.ingest.hold(s, "rate_limit");
        CHECK(held.held);
        CHECK_FALSE(held.duplicate);
        CHECK(held.code.size() == 10);
        CHECK(held.storedAtMs > 0);
        CHECK(r.count("responses") == 0);
        CHECK(r.count("answers") == 0);
        CHECK(r.count("held_submissions") == 1);
        CHECK(r.ingest.stats().held == 1u);
        CHECK(r.ingest.stats().stored == 0u);

        std::string receipt, reason, channel, survey, status, payload;
        Poco::Nullable<std::int64_t> device, agency, response;
        r.db.read([&](Session& ss) {
            ss << "SELECT receipt, reason, channel, survey_id, status, payload, device_id, "
                  "agency_id, response_id FROM held_submissions",
                into(receipt), into(reason), into(channel), into(survey), into(status),
                into(payload), into(device), into(agency), into(response), now;
        });
        CHECK(receipt == held.code);
        CHECK(reason == "rate_limit");
        CHECK(channel == "counter");
        CHECK(survey == "counter-quick");
        CHECK(status == "held");
        REQUIRE_FALSE(device.isNull());
        CHECK(device.value() == r.deviceId("TAB-01"));
        REQUIRE_FALSE(agency.isNull());
        CHECK(agency.value() == r.directory.agency("XA")->id);
        CHECK(response.isNull());
        // The payload is the submission itself, to be counted as it was on release.
        const Submission back = submissionFromJson(payload);
        CHECK(back.idempotencyKey == s.idempotencyKey);
        CHECK(back.answeredAtMs == s.answeredAtMs);
        CHECK(back.deviceAtMs == s.deviceAtMs);
        CHECK(back.deviceCode == "TAB-01");
        REQUIRE(back.answers.size() == 1);
        CHECK(back.answers.front().number == 1);
    });
}

TEST_CASE("Ingest::hold: the same key twice holds one, and a key already counted answers with it",
          "[devices][hold]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        const Receipt first = r.ingest.hold(tap("counter:k-1"), "rate_limit");
        const Receipt second = r.ingest.hold(tap("counter:k-1", 2), "rate_limit");
        CHECK(second.held);
        CHECK(second.duplicate);
        CHECK(second.code == first.code);
        CHECK(r.count("held_submissions") == 1);
        CHECK(r.count("responses") == 0);

        const Receipt stored = r.ingest.submit(tap("counter:k-2"));
        REQUIRE_FALSE(stored.duplicate);
        const Receipt late = r.ingest.hold(tap("counter:k-2"), "rate_limit");
        CHECK(late.duplicate);
        CHECK_FALSE(late.held);
        CHECK(late.code == stored.code);
        CHECK(late.responseId == stored.responseId);
        CHECK(r.count("held_submissions") == 1);
        CHECK(r.count("responses") == 1);
    });
}

TEST_CASE("Ingest::hold refuses an invalid submission and stores nothing", "[devices][hold]") {
    test::onEachBackend([](Backend b) {
        Registry r(b);
        Submission noRating = tap("counter:bad-1");
        noRating.answers.clear();
        Submission unknownDevice = tap("counter:bad-2");
        unknownDevice.deviceCode = "NOPE";
        Submission badKey = tap("");
        Submission future = tap("counter:bad-3");
        future.answeredAtMs = nowMs() + 3600000;
        Submission noSurvey = tap("counter:bad-4");
        noSurvey.surveyId = "nope";
        const std::vector<std::pair<Submission, std::string>> cases{{noRating, "answers.rating"},
                                                                    {unknownDevice, "device"},
                                                                    {badKey, "idempotency_key"},
                                                                    {future, "answered_at"},
                                                                    {noSurvey, "survey"}};
        for (const auto& c : cases) {
            INFO(c.second);
            const Problem p = problemOf([&] { r.ingest.hold(c.first, "rate_limit"); });
            CHECK(p.status() == 422);
            CHECK(std::any_of(p.errors().begin(), p.errors().end(),
                              [&](const FieldError& e) { return e.field == c.second; }));
        }
        CHECK(r.count("held_submissions") == 0);
        CHECK(r.count("responses") == 0);
        CHECK(r.ingest.stats().held == 0u);
    });
}

// ---- the official API ------------------------------------------------------------------------

namespace {

// A serving host with the directory of Registry (without the counter plugin: the official API
// is the core's).
struct Console {
    explicit Console(Backend b) : tdb(b), host(tdb.url(), dir, true) {
        DirectoryStore& d = rt().directory();
        d.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
        d.save(AgencyInput{"XA", "Xã Thử", "PT", "commune", "", true});
        d.save(AgencyInput{"XB", "Xã Bên", "PT", "commune", "", true});
        d.save(CounterInput{"XA-Q1", "Quầy 1", "XA", true});
        d.save(CounterInput{"XB-Q1", "Quầy 1", "XB", true});
        d.save(OfficerInput{"XA-CB1", "Nguyễn Văn An", "Công chức", "XA", true});
        d.save(OfficerInput{"XB-CB1", "Lê Văn Cường", "Công chức", "XB", true});
        d.save(DeviceInput{"TAB-01", "Máy tính bảng quầy 1", "XA-Q1"});
        d.save(DeviceInput{"TAB-02", "Máy tính bảng xã Bên", "XB-Q1"});
    }

    Runtime& rt() { return host.runtime(); }

    test::HttpResult call(const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& key = "test-token") {
        std::map<std::string, std::string> headers;
        if (!key.empty()) headers["Authorization"] = "Bearer " + key;
        if (!body.empty()) headers["Content-Type"] = "application/json";
        return test::http(rt().port(), method, path, body, headers);
    }

    Array::Ptr held(const std::string& query = "", const std::string& key = "test-token") {
        auto r = call("GET", "/api/v1/held" + query, "", key);
        INFO(r.body);
        REQUIRE(r.status == 200);
        return parse(r.body)->getArray("items");
    }

    // Holds a counter tap of `device` (at `counter` of `agency`).
    Receipt hold(const std::string& key, const std::string& device = "TAB-01",
                 const std::string& counter = "XA-Q1", const std::string& agency = "XA") {
        Submission s = tap(key);
        s.deviceCode = device;
        s.counterCode = counter;
        s.agencyCode = agency;
        return rt().ingest().hold(s, "rate_limit");
    }

    std::int64_t responses() { return rt().directory().count("responses"); }

    test::TempDir dir;
    test::TestDatabase tdb;
    test::TestHost host;
};

std::string idOf(const Array::Ptr& items, unsigned i) {
    return std::to_string(items->getObject(i)->getValue<std::int64_t>("id"));
}

}  // namespace

TEST_CASE("held API: an official lists held submissions, releases each once, or discards it",
          "[devices][hold]") {
    test::onEachBackend([](Backend b) {
        Console c(b);
        const Receipt one = c.hold("counter:h-1");
        c.hold("counter:h-2");
        c.hold("counter:h-3");
        auto items = c.held();
        REQUIRE(items->size() == 3);
        auto first = items->getObject(0);
        CHECK(first->getValue<std::string>("receipt") == one.code);
        CHECK(first->getValue<std::string>("status") == "held");
        CHECK(first->getValue<std::string>("reason") == "rate_limit");
        CHECK(first->getValue<std::string>("survey") == "counter-quick");
        CHECK(first->getValue<std::string>("device") == "TAB-01");
        CHECK(first->getValue<std::string>("agency") == "XA");
        CHECK(first->has("answered_at"));
        CHECK(first->has("device_at"));
        CHECK(c.responses() == 0);

        auto released = c.call("POST", "/api/v1/held/" + idOf(items, 0) + "/release");
        REQUIRE(released.status == 200);
        CHECK_FALSE(parse(released.body)->getValue<bool>("duplicate"));
        CHECK(c.responses() == 1);
        auto twice = c.call("POST", "/api/v1/held/" + idOf(items, 0) + "/release");
        CHECK(twice.status == 409);
        CHECK(problemCode(twice) == "held.already_decided");
        CHECK(c.call("POST", "/api/v1/held/" + idOf(items, 0) + "/discard").status == 409);
        CHECK(c.responses() == 1);

        CHECK(c.call("POST", "/api/v1/held/" + idOf(items, 1) + "/discard").status == 204);
        CHECK(c.call("POST", "/api/v1/held/" + idOf(items, 1) + "/release").status == 409);
        CHECK(c.responses() == 1);
        auto discarded = c.held("?status=discarded");
        REQUIRE(discarded->size() == 1);
        CHECK(discarded->getObject(0)->getValue<std::string>("status") == "discarded");
        CHECK(discarded->getObject(0)->has("decided_at"));
        auto releasedList = c.held("?status=released");
        REQUIRE(releasedList->size() == 1);
        CHECK(releasedList->getObject(0)->has("response_id"));
        CHECK(c.held()->size() == 1);

        // A held tap whose key reached the responses meanwhile counts once.
        REQUIRE_FALSE(c.rt().ingest().submit(tap("counter:h-3")).duplicate);
        CHECK(c.responses() == 2);
        auto late = c.call("POST", "/api/v1/held/" + idOf(items, 2) + "/release");
        REQUIRE(late.status == 200);
        CHECK(parse(late.body)->getValue<bool>("duplicate"));
        CHECK(c.responses() == 2);
        CHECK(c.held()->size() == 0);

        CHECK(c.call("POST", "/api/v1/held/123456/release").status == 404);
        CHECK(c.call("POST", "/api/v1/held/x1/discard").status == 400);
        CHECK(c.call("GET", "/api/v1/held?status=pending").status == 400);
        CHECK(c.call("GET", "/api/v1/held", "", "").status == 401);
        CHECK(c.call("POST", "/api/v1/held/" + idOf(items, 0) + "/release", "", "").status == 401);
    });
}

TEST_CASE("held API: an API key sees and decides only its own agency's held submissions",
          "[devices][hold]") {
    test::onEachBackend([](Backend b) {
        Console c(b);
        const std::string keyB = c.rt().apiKeys().add("xa-ben", "XB");
        c.hold("counter:a-1");
        c.hold("counter:b-1", "TAB-02", "XB-Q1", "XB");
        auto all = c.held();
        REQUIRE(all->size() == 2);
        auto mine = c.held("", keyB);
        REQUIRE(mine->size() == 1);
        CHECK(mine->getObject(0)->getValue<std::string>("device") == "TAB-02");
        auto foreign = c.call("POST", "/api/v1/held/" + idOf(all, 0) + "/release", "", keyB);
        CHECK(foreign.status == 403);
        CHECK(c.call("POST", "/api/v1/held/" + idOf(all, 0) + "/discard", "", keyB).status == 403);
        CHECK(c.responses() == 0);
        CHECK(c.call("POST", "/api/v1/held/" + idOf(all, 1) + "/release", "", keyB).status == 200);
        CHECK(c.responses() == 1);
    });
}

// GET /api/v1/held reads `limit` rows and then drops those out of the key's scope: a scoped
// key sees fewer of its own held submissions than there are, or none.
TEST_CASE("held API: a scoped key's limit counts its own held submissions", "[devices][hold]") {
    Console c(Backend::SQLite);
    const std::string keyB = c.rt().apiKeys().add("xa-ben", "XB");
    c.hold("counter:a-1");
    c.hold("counter:a-2");
    c.hold("counter:b-1", "TAB-02", "XB-Q1", "XB");
    CHECK(c.held("?limit=1", keyB)->size() == 1);
}

TEST_CASE("device API: pairing codes, revocation, sessions and shifts stay in the key's scope",
          "[devices]") {
    test::onEachBackend([](Backend b) {
        Console c(b);
        const std::string keyB = c.rt().apiKeys().add("xa-ben", "XB");
        auto code = c.call("POST", "/api/v1/devices/TAB-01/pairing");
        REQUIRE(code.status == 201);
        auto body = parse(code.body);
        CHECK(body->getValue<std::string>("device") == "TAB-01");
        CHECK(body->getValue<std::string>("pairing_code").size() == 9);
        CHECK(body->has("expires_at"));
        CHECK(c.rt()
                  .devices()
                  .pair(body->getValue<std::string>("pairing_code"))
                  .session.device.code == "TAB-01");
        auto session = c.call("GET", "/api/v1/devices/TAB-01/session");
        REQUIRE(session.status == 200);
        CHECK(parse(session.body)->getValue<std::string>("status") == "active");
        CHECK(parse(session.body)->isNull("officer"));

        CHECK(c.call("POST", "/api/v1/devices/NOPE/pairing").status == 404);
        CHECK(c.call("POST", "/api/v1/devices/TAB-01/pairing", "", "").status == 401);
        for (const auto& [method, path, json] :
             std::vector<std::tuple<std::string, std::string, std::string>>{
                 {"POST", "/api/v1/devices/TAB-01/pairing", ""},
                 {"POST", "/api/v1/devices/TAB-01/revoke", ""},
                 {"GET", "/api/v1/devices/TAB-01/session", ""},
                 {"PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":"XA-CB1"})"},
                 {"DELETE", "/api/v1/devices/TAB-01/shift", ""},
                 {"PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"1234"})"}}) {
            INFO(method << " " << path);
            auto r = c.call(method, path, json, keyB);
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "apikey.out_of_scope");
        }
        CHECK(c.rt().devices().session("TAB-01")->device.status == "active");
        CHECK(
            c.call("PUT", "/api/v1/devices/TAB-02/shift", R"({"officer":"XB-CB1"})", keyB).status ==
            200);
        CHECK(c.call("PUT", "/api/v1/officers/XB-CB1/pin", R"({"pin":"1234"})", keyB).status ==
              204);
        CHECK(c.call("PUT", "/api/v1/devices/TAB-02/shift", R"({"officer":"XB-CB1","x":1})", keyB)
                  .status == 422);
        CHECK(c.call("POST", "/api/v1/devices/TAB-02/revoke", "", keyB).status == 204);
        CHECK(c.rt().devices().session("TAB-02")->device.status == "revoked");
    });
}
