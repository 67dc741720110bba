// Benchmark of core/index, side by side with its anchors in the same run:
//  - SIPAS by agency for a year from the aggregates, against a plain SQL GROUP BY over the raw
//    answers of the same database (the issue asks for under 50 ms and at least 100x faster);
//  - ingest with the background fold running, against ingest alone (the issue asks for less
//    than 10% overhead).
// The stored responses (default 10 million sipas-2017 responses, 22 answers each) are generated
// in SQL into a SQLite file that is kept between runs. Prints one JSON object.
#include "BenchData.h"
#include "directory/DirectoryStore.h"
#include "index/IndexService.h"
#include "ingest/IngestService.h"
#include "store/Migrations.h"
#include "survey/SurveyStore.h"
#include "text/IcuTextNormalizer.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/File.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

using namespace hailong;
using namespace hailong::bench;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

// Ingest of 20,000 live responses through the ingest path, with or without the background fold
// (the clock stops when the aggregates hold them all), into a fresh database beside `file`.
double ingestRun(const std::string& source, const std::string& file, IcuTextNormalizer& text,
                 std::int64_t nowMs, bool withFold) {
    const std::string small = file + (withFold ? ".fold.db" : ".plain.db");
    for (const char* suffix : {"", "-wal", "-shm"})
        if (Poco::File(small + suffix).exists()) Poco::File(small + suffix).remove();
    Database idb(DatabaseUrl::parse("sqlite:" + small));
    Migrations::apply(idb);
    SurveyStore isurveys(idb);
    isurveys.publishFolder(source + "/surveys");
    DirectoryStore idir(idb, text);
    directory(idir);
    IngestService ingest(idb, isurveys, idir, text, {});
    index::IndexService iindices(idb, isurveys);
    const Survey& sipas = *isurveys.find("sipas-2017");
    std::mt19937 rng(5);
    std::vector<Submission> subs;
    for (int i = 0; i < 20000; ++i) {
        Submission s;
        s.idempotencyKey = "i" + std::to_string(i);
        s.surveyId = "sipas-2017";
        s.channel = "web";
        s.agencyCode = "D" + std::to_string(1 + rng() % kDepartments);
        // Live traffic: answered over the last hour, as citizens leave the counters.
        s.answeredAtMs = nowMs - static_cast<std::int64_t>(rng() % 3600000);
        for (const Question& q : sipas.questions)
            if (q.type == QuestionType::Rating)
                s.answers.push_back({q.id, static_cast<double>(1 + rng() % 5), {}, ""});
        subs.push_back(std::move(s));
    }
    return seconds([&] {
        if (withFold) iindices.start(1000);
        std::atomic<std::size_t> next{0};
        std::vector<std::thread> senders;
        for (int t = 0; t < 16; ++t)
            senders.emplace_back([&] {
                for (std::size_t i = next++; i < subs.size(); i = next++) ingest.submit(subs[i]);
            });
        for (auto& t : senders) t.join();
        ingest.stop();
        if (withFold) {
            iindices.stop();
            iindices.foldAll();  // the aggregates are complete when the clock stops
        }
    });
}

// Ingest alone and ingest with the fold, alternately, `runs` times: the medians as JSON fields.
std::string ingestOverhead(const std::string& source, const std::string& file,
                           IcuTextNormalizer& text, std::int64_t nowMs, int runs) {
    std::vector<double> plain, withFold;
    for (int r = 0; r < runs; ++r) {
        plain.push_back(ingestRun(source, file, text, nowMs, false));
        withFold.push_back(ingestRun(source, file, text, nowMs, true));
    }
    std::ostringstream out;
    out << "\"ingest_s\":{\"plain\":" << median(plain) << ",\"with_fold\":" << median(withFold)
        << ",\"runs\":" << runs << "},\"ingest_overhead\":" << median(withFold) / median(plain) - 1;
    return out.str();
}

}  // namespace

