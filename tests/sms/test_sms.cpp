// The SMS channel without the gateway: Kannel's sms-service calls and the signed webhook, sent
// to a real host with the sms plugin; replies, conversations, opt-outs and bad input.
#include "support/TestSupport.h"

#include <hailong/Hmac.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

constexpr const char* kDossier = "XA-260101-00001";
constexpr const char* kPhone = "0912345678";  // the dossier's phone

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string query(const std::string& value) {
    std::string out;
    Poco::URI::encode(value, "&=+?#%/ ", out);
    return out;
}

// UTF-8 to UTF-16BE bytes, as Kannel passes a UCS-2 message (Vietnamese text: BMP only).
std::string utf16be(const std::string& utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        char32_t cp = c;
        std::size_t len = 1;
        if (c >= 0xE0)
            cp = c & 0x0F, len = 3;
        else if (c >= 0xC0)
            cp = c & 0x1F, len = 2;
        for (std::size_t k = 1; k < len; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
        out += static_cast<char>(cp >> 8);
        out += static_cast<char>(cp & 0xFF);
        i += len;
    }
    return out;
}

struct Gateway {
    explicit Gateway(Backend b, std::map<std::string, std::string> extra = {})
        : tdb(b), host(tdb.url(), dir, false, settings(std::move(extra))) {
        Runtime& rt = host.runtime();
        test::serveWithPlugin(rt, "sms");
        DirectoryStore& d = rt.directory();
        d.save(AgencyInput{"XA", "Xã Thử", "", "commune", "", true});
        d.save(ProcedureInput{"1.001193", "Đăng ký khai sinh", "Hộ tịch", "full", 1, true});
        for (const char* code : {kDossier, "XA-260101-00002", "XA-260101-00003"}) {
            DossierInput x;
            x.code = code;
            x.agencyCode = "XA";
            x.procedureCode = "1.001193";
            x.status = "returned";
            x.phone = code == std::string(kDossier) ? "+84 912 345 678" : "";
            x.receivedAtMs = nowMs() - 86400000;
            x.returnedAtMs = nowMs() - 3600000;
            d.save(x);
        }
    }

    static std::map<std::string, std::string> settings(std::map<std::string, std::string> extra) {
        extra.emplace("paths.plugins", test::pluginDir());
        extra.emplace("plugins.enabled", "sms");
        extra.emplace("plugin.sms.secret", "s3cret-for-tests");
        return extra;
    }

    // One inbound SMS as Kannel's sms-service forwards it.
    test::HttpResult kannel(const std::string& from, const std::string& bytes,
                            const std::string& charset = "UTF-8",
                            const std::string& secret = "s3cret-for-tests") {
        const std::string coding = charset == "UTF-16BE" ? "2" : "0";
        return test::http(host.runtime().port(), "GET",
                          "/c/sms/kannel?secret=" + query(secret) + "&from=" + query(from) +
                              "&to=8088&text=" + query(bytes) + "&coding=" + coding +
                              "&charset=" + charset + "&smsc=fake&id=1");
    }

    test::HttpResult webhook(const std::string& body, std::int64_t at,
                             const std::string& secret = "s3cret-for-tests") {
        const std::string stamp = std::to_string(at);
        return test::http(host.runtime().port(), "POST", "/c/sms/webhook", body,
                          {{"Content-Type", "application/json"},
                           {"X-Hailong-Timestamp", stamp},
                           {"X-Hailong-Signature", hmacSha256Hex(secret, stamp + "." + body)}});
    }

    // The answers of the SMS response to `dossier`: question → value, "" when there is none.
    std::map<std::string, std::string> answers(const std::string& dossier) {
        std::map<std::string, std::string> out;
        host.runtime().database().read([&](Session& s) {
            std::vector<std::string> questions, values;
            std::string code = dossier;
            s << "SELECT a.question_id, a.value_text FROM answers a JOIN responses r ON "
                 "r.id = a.response_id JOIN dossiers d ON d.id = r.dossier_id WHERE d.code = $1 "
                 "AND r.channel = 'sms'",
                use(code), into(questions), into(values), now;
            for (std::size_t i = 0; i < questions.size(); ++i) out[questions[i]] = values[i];
        });
        return out;
    }
    int responses() {
        int n = 0;
        host.runtime().database().read(
            [&](Session& s) { s << "SELECT COUNT(*) FROM responses", into(n), now; });
        return n;
    }

