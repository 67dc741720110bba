// Several hosts on one PostgreSQL behind nginx, the shape of a national deployment:
// - three `hailong serve` children start together on an empty database (they migrate it at the
//   same time) and nginx balances them round robin;
// - eight counter tablets, paired through nginx, post ratings to all hosts at once: every
//   acknowledged rating is stored once, and the indices equal a single SQLite host's on the same
//   ratings;
// - a console session opened on one host is valid on the others;
// - SMS invitations queued by dossiers sent through nginx leave once, whichever host's outbox
//   takes them (the gateway here is a recording HTTP endpoint in the test).
#include "app/CounterHall.h"
#include "support/TestSupport.h"

#include "accounts/Accounts.h"
#include "common/Clock.h"

#include <hailong/Problem.h>

#include <Poco/File.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace hailong;
using namespace hailong::counters;

namespace {

constexpr int kHosts = 3;
constexpr int kDossiers = 30;
constexpr const char* kPassword = "mat-khau-dai-1";

// nginx on a free loopback port in front of `ports`, round robin, as scripts/cluster.sh and
// README's deployment section configure it; its access log names the host of each request.
class Nginx {
public:
    Nginx(const test::TempDir& dir, const std::vector<std::uint16_t>& ports)
        : port_(test::freePort()), prefix_(dir.file("nginx")), process_(start(ports)) {
        for (int i = 0; i < 100 && !answers(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        REQUIRE(answers());
    }
    // SIGTERM lets the master stop its workers (SIGKILL would leave them running).
    ~Nginx() {
        process_.terminate();
        process_.wait();
    }
    Nginx(const Nginx&) = delete;
    Nginx& operator=(const Nginx&) = delete;
    std::uint16_t port() const { return port_; }
    // Requests whose line starts with `request` ("POST /c/counter"), by the host that took them.
    std::map<std::string, int> hostsOf(const std::string& request) const {
        std::map<std::string, int> out;
        std::ifstream log(prefix_ + "/access.log");
        for (std::string line; std::getline(log, line);) {
            const auto bar = line.find('|');
            if (bar != std::string::npos && line.compare(bar + 1, request.size(), request) == 0)
                ++out[line.substr(0, bar)];
        }
        return out;
    }

private:
    test::Child start(const std::vector<std::uint16_t>& ports) {
        Poco::File(prefix_).createDirectories();
        std::ofstream conf(prefix_ + "/nginx.conf");
        conf << (::geteuid() == 0 ? "user root;\n" : "") << "worker_processes 2;\n"
             << "pid " << prefix_ << "/nginx.pid;\nerror_log " << prefix_ << "/error.log warn;\n"
             << "events { worker_connections 1024; }\nhttp {\n"
             << "  log_format hosts '$upstream_addr|$request';\n"
             << "  access_log " << prefix_ << "/access.log hosts;\n";
        for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
            conf << "  " << temp << "_temp_path " << prefix_ << "/" << temp << ";\n";
        conf << "  upstream hailong {\n";
        for (std::uint16_t p : ports) conf << "    server 127.0.0.1:" << p << ";\n";
        conf << "    keepalive 16;\n  }\n  server {\n    listen 127.0.0.1:" << port_ << ";\n"
             << "    location / {\n      proxy_pass http://hailong;\n"
             << "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
             << "      proxy_set_header Host $host:$server_port;\n"
             << "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
             << "    }\n  }\n}\n";
        conf.close();
        return test::Child({"-c", prefix_ + "/nginx.conf", "-p", prefix_, "-g", "daemon off;"}, {},
                           prefix_ + "/stderr.log", "/usr/sbin/nginx");
    }
    bool answers() const {
        try {
            test::http(port_, "GET", "/api/v1/health");
            return true;
        } catch (const std::exception&) {
            return false;
        }
    }

    std::uint16_t port_;
    std::string prefix_;
    test::Child process_;
};

// Kannel's sendsms as far as the hosts can tell: answers 202 and records each recipient.
class SendsmsRecorder {
public:
    SendsmsRecorder()
        : server_(new Factory(*this),
                  Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
                  new Poco::Net::HTTPServerParams) {
        server_.start();
    }
    ~SendsmsRecorder() { server_.stopAll(true); }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(server_.port()) + "/cgi-bin/sendsms";
    }
    std::map<std::string, int> sent() {
        std::lock_guard lock(mutex_);
        return sent_;
    }

private:
    struct Handler : Poco::Net::HTTPRequestHandler {
        explicit Handler(SendsmsRecorder& r) : recorder(r) {}
        void handleRequest(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) override {
            Poco::Net::HTMLForm form(request);
            {
                std::lock_guard lock(recorder.mutex_);
                ++recorder.sent_[form.get("to", "")];
            }
            response.setStatus(Poco::Net::HTTPResponse::HTTP_ACCEPTED);
            response.send() << "0: Accepted for delivery";
        }
        SendsmsRecorder& recorder;
    };
    struct Factory : Poco::Net::HTTPRequestHandlerFactory {
        explicit Factory(SendsmsRecorder& r) : recorder(r) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(
            const Poco::Net::HTTPServerRequest&) override {
            return new Handler(recorder);
        }
        SendsmsRecorder& recorder;
    };
    std::mutex mutex_;
    std::map<std::string, int> sent_;
    Poco::Net::HTTPServer server_;
};

// What a host of the cluster runs with: serveArgs' settings, the SMS channel beside the counter,
// the proxy trusted for the client's address.
std::vector<std::string> hostArgs(const std::string& url, std::uint16_t port,
                                  const test::TempDir& dir, const std::string& sendsms) {
    std::vector<std::string> args = serveArgs(url, port, dir);
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i + 1] == "plugins.enabled=counter") args[i + 1] = "plugins.enabled=counter,sms";
    for (const std::string& setting :
         std::vector<std::string>{"http.trust_proxy=true", "plugin.sms.secret=s3cret-for-tests",
                                  "plugin.sms.sendsms_url=" + sendsms,
                                  "plugin.sms.quiet_hours=", "plugin.sms.per_minute=6000"}) {
        args.push_back("--set");
        args.push_back(setting);
    }
    return args;
}