int main(int argc, char** argv) {
    const std::string source = argc > 1 ? argv[1] : HAILONG_SOURCE_DIR;
    const std::int64_t responses = argc > 2 ? std::atoll(argv[2]) : 10000000;
    const std::string file = argc > 3 ? argv[3] : "build/bench/index-bench.db";
    const std::int64_t nowMs = 1795000000000;  // 2026-11-18
    IcuTextNormalizer text(source + "/locale");
    // "ingest" as the fourth argument measures the ingest overhead alone.
    if (argc > 4 && std::string(argv[4]) == "ingest") {
        std::cout << "{" << ingestOverhead(source, file, text, nowMs, 5) << "}\n";
        return 0;
    }

    Database db(DatabaseUrl::parse("sqlite:" + file));
    Migrations::apply(db);
    SurveyStore surveys(db);
    surveys.load();
    surveys.publishFolder(source + "/surveys");
    const auto sipas = surveys.find("sipas-2017");
    std::int64_t stored = 0;
    db.read([&](Session& s) { s << "SELECT COUNT(*) FROM responses", into(stored), now; });
    DirectoryStore dir(db, text);
    double generateS = 0, foldS = 0;
    std::size_t folded = 0;
    index::IndexService indices(db, surveys);
    if (stored != responses) {
        if (stored != 0) {
            std::cerr << file << " holds " << stored << " responses, not " << responses
                      << ": remove it first\n";
            return 1;
        }
        directory(dir);
        generateS = seconds([&] { generate(db, *sipas, responses, nowMs); });
    }
    foldS = seconds([&] { folded = indices.foldAll(); });

    // SIPAS by agency for the calendar year 2026 (whole months) and for the last 365 days (whole
    // months and two ends of days), five times each, from the aggregates.
    index::IndexRequest year{"sipas-2017",
                             "agency",
                             *index::parseDay("2026-01-01"),
                             *index::parseDay("2026-12-31"),
                             std::nullopt,
                             std::nullopt,
                             std::nullopt,
                             std::nullopt,
                             false};
    index::IndexRequest rolling = year;
    rolling.fromDay = index::localDay(nowMs) - 364, rolling.toDay = index::localDay(nowMs);
    std::vector<double> fast, fastRolling;
    index::IndexReport report;
    for (int r = 0; r < 5; ++r) {
        fast.push_back(seconds([&] { report = indices.report(year); }) * 1000);
        fastRolling.push_back(seconds([&] { (void)indices.report(rolling); }) * 1000);
    }

    // The same counts by a plain GROUP BY over the raw answers (leaves per agency only: no tree,
    // no intervals), twice.
    std::vector<double> slow;
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> satisfied;
    const int slowRuns = responses > 1000000 ? 1 : 2;  // minutes each at 10 million
    for (int r = 0; r < slowRuns; ++r) {
        slow.push_back(seconds([&] {
                           db.read([&](Session& s) {
                               Poco::Data::Statement q(s);
                               const std::int64_t from = index::dayStartMs(year.fromDay),
                                                  to = index::dayStartMs(year.toDay + 1);
                               q << "SELECT r.agency_id, a.question_id, a.value_text, COUNT(*) "
                                    "FROM answers a JOIN responses r ON r.id = a.response_id "
                                    "WHERE r.survey_id = 'sipas-2017' AND r.answered_at >= $1 "
                                    "AND r.answered_at < $2 GROUP BY r.agency_id, a.question_id, "
                                    "a.value_text",
                                   bind(from), bind(to), now;
                               Poco::Data::RecordSet rs(q);
                               satisfied.clear();
                               for (bool more = rs.moveFirst(); more; more = rs.moveNext())
                                   if (rs.value(2).convert<std::string>() >= "4")
                                       satisfied[{rs.value(0).convert<std::int64_t>(),
                                                  rs.value(1).convert<std::string>()}] +=
                                           rs.value(3).convert<std::int64_t>();
                           });
                       }) *
                       1000);
    }
    // Both ways count the same: the root agency's satisfied answers to the first criterion.
    std::int64_t byGroupBy = 0;
    for (const auto& [key, n] : satisfied)
        if (key.second == "access_seats") byGroupBy += n;
    std::int64_t byAggregates = 0;
    for (const auto& g : report.groups)
        if (g.key == "P") {
            const auto& counts = g.tally.answers.at("access_seats");
            byAggregates = counts.at("4") + counts.at("5");
        }

    std::cout << "{\"responses\":" << responses << ",\"answers_per_response\":22"
              << ",\"generate_s\":" << generateS << ",\"fold_s\":" << foldS
              << ",\"folded\":" << folded
              << ",\"report_ms\":{\"min\":" << *std::min_element(fast.begin(), fast.end())
              << ",\"median\":" << median(fast)
              << ",\"max\":" << *std::max_element(fast.begin(), fast.end())
              << "},\"rolling_report_ms\":{\"median\":" << median(fastRolling)
              << "},\"group_by_ms\":{\"min\":" << *std::min_element(slow.begin(), slow.end())
              << ",\"median\":" << median(slow)
              << ",\"max\":" << *std::max_element(slow.begin(), slow.end())
              << ",\"runs\":" << slowRuns << "},\"speedup\":" << median(slow) / median(fast)
              << ",\"same_counts\":" << (byGroupBy == byAggregates ? "true" : "false")
              << ",\"agencies\":" << report.groups.size() << ","
              << ingestOverhead(source, file, text, nowMs, 5) << "}\n";
    return 0;
}
