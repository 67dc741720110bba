// Benchmark of the analyst's dashboard: every page of it (the overview of each survey, a
// drill-down, a counter's comments, a comment search, the weekly trend, a whole year, the
// printable report, the alerts page, the JSON API) requested over loopback HTTP from a serving
// hailong, timed from the request to the last byte of the answer, server-side rendering
// included. Two databases:
//  - the demo province (`hailong demo`, 24,000 dossiers), against the 100 ms;
//  - the index benchmark's 10 million SIPAS responses (bench_index makes it), against 300 ms.
// Each page: 2 requests to warm up, then 10 timed. Prints one JSON object.
#include "app/Demo.h"
#include "app/Paths.h"
#include "app/Runtime.h"
#include "app/Settings.h"
#include "common/Clock.h"
#include "index/Periods.h"

#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

using namespace hailong;
using Clock = std::chrono::steady_clock;

namespace {

struct Timing {
    std::string name, url;
    int status = 0;
    std::size_t bytes = 0;
    std::vector<double> ms;
};

double at(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

// Times GET `url` with the session cookie on one keep-alive connection.
Timing timePage(std::uint16_t port, const std::string& cookie, const std::string& name,
                const std::string& url, int runs) {
    Timing t{name, url, 0, 0, {}};
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setKeepAlive(true);
    session.setTimeout(Poco::Timespan(60, 0));
    for (int i = 0; i < runs + 2; ++i) {
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, url,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setKeepAlive(true);
        request.set("Cookie", cookie);
        const auto start = Clock::now();
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        t.status = response.getStatus();
        t.bytes = body.size();
        if (i >= 2) t.ms.push_back(ms);
    }
    return t;
}

std::string json(const std::vector<Timing>& pages, double targetMs) {
    std::ostringstream out;
    out << "[";
    for (std::size_t i = 0; i < pages.size(); ++i) {
        const Timing& t = pages[i];
        out << (i ? "," : "") << "{\"name\":\"" << t.name << "\",\"url\":\"" << t.url
            << "\",\"status\":" << t.status << ",\"bytes\":" << t.bytes
            << ",\"min_ms\":" << at(t.ms, 0) << ",\"median_ms\":" << at(t.ms, 0.5)
            << ",\"p90_ms\":" << at(t.ms, 0.9)
            << ",\"max_ms\":" << *std::max_element(t.ms.begin(), t.ms.end())
            << ",\"ratio_to_target\":" << at(t.ms, 0.5) / targetMs << "}";
    }
    out << "]";
    return out.str();
}

// A serving Runtime on `dbUrl` with an analyst of the whole province signed in.
struct Served {
    Settings settings;
    Paths paths;
    std::unique_ptr<Runtime> rt;
    std::string cookie;
    Served(const std::string& dbUrl, const std::string& dataDir)
        : settings(load(dbUrl, dataDir)),
          paths(Paths::resolve(settings.config(), Paths::executableDir())),
          rt(std::make_unique<Runtime>(settings.config(), paths, Poco::Logger::get("bench"))) {}
    static Settings load(const std::string& dbUrl, const std::string& dataDir) {
        char* noEnv[] = {nullptr};
        return Settings::load("",
                              {{"db.url", dbUrl},
                               {"http.port", "0"},
                               {"http.log_requests", "false"},
                               {"paths.data", dataDir},
                               {"index.fold_interval_ms", "1000"}},
                              noEnv);
    }
    void serve() {
        rt->indices().foldAll();
        const std::string name = "bench.analyst";
        if (!rt->users().find(name))
            rt->users().add({name, "", "admin", ""}, "mat-khau-bench-1", false);
        cookie = std::string(kSessionCookie) + "=" +
                 rt->sessions().open(*rt->users().find(name), "127.0.0.1", "bench");
        rt->serve();
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: bench_dashboard SOURCE_DIR INDEX_BENCH_DB WORK_DIR\n";
        return 2;
    }
    const std::string indexDb = argv[2], work = argv[3];
    Poco::Logger::root().setLevel("warning");
    Poco::File(work).createDirectories();
    constexpr int kRuns = 10;
    std::ostringstream out;

    // The demo province, loaded once into work/demo.db.
    double demoLoadS = 0;
    std::size_t demoResponses = 0;
    {
        Served demo("sqlite:" + work + "/demo.db", work);
        demo.rt->prepare();
        if (demo.rt->directory().count("dossiers") == 0) {
            const auto start = Clock::now();
            demoResponses =
                loadDemo(*demo.rt, demo.paths.locale + "/vi/demo/seed.json", DemoOptions{})
                    .responses;
            demoLoadS = std::chrono::duration<double>(Clock::now() - start).count();
        }
        demoResponses = static_cast<std::size_t>(demo.rt->directory().count("responses"));
        demo.serve();
        const std::uint16_t port = demo.rt->port();
        const std::int64_t today = index::localDay(nowMs());
        const std::string year =
            "&from=" + index::format(today - 364) + "&to=" + index::format(today);
        std::vector<Timing> pages;
        for (const auto& [name, url] : std::vector<std::pair<std::string, std::string>>{
                 {"overview SIPAS, last month", "/console/dashboard"},
                 {"overview counter-quick, last month", "/console/dashboard?survey=counter-quick"},
                 {"drill-down to a department",
                  "/console/dashboard?survey=counter-quick&agency=STC"},
                 {"a counter's comments", "/console/dashboard?survey=counter-quick&counter=STC-Q1"},
                 {"comment search without diacritics",
                  "/console/dashboard?survey=counter-quick&q=cho+doi+qua+lau"},
                 {"comments of one topic", "/console/dashboard?survey=counter-quick&topic=waiting"},
                 {"weekly trend", "/console/dashboard?survey=counter-quick&trend=week"},
                 {"the last 365 days", "/console/dashboard?survey=counter-quick" + year},
                 {"printable report", "/console/report?survey=counter-quick"},
                 {"alerts page", "/console/alerts"},
                 {"JSON API", "/api/v1/dashboard?survey=counter-quick"}})
            pages.push_back(timePage(port, demo.cookie, name, url, kRuns));
        out << "{\"runs\":" << kRuns << ",\"demo\":{\"responses\":" << demoResponses
            << ",\"load_s\":" << demoLoadS << ",\"target_ms\":100,\"pages\":" << json(pages, 100)
            << "}";
    }

    // The index benchmark's 10 million responses (121 agencies, 484 officers, 300 procedures),
    // read as they are: October 2026, the whole month before the data's last one.
    if (!Poco::File(indexDb).exists()) {
        std::cerr << indexDb << " does not exist: run bench/run.sh index first\n";
        out << "}";
        std::cout << out.str() << "\n";
        return 1;
    }
    {
        Served big("sqlite:" + indexDb, work);
        big.rt->prepare();
        const std::int64_t responses = big.rt->directory().count("responses");
        big.serve();
        const std::uint16_t port = big.rt->port();
        const std::string october = "&from=2026-10-01&to=2026-10-31";
        std::vector<Timing> pages;
        for (const auto& [name, url] : std::vector<std::pair<std::string, std::string>>{
                 {"overview SIPAS, a month", "/console/dashboard?survey=sipas-2017" + october},
                 {"drill-down to a department",
                  "/console/dashboard?survey=sipas-2017&agency=D7" + october},
                 {"drill-down to a commune",
                  "/console/dashboard?survey=sipas-2017&agency=D7C3" + october},
                 {"weekly trend", "/console/dashboard?survey=sipas-2017&trend=week" + october},
                 {"a quarter",
                  "/console/dashboard?survey=sipas-2017&from=2026-07-01&to=2026-09-30"},
                 {"printable report", "/console/report?survey=sipas-2017" + october},
                 {"JSON API", "/api/v1/dashboard?survey=sipas-2017" + october}})
            pages.push_back(timePage(port, big.cookie, name, url, kRuns));
        out << ",\"index_data\":{\"responses\":" << responses
            << ",\"target_ms\":300,\"pages\":" << json(pages, 300) << "}}";
    }
    std::cout << out.str() << "\n";
    return 0;
}
