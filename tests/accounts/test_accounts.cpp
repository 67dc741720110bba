// hailong tests — the console's accounts: Argon2id secrets; users, their password rules and
// sign-in pauses; sessions by token hash with idle and absolute ends; the audit log (each on
// SQLite and on PostgreSQL); and the API as console users of each role reach it with their
// session cookie, every change they make audited.
#include "accounts/Accounts.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "common/SecretHash.h"
#include "directory/DirectoryStore.h"
#include "support/TestSupport.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace hailong;
using namespace Poco::Data::Keywords;
using test::problemOf;

namespace {

constexpr std::int64_t kMinute = 60 * 1000;
const std::string kPassword = "mật-khẩu-đủ-dài-1";  // 17 characters

// The stores of one fresh, migrated database with the agencies PT > XA > XA1 and PT > XB.
struct Accounts {
    explicit Accounts(Backend b, SessionStore::Options options)
        : tdb(b),
          directory(tdb.migrated(), text),
          users(tdb.db(), directory),
          sessions(tdb.db(), users, options),
          audit(tdb.db()) {
        for (const auto& [code, name, parent] :
             std::vector<std::tuple<std::string, std::string, std::string>>{
                 {"PT", "Tỉnh Phú Thọ", ""},
                 {"XA", "Xã A", "PT"},
                 {"XA1", "Thôn A1", "XA"},
                 {"XB", "Xã B", "PT"}}) {
            AgencyInput in;
            in.code = code, in.name = name, in.parentCode = parent;
            REQUIRE(directory.save(in) == SaveOutcome::Created);
        }
    }
    std::string pathOf(const std::string& code) const {
        auto a = directory.agency(code);
        REQUIRE(a.has_value());
        return a->path;
    }