    test::TempDir dir;
    test::TestDatabase tdb;
    test::TestHost host;
};

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("sms: a rating by code from the dossier's phone is stored once", "[sms]") {
    test::onEachBackend([](Backend b) {
        Gateway g(b);
        auto r = g.kannel(kPhone, std::string("DG ") + kDossier + " 5");
        REQUIRE(r.status == 200);
        CHECK(has(r.body, "Cam on Ong/Ba da danh gia ho so " + std::string(kDossier)));
        CHECK(r.headers.count("x-kannel-coding") == 0);  // accent-free: one GSM-7 segment
        CHECK(g.answers(kDossier) == std::map<std::string, std::string>{{"rating", "5"}});
        // Again, even with another score: answered politely, stored once.
        auto again = g.kannel("+84912345678", std::string("dg ") + kDossier + " 1");
        CHECK(has(again.body, "da duoc danh gia"));
        CHECK(g.responses() == 1);
        CHECK(g.answers(kDossier).at("rating") == "5");
        // From another phone the dossier is not found (its code alone is not enough).
        auto other = g.kannel("0987654321", "DG XA-260101-00002 4");
        CHECK(has(other.body, "Cam on"));  // that dossier has no phone: anyone with the code
        auto stranger = g.kannel("0987654321", std::string("DG ") + kDossier + " 4");
        CHECK(has(stranger.body, "Khong tim thay ho so"));
        CHECK(g.responses() == 2);
    });
}

TEST_CASE("sms: a low rating gets one follow-up question and keeps the answer", "[sms]") {
    test::onEachBackend([](Backend b) {
        Gateway g(b);
        // "ko hai long" is 2, never 4; the rest of the reply is the comment.
        auto low = g.kannel(kPhone, std::string("DG ") + kDossier + " ko hai long, cho lau qua");
        CHECK(has(low.body, "Vi sao Ong/Ba chua hai long?"));
        CHECK(g.responses() == 0);  // waiting for the reason
        auto why = g.kannel(kPhone, "2");
        CHECK(has(why.body, "Cam on"));
        const auto a = g.answers(kDossier);
        CHECK(a.at("rating") == "2");
        CHECK(a.at("reason") == "waiting");
        CHECK(a.at("comment") == "cho lau qua");
        // Words instead of a digit: reason "other", the words kept.
        g.kannel("0977000111", "DG XA-260101-00002 1");
        auto words = g.kannel("0977000111", "Cán bộ hẹn nhiều lần");
        CHECK(has(words.body, "Cam on"));
        const auto w = g.answers("XA-260101-00002");
        CHECK(w.at("reason") == "other");
        CHECK(w.at("comment") == "Cán bộ hẹn nhiều lần");
    });
}