std::string indicesOf(std::uint16_t port) {
    const auto r = test::http(port, "GET", "/api/v1/indices?survey=counter-quick&by=agency", "",
                              {{"Authorization", "Bearer test-token"}});
    REQUIRE(r.status == 200);
    return r.body;
}

// The ratings stored in `db`: uuid → (rating, answered at).
std::map<std::string, std::pair<int, std::int64_t>> storedRatings(Database& db) {
    std::vector<std::string> keys;
    std::vector<double> values;
    std::vector<std::int64_t> at;
    db.read([&](Poco::Data::Session& s) {
        s << "SELECT r.idempotency_key, a.value_num, r.answered_at FROM responses r JOIN answers "
             "a ON a.response_id = r.id WHERE r.channel = 'counter' AND a.question_id = 'rating'",
            into(keys), into(values), into(at), now;
    });
    std::map<std::string, std::pair<int, std::int64_t>> out;
    for (std::size_t i = 0; i < keys.size(); ++i)
        out[keys[i].substr(keys[i].find(':') + 1)] = {static_cast<int>(values[i]), at[i]};
    return out;
}

}  // namespace

TEST_CASE(
    "three hosts on one PostgreSQL behind nginx: stored once, same indices, one session, "
    "one SMS") {
    test::TestDatabase tdb(Backend::PostgreSQL);  // empty: the hosts migrate it
    test::TempDir dir;
    SendsmsRecorder sendsms;

    // Started together on the empty database: one migrates, the others wait for it.
    std::vector<std::uint16_t> ports;
    std::vector<std::unique_ptr<test::TempDir>> hostDirs;
    std::vector<std::unique_ptr<test::Child>> hosts;
    for (int i = 0; i < kHosts; ++i) {
        ports.push_back(test::freePort());
        hostDirs.push_back(std::make_unique<test::TempDir>());
        hosts.push_back(std::make_unique<test::Child>(
            hostArgs(tdb.url(), ports.back(), *hostDirs.back(), sendsms.url()),
            std::map<std::string, std::string>{}, dir.file("host" + std::to_string(i) + ".log")));
    }
    for (int i = 0; i < kHosts; ++i) {
        INFO("host " << i << " log: " << dir.file("host" + std::to_string(i) + ".log"));
        REQUIRE(test::waitForHealth(ports[static_cast<std::size_t>(i)], 60));
    }
    std::int64_t versions = 0, applied = 0, highest = 0;
    tdb.db().read([&](Poco::Data::Session& s) {
        s << "SELECT COUNT(DISTINCT version), COUNT(*), MAX(version) FROM schema_migrations",
            into(versions), into(applied), into(highest), now;
    });
    CHECK(applied == versions);  // each migration once
    CHECK(versions == highest);  // and none skipped

    // The directory, written while the hosts run: they must all see it.
    prepareCounters(tdb.url());
    {
        test::TestHost admin(tdb.url(), dir, false);
        admin.runtime().users().add({"quan.tri", "", "admin", ""}, kPassword, false);
    }
    Nginx nginx(dir, ports);

    SECTION("ratings through nginx: stored once, the same indices as a single host") {
        // Paired through nginx: the pairing code is drawn on one host and used on another.
        std::vector<std::unique_ptr<Tablet>> tablets;
        for (int t = 0; t < kTablets; ++t)
            tablets.push_back(std::make_unique<Tablet>(nginx.port(), t));
        std::set<std::string> acknowledged;
        {
            Hall hall(tablets);
            HALL_WAIT(120, hall.acknowledged().size() >= 1500);
            hall.stopTapping();
            HALL_WAIT(60, hall.drained());
            hall.stop();
            CHECK(hall.unexpected().empty());
            acknowledged = hall.acknowledged();
        }
        // Acknowledged ones sent again, as after lost answers: duplicates, on whichever host.
        int again = 0;
        for (const auto& uuid : acknowledged) {
            if (again == 24) break;
            tablets[static_cast<std::size_t>(again++ % kTablets)]->again(uuid);
        }
        int duplicates = 0;
        for (auto& t : tablets)
            while (t->queued() > 0) {
                const Tablet::Sent s = t->send();
                REQUIRE(s.status == 200);
                duplicates += static_cast<int>(s.duplicates.size());
            }
        CHECK(duplicates == again);
        checkStoredOnce(tdb.db(), tdb.url(), acknowledged);
        const auto byHost = nginx.hostsOf("POST /c/counter/api/v1/ratings");
        std::string shares;
        for (const auto& [host, n] : byHost) shares += " " + host + ": " + std::to_string(n);
        INFO("batches by host:" << shares);
        CHECK(byHost.size() == static_cast<std::size_t>(kHosts));
        for (const auto& [host, n] : byHost) CHECK(n > 50);

        // Every host reports the same indices.
        const std::string clusterIndices = indicesOf(nginx.port());
        REQUIRE(clusterIndices.find("\"n\":" + std::to_string(acknowledged.size())) !=
                std::string::npos);  // the indices count every rating
        for (std::uint16_t p : ports) CHECK(indicesOf(p) == clusterIndices);

        // The same ratings, at the same times, through one host on SQLite.
        const auto ratings = storedRatings(tdb.db());
        REQUIRE(ratings.size() == acknowledged.size());
        test::TestDatabase single(Backend::SQLite);
        prepareCounters(single.url());
        test::TempDir singleDir;
        const std::uint16_t singlePort = test::freePort();
        test::Child singleHost(serveArgs(single.url(), singlePort, singleDir), {},
                               dir.file("single.log"));
        REQUIRE(test::waitForHealth(singlePort, 30));
        Tablet replay(singlePort, 0);
        for (const auto& [uuid, rating] : ratings) replay.add(uuid, rating.first, rating.second);
        while (replay.queued() > 0) {
            const Tablet::Sent s = replay.send(50);
            REQUIRE(s.status == 200);
            REQUIRE(s.toRetry == 0);
        }
        CHECK(storedRatings(single.db()).size() == ratings.size());
        CHECK(indicesOf(singlePort) == clusterIndices);
        std::printf(
            "Cluster of %d hosts behind nginx: %zu ratings acknowledged, %d sent again "
            "and recognised, batches by host:%s; indices equal to a single SQLite host's\n",
            kHosts, acknowledged.size(), duplicates, shares.c_str());
    }

    SECTION("a console session opened through one host is valid on every host") {
        const auto form = test::http(nginx.port(), "GET", "/console/signin");
        REQUIRE(form.status == 200);
        const std::string pre = test::cookieSet(form, "hl_pre");
        REQUIRE(pre.size() == 32);
        const auto signedIn = test::http(
            nginx.port(), "POST", "/console/signin",
            "pre=" + pre + "&username=quan.tri&password=" + kPassword,
            {{"Content-Type", "application/x-www-form-urlencoded"}, {"Cookie", "hl_pre=" + pre}});
        REQUIRE(signedIn.status == 303);
        const std::string session = test::cookieSet(signedIn, kSessionCookie);
        REQUIRE(session.size() == 64);
        const std::string cookie = std::string(kSessionCookie) + "=" + session;
        // Straight to each host, then round robin through nginx.
        std::string csrf;
        for (std::uint16_t p : ports) {
            const auto page = test::http(p, "GET", "/console/users", "", {{"Cookie", cookie}});
            CHECK(page.status == 200);
            CHECK(page.body.find("quan.tri") != std::string::npos);
            const std::string field = R"(name="csrf" value=")";
            const auto at = page.body.find(field);
            REQUIRE(at != std::string::npos);
            csrf = page.body.substr(at + field.size(),
                                    page.body.find('"', at + field.size()) - at - field.size());
        }
        for (int i = 0; i < 2 * kHosts; ++i)
            CHECK(test::http(nginx.port(), "GET", "/console/users", "", {{"Cookie", cookie}})
                      .status == 200);
        CHECK(nginx.hostsOf("GET /console/users").size() == static_cast<std::size_t>(kHosts));
        // Signed out on one host (with the form key another host gave): refused on all.
        const auto out =
            test::http(ports[0], "POST", "/console/signout", "csrf=" + csrf,
                       {{"Content-Type", "application/x-www-form-urlencoded"}, {"Cookie", cookie}});
        CHECK(out.status == 303);
        for (std::uint16_t p : ports)
            CHECK(test::http(p, "GET", "/console/users", "", {{"Cookie", cookie}}).status == 303);
    }

    SECTION("SMS invitations leave once, whichever host takes them") {
        // Returned dossiers with a phone, sent through nginx: each host's SMS channel sees them
        // and queues an invitation (one per dossier), and the hosts' outboxes share the queue.
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the channels' first look
        for (int i = 0; i < kDossiers; ++i) {
            char code[32], phone[16];
            std::snprintf(code, sizeof code, "XA-261204-%05d", i + 1);
            std::snprintf(phone, sizeof phone, "09120%05d", i + 1);
            const auto r = test::http(
                nginx.port(), "POST", "/api/v1/dossiers",
                std::string(R"({"code":")") + code + R"(","agency":"XA","status":"returned",)" +
                    R"("received_at":")" + formatTimeMs(nowMs() - 86400000) +
                    R"(","returned_at":")" + formatTimeMs(nowMs()) + R"(","phone":")" + phone +
                    R"("})",
                {{"Authorization", "Bearer test-token"}, {"Content-Type", "application/json"}});
            REQUIRE(r.status == 201);
        }
        REQUIRE(waitFor(60, [&] { return sendsms.sent().size() == kDossiers; }));
        std::this_thread::sleep_for(std::chrono::seconds(4));  // time for a second sending
        int twice = 0;
        for (const auto& [to, n] : sendsms.sent()) twice += n > 1 ? 1 : 0;
        CHECK(sendsms.sent().size() == static_cast<std::size_t>(kDossiers));
        CHECK(twice == 0);
        std::int64_t queued = 0, sent = 0;
        tdb.db().read([&](Poco::Data::Session& s) {
            s << "SELECT COUNT(*), COUNT(CASE WHEN status = 'sent' THEN 1 END) FROM outbox WHERE "
                 "channel = 'sms'",
                into(queued), into(sent), now;
        });
        CHECK(queued == kDossiers);
        CHECK(sent == kDossiers);
    }

    for (auto& h : hosts) h->terminate();
    for (auto& h : hosts) CHECK(h->wait() == 0);
}