    test::TestDatabase tdb;
    IcuTextNormalizer text;
    DirectoryStore directory;
    UserStore users;
    SessionStore sessions;
    AuditLog audit;
};

// Runs `body` once per backend (a Catch section each) on fresh Accounts.
void onEachBackend(const std::function<void(Accounts&)>& body, SessionStore::Options options = {}) {
    test::onEachBackend([&](Backend b) {
        Accounts a(b, options);
        body(a);
    });
}

UserInput userIn(const std::string& username, const std::string& role,
                 const std::string& agency = "", const std::string& displayName = "") {
    UserInput in;
    in.username = username, in.displayName = displayName, in.role = role, in.agencyCode = agency;
    return in;
}

std::string describe(const Problem& p) {
    std::string out = std::to_string(p.status()) + " " + p.code() + " [";
    for (const FieldError& e : p.errors()) out += " " + e.field + ":" + e.code;
    return out + " ]";
}

bool hasError(const Problem& p, const std::string& field, const std::string& code) {
    return test::hasError(p.errors(), field, code);
}

std::vector<std::string> usernames(const std::vector<User>& users) {
    std::vector<std::string> out;
    for (const User& u : users) out.push_back(u.username);
    return out;
}

std::string repeated(const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

AuditQuery auditQuery(const std::function<void(AuditQuery&)>& set) {
    AuditQuery q;
    set(q);
    return q;
}

std::vector<std::string> codesOf(const std::vector<AuditEntry>& entries) {
    std::vector<std::string> out;
    for (const AuditEntry& e : entries) out.push_back(e.code);
    return out;
}

Poco::JSON::Object::Ptr json(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

// ---- secrets ------------------------------------------------------------------------------------

TEST_CASE("accounts: secrets are Argon2id hashes, salted, matched only by the right secret") {
    const std::string secret = "Mật khẩu của tôi 1";
    const std::string a = hashSecret(secret), b = hashSecret(secret);
    CHECK(a.starts_with("$argon2id$"));
    CHECK(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    CHECK(a != b);  // a fresh salt each time
    CHECK(secretMatches(a, secret));
    CHECK(secretMatches(b, secret));
    CHECK_FALSE(secretMatches(a, "Mật khẩu của tôi 2"));
    CHECK_FALSE(secretMatches(a, "mật khẩu của tôi 1"));
    CHECK_FALSE(secretMatches(a, secret + " "));
    CHECK_FALSE(secretMatches(a, ""));
    // "" (no hash stored, as for an officer without a PIN) never matches anything.
    CHECK_FALSE(secretMatches("", ""));
    CHECK_FALSE(secretMatches("", secret));
    CHECK_FALSE(secretMatches("not a hash", secret));
}

// ---- users --------------------------------------------------------------------------------------

TEST_CASE("accounts: users are added with a role over an agency, every refusal naming its field") {
    onEachBackend([](Accounts& acc) {
        UserStore& users = acc.users;
        const User admin =
            users.add(userIn("Root.Admin", "admin", "", "Quản trị"), kPassword, false);
        CHECK(admin.id > 0);
        CHECK(admin.username == "root.admin");  // lowered
        CHECK(admin.displayName == "Quản trị");
        CHECK(admin.role == Role::Admin);
        CHECK_FALSE(admin.agencyId.has_value());
        CHECK(admin.agencyPath.empty());
        CHECK(admin.active);
        CHECK_FALSE(admin.mustChangePassword);
        CHECK(admin.createdAtMs > 0);
        CHECK(admin.passwordChangedAtMs == admin.createdAtMs);

        const User lan =
            users.add(userIn("Lan.Nguyen", "official", "XA", "Nguyễn Thị Lan"), kPassword, true);
        CHECK(lan.username == "lan.nguyen");
        CHECK(lan.role == Role::Official);
        CHECK(lan.agencyId == acc.directory.agency("XA")->id);
        CHECK(lan.agencyCode == "XA");
        CHECK(lan.agencyName == "Xã A");
        CHECK(lan.agencyPath == acc.pathOf("XA"));
        CHECK(lan.mustChangePassword);
        const User hoa = users.add(userIn("hoa_tran-2", "analyst", "XB"), kPassword, false);
        CHECK(hoa.role == Role::Analyst);
        CHECK(hoa.agencyCode == "XB");
        // The shortest and the longest usernames.
        CHECK(users.add(userIn("abc", "analyst", "XA1"), kPassword, false).username == "abc");
        CHECK(users.add(userIn(std::string(64, 'z'), "analyst", "XA1"), kPassword, false)
                  .username.size() == 64);
        REQUIRE(users.count() == 5);

        auto refused = [&](const UserInput& in, const std::string& password,
                           const std::string& field, const std::string& code) {
            INFO("username «" << in.username << "», role «" << in.role << "», agency «"
                              << in.agencyCode << "», password «" << password << "»");
            const Problem p = problemOf([&] { users.add(in, password, false); });
            INFO(describe(p));
            CHECK(p.status() == 422);
            CHECK(p.code() == "user.invalid");
            CHECK(hasError(p, field, code));
        };
        for (const std::string& name :
             std::vector<std::string>{"ab", "", "lan nguyen", "lan@xa", "nguyễn.lan", "lan/xa",
                                      "lan+1", std::string(65, 'a')}) {
            refused(userIn(name, "analyst", "XA"), kPassword, "username", "user.username_format");
        }
        refused(userIn("an.le", "superuser", "XA"), kPassword, "role", "field.one_of");
        refused(userIn("an.le", "", "XA"), kPassword, "role", "field.one_of");
        refused(userIn("an.le", "official", ""), kPassword, "agency", "user.agency_required");
        refused(userIn("an.le", "analyst", ""), kPassword, "agency", "user.agency_required");
        refused(userIn("an.le", "admin", "XA"), kPassword, "agency", "user.admin_no_agency");
        refused(userIn("an.le", "official", "NOPE"), kPassword, "agency",
                "directory.unknown_reference");
        refused(userIn("an.le", "official", "XA", std::string(121, 'x')), kPassword, "display_name",
                "field.too_long");

        // Passwords count characters, not bytes: 9 Vietnamese characters are too short even in
        // 16 bytes, 10 are enough.
        const std::string nine = "mậtkhẩuđẹ", ten = "mậtkhẩuđẹp";
        REQUIRE(nine.size() > 10);
        refused(userIn("an.le", "official", "XA"), nine, "password", "password.too_short");
        refused(userIn("an.le", "official", "XA"), "", "password", "password.too_short");
        refused(userIn("an.le", "official", "XA"), repeated("ắ", 201), "password",
                "password.too_long");
        refused(userIn("an.le", "official", "XA"), std::string(201, 'p'), "password",
                "password.too_long");
        refused(userIn("nguyen.van.an", "official", "XA"), "Nguyen.Van.An", "password",
                "password.is_username");
        refused(userIn("Nguyen.Van.An", "official", "XA"), "nguyen.van.an", "password",
                "password.is_username");
        // No control characters, not even a newline or a tab.
        refused(userIn("an.le", "official", "XA"), "mười ký tự\nnữa", "password",
                "password.invalid");
        refused(userIn("an.le", "official", "XA"), "mười ký tự\tnữa", "password",
                "password.invalid");
        refused(userIn("an.le", "official", "XA"), std::string("mười ký tự") + '\x1b' + "nữa",
                "password", "password.invalid");
        refused(userIn("an.le", "official", "XA"), "mười ký tự \xff\xfe", "password",
                "password.invalid");

        // Every complaint at once.
        const Problem all =
            problemOf([&] { users.add(userIn("A B", "boss", "NOPE"), "short", false); });
        INFO(describe(all));
        CHECK(hasError(all, "username", "user.username_format"));
        CHECK(hasError(all, "password", "password.too_short"));
        CHECK(hasError(all, "role", "field.one_of"));
        CHECK(hasError(all, "agency", "directory.unknown_reference"));
        CHECK(users.count() == 5);  // nothing written
        CHECK_FALSE(users.find("an.le"));

        const User tenChars = users.add(userIn("an.le", "official", "XA"), ten, false);
        CHECK(users.authenticate("an.le", ten, nowMs()).id == tenChars.id);
        const std::string longest = repeated("ắ", 200);  // 600 bytes
        users.add(userIn("dai.nhat", "analyst", "XB"), longest, false);
        CHECK(users.authenticate("dai.nhat", longest, nowMs()).username == "dai.nhat");

        // A taken username, in any case.
        for (const std::string& name : std::vector<std::string>{"lan.nguyen", "LAN.NGUYEN"}) {
            const Problem taken =
                problemOf([&] { users.add(userIn(name, "analyst", "XB"), kPassword, false); });
            CHECK(taken.status() == 409);
            CHECK(taken.code() == "user.exists");
            CHECK(taken.params().at("username") == "lan.nguyen");
        }
        CHECK(users.count() == 7);
        CHECK(users.find("lan.nguyen")->role == Role::Official);  // unchanged
    });
}

TEST_CASE("accounts: users are found, listed by subtree, changed, given passwords and disabled") {
    onEachBackend([](Accounts& acc) {
        UserStore& users = acc.users;
        const User admin = users.add(userIn("root", "admin"), kPassword, false);
        const User lan = users.add(userIn("lan", "official", "XA", "Lan"), kPassword, false);
        const User thon = users.add(userIn("thon", "analyst", "XA1"), kPassword, false);
        const User binh = users.add(userIn("binh", "official", "XB"), kPassword, false);

        CHECK(users.find("lan")->id == lan.id);
        CHECK(users.find("LAN")->id == lan.id);
        CHECK_FALSE(users.find("nobody"));
        CHECK_FALSE(users.find(""));
        CHECK(users.byId(binh.id)->username == "binh");
        CHECK(users.byId(binh.id)->agencyPath == acc.pathOf("XB"));
        CHECK_FALSE(users.byId(binh.id + 1000));
        CHECK(users.count() == 4);

        using Names = std::vector<std::string>;
        CHECK(usernames(users.list("")) == Names{"binh", "lan", "root", "thon"});
        CHECK(usernames(users.list(acc.pathOf("XA"))) == Names{"lan", "thon"});
        CHECK(usernames(users.list(acc.pathOf("XA1"))) == Names{"thon"});
        CHECK(usernames(users.list(acc.pathOf("XB"))) == Names{"binh"});
        CHECK(usernames(users.list(acc.pathOf("PT"))) == Names{"binh", "lan", "thon"});

        // What a user is.
        const User moved = users.update("LAN", userIn("ignored", "analyst", "XB", "Lan N."));
        CHECK(moved.id == lan.id);
        CHECK(moved.username == "lan");  // usernames do not change
        CHECK(moved.role == Role::Analyst);
        CHECK(moved.agencyCode == "XB");
        CHECK(moved.agencyPath == acc.pathOf("XB"));
        CHECK(moved.displayName == "Lan N.");
        CHECK(moved.updatedAtMs >= lan.updatedAtMs);
        CHECK(usernames(users.list(acc.pathOf("XB"))) == Names{"binh", "lan"});
        const User promoted = users.update("lan", userIn("", "admin", "", "Lan N."));
        CHECK(promoted.role == Role::Admin);
        CHECK_FALSE(promoted.agencyId.has_value());
        CHECK(promoted.agencyPath.empty());
        CHECK(usernames(users.list(acc.pathOf("PT"))) == std::vector<std::string>{"binh", "thon"});

        Problem p = problemOf([&] { users.update("nobody", userIn("", "analyst", "XA")); });
        CHECK(p.status() == 404);
        CHECK(p.code() == "user.not_found");
        p = problemOf([&] { users.update("thon", userIn("", "admin", "XA")); });
        CHECK(p.status() == 422);
        CHECK(hasError(p, "agency", "user.admin_no_agency"));
        p = problemOf([&] { users.update("thon", userIn("", "official", "")); });
        CHECK(hasError(p, "agency", "user.agency_required"));
        p = problemOf([&] { users.update("thon", userIn("", "official", "NOPE")); });
        CHECK(hasError(p, "agency", "directory.unknown_reference"));
        p = problemOf([&] { users.update("thon", userIn("", "owner", "XA")); });
        CHECK(hasError(p, "role", "field.one_of"));
        CHECK(users.find("thon")->role == Role::Analyst);  // refused changes change nothing
        CHECK(users.find("thon")->agencyCode == "XA1");

        // Passwords: the same rules as for new users.
        p = problemOf([&] { users.setPassword("thon", "ngắn quá", false); });
        CHECK(p.status() == 422);
        CHECK(hasError(p, "password", "password.too_short"));
        p = problemOf([&] { users.setPassword("binh", "BINH", false); });
        CHECK(hasError(p, "password", "password.too_short"));
        users.add(userIn("tran.thi.binh", "analyst", "XB"), kPassword, false);
        p = problemOf([&] { users.setPassword("tran.thi.binh", "Tran.Thi.Binh", false); });
        CHECK(hasError(p, "password", "password.is_username"));
        p = problemOf([&] { users.setPassword("thon", repeated("ơ", 201), false); });
        CHECK(hasError(p, "password", "password.too_long"));
        p = problemOf([&] { users.setPassword("nobody", kPassword, false); });
        CHECK(p.status() == 404);
        CHECK(users.authenticate("thon", kPassword, nowMs()).id == thon.id);  // still the old one

        users.setPassword("thon", "một mật khẩu mới", true);
        const User changed = *users.find("thon");
        CHECK(changed.mustChangePassword);
        CHECK(changed.passwordChangedAtMs >= thon.passwordChangedAtMs);
        CHECK(users.authenticate("thon", "một mật khẩu mới", nowMs()).id == thon.id);
        CHECK(problemOf([&] { users.authenticate("thon", kPassword, nowMs()); }).status() == 401);
        users.setPassword("thon", "một mật khẩu khác", false);
        CHECK_FALSE(users.find("thon")->mustChangePassword);

        // Disabled and enabled again.
        users.setActive("binh", false);
        CHECK_FALSE(users.find("binh")->active);
        CHECK(usernames(users.list(acc.pathOf("XB"))) ==
              std::vector<std::string>{"binh", "tran.thi.binh"});  // still listed
        users.setActive("binh", true);
        CHECK(users.find("binh")->active);
        CHECK(problemOf([&] { users.setActive("nobody", false); }).status() == 404);
        CHECK(users.count() == 5);
        CHECK(users.byId(admin.id)->role == Role::Admin);

        CHECK(UserStore::passwordProblem("lan", kPassword).empty());
        CHECK(UserStore::passwordProblem("lan", "123456789") == "password.too_short");
        CHECK(UserStore::passwordProblem("lan.nguyen.xa", "LAN.NGUYEN.XA") ==
              "password.is_username");
    });
}

TEST_CASE("accounts: sign-in refuses alike, pauses after 5 failures and doubles the pause") {
    onEachBackend([](Accounts& acc) {
        UserStore& users = acc.users;
        const User lan = users.add(userIn("lan.nguyen", "official", "XA"), kPassword, false);
        const std::int64_t t = nowMs();
        CHECK(users.authenticate("lan.nguyen", kPassword, t).id == lan.id);
        CHECK(users.authenticate("Lan.Nguyen", kPassword, t).agencyCode == "XA");

        const Problem wrong = problemOf([&] { users.authenticate("lan.nguyen", "sai rồi!!!", t); });
        CHECK(wrong.status() == 401);
        CHECK(wrong.code() == "auth.signin_failed");
        const Problem unknown = problemOf([&] { users.authenticate("nobody", kPassword, t); });
        CHECK(unknown.status() == 401);
        CHECK(unknown.code() == wrong.code());
        CHECK(unknown.params() == wrong.params());
        CHECK(unknown.headers == wrong.headers);
        CHECK(problemOf([&] { users.authenticate(std::string(65, 'a'), kPassword, t); }).code() ==
              "auth.signin_failed");
        CHECK(problemOf([&] { users.authenticate("lan.nguyen", "", t); }).code() ==
              "auth.signin_failed");
        CHECK(users.authenticate("lan.nguyen", kPassword, t).id == lan.id);  // clears the count

        users.setActive("lan.nguyen", false);
        const Problem disabled = problemOf([&] { users.authenticate("lan.nguyen", kPassword, t); });
        CHECK(disabled.status() == 401);
        CHECK(disabled.code() == wrong.code());
        CHECK(disabled.params() == wrong.params());
        users.setActive("lan.nguyen", true);
        CHECK(users.authenticate("lan.nguyen", kPassword, t).id == lan.id);

        // Four failures in a row: still 401s, and the right password still works (and clears).
        for (int i = 0; i < 4; ++i)
            CHECK(problemOf([&] {
                      users.authenticate("lan.nguyen", "sai-" + std::to_string(i), t);
                  }).status() == 401);
        CHECK(users.authenticate("lan.nguyen", kPassword, t).id == lan.id);
        // Then five: the fifth is still a 401, and the account pauses for a minute.
        for (int i = 0; i < 5; ++i)
            CHECK(problemOf([&] {
                      users.authenticate("lan.nguyen", "sai-" + std::to_string(i), t);
                  }).code() == "auth.signin_failed");
        auto paused = [&](const std::string& password, std::int64_t at) {
            const Problem p = problemOf([&] { users.authenticate("lan.nguyen", password, at); });
            INFO(describe(p));
            CHECK(p.status() == 429);
            CHECK(p.code() == "auth.signin_paused");
            REQUIRE(p.params().count("seconds"));
            const int seconds = std::stoi(p.params().at("seconds"));
            const auto header = std::find_if(p.headers.begin(), p.headers.end(), [](const auto& h) {
                return h.first == "Retry-After";
            });
            REQUIRE(header != p.headers.end());
            CHECK(header->second == p.params().at("seconds"));
            return seconds;
        };
        int seconds = paused(kPassword, t + 1000);  // even the right password
        CHECK(seconds >= 58);
        CHECK(seconds <= 61);
        CHECK(paused("sai nữa", t + 30 * 1000) <= 31);  // not counted while paused
        seconds = paused(kPassword, t + kMinute - 1);
        CHECK(seconds >= 1);
        CHECK(seconds <= 2);
        // After the pause the right password works again, and clears the count.
        std::int64_t at = t + kMinute;
        CHECK(users.authenticate("lan.nguyen", kPassword, at).id == lan.id);
        for (int i = 0; i < 4; ++i)
            CHECK(problemOf([&] { users.authenticate("lan.nguyen", "sai", at); }).status() == 401);
        CHECK(users.authenticate("lan.nguyen", kPassword, at).id == lan.id);

        // Failures after a pause double it: 5 → 1 minute, 6 → 2, 7 → 4 ... up to an hour.
        for (int i = 0; i < 5; ++i)
            CHECK(problemOf([&] { users.authenticate("lan.nguyen", "sai", at); }).status() == 401);
        std::int64_t expected = kMinute;
        for (int failures = 5; failures <= 12; ++failures) {
            INFO("after " << failures << " failures");
            seconds = paused(kPassword, at + 1);
            CHECK(seconds >= expected / 1000 - 2);
            CHECK(seconds <= expected / 1000 + 1);
            CHECK(paused(kPassword, at + expected - 1) <= 2);
            at += expected;  // the pause is over: one more failure pauses again, longer
            CHECK(problemOf([&] { users.authenticate("lan.nguyen", "sai", at); }).status() == 401);
            expected = std::min<std::int64_t>(expected * 2, 60 * kMinute);
        }
        at += 60 * kMinute;
        CHECK(users.authenticate("lan.nguyen", kPassword, at).id == lan.id);
        // Cleared: one failure does not pause.
        CHECK(problemOf([&] { users.authenticate("lan.nguyen", "sai", at); }).status() == 401);
        CHECK(users.authenticate("lan.nguyen", kPassword, at).id == lan.id);

        // Another user's failures are not this one's.
        users.add(userIn("binh", "official", "XB"), kPassword, false);
        for (int i = 0; i < 5; ++i)
            CHECK(problemOf([&] { users.authenticate("binh", "sai", at); }).status() == 401);
        CHECK(problemOf([&] { users.authenticate("binh", kPassword, at); }).status() == 429);
        CHECK(users.authenticate("lan.nguyen", kPassword, at).id == lan.id);
        // A new password ends the pause.
        users.setPassword("binh", "mật khẩu mới tinh", false);
        CHECK(users.authenticate("binh", "mật khẩu mới tinh", at).username == "binh");
    });
}

// ---- sessions -----------------------------------------------------------------------------------

namespace {
SessionStore::Options shortSessions() {
    SessionStore::Options o;
    o.idleMs = 10 * kMinute;
    o.absoluteMs = 60 * kMinute;
    return o;
}
bool isLowerHex(const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

TEST_CASE("accounts: a session is found by its token, which the database never holds") {
    onEachBackend(
        [](Accounts& acc) {
            const User lan = acc.users.add(userIn("lan", "official", "XA"), kPassword, false);
            const std::int64_t before = nowMs();
            const std::string token = acc.sessions.open(lan, "203.0.113.7", "Firefox/128");
            const std::int64_t after = nowMs();
            CHECK(token.size() == 64);
            CHECK(isLowerHex(token));
            const std::string other = acc.sessions.open(lan, "127.0.0.1", "test");
            CHECK(other != token);

            auto s = acc.sessions.find(token, after);
            REQUIRE(s.has_value());
            CHECK(s->user.id == lan.id);
            CHECK(s->user.username == "lan");
            CHECK(s->user.agencyPath == acc.pathOf("XA"));
            CHECK(s->csrf.size() >= 32);
            CHECK(s->csrf != token);
            CHECK(s->address == "203.0.113.7");
            CHECK(s->userAgent == "Firefox/128");
            CHECK(s->createdAtMs >= before);
            CHECK(s->createdAtMs <= after);
            CHECK(s->expiresAtMs == s->createdAtMs + 60 * kMinute);
            CHECK_FALSE(s->tokenHash.empty());
            CHECK(s->tokenHash != token);
            CHECK(acc.sessions.find(other, after)->csrf != s->csrf);
            CHECK(acc.sessions.find(token, after)->csrf == s->csrf);  // the same key each time

            // Unknown and malformed tokens.
            std::string changed = token;
            changed[10] = changed[10] == 'a' ? 'b' : 'a';
            for (const std::string& bad :
                 {std::string(), std::string("nope"), changed, std::string(64, 'z'),
                  token.substr(0, 63), token + "0", std::string(64, '\0'), s->tokenHash}) {
                CHECK_FALSE(acc.sessions.find(bad, after));
            }
            CHECK(acc.sessions.find(token, after).has_value());  // guesses end nothing

            // The database holds hashes of the tokens, never the tokens.
            std::vector<std::string> stored;
            acc.tdb.db().read([&](Poco::Data::Session& db) {
                db << "SELECT token_hash FROM sessions", into(stored), now;
            });
            REQUIRE(stored.size() == 2);
            for (const std::string& h : stored) {
                CHECK(h != token);
                CHECK(h != other);
                CHECK(h.find(token) == std::string::npos);
            }
            CHECK(std::count(stored.begin(), stored.end(), s->tokenHash) == 1);
            std::vector<std::string> texts;
            acc.tdb.db().read([&](Poco::Data::Session& db) {
                db << "SELECT csrf || address || user_agent FROM sessions", into(texts), now;
            });
            for (const std::string& t : texts) CHECK(t.find(token) == std::string::npos);

            // The user's sessions.
            const auto mine = acc.sessions.ofUser(lan.id);
            REQUIRE(mine.size() == 2);
            std::set<std::string> hashes;
            for (const SignIn& in : mine) hashes.insert(in.tokenHash);
            CHECK(hashes == std::set<std::string>(stored.begin(), stored.end()));
            CHECK(mine.front().createdAtMs >= mine.back().createdAtMs);  // newest first
            CHECK(acc.sessions.ofUser(lan.id + 1000).empty());

            acc.sessions.close(token);
            CHECK_FALSE(acc.sessions.find(token, after));
            CHECK(acc.sessions.find(other, after).has_value());
            CHECK(acc.sessions.ofUser(lan.id).size() == 1);
            acc.sessions.close(token);  // again: nothing happens
            acc.sessions.close("never issued");
            CHECK(acc.sessions.ofUser(lan.id).size() == 1);
        },
        shortSessions());
}

TEST_CASE("accounts: sessions end when idle, at their absolute end, or when the user is disabled") {
    onEachBackend(
        [](Accounts& acc) {
            const std::int64_t idle = 10 * kMinute, absolute = 60 * kMinute;
            CHECK(acc.sessions.options().idleMs == idle);
            CHECK(acc.sessions.options().absoluteMs == absolute);
            const User lan = acc.users.add(userIn("lan", "official", "XA"), kPassword, false);

            SECTION("idle") {
                const std::int64_t before = nowMs();
                const std::string token = acc.sessions.open(lan, "127.0.0.1", "test");
                const std::int64_t after = nowMs();
                CHECK(acc.sessions.find(token, before + idle - 1).has_value());
                // That use counts: it is idle from then on.
                CHECK(acc.sessions.find(token, before + 2 * idle - 2).has_value());
                CHECK_FALSE(acc.sessions.find(token, after + 3 * idle));
                CHECK(acc.sessions.ofUser(lan.id).empty());  // ended, not just hidden
                CHECK_FALSE(acc.sessions.find(token, after));

                const std::string quiet = acc.sessions.open(lan, "127.0.0.1", "test");
                const std::int64_t opened = nowMs();
                CHECK_FALSE(acc.sessions.find(quiet, opened + idle));
                CHECK(acc.sessions.ofUser(lan.id).empty());
            }
            SECTION("used at most once a minute") {
                const std::string token = acc.sessions.open(lan, "127.0.0.1", "test");
                const std::int64_t opened = acc.sessions.ofUser(lan.id).front().seenAtMs;
                CHECK(acc.sessions.find(token, opened + 30 * 1000).has_value());
                CHECK(acc.sessions.ofUser(lan.id).front().seenAtMs == opened);
                CHECK(acc.sessions.find(token, opened + 2 * kMinute).has_value());
                CHECK(acc.sessions.ofUser(lan.id).front().seenAtMs == opened + 2 * kMinute);
            }
            SECTION("absolute, even when used all along") {
                const std::int64_t before = nowMs();
                const std::string token = acc.sessions.open(lan, "127.0.0.1", "test");
                const std::int64_t after = nowMs();
                int uses = 0;
                for (std::int64_t at = before + 5 * kMinute; at < before + absolute;
                     at += 5 * kMinute) {
                    INFO("at +" << (at - before) / kMinute << " min");
                    CHECK(acc.sessions.find(token, at).has_value());
                    ++uses;
                }
                CHECK(uses == 11);
                CHECK_FALSE(acc.sessions.find(token, after + absolute));
                CHECK(acc.sessions.ofUser(lan.id).empty());
            }
            SECTION("a disabled user") {
                const std::string token = acc.sessions.open(lan, "127.0.0.1", "test");
                const std::int64_t at = nowMs();
                CHECK(acc.sessions.find(token, at).has_value());
                acc.users.setActive("lan", false);
                CHECK_FALSE(acc.sessions.find(token, at));
                acc.users.setActive("lan", true);
                CHECK_FALSE(acc.sessions.find(token, at));  // it was ended
                CHECK(acc.sessions.ofUser(lan.id).empty());
                // The role and agency are read afresh on each use.
                const std::string next = acc.sessions.open(lan, "127.0.0.1", "test");
                acc.users.update("lan", userIn("", "analyst", "XB"));
                auto s = acc.sessions.find(next, nowMs());
                REQUIRE(s.has_value());
                CHECK(s->user.role == Role::Analyst);
                CHECK(s->user.agencyCode == "XB");
            }
        },
        shortSessions());
}

TEST_CASE("accounts: closeAll signs one user out everywhere, tidy removes ended sessions") {
    onEachBackend(
        [](Accounts& acc) {
            const std::int64_t idle = 10 * kMinute, absolute = 60 * kMinute;
            const User lan = acc.users.add(userIn("lan", "official", "XA"), kPassword, false);
            const User binh = acc.users.add(userIn("binh", "official", "XB"), kPassword, false);
            const std::int64_t before = nowMs();
            const std::string l1 = acc.sessions.open(lan, "127.0.0.1", "a");
            const std::string l2 = acc.sessions.open(lan, "127.0.0.1", "b");
            const std::string b1 = acc.sessions.open(binh, "127.0.0.1", "c");
            const std::int64_t after = nowMs();
            CHECK(acc.sessions.ofUser(lan.id).size() == 2);

            acc.sessions.closeAll(lan.id);
            CHECK(acc.sessions.ofUser(lan.id).empty());
            CHECK_FALSE(acc.sessions.find(l1, after));
            CHECK_FALSE(acc.sessions.find(l2, after));
            CHECK(acc.sessions.find(b1, after).has_value());
            CHECK(acc.sessions.ofUser(binh.id).size() == 1);
            acc.sessions.closeAll(lan.id);  // none left: nothing happens

            CHECK(acc.sessions.tidy(after) == 0);  // nothing ended yet
            // Three more: one left idle, one used until its absolute end, one in use.
            const std::string quiet = acc.sessions.open(lan, "127.0.0.1", "d");
            const std::string busy = acc.sessions.open(lan, "127.0.0.1", "e");
            const std::int64_t opened = nowMs();
            for (std::int64_t at = opened + 5 * kMinute; at < before + absolute;
                 at += 5 * kMinute) {
                REQUIRE(acc.sessions.find(busy, at).has_value());
                if (at <= before + absolute - 6 * kMinute)
                    REQUIRE(acc.sessions.find(b1, at).has_value());
            }
            // At 'before + absolute - 1': quiet is idle; busy (used 5 minutes ago) and b1 (10
            // minutes ago, less the time it took to open) are alive.
            CHECK(acc.sessions.tidy(before + absolute - 1) == 1);
            CHECK(acc.sessions.ofUser(lan.id).size() == 1);
            CHECK(acc.sessions.find(b1, before + absolute - 1).has_value());
            // After 'opened + absolute' busy has ended too, and b1 has been idle long enough.
            CHECK(acc.sessions.tidy(opened + absolute + idle) == 2);
            CHECK(acc.sessions.ofUser(lan.id).empty());
            CHECK(acc.sessions.ofUser(binh.id).empty());
            CHECK(acc.sessions.tidy(opened + absolute + idle) == 0);
            CHECK_FALSE(acc.sessions.find(quiet, after));
        },
        shortSessions());
}

// ---- the audit log ------------------------------------------------------------------------------

TEST_CASE("accounts: the audit log keeps changes, newest first, filtered and paged") {
    onEachBackend([](Accounts& acc) {
        const std::string pt = acc.pathOf("PT"), xa = acc.pathOf("XA"), xa1 = acc.pathOf("XA1"),
                          xb = acc.pathOf("XB");
        auto entry = [&](std::int64_t at, const std::string& actor, const std::string& action,
                         const std::string& kind, const std::string& code,
                         const std::string& path) {
            AuditEntry e;
            e.atMs = at, e.actor = actor, e.action = action, e.kind = kind, e.code = code;
            e.agencyPath = path;
            e.address = "127.0.0.1";
            e.requestId = "req-" + code + "-" + std::to_string(at);
            return e;
        };
        AuditEntry first = entry(1000, "user:lan", "create", "counter", "XA-Q1", xa);
        first.userId = 42;
        first.after = R"({"code":"XA-Q1","name":"Quầy 1"})";
        acc.audit.record(first);
        AuditEntry second = entry(2000, "token", "update", "counter", "XA-Q1", xa);
        second.before = first.after;
        second.after = R"({"code":"XA-Q1","name":"Quầy một"})";
        acc.audit.record(second);
        acc.audit.record(entry(3000, "user:binh", "create", "counter", "XB-Q1", xb));
        acc.audit.record(entry(4000, "token", "create", "agency", "PT", ""));
        acc.audit.record(entry(5000, "apikey:one-stop-xa", "pin_set", "officer", "XA1-CB1", xa1));
        acc.audit.record(entry(6000, "user:lan", "create", "agency", "XA1", xa));

        using Codes = std::vector<std::string>;
        const auto all = acc.audit.list({});
        CHECK(codesOf(all) == Codes{"XA1", "XA1-CB1", "PT", "XB-Q1", "XA-Q1", "XA-Q1"});
        REQUIRE(all.size() == 6);
        CHECK(all[0].id > all[1].id);
        const AuditEntry& kept = all[4];
        CHECK(kept.atMs == 2000);
        CHECK(kept.actor == "token");
        CHECK_FALSE(kept.userId.has_value());
        CHECK(kept.action == "update");
        CHECK(kept.kind == "counter");
        CHECK(kept.agencyPath == xa);
        CHECK(kept.address == "127.0.0.1");
        CHECK(kept.requestId == "req-XA-Q1-2000");
        CHECK(kept.before == first.after);
        CHECK(kept.after == second.after);
        CHECK(all[5].userId == 42);
        CHECK(all[5].before.empty());
        CHECK(all[3].after.empty());

        auto list = [&](const std::function<void(AuditQuery&)>& set) {
            return codesOf(acc.audit.list(auditQuery(set)));
        };
        // The subtree of an agency.
        CHECK(list([&](AuditQuery& q) { q.agencyPath = xa; }) ==
              Codes{"XA1", "XA1-CB1", "XA-Q1", "XA-Q1"});
        CHECK(list([&](AuditQuery& q) { q.agencyPath = xa1; }) == Codes{"XA1-CB1"});
        CHECK(list([&](AuditQuery& q) { q.agencyPath = xb; }) == Codes{"XB-Q1"});
        CHECK(list([&](AuditQuery& q) { q.agencyPath = pt; }) ==
              Codes{"XA1", "XA1-CB1", "XB-Q1", "XA-Q1", "XA-Q1"});
        // Kind, code, actor, action.
        CHECK(list([](AuditQuery& q) { q.kind = "counter"; }) == Codes{"XB-Q1", "XA-Q1", "XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.kind = "agency"; }) == Codes{"XA1", "PT"});
        CHECK(list([](AuditQuery& q) { q.code = "XA-Q1"; }).size() == 2);
        CHECK(list([](AuditQuery& q) { q.code = "XA"; }).empty());  // whole codes only
        CHECK(list([](AuditQuery& q) { q.actor = "token"; }) == Codes{"PT", "XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.actor = "user:lan"; }) == Codes{"XA1", "XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.actor = "user"; }).empty());
        CHECK(list([](AuditQuery& q) { q.action = "create"; }) ==
              Codes{"XA1", "PT", "XB-Q1", "XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.action = "pin_set"; }) == Codes{"XA1-CB1"});
        // Time: [from, to).
        CHECK(list([](AuditQuery& q) { q.fromMs = 2000, q.toMs = 4000; }) ==
              Codes{"XB-Q1", "XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.fromMs = 5000; }) == Codes{"XA1", "XA1-CB1"});
        CHECK(list([](AuditQuery& q) { q.toMs = 1001; }) == Codes{"XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.fromMs = 7000; }).empty());
        // Together (texts and numbers bound in order).
        CHECK(list([&](AuditQuery& q) {
                  q.agencyPath = xa, q.kind = "counter", q.actor = "token", q.fromMs = 1500,
                  q.toMs = 2500;
              }) == Codes{"XA-Q1"});
        CHECK(list([&](AuditQuery& q) {
                  q.agencyPath = pt, q.code = "XA-Q1", q.action = "create", q.fromMs = 0,
                  q.toMs = 10000;
              }) == Codes{"XA-Q1"});
        CHECK(
            acc.audit.list(auditQuery([](AuditQuery& q) { q.code = "XA-Q1", q.action = "create"; }))
                .front()
                .atMs == 1000);
        // Pages.
        CHECK(list([](AuditQuery& q) { q.limit = 2; }) == Codes{"XA1", "XA1-CB1"});
        CHECK(list([](AuditQuery& q) { q.limit = 2, q.offset = 2; }) == Codes{"PT", "XB-Q1"});
        CHECK(list([](AuditQuery& q) { q.limit = 2, q.offset = 4; }) == Codes{"XA-Q1", "XA-Q1"});
        CHECK(list([](AuditQuery& q) { q.limit = 2, q.offset = 6; }).empty());
        CHECK(list([](AuditQuery& q) { q.kind = "counter", q.limit = 1, q.offset = 1; }) ==
              Codes{"XA-Q1"});

        // Without a time, now.
        const std::int64_t before = nowMs();
        acc.audit.record(entry(0, "cli", "sign_in", "user", "lan", ""));
        const AuditEntry latest = acc.audit.list({}).front();
        CHECK(latest.code == "lan");
        CHECK(latest.atMs >= before);
        CHECK(latest.atMs <= nowMs());
    });
}

// ---- over HTTP ----------------------------------------------------------------------------------

namespace {

// A console user signed in to a test host: its cookie and CSRF key.
struct Console {
    std::string username, token, csrf;
};

class Api {
public:
    explicit Api(Runtime& rt) : rt_(rt) {}

    Console signIn(const std::string& username, const std::string& role,
                   const std::string& agency) {
        const User u = rt_.users().add(userIn(username, role, agency), kPassword, false);
        Console c;
        c.username = u.username;
        c.token = rt_.sessions().open(u, "127.0.0.1", "test");
        auto s = rt_.sessions().find(c.token, nowMs());
        REQUIRE(s.has_value());
        c.csrf = s->csrf;
        return c;
    }

    test::HttpResult withToken(const std::string& method, const std::string& path,
                               const std::string& body = "") const {
        std::map<std::string, std::string> headers{{"Authorization", "Bearer test-token"}};
        if (!body.empty()) headers["Content-Type"] = "application/json";
        return test::http(rt_.port(), method, path, body, headers);
    }
    void create(const std::string& collection, const std::string& body) const {
        const auto r = withToken("POST", "/api/v1/" + collection, body);
        INFO(collection << " " << body << " → " << r.body);
        REQUIRE(r.status == 201);
    }

    /// A request with the session cookie of `as`, and its CSRF key unless `csrf` says otherwise.
    test::HttpResult call(const Console& as, const std::string& method, const std::string& path,
                          const std::string& body = "",
                          std::optional<std::string> csrf = {}) const {
        std::map<std::string, std::string> headers{{"Cookie", "lang=vi; hl_session=" + as.token}};
        if (!body.empty()) headers["Content-Type"] = "application/json";
        const std::string key = csrf.value_or(as.csrf);
        if (method != "GET" && !key.empty()) headers["X-CSRF-Token"] = key;
        return test::http(rt_.port(), method, path, body, headers);
    }

private:
    Runtime& rt_;
};

std::string problemCode(const test::HttpResult& r) {
    try {
        return json(r.body)->getValue<std::string>("code");
    } catch (const std::exception&) {
        return "(not a problem: " + r.body + ")";
    }
}

std::set<std::string> itemCodes(const test::HttpResult& r) {
    std::set<std::string> out;
    auto items = json(r.body)->getArray("items");
    for (std::size_t i = 0; i < items->size(); ++i)
        out.insert(items->getObject(static_cast<unsigned>(i))->getValue<std::string>("code"));
    return out;
}

// The one audit entry of `kind` and `code` with `action`.
AuditEntry auditedOnce(Runtime& rt, const std::string& kind, const std::string& code,
                       const std::string& action) {
    const auto found = rt.audit().list(
        auditQuery([&](AuditQuery& q) { q.kind = kind, q.code = code, q.action = action; }));
    INFO(kind << " " << code << " " << action);
    REQUIRE(found.size() == 1);
    return found.front();
}

}  // namespace

TEST_CASE("accounts: over HTTP, console users act by role in their subtree, and are audited") {
    test::onEachBackend([](Backend b) {
        test::TestDatabase tdb(b);
        test::TempDir dir;
        test::TestHost host(tdb.url(), dir, true);
        Runtime& rt = host.runtime();
        Api api(rt);
        api.create("agencies", R"({"code":"PT","name":"Tỉnh Phú Thọ"})");
        api.create("agencies", R"({"code":"XA","name":"Xã A","parent":"PT"})");
        api.create("agencies", R"({"code":"XB","name":"Xã B","parent":"PT"})");
        api.create("counters", R"({"code":"XA-Q1","name":"Quầy 1","agency":"XA"})");
        api.create("counters", R"({"code":"XB-Q1","name":"Quầy 1","agency":"XB"})");
        api.create("officers", R"({"code":"XA-CB1","name":"Lê Thị Hoa","agency":"XA"})");
        api.create("dossiers", R"({"code":"XA-1","agency":"XA","received_at":"2025-03-04"})");
        api.create("dossiers", R"({"code":"XB-1","agency":"XB","received_at":"2025-03-04"})");
        api.create("devices", R"({"code":"TAB-XA","name":"Máy A","counter":"XA-Q1"})");
        api.create("devices", R"({"code":"TAB-XB","name":"Máy B","counter":"XB-Q1"})");
        const std::string xaPath = rt.directory().agency("XA")->path;
        const std::string xbPath = rt.directory().agency("XB")->path;
        // The token's own changes are audited as the token's.
        const AuditEntry byToken = auditedOnce(rt, "counter", "XA-Q1", "create");
        CHECK(byToken.actor == "token");
        CHECK_FALSE(byToken.userId.has_value());

        const Console lan = api.signIn("lan.nguyen", "official", "XA");
        const Console hoa = api.signIn("hoa.tran", "analyst", "XA");
        const Console root = api.signIn("root", "admin", "");
        const std::int64_t lanId = rt.users().find("lan.nguyen")->id;

        SECTION("an official of XA") {
            auto r = api.call(lan, "GET", "/api/v1/dossiers");
            REQUIRE(r.status == 200);
            CHECK(itemCodes(r) == std::set<std::string>{"XA-1"});
            r = api.call(lan, "GET", "/api/v1/dossiers?agency=XB");
            CHECK(r.status == 403);
            CHECK_THAT(problemCode(r), Catch::EndsWith(".out_of_scope"));
            CHECK(api.call(lan, "GET", "/api/v1/dossiers?agency=PT").status == 403);
            CHECK(api.call(lan, "GET", "/api/v1/dossiers/XA-1").status == 200);
            CHECK(api.call(lan, "GET", "/api/v1/dossiers/XB-1").status == 403);
            r = api.call(lan, "GET", "/api/v1/devices");
            REQUIRE(r.status == 200);
            CHECK(itemCodes(r) == std::set<std::string>{"TAB-XA"});

            // A counter of its own agency, with the session's key...
            r = api.call(lan, "POST", "/api/v1/counters",
                         R"({"code":"XA-Q2","name":"Quầy 2","agency":"XA"})");
            CHECK(r.status == 201);
            // ... and without it, or with another one: refused, nothing made.
            r = api.call(lan, "POST", "/api/v1/counters",
                         R"({"code":"XA-Q3","name":"Quầy 3","agency":"XA"})", std::string());
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "auth.csrf");
            r = api.call(lan, "POST", "/api/v1/counters",
                         R"({"code":"XA-Q3","name":"Quầy 3","agency":"XA"})", hoa.csrf);
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "auth.csrf");
            CHECK(api.call(lan, "PATCH", "/api/v1/counters/XA-Q1", R"({"name":"Quầy 9"})",
                           std::string(lan.csrf.size(), '0'))
                      .status == 403);
            CHECK(api.withToken("GET", "/api/v1/counters/XA-Q3").status == 404);

            // Elsewhere: refused.
            r = api.call(lan, "POST", "/api/v1/counters",
                         R"({"code":"XB-Q2","name":"Quầy 2","agency":"XB"})");
            CHECK(r.status == 403);
            CHECK_THAT(problemCode(r), Catch::EndsWith(".out_of_scope"));
            r = api.call(lan, "PATCH", "/api/v1/counters/XB-Q1", R"({"name":"Của tôi"})");
            CHECK(r.status == 403);
            CHECK_THAT(problemCode(r), Catch::EndsWith(".out_of_scope"));
            // Not moved out of its subtree either, nor in from elsewhere.
            CHECK(api.call(lan, "PATCH", "/api/v1/counters/XA-Q1", R"({"agency":"XB"})").status ==
                  403);
            CHECK(api.call(lan, "PATCH", "/api/v1/counters/XB-Q1", R"({"agency":"XA"})").status ==
                  403);
            CHECK(api.withToken("GET", "/api/v1/counters/XB-Q1").body.find("\"XB\"") !=
                  std::string::npos);
            r = api.call(lan, "POST", "/api/v1/procedures",
                         R"({"code":"1.001193","name":"Đăng ký khai sinh"})");
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "auth.admin_only");

            // Changed in its agency.
            r = api.call(lan, "PATCH", "/api/v1/counters/XA-Q1", R"({"name":"Quầy một"})");
            CHECK(r.status == 200);
            CHECK(json(r.body)->getValue<std::string>("result") == "updated");

            // Agencies: a child of its own, not a top-level one nor one elsewhere.
            r = api.call(lan, "POST", "/api/v1/agencies",
                         R"({"code":"XA-T1","name":"Tổ 1","parent":"XA"})");
            CHECK(r.status == 201);
            CHECK(api.call(lan, "PATCH", "/api/v1/agencies/XA-T1", R"({"name":"Tổ một"})").status ==
                  200);
            // Its subtree goes all the way down.
            CHECK(api.call(lan, "POST", "/api/v1/counters",
                           R"({"code":"XA-T1-Q1","name":"Quầy tổ 1","agency":"XA-T1"})")
                      .status == 201);
            r = api.call(lan, "POST", "/api/v1/agencies", R"({"code":"XC","name":"Xã C"})");
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "auth.admin_only");
            CHECK(api.call(lan, "POST", "/api/v1/agencies",
                           R"({"code":"XC","name":"Xã C","parent":"PT"})")
                      .status == 403);
            // Nor another's agency taken by naming it a child of its own.
            CHECK(api.call(lan, "POST", "/api/v1/agencies",
                           R"({"code":"XB","name":"Xã B","parent":"XA"})")
                      .status == 403);
            CHECK(api.withToken("GET", "/api/v1/agencies/XC").status == 404);
            CHECK(api.withToken("GET", "/api/v1/agencies/XB").body.find("\"PT\"") !=
                  std::string::npos);

            // Devices and officers of its agency.
            r = api.call(lan, "POST", "/api/v1/devices/TAB-XA/pairing");
            CHECK(r.status == 201);
            CHECK(api.call(lan, "POST", "/api/v1/devices/TAB-XB/pairing").status == 403);
            CHECK(api.call(lan, "PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"2468"})").status ==
                  204);

            // Every change audited as the user's, with what it was and became.
            const AuditEntry created = auditedOnce(rt, "counter", "XA-Q2", "create");
            CHECK(created.actor == "user:lan.nguyen");
            CHECK(created.userId == lanId);
            CHECK(created.agencyPath == xaPath);
            CHECK(created.before.empty());
            REQUIRE_FALSE(created.after.empty());
            CHECK(json(created.after)->getValue<std::string>("code") == "XA-Q2");
            CHECK(json(created.after)->getValue<std::string>("agency") == "XA");
            CHECK(created.address.find("127.0.0.1") != std::string::npos);
            CHECK_FALSE(created.requestId.empty());
            CHECK(created.atMs > 0);
            const AuditEntry updated = auditedOnce(rt, "counter", "XA-Q1", "update");
            CHECK(updated.actor == "user:lan.nguyen");
            CHECK(updated.userId == lanId);
            REQUIRE_FALSE(updated.before.empty());
            REQUIRE_FALSE(updated.after.empty());
            CHECK(json(updated.before)->getValue<std::string>("name") == "Quầy 1");
            CHECK(json(updated.after)->getValue<std::string>("name") == "Quầy một");
            CHECK(updated.address.find("127.0.0.1") != std::string::npos);
            CHECK_FALSE(updated.requestId.empty());
            CHECK(updated.requestId != created.requestId);
            const AuditEntry child = auditedOnce(rt, "agency", "XA-T1", "create");
            CHECK(child.actor == "user:lan.nguyen");
            CHECK(child.agencyPath.starts_with(xaPath));
            CHECK(json(child.after)->getValue<std::string>("parent") == "XA");
            const AuditEntry renamed = auditedOnce(rt, "agency", "XA-T1", "update");
            CHECK(json(renamed.before)->getValue<std::string>("name") == "Tổ 1");
            CHECK(json(renamed.after)->getValue<std::string>("name") == "Tổ một");
            const AuditEntry pairing = auditedOnce(rt, "device", "TAB-XA", "pairing_code");
            CHECK(pairing.actor == "user:lan.nguyen");
            CHECK(pairing.agencyPath == xaPath);
            const AuditEntry pin = auditedOnce(rt, "officer", "XA-CB1", "pin_set");
            CHECK(pin.actor == "user:lan.nguyen");
            // Refusals leave nothing.
            const auto mine = rt.audit().list(
                auditQuery([](AuditQuery& q) { q.actor = "user:lan.nguyen", q.limit = 1000; }));
            CHECK(codesOf(mine) == std::vector<std::string>{"XA-CB1", "TAB-XA", "XA-T1-Q1", "XA-T1",
                                                            "XA-T1", "XA-Q1", "XA-Q2"});
            // In XB, only the token's counter, dossier and device.
            const auto inXb =
                rt.audit().list(auditQuery([&](AuditQuery& q) { q.agencyPath = xbPath; }));
            const auto xbCodes = codesOf(inXb);
            CHECK(std::set<std::string>(xbCodes.begin(), xbCodes.end()) ==
                  std::set<std::string>{"XB-Q1", "XB-1", "TAB-XB"});
            CHECK(xbCodes.size() == 3);
        }
        SECTION("an analyst of XA") {
            for (const auto& [method, path, body] :
                 std::vector<std::tuple<std::string, std::string, std::string>>{
                     {"POST", "/api/v1/counters", R"({"code":"XA-Q2","name":"Q","agency":"XA"})"},
                     {"PATCH", "/api/v1/counters/XA-Q1", R"({"name":"Quầy một"})"},
                     {"POST", "/api/v1/agencies", R"({"code":"XA-T1","name":"T","parent":"XA"})"},
                     {"POST", "/api/v1/officers", R"({"code":"XA-CB2","name":"O","agency":"XA"})"},
                     {"POST", "/api/v1/dossiers",
                      R"({"code":"XA-2","agency":"XA","received_at":"2025-03-05"})"},
                     {"PATCH", "/api/v1/dossiers/XA-1", R"({"status":"cancelled"})"},
                     {"POST", "/api/v1/devices/TAB-XA/pairing", ""},
                     {"POST", "/api/v1/devices/TAB-XA/revoke", ""},
                     {"PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"2468"})"},
                     {"POST", "/api/v1/procedures", R"({"code":"1.0","name":"P"})"}}) {
                const auto r = api.call(hoa, method, path, body);
                INFO(method << " " << path << " → " << r.body);
                CHECK(r.status == 403);
                CHECK(problemCode(r) == "auth.read_only");
            }
            auto r = api.call(hoa, "GET", "/api/v1/dossiers");
            REQUIRE(r.status == 200);
            CHECK(itemCodes(r) == std::set<std::string>{"XA-1"});
            CHECK(api.call(hoa, "GET", "/api/v1/dossiers/XA-1").status == 200);
            CHECK(api.call(hoa, "GET", "/api/v1/dossiers?agency=XB").status == 403);
            CHECK(api.call(hoa, "GET", "/api/v1/devices").status == 200);
            CHECK(api.call(hoa, "GET", "/api/v1/counters?agency=XA").status == 200);
            CHECK(api.call(hoa, "GET", "/api/v1/held").status == 200);
            CHECK(rt.audit()
                      .list(auditQuery([](AuditQuery& q) { q.actor = "user:hoa.tran"; }))
                      .empty());
            CHECK(api.withToken("GET", "/api/v1/counters/XA-Q2").status == 404);
            CHECK(api.withToken("GET", "/api/v1/dossiers/XA-1").body.find("cancelled") ==
                  std::string::npos);
        }
        SECTION("an admin user") {
            auto r = api.call(root, "GET", "/api/v1/dossiers");
            REQUIRE(r.status == 200);
            CHECK(itemCodes(r) == std::set<std::string>{"XA-1", "XB-1"});
            CHECK(api.call(root, "GET", "/api/v1/dossiers?agency=XB").status == 200);
            CHECK(api.call(root, "POST", "/api/v1/counters",
                           R"({"code":"XB-Q2","name":"Quầy 2","agency":"XB"})")
                      .status == 201);
            r = api.call(root, "POST", "/api/v1/counters",
                         R"({"code":"XB-Q3","name":"Quầy 3","agency":"XB"})", std::string());
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "auth.csrf");
            CHECK(api.call(root, "PATCH", "/api/v1/counters/XB-Q1", R"({"name":"Quầy một"})")
                      .status == 200);
            CHECK(api.call(root, "PATCH", "/api/v1/counters/XA-Q1", R"({"agency":"XB"})").status ==
                  200);
            CHECK(api.call(root, "POST", "/api/v1/procedures",
                           R"({"code":"1.001193","name":"Đăng ký khai sinh"})")
                      .status == 201);
            CHECK(api.call(root, "POST", "/api/v1/agencies", R"({"code":"HN","name":"Hà Nội"})")
                      .status == 201);
            CHECK(api.call(root, "POST", "/api/v1/devices/TAB-XB/pairing").status == 201);

            const AuditEntry created = auditedOnce(rt, "counter", "XB-Q2", "create");
            CHECK(created.actor == "user:root");
            CHECK(created.agencyPath == xbPath);
            CHECK_FALSE(created.requestId.empty());
            const AuditEntry moved = auditedOnce(rt, "counter", "XA-Q1", "update");
            CHECK(json(moved.before)->getValue<std::string>("agency") == "XA");
            CHECK(json(moved.after)->getValue<std::string>("agency") == "XB");
            const AuditEntry procedure = auditedOnce(rt, "procedure", "1.001193", "create");
            CHECK(procedure.actor == "user:root");
            CHECK(procedure.agencyPath.empty());
            CHECK(auditedOnce(rt, "agency", "HN", "create").actor == "user:root");
            CHECK(auditedOnce(rt, "device", "TAB-XB", "pairing_code").actor == "user:root");
            CHECK(rt.audit().list(auditQuery([](AuditQuery& q) { q.code = "XB-Q3"; })).empty());
        }
        SECTION("no credentials, or a session that has ended") {
            auto r = test::http(rt.port(), "GET", "/api/v1/dossiers");
            CHECK(r.status == 401);
            CHECK(problemCode(r) == "auth.credentials_required");
            CHECK(test::http(rt.port(), "POST", "/api/v1/counters",
                             R"({"code":"XA-Q2","name":"Q","agency":"XA"})",
                             {{"Content-Type", "application/json"}})
                      .status == 401);
            Console stranger = lan;
            stranger.token = std::string(64, 'a');
            CHECK(api.call(stranger, "GET", "/api/v1/dossiers").status == 401);

            CHECK(api.call(lan, "GET", "/api/v1/dossiers").status == 200);
            rt.sessions().close(lan.token);
            r = api.call(lan, "GET", "/api/v1/dossiers");
            CHECK(r.status == 401);
            CHECK(problemCode(r) == "auth.credentials_required");
            CHECK(api.call(lan, "POST", "/api/v1/counters",
                           R"({"code":"XA-Q2","name":"Q","agency":"XA"})")
                      .status == 401);
            // A disabled user's session ends with it.
            CHECK(api.call(hoa, "GET", "/api/v1/dossiers").status == 200);
            rt.users().setActive("hoa.tran", false);
            CHECK(api.call(hoa, "GET", "/api/v1/dossiers").status == 401);
            // A cookie does not stand in for a wrong token.
            auto both = test::http(
                rt.port(), "GET", "/api/v1/dossiers", "",
                {{"Cookie", "hl_session=" + root.token}, {"Authorization", "Bearer wrong-token"}});
            CHECK(both.status == 401);
            CHECK(rt.audit().list(auditQuery([](AuditQuery& q) { q.code = "XA-Q2"; })).empty());
        }
        rt.shutdown();
    });
}

// Wrong passwords arriving together (each check takes ~30 ms) must each count towards the
// pause: the count is incremented in the store, not read, checked, and written back.
TEST_CASE("accounts: wrong passwords sent at once are all counted") {
    onEachBackend([](Accounts& acc) {
        acc.users.add(userIn("lan", "official", "XA"), kPassword, false);
        const std::int64_t at = nowMs();
        std::atomic<int> refused{0};
        std::vector<std::thread> guessers;
        for (int i = 0; i < 8; ++i)
            guessers.emplace_back([&acc, &refused, at, i] {
                try {
                    acc.users.authenticate("lan", "đoán sai số " + std::to_string(i), at);
                } catch (const Problem& p) {
                    if (p.status() == 401 || p.status() == 429) ++refused;
                }
            });
        for (std::thread& t : guessers) t.join();
        CHECK(refused == 8);
        int failures = 0;
        acc.tdb.db().read([&](Poco::Data::Session& s) {
            s << "SELECT failed_signins FROM users WHERE username = 'lan'", into(failures), now;
        });
        CHECK(failures == 8);
        int status = 200;
        try {
            acc.users.authenticate("lan", kPassword, at + 1000);
        } catch (const Problem& p) {
            status = p.status();
        }
        CHECK(status == 429);  // paused: 8 failures in a row
    });
}