TEST_CASE("sms: an unanswered follow-up question lets the rating count alone", "[sms]") {
    Gateway g(Backend::SQLite, {{"plugin.sms.reason_seconds", "1"}});
    CHECK(has(g.kannel(kPhone, std::string("DG ") + kDossier + " 1").body, "Vi sao"));
    for (int i = 0; i < 100 && g.responses() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(g.answers(kDossier) == std::map<std::string, std::string>{{"rating", "1"}});
}

TEST_CASE("sms: UCS-2 Vietnamese is read, and accented replies ask Kannel for UCS-2", "[sms]") {
    Gateway g(Backend::SQLite, {{"plugin.sms.accents", "true"}});
    auto r = g.kannel(kPhone, utf16be(std::string("DG ") + kDossier + " Rất hài lòng"), "UTF-16BE");
    REQUIRE(r.status == 200);
    CHECK(has(r.body, "Cảm ơn Ông/Bà đã đánh giá"));
    CHECK(r.headers["x-kannel-coding"] == "2");
    CHECK(g.answers(kDossier).at("rating") == "5");
}

TEST_CASE("sms: STOP opts the phone out, HELP explains, an unreadable reply gets help once",
          "[sms]") {
    test::onEachBackend([](Backend b) {
        Gateway g(b);
        CHECK(has(g.kannel(kPhone, "HD").body, "DG <ma ho so>"));
        CHECK_FALSE(g.host.runtime().phones().optedOut(kPhone));
        CHECK(has(g.kannel(kPhone, "tu choi").body, "khong nhan tin nhan khao sat nua"));
        CHECK(g.host.runtime().phones().optedOut("+84 912 345 678"));
        CHECK_FALSE(g.host.runtime().phones().optedOut("0912345679"));
        // Nothing about the number is stored in clear.
        std::string stored;
        g.host.runtime().database().read(
            [&](Session& s) { s << "SELECT phone_key FROM phone_optouts", into(stored), now; });
        CHECK(stored.size() == 64);
        CHECK_FALSE(has(stored, "912345678"));
        auto first = g.kannel("0933444555", "xin chao");
        CHECK(has(first.body, "DG <ma ho so>"));
        auto second = g.kannel("0933444555", "alo alo");
        CHECK(second.status == 200);
        CHECK(second.body.empty());
        CHECK(g.responses() == 0);
    });
}

TEST_CASE("sms: bad input is refused or answered, never a crash", "[sms]") {
    Gateway g(Backend::SQLite, {{"plugin.sms.max_per_hour", "3"}});
    CHECK(g.kannel(kPhone, "DG X 5", "UTF-8", "wrong").status == 403);
    // An unknown charset, odd UTF-16 bytes, invalid UTF-8: the help text.
    CHECK(has(g.kannel("0911000001", "abc", "KOI8-R").body, "DG <ma ho so>"));
    CHECK(has(g.kannel("0911000002", std::string("\x00\x41\x00", 3), "UTF-16BE").body,
              "DG <ma ho so>"));
    CHECK(has(g.kannel("0911000003", "\xC3\x28", "UTF-8").body, "DG <ma ho so>"));
    // Not a phone (an alphanumeric sender): no answer.
    auto shortcode = g.kannel("VIETTEL", "DG X 5");
    CHECK(shortcode.status == 200);
    CHECK(shortcode.body.empty());
    // Empty and 10 kB texts.
    CHECK(g.kannel("0911000004", "").status == 200);
    CHECK(g.kannel("0911000005", std::string(10240, 'a')).status == 200);
    // A flood from one number stops being answered; others still are.
    for (int i = 0; i < 3; ++i) CHECK_FALSE(g.kannel("0911999999", "HD").body.empty());
    CHECK(g.kannel("0911999999", "HD").body.empty());
    CHECK_FALSE(g.kannel("0911888888", "HD").body.empty());
    CHECK(g.responses() == 0);
}

TEST_CASE("sms: the webhook takes signed messages once and refuses replays", "[sms]") {
    test::onEachBackend([](Backend b) {
        Gateway g(b);
        const std::string body = std::string(R"({"from":"0912345678","to":"8088","text":"DG )") +
                                 kDossier + R"( 4","id":"m-1"})";
        auto ok = g.webhook(body, nowMs());
        REQUIRE(ok.status == 200);
        auto json = Poco::JSON::Parser().parse(ok.body).extract<Poco::JSON::Object::Ptr>();
        CHECK(has(json->getValue<std::string>("reply"), "Cam on"));
        CHECK(json->getValue<int>("segments") == 1);
        CHECK(g.answers(kDossier).at("rating") == "4");
        auto replay = g.webhook(body, nowMs());
        CHECK(Poco::JSON::Parser()
                  .parse(replay.body)
                  .extract<Poco::JSON::Object::Ptr>()
                  ->getValue<bool>("duplicate"));
        CHECK(g.webhook(body, nowMs(), "another-secret").status == 401);
        CHECK(g.webhook(body, nowMs() - 10 * 60000).status == 401);
        CHECK(g.responses() == 1);
    });
}

namespace {

// The outbox rows of SMS invitations: recipient, status, attempts, when next, last error.
struct Queued {
    std::string recipient, status, error, key;
    int attempts = 0;
    std::int64_t next = 0;
};
std::vector<Queued> invitations(Gateway& g) {
    std::vector<Queued> out;
    g.host.runtime().database().read([&](Session& s) {
        std::vector<std::string> recipients, statuses, errors, keys;
        std::vector<int> attempts;
        std::vector<std::int64_t> next;
        s << "SELECT recipient, status, last_error, COALESCE(dedupe_key, ''), attempts, "
             "next_attempt_at FROM outbox WHERE channel = 'sms' ORDER BY id",
            into(recipients), into(statuses), into(errors), into(keys), into(attempts), into(next),
            now;
        for (std::size_t i = 0; i < recipients.size(); ++i)
            out.push_back({recipients[i], statuses[i], errors[i], keys[i], attempts[i], next[i]});
    });
    return out;
}

// Marks `code` returned now (as the API or an import would).
void returnDossier(Gateway& g, const std::string& code, const std::string& phone) {
    DossierInput x;
    x.code = code;
    x.agencyCode = "XA";
    x.status = "returned";
    x.phone = phone;
    x.receivedAtMs = nowMs() - 86400000;
    x.returnedAtMs = nowMs();
    g.host.runtime().directory().save(x);
}

}  // namespace

