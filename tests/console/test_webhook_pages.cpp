// The console's webhook pages over HTTP, on SQLite and PostgreSQL: an official of XA adds a
// subscription with the form (to a public address: this machine and the private network are for
// admins) and sees its secret once (a reload or another session shows nothing), finds it listed,
// pauses and resumes it; a paused one stands out with its reason on /console/webhooks and is
// named on /console/alerts; the delivery log shows what the outbox queued and attempted (newest
// first, at most 200); another commune's official gets 404 for it, an analyst 403 for every
// change; deleting asks first. Every change is audited.
#include "common/Clock.h"
#include "support/TestSupport.h"

#include <hailong/Outbox.h>

#include <Poco/URI.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace hailong;

namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string encode(const std::string& s) {
    std::string out;
    Poco::URI::encode(s, "&=+%#?/ :", out);
    return out;
}

// A signed-in browser of a console user.
struct Browser {
    std::string cookie, csrf;
};

template <class F>
bool eventually(F&& done, int seconds = 20) {
    for (int i = 0; i < seconds * 10; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

std::size_t auditCount(Runtime& rt, const std::string& action, const std::string& actor) {
    std::size_t n = 0;
    for (const AuditEntry& e : rt.audit().list({}))
        n += e.kind == "webhook" && e.action == action && e.actor == actor;
    return n;
}

}  // namespace

TEST_CASE("console webhooks: add (secret once), list, pause, resume, paused notices, log, scope",
          "[console][webhooks]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const auto port = host.port();
            auto browser = [&](const std::string& username, const std::string& role,
                               const std::string& agency) {
                const User u =
                    rt.users().add({username, "", role, agency}, "mat-khau-dai-1", false);
                const std::string token = rt.sessions().open(u, "127.0.0.1", "test");
                return Browser{std::string(kSessionCookie) + "=" + token,
                               rt.sessions().find(token, nowMs())->csrf};
            };
            const Browser xa = browser("can.bo.xa", "official", "XA");
            const Browser xb = browser("can.bo.xb", "official", "XB");
            const Browser analyst = browser("phan.tich.xa", "analyst", "XA");
            const Browser admin = browser("quan.tri", "admin", "");
            auto get = [&](const Browser& b, const std::string& path,
                           const std::string& extraCookie = "") {
                return test::http(port, "GET", path, "", {{"Cookie", b.cookie + extraCookie}});
            };
            auto post = [&](const Browser& b, const std::string& path, const std::string& body) {
                return test::http(port, "POST", path,
                                  "csrf=" + b.csrf + (body.empty() ? "" : "&" + body),
                                  {{"Cookie", b.cookie}, {"Content-Type", kForm}});
            };
            auto location = [](const test::HttpResult& r) {
                const auto it = r.headers.find("location");
                return it == r.headers.end() ? std::string() : it->second;
            };

            // Nothing yet; the form offers XA's subtree only and every event.
            auto r = get(xa, "/console/webhooks");
            REQUIRE(r.status == 200);
            CHECK(contains(r.body, "Chưa có webhook nào."));
            CHECK(contains(r.body, R"(<option value="XA" selected>)"));
            CHECK_FALSE(contains(r.body, R"(<option value="XB")"));
            for (const char* e : kWebhookEvents)
                CHECK(contains(r.body, std::string(R"(name="events" value=")") + e + "\""));
            CHECK(contains(r.body, R"(href="/console/webhooks")"));  // in the header's menu

            // Refused forms say what is wrong in the field's words and keep what was typed.
            r = post(xa, "/console/webhooks",
                     "name=" + encode("Một cửa An Thạnh") + "&url=" + encode("ftp://x.example/") +
                         "&agency=XA");
            CHECK(r.status == 422);
            CHECK(contains(r.body, "Địa chỉ nhận: "));
            CHECK(contains(r.body, "Sự kiện: "));
            CHECK(contains(r.body, R"(value="Một cửa An Thạnh")"));
            // This machine or the private network: admins only.
            r = post(xa, "/console/webhooks",
                     "name=x&url=" + encode("http://127.0.0.1:9/h") +
                         "&agency=XA&events=response.created");
            CHECK(r.status == 422);
            CHECK(contains(r.body, "Địa chỉ nhận: Chỉ quản trị viên"));
            // Another commune's agency: 403, nothing made.
            r = post(xa, "/console/webhooks",
                     "name=x&url=" + encode("http://192.0.2.10/h") +
                         "&agency=XB&events=response.created");
            CHECK(r.status == 403);
            CHECK(rt.webhooks().list("").empty());

            // Added: a redirect to its page, which shows the secret once.
            const std::string name = "Phần mềm một cửa xã An Thạnh";
            r = post(xa, "/console/webhooks",
                     "name=" + encode(name) + "&url=" + encode("https://192.0.2.10/hooks") +
                         "&agency=XA&events=response.created&events=case.changed");
            REQUIRE(r.status == 303);
            const std::string page = location(r);
            REQUIRE(page.starts_with("/console/webhooks/"));
            const std::int64_t id = std::stoll(page.substr(18));
            const std::string secret = rt.webhooks().secret(id);
            REQUIRE(secret.starts_with("whsec_"));
            CHECK_FALSE(contains(page, secret));  // never in an address
            const std::string sealed = test::cookieSet(r, "hl_whsec");
            REQUIRE_FALSE(sealed.empty());
            CHECK(contains(r.headers.at("set-cookie"), "HttpOnly"));
            const std::string secretCookie = "; hl_whsec=" + sealed;
            r = get(xa, page, secretCookie);
            REQUIRE(r.status == 200);
            CHECK(contains(r.body, secret));
            CHECK(contains(r.body, "X-Hailong-Signature"));  // how to use it
            CHECK(contains(r.body, "Đã thêm webhook «" + name + "»."));
            CHECK(contains(r.headers.at("set-cookie"), "hl_whsec=;"));  // and gone
            CHECK(contains(r.headers.at("set-cookie"), "Max-Age=0"));
            // A reload (the browser no longer sends it), another session with the same cookie:
            // no secret.
            CHECK_FALSE(contains(get(xa, page).body, "whsec_"));
            CHECK_FALSE(contains(get(admin, page, secretCookie).body, "whsec_"));
            CHECK(auditCount(rt, "create", "user:can.bo.xa") == 1);
            // The same name again: refused.
            r = post(xa, "/console/webhooks",
                     "name=" + encode(name) + "&url=" + encode("https://192.0.2.10/other") +
                         "&agency=XA&events=alert.raised");
            CHECK(r.status == 409);

            // Listed, with its events in words; no secret on the list.
            r = get(xa, "/console/webhooks");
            CHECK(contains(r.body, ">" + name + "</a>"));
            CHECK(contains(r.body, "Phiếu đánh giá mới, Phản ánh thay đổi"));
            CHECK(contains(r.body, R"(<span class="badge ok">Đang hoạt động</span>)"));
            CHECK_FALSE(contains(r.body, "whsec_"));
            CHECK_FALSE(contains(get(xa, "/console/alerts").body, "paused-webhooks"));

            // Paused from the list: back to the list, marked with who and since when; the
            // alerts page says so and links here.
            const std::string base = "/console/webhooks/" + std::to_string(id);
            r = post(xa, base + "/pause", "from=list");
            REQUIRE(r.status == 303);
            CHECK(location(r) == "/console/webhooks?done=pause&id=" + std::to_string(id));
            CHECK(rt.webhooks().find(id)->status == "paused");
            r = get(xa, location(r));
            CHECK(contains(r.body, "Đã tạm dừng webhook «" + name + "»."));
            CHECK(contains(r.body, R"(id="paused-webhooks")"));
            CHECK(contains(r.body, R"(<span class="badge paused">Tạm dừng</span>)"));
            CHECK(contains(r.body, "do can.bo.xa bấm «Tạm dừng»"));
            CHECK(contains(r.body, base + "/resume"));
            r = get(xa, "/console/alerts");
            CHECK(contains(r.body, R"(id="paused-webhooks")"));
            CHECK(contains(r.body, "1 webhook đang tạm dừng"));
            CHECK(contains(r.body, R"(<a href="/console/webhooks">)"));
            CHECK_FALSE(contains(get(xb, "/console/alerts").body, "paused-webhooks"));
            // Pausing what is paused changes nothing and logs nothing more.
            CHECK(post(xa, base + "/pause", "").status == 303);
            CHECK(auditCount(rt, "pause", "user:can.bo.xa") == 1);

            // Resumed from its own page: back to it.
            r = post(xa, base + "/resume", "");
            REQUIRE(r.status == 303);
            CHECK(location(r) == base + "?done=resume");
            CHECK(rt.webhooks().find(id)->status == "active");
            CHECK(contains(get(xa, location(r)).body, "Webhook «" + name + "» đã tiếp tục gửi."));
            CHECK(auditCount(rt, "resume", "user:can.bo.xa") == 1);
            CHECK_FALSE(contains(get(xa, "/console/alerts").body, "paused-webhooks"));

            // Paused by the feed after a day of failures: the receiver's answer, in words, and
            // what to do.
            rt.webhooks().attempted(id, false, nowMs() - 25 * 3600000LL);
            rt.webhooks().pause(id, "the receiver answered 500 down for maintenance");
            r = get(xa, "/console/webhooks");
            CHECK(contains(r.body, "Hệ thống nhận trả lời mã 500: down for maintenance"));
            CHECK(contains(r.body, "vì gửi lỗi liên tục từ"));
            CHECK(contains(r.body, "Cần làm: "));
            CHECK(contains(get(xa, base).body, "Hệ thống nhận trả lời mã 500"));
            CHECK(contains(get(admin, "/console/alerts").body, "1 webhook đang tạm dừng"));
            REQUIRE(post(xa, base + "/resume", "").status == 303);

            // The delivery log of another subscription of XA, by the admin (who may name this
            // machine): what the outbox queued for it, as the feed queues it (201 deliveries to
            // a receiver that is not there), newest first, 200 at most.
            r = post(admin, "/console/webhooks",
                     "name=thu-nghiem&url=" + encode("http://127.0.0.1:9/hooks") +
                         "&agency=XA&events=response.created");
            REQUIRE(r.status == 303);
            const std::string logged = location(r).substr(0, location(r).find('?'));
            const std::int64_t logId = std::stoll(logged.substr(18));
            for (int n = 1; n <= 201; ++n) {
                OutboundMessage m;
                m.channel = "webhook";
                m.recipient = std::to_string(logId);
                m.body = R"({"id":"response.created:)" + std::to_string(n) + R"("})";
                m.dedupeKey =
                    "webhook:" + std::to_string(logId) + ":response.created:" + std::to_string(n);
                rt.outbox().enqueue(m);
            }
            REQUIRE(eventually([&] {
                const auto log = rt.webhooks().deliveries(logId, 1000);
                return log.size() == 201 &&
                       std::all_of(log.begin(), log.end(), [](auto& d) { return d.attempts >= 1; });
            }));
            r = get(xa, logged);
            REQUIRE(r.status == 200);
            CHECK(test::occurrences(r.body, "<code>response.created:") == 200);
            const auto newest = r.body.find("<code>response.created:201</code>");
            const auto older = r.body.find("<code>response.created:200</code>");
            CHECK(newest != std::string::npos);
            CHECK(older != std::string::npos);
            CHECK(newest < older);
            CHECK_FALSE(contains(r.body, "<code>response.created:1</code>"));
            CHECK(contains(r.body, "Gửi lỗi, sẽ thử lại"));
            CHECK(contains(r.body, "Không kết nối được hệ thống nhận"));
            CHECK(contains(r.body, "thử lại lúc "));
            // Paused, what is queued waits for the resume.
            CHECK(get(xb, logged).status == 404);
            REQUIRE(post(admin, logged + "/pause", "").status == 303);
            r = get(xa, logged);
            CHECK(contains(r.body, "Chờ (webhook đang tạm dừng)"));
            CHECK(contains(r.body, "do quan.tri bấm «Tạm dừng»"));
            CHECK(post(xa, logged + "/delete", "confirm=1").status == 303);

            // Another commune's official: as if it did not exist, nothing changes.
            const auto before = rt.webhooks().find(id);
            for (const std::string& path : {base, std::string("/console/webhooks/999999")}) {
                INFO(path);
                CHECK(get(xb, path).status == 404);
                CHECK(post(xb, path + "/pause", "").status == 404);
                CHECK(post(xb, path + "/delete", "confirm=1").status == 404);
            }
            CHECK(get(xa, "/console/webhooks/abc").status == 404);
            CHECK(post(xa, base + "/explode", "").status == 404);
            CHECK_FALSE(contains(get(xb, "/console/webhooks").body, ">" + name + "</a>"));
            // An analyst of XA reads, changes nothing.
            r = get(analyst, base);
            CHECK(r.status == 200);
            CHECK_FALSE(contains(r.body, base + "/pause"));
            CHECK_FALSE(contains(get(analyst, "/console/webhooks").body, R"(name="url")"));
            for (const std::string action : {"pause", "resume", "delete"})
                CHECK(post(analyst, base + "/" + action, "confirm=1").status == 403);
            CHECK(post(analyst, "/console/webhooks",
                       "name=a&url=" + encode("https://192.0.2.10/a") +
                           "&agency=XA&events=response.created")
                      .status == 403);
            CHECK(rt.webhooks().find(id)->status == before->status);
            CHECK(rt.webhooks().list("").size() == 1);  // (the other one was deleted)

            // Deleting asks first (a page of its own); confirmed, it is gone.
            r = post(xa, base + "/delete", "");
            CHECK(r.status == 200);
            CHECK(contains(r.body, "Xóa webhook «" + name + "»?"));
            CHECK(contains(r.body, R"(<input type="hidden" name="confirm" value="1">)"));
            CHECK(rt.webhooks().find(id));
            r = post(xa, base + "/delete", "confirm=1");
            REQUIRE(r.status == 303);
            CHECK(location(r).starts_with("/console/webhooks?deleted="));
            CHECK_FALSE(rt.webhooks().find(id));
            CHECK(contains(get(xa, location(r)).body, "Đã xóa webhook «" + name + "»."));
            CHECK(get(xa, base).status == 404);
            CHECK(auditCount(rt, "delete", "user:can.bo.xa") == 2);  // this one and the log's
            rt.shutdown();
        },
        true);
}