TEST_CASE(
    "sms: a returned dossier is invited once, after the quiet hours, retried while the "
    "gateway is away, never to an opted-out phone",
    "[sms]") {
    // Quiet hours around the present moment (Vietnam time): invitations wait until they end.
    const std::int64_t vnMinute = ((nowMs() + 7 * 3600000) / 60000) % 1440;
    auto hhmm = [](std::int64_t m) {
        char text[16];
        std::snprintf(text, sizeof text, "%02d:%02d", static_cast<int>(m / 60 % 24),
                      static_cast<int>(m % 60));
        return std::string(text);
    };
    const std::string quiet = hhmm((vnMinute + 1430) % 1440) + "-" + hhmm((vnMinute + 120) % 1440);
    Gateway g(Backend::SQLite, {{"plugin.sms.sendsms_url", "http://127.0.0.1:9/cgi-bin/sendsms"},
                                {"plugin.sms.sendsms_user", "u"},
                                {"plugin.sms.sendsms_password", "p"},
                                {"plugin.sms.quiet_hours", quiet}});
    // The follower starts from now: dossiers returned before (the Gateway's) are not invited.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    returnDossier(g, "XA-260101-00009", "0912 000 009");
    REQUIRE(test::eventually([&] { return invitations(g).size() == 1; }));
    Queued q = invitations(g).front();
    CHECK(q.recipient == "+84912000009");
    CHECK(q.key == "sms-invite:XA-260101-00009");
    CHECK(q.next >= nowMs() + 100 * 60000);  // after the quiet hours end, about two hours on
    // Saved again: still one invitation.
    returnDossier(g, "XA-260101-00009", "0912 000 009");
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    CHECK(invitations(g).size() == 1);
    // A number that opted out is not invited; the others are.
    g.kannel("0912000010", "TU CHOI");
    returnDossier(g, "XA-260101-00010", "0912000010");
    returnDossier(g, "XA-260101-00011", "0912000011");
    REQUIRE(test::eventually([&] { return invitations(g).size() == 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    CHECK(invitations(g).size() == 2);
    CHECK(invitations(g).back().recipient == "+84912000011");
}

TEST_CASE("sms: an invitation whose gateway is away is retried, not lost", "[sms]") {
    Gateway g(Backend::SQLite, {{"plugin.sms.sendsms_url", "http://127.0.0.1:9/cgi-bin/sendsms"},
                                {"plugin.sms.quiet_hours", ""}});
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    returnDossier(g, "XA-260101-00012", "0912000012");
    REQUIRE(test::eventually([&] {
        const auto q = invitations(g);
        return q.size() == 1 && q.front().attempts >= 1;
    }));
    const Queued q = invitations(g).front();
    CHECK(q.status == "pending");
    CHECK(q.error.find("sendsms unreachable") != std::string::npos);
    CHECK(q.next > nowMs());  // backed off
}

TEST_CASE("sms: phone numbers are erased after their retention, and their keys still match",
          "[sms]") {
    test::onEachBackend([](Backend b) {
        Gateway g(b);
        Runtime& rt = g.host.runtime();
        // Stored with a key as it is saved.
        auto d = rt.directory().dossier(kDossier);
        REQUIRE(d);
        CHECK(d->phoneKey == rt.phones().key("0912345678"));
        // A dossier stored before keys existed gets one from the housekeeping.
        rt.database().write([](Session& s) {
            s << "UPDATE dossiers SET phone_key = '' WHERE code = 'XA-260101-00002'", now;
            s << "UPDATE dossiers SET phone = '0977111222' WHERE code = 'XA-260101-00002'", now;
        });
        // Everything returned before now is past its retention.
        CHECK(rt.phones().tidy(nowMs() + 1000) == 2);
        d = rt.directory().dossier(kDossier);
        CHECK(d->phone.empty());
        CHECK(d->phoneKey == rt.phones().key("+84912345678"));
        CHECK(rt.directory().dossier("XA-260101-00002")->phoneKey == rt.phones().key("0977111222"));
        // A source sending the number again does not bring it back.
        DossierInput again;
        again.code = kDossier;
        again.agencyCode = "XA";
        again.phone = "0912345678";
        rt.directory().save(again);
        CHECK(rt.directory().dossier(kDossier)->phone.empty());
        // One number, however it is written.
        CHECK(rt.phones().key("+84 0912 345 678") == rt.phones().key("0912-345-678"));
        CHECK(rt.phones().key("0084912345678") == rt.phones().key("84912345678"));
        CHECK(rt.phones().key("VIETTEL").empty());
        // Replies still match the dossier's phone, and only it.
        CHECK(has(g.kannel("0987000000", std::string("DG ") + kDossier + " 5").body,
                  "Khong tim thay"));
        CHECK(has(g.kannel(kPhone, std::string("DG ") + kDossier + " 5").body, "Cam on"));
    });
}
