// Tests for core/index's storage: the aggregates read back (with the real-time tail) give the
// same cells as the raw responses, for every family and time grain, on SQLite and on a real
// PostgreSQL; several hosts folding one database at once lose and double nothing.
#include "directory/DirectoryStore.h"
#include "index/IndexService.h"
#include "ingest/IngestService.h"
#include "support/TestSupport.h"
#include "survey/SurveyStore.h"
#include "text/IcuTextNormalizer.h"

#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <set>

#include <atomic>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

using namespace hailong;
using namespace hailong::index;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

constexpr std::int64_t kDay = 86400000;

// A province of two departments and four communes, each with a counter and two officers.
struct Province {
    explicit Province(Backend b)
        : tdb(b),
          db(tdb.migrated()),
          surveys(db),
          directory(db, text),
          ingest(db, surveys, directory, text, {}),
          indices(db, surveys) {
        surveys.publishFolder(test::sourceDir() + "/surveys");
        directory.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
        for (const char* dept : {"SA", "SB"})
            directory.save(
                AgencyInput{dept, std::string("Sở ") + dept, "PT", "department", "", true});
        for (const auto& [commune, parent] : std::vector<std::pair<std::string, std::string>>{
                 {"A1", "SA"}, {"A2", "SA"}, {"B1", "SB"}, {"B2", "SB"}}) {
            directory.save(AgencyInput{commune, "Xã " + commune, parent, "commune", "", true});
            leaves.push_back(commune);
        }
        for (const std::string& a : {std::string("SA"), std::string("SB"), std::string("A1"),
                                     std::string("A2"), std::string("B1"), std::string("B2")}) {
            directory.save(CounterInput{a + "-Q1", "Quầy 1", a, true});
            for (int k = 1; k <= 2; ++k)
                directory.save(OfficerInput{a + "-CB" + std::to_string(k), "Cán bộ", "", a, true});
        }
        for (const char* p : {"1.001", "1.002", "1.003"})
            directory.save(
                ProcedureInput{p, std::string("Thủ tục ") + p, "Hộ tịch", "full", 1, true});
    }

    // A random valid answer sheet for `survey`, as a citizen could send it.
    Submission randomSubmission(std::mt19937& rng, const Survey& survey, int serial) {
        Submission s;
        s.idempotencyKey = "t-" + std::to_string(serial);
        s.surveyId = survey.id;
        static const std::vector<std::string> anyChannel{"counter", "sms", "web"};
        const auto& channels = survey.channels.empty() ? anyChannel : survey.channels;
        s.channel = channels[rng() % channels.size()];
        const std::string agency =
            rng() % 5 == 0 ? (rng() % 2 ? "SA" : "SB") : leaves[rng() % leaves.size()];
        // Now and then a response of no agency (a web form reached from a general link).
        if (rng() % 15) {
            s.agencyCode = agency;
            if (rng() % 3) s.counterCode = agency + "-Q1";
            if (rng() % 4) s.officerCode = agency + "-CB" + std::to_string(1 + rng() % 2);
        }
        if (rng() % 3) s.procedureCode = std::string("1.00") + std::to_string(1 + rng() % 3);
        s.answeredAtMs = nowMs - static_cast<std::int64_t>(rng() % 800) * kDay -
                         static_cast<std::int64_t>(rng() % kDay);
        std::map<std::string, std::string> chosen;
        for (const Question& q : survey.questions) {
            if (q.showIf) {
                auto it = chosen.find(q.showIf->question);
                if (it == chosen.end() ||
                    std::find(q.showIf->values.begin(), q.showIf->values.end(), it->second) ==
                        q.showIf->values.end())
                    continue;
            }
            if (q.options.empty() || (!q.required && rng() % 5 == 0)) continue;
            Answer a{q.id, std::nullopt, {}, ""};
            a.choices.push_back(q.options[rng() % q.options.size()].id);
            if (q.type == QuestionType::MultipleChoice && q.options.size() > 1 && rng() % 2) {
                const std::string second = q.options[rng() % q.options.size()].id;
                if (second != a.choices.front()) a.choices.push_back(second);
            }
            chosen[q.id] = a.choices.front();
            s.answers.push_back(a);
        }
        return s;
    }

    // Publishes a second version of sipas-2017 (a new title is a new content hash).
    void publishSipasV2() {
        Poco::FileInputStream in(test::sourceDir() + "/surveys/sipas-2017.json");
        std::string json;
        Poco::StreamCopier::copyToString(in, json);
        auto o = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
        o->getObject("title")->set("vi", "SIPAS (phiên bản 2)");
        std::ostringstream out;
        o->stringify(out);
        REQUIRE(surveys.publish(out.str(), "sipas-v2.json").version == 2);
    }

    // The surveys randomSubmission() can answer: no required free text (phan-anh asks for a
    // dossier code and a complaint).
    std::vector<std::shared_ptr<const Survey>> answerable() const {
        std::vector<std::shared_ptr<const Survey>> out;
        for (const auto& s : surveys.list())
            if (std::none_of(s->questions.begin(), s->questions.end(),
                             [](const Question& q) { return q.required && q.options.empty(); }))
                out.push_back(s);
        return out;
    }

    std::size_t submitRandom(std::mt19937& rng, std::size_t count, int& serial) {
        std::size_t stored = 0;
        const auto all = answerable();
        for (std::size_t i = 0; i < count; ++i) {
            const auto& survey = all[rng() % all.size()];
            try {
                if (!ingest.submit(randomSubmission(rng, *survey, serial++)).duplicate) ++stored;
            } catch (const Problem& p) {
                FAIL("a generated submission was refused: " << p.code() << " for " << survey->id);
            }
        }
        return stored;
    }

    test::TestDatabase tdb;
    Database& db;
    IcuTextNormalizer text;
    SurveyStore surveys;
    DirectoryStore directory;
    IngestService ingest;
    IndexService indices;
    std::vector<std::string> leaves;
    const std::int64_t nowMs = 1795000000000;  // 2026-11-18
};

void requireSame(const Cells& fast, const Cells& slow, const std::string& where) {
    INFO(where);
    REQUIRE(fast.size() == slow.size());
    for (const auto& [cell, tally] : slow) {
        auto it = fast.find(cell);
        REQUIRE(it != fast.end());
        std::string why;
        INFO("agency " << cell.agency << " group " << cell.group << " " << cell.channel << " v"
                       << cell.version << " " << format(cell.bucket));
        CHECK(sameTally(it->second, tally, why));
        if (!why.empty()) INFO(why);
    }
}

// Returns how many unhappy responses the cells count.
std::int64_t requireSameHours(const Hours& fast, const Hours& slow) {
    REQUIRE(fast.size() == slow.size());
    REQUIRE_FALSE(slow.empty());
    std::int64_t unhappy = 0;
    for (const auto& [cell, c] : slow) {
        auto it = fast.find(cell);
        REQUIRE(it != fast.end());
        CHECK(it->second.responses == c.responses);
        CHECK(it->second.rated == c.rated);
        CHECK(it->second.unhappy == c.unhappy);
        CHECK(it->second.moodTotal == Approx(c.moodTotal).epsilon(1e-12));
        CHECK(cell.second >= 0);
        CHECK(cell.second < 168);
        unhappy += c.unhappy;
    }
    return unhappy;
}

}  // namespace

TEST_CASE("hours of the week in Vietnam time, Monday first") {
    // 2026-11-30 is a Monday; 00:30 in Vietnam is 17:30 UTC the day before.
    const std::int64_t monday = dayStartMs(*parseDay("2026-11-30"));
    CHECK(hourOfWeek(monday) == 0);
    CHECK(hourOfWeek(monday + 30 * 60000) == 0);
    CHECK(hourOfWeek(monday + 9 * 3600000 + 59 * 60000) == 9);
    CHECK(hourOfWeek(monday + 24 * 3600000) == 24);                  // Tuesday 00:00
    CHECK(hourOfWeek(monday + 6 * 86400000 + 23 * 3600000) == 167);  // Sunday 23:00
    CHECK(hourOfWeek(monday - 1) == 167);                            // the Sunday before
    CHECK(hourOfWeek(0) == 3 * 24 + 7);  // 1970-01-01 00:00 UTC: a Thursday, 07:00 in Vietnam
}

TEST_CASE("aggregates with their real-time tail equal the raw responses, for every breakdown") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        std::mt19937 rng(20261125);
        int serial = 0;
        std::size_t stored = p.submitRandom(rng, 250, serial);
        // Fold part of it; publish a second version mid-way; store more, fold a little more.
        p.indices.store().fold(120);
        p.publishSipasV2();
        stored += p.submitRandom(rng, 250, serial);
        p.indices.store().fold(90);
        REQUIRE(p.indices.store().unfolded() > 0);  // the tail is not empty: both paths count
        REQUIRE(stored == 500);

        for (const auto& survey : p.answerable()) {
            const auto span = p.indices.store().span(survey->id);
            REQUIRE(span);
            // The hour-of-week counts too, with their tail.
            const std::int64_t unhappy =
                requireSameHours(p.indices.store().hours(survey->id, span->first, span->second),
                                 p.indices.store().rawHours(survey->id, span->first, span->second));
            // The random ratings include unhappy ones: that count is exercised too.
            if (survey->id == "counter-quick") CHECK(unhappy > 0);
            // Added up over a department's subtree by the database, the same as the raw ones.
            const auto department = p.directory.agency("SA");
            std::set<std::int64_t> subtree;
            for (const char* code : {"SA", "A1", "A2"})
                subtree.insert(p.directory.agency(code)->id);
            std::map<int, HourCounts> expected;
            for (const auto& [cell, c] :
                 p.indices.store().rawHours(survey->id, span->first, span->second))
                if (subtree.contains(cell.first)) expected[cell.second].merge(c);
            const auto within = p.indices.store().hoursWithin(survey->id, span->first, span->second,
                                                              department->path);
            REQUIRE(within.size() == expected.size());
            for (const auto& [slot, c] : expected) {
                CHECK(within.at(slot).responses == c.responses);
                CHECK(within.at(slot).unhappy == c.unhappy);
            }
            for (Family f : {Family::Agency, Family::Counter, Family::Officer, Family::Procedure})
                for (std::optional<Grain> g :
                     {std::optional<Grain>(), std::optional<Grain>(Grain::Day),
                      std::optional<Grain>(Grain::Week), std::optional<Grain>(Grain::Month),
                      std::optional<Grain>(Grain::Quarter), std::optional<Grain>(Grain::Year)}) {
                    // The whole span, and a range that cuts months in the middle (families
                    // kept by month are read in whole months).
                    if (!hasDays(f) && (g == Grain::Day || g == Grain::Week)) continue;
                    for (auto [from, to] :
                         {*span, std::make_pair(span->first + 17, span->second - 23)}) {
                        if (!hasDays(f)) {
                            from = firstDayOfMonth(monthOf(from));
                            to = lastDayOfMonth(monthOf(to));
                        }
                        CellQuery q{survey->id,   f,           from, to, g, std::nullopt,
                                    std::nullopt, std::nullopt};
                        requireSame(
                            p.indices.store().aggregated(q), p.indices.store().raw(q),
                            survey->id + " " + name(f) + (g ? std::string(" ") + name(*g) : ""));
                    }
                }
            // Reports through every breakdown agree too, value for value, for the whole tree
            // (which the rollups added up over every agency serve), for its root (the same
            // without the responses of no agency) and for a department's subtree (which the
            // database adds up for the breakdowns that are not by agency), with and without a
            // channel.
            const std::optional<std::int64_t> sa = p.directory.agency("SA")->id;
            const std::optional<std::int64_t> root = p.directory.agency("PT")->id;
            for (const auto& [scope, channel] :
                 {std::make_pair(std::optional<std::int64_t>(), std::optional<std::string>()),
                  std::make_pair(root, std::optional<std::string>()),
                  std::make_pair(sa, std::optional<std::string>()),
                  std::make_pair(sa, std::optional<std::string>("web"))})
                for (const char* by :
                     {"", "agency", "counter", "officer", "procedure", "channel", "version"}) {
                    IndexRequest r{survey->id, by,      span->first,  span->second, Grain::Quarter,
                                   scope,      channel, std::nullopt, false};
                    IndexRequest raw = r;
                    raw.raw = true;
                    const auto a = p.indices.report(r), w = p.indices.report(raw);
                    REQUIRE(a.groups.size() == w.groups.size());
                    for (std::size_t i = 0; i < a.groups.size(); ++i) {
                        REQUIRE(a.groups[i].key == w.groups[i].key);
                        const auto& x = a.groups[i].indices;
                        const auto& y = w.groups[i].indices;
                        REQUIRE(x.size() == y.size());
                        for (std::size_t k = 0; k < x.size(); ++k) {
                            CHECK(x[k].n == y[k].n);
                            CHECK(x[k].value.has_value() == y[k].value.has_value());
                            if (x[k].value && y[k].value)
                                CHECK(*x[k].value == Approx(*y[k].value).epsilon(1e-12));
                        }
                    }
                }
        }
        // After a full fold there is no tail, and `verify` finds nothing to report.
        p.indices.foldAll();
        CHECK(p.indices.store().unfolded() == 0);
        for (const auto& survey : p.answerable()) {
            const Verification v = verify(p.indices.store(), survey->id);
            CHECK(v.mismatches.empty());
            // 6 grains for agencies and for the total, 4 for each family kept by month (the
            // procedures' total too), and the hour-of-week counts
            CHECK(v.queries == 29);
        }
    });
}

TEST_CASE("a parent agency counts its descendants, a scope keeps to its subtree") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        std::mt19937 rng(7);
        int serial = 0;
        p.submitRandom(rng, 200, serial);
        p.indices.foldAll();
        const auto span = p.indices.store().span("counter-quick");
        REQUIRE(span);
        IndexRequest r{"counter-quick", "agency",     span->first,  span->second, std::nullopt,
                       std::nullopt,    std::nullopt, std::nullopt, false};
        const auto report = p.indices.report(r);
        std::map<std::string, std::int64_t> responses;
        for (const auto& g : report.groups) responses[g.key] = g.tally.responses;
        CHECK(responses["SA"] >= responses["A1"] + responses["A2"]);
        CHECK(responses["PT"] == responses["SA"] + responses["SB"]);
        std::int64_t all = 0;
        p.db.read([&](Session& s) {
            s << "SELECT COUNT(*) FROM responses WHERE survey_id = 'counter-quick' AND "
                 "COALESCE(agency_id, 0) <> 0",
                into(all), now;
        });
        CHECK(responses["PT"] == all);  // the responses of no agency are no agency's
        // Scoped to SB: SB and its communes only.
        r.scopeAgency = p.directory.agency("SB")->id;
        for (const auto& g : p.indices.report(r).groups)
            CHECK((g.key == "SB" || g.key == "B1" || g.key == "B2"));
    });
}

TEST_CASE("several hosts folding one database at once lose and double nothing") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        // Two more hosts: their own connections, their own stores.
        Database second(DatabaseUrl::parse(p.tdb.url())), third(DatabaseUrl::parse(p.tdb.url()));
        IndexStore other1(second, p.surveys), other2(third, p.surveys);
        std::atomic<bool> done{false};
        std::atomic<std::size_t> folded{0};
        std::mutex failureMutex;
        std::string failure;
        auto folder = [&](IndexStore& store) {
            try {
                while (!done) {
                    folded += store.fold(37);
                    std::this_thread::sleep_for(std::chrono::milliseconds(3));
                }
                folded += store.fold(1000000);
            } catch (const std::exception& e) {
                std::lock_guard lock(failureMutex);
                failure = e.what();
            }
        };
        std::thread f1(folder, std::ref(other1)), f2(folder, std::ref(other2));
        std::mt19937 rng(99);
        int serial = 0;
        std::size_t stored = 0;
        try {
            for (int round = 0; round < 6; ++round) {
                stored += p.submitRandom(rng, 60, serial);
                folded += p.indices.store().fold(25);
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(failureMutex);
            failure = std::string("main: ") + e.what();
        }
        done = true;
        f1.join();
        f2.join();
        INFO(failure);
        CHECK(failure.empty());
        folded += p.indices.foldAll();
        CHECK(folded == stored);  // each response folded exactly once
        std::int64_t counted = 0;
        p.db.read([&](Session& s) {
            s << "SELECT folded FROM index_state WHERE id = 1", into(counted), now;
        });
        CHECK(counted == static_cast<std::int64_t>(stored));
        for (const auto& survey : p.surveys.list())
            CHECK(verify(p.indices.store(), survey->id).mismatches.empty());
    });
}

TEST_CASE("a fold whose responses another host folded meanwhile counts again, not twice") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        std::mt19937 rng(7);
        int serial = 0;
        const std::size_t first = p.submitRandom(rng, 40, serial);
        Database second(DatabaseUrl::parse(p.tdb.url()));
        IndexStore other(second, p.surveys);
        IndexStore& mine = p.indices.store();
        // Between this host's count and its store, the other host folds the first 15 and more
        // responses arrive.
        std::size_t byOther = 0, later = 0;
        bool interfered = false;
        mine.setAfterRead([&] {
            if (std::exchange(interfered, true)) return;
            byOther = other.fold(15);
            later = p.submitRandom(rng, 10, serial);
        });
        const std::size_t byMine = mine.fold();
        CHECK(byOther == 15);
        CHECK(mine.recounts() == 1);
        CHECK(byMine == first + later - 15);  // counted again under the lock: the new ones too
        CHECK(p.indices.foldAll() == 0);
        std::int64_t counted = 0;
        p.db.read([&](Session& s) {
            s << "SELECT folded FROM index_state WHERE id = 1", into(counted), now;
        });
        CHECK(counted == static_cast<std::int64_t>(first + later));
        for (const auto& survey : p.surveys.list())
            CHECK(verify(mine, survey->id).mismatches.empty());
        // Without interference a fold stores what it counted.
        p.submitRandom(rng, 5, serial);
        CHECK(mine.fold() > 0);
        CHECK(mine.recounts() == 1);
    });
}

TEST_CASE("key drivers: the criterion that moves with the index ranks first, noise last") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        const auto sipas = p.surveys.find("sipas-2017");
        std::mt19937 rng(3);
        for (int i = 0; i < 120; ++i) {
            // Every criterion follows the citizen's mood, except the seats, which are noise.
            const double mood = rng() % 2 ? 5 : 1;
            Submission s;
            s.idempotencyKey = "d-" + std::to_string(i);
            s.surveyId = "sipas-2017";
            s.channel = "web";
            s.agencyCode = "A1";
            s.answeredAtMs = p.nowMs - static_cast<std::int64_t>(i) * kDay;
            for (const Question& q : sipas->questions)
                if (q.type == QuestionType::Rating)
                    s.answers.push_back(
                        {q.id,
                         q.id == "access_seats" ? static_cast<double>(1 + rng() % 5) : mood,
                         {},
                         ""});
            p.ingest.submit(s);
        }
        IndexRequest r{"sipas-2017",      "",           localDay(p.nowMs) - 200,
                       localDay(p.nowMs), std::nullopt, std::nullopt,
                       std::nullopt,      std::nullopt, false};
        const DriverReport d = p.indices.drivers(r, "");
        CHECK(d.index->id == "sipas");
        CHECK(d.responses == 120);
        REQUIRE(d.drivers.size() == 22);
        CHECK(d.drivers.back().criterion->id == "access_seats");
        REQUIRE(d.drivers.back().correlation);
        CHECK(std::fabs(*d.drivers.back().correlation) < 0.35);
        REQUIRE(d.drivers.front().correlation);
        CHECK(*d.drivers.front().correlation > 0.95);
        CHECK(d.drivers.front().n == 120);
        // A scope outside the data: no responses, no correlations (not zeros).
        r.scopeAgency = p.directory.agency("SB")->id;
        const DriverReport none = p.indices.drivers(r, "access");
        CHECK(none.responses == 0);
        CHECK_FALSE(none.drivers.front().correlation);
        CHECK(test::problemOf([&] { p.indices.drivers(r, "access_seats"); }).status() == 422);
    });
}

TEST_CASE("Decision 766: the dossier ratio by agency, feedback ratios empty until cases exist") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        const std::int64_t received = p.nowMs - 10 * kDay;
        auto dossier = [&](const std::string& code, const std::string& agency) {
            DossierInput d;
            d.code = code;
            d.agencyCode = agency;
            d.receivedAtMs = received;
            p.directory.save(d);
        };
        auto rate = [&](const std::string& code, const std::string& survey, double rating) {
            Submission s;
            s.idempotencyKey = "r-" + code;
            s.surveyId = survey;
            s.channel = survey == "sms-quick" ? "sms" : "counter";
            s.dossierCode = code;
            s.answeredAtMs = received + kDay;
            s.answers.push_back({"rating", rating, {}, ""});
            if (survey == "counter-quick" && rating == 1)
                s.answers.push_back({"reasons", std::nullopt, {"late"}, ""});
            p.ingest.submit(s);
        };
        for (const char* code : {"A1-1", "A1-2", "A1-3", "A1-4"}) dossier(code, "A1");
        dossier("B1-1", "B1");
        rate("A1-1", "counter-quick", 1);  // 0 on its 1..3 scale: unsatisfied
        rate("A1-2", "counter-quick", 2);  // the middle: not unsatisfied
        rate("A1-3", "sms-quick", 2);      // 25 on 1..5: unsatisfied
        rate("B1-1", "sms-quick", 5);
        IndexRequest r{"",           "",           localDay(received) - 1, localDay(received) + 1,
                       std::nullopt, std::nullopt, std::nullopt,           std::nullopt,
                       false};
        std::map<std::string, Decision766> by;
        for (const Decision766& d : p.indices.decision766(r)) by[d.key] = d;
        CHECK(by["A1"].dossiers == 4);
        CHECK(by["A1"].unsatisfied == 2);
        REQUIRE(by["A1"].dossiersSatisfied);
        CHECK(*by["A1"].dossiersSatisfied == Approx(50));
        CHECK(*by["SA"].dossiersSatisfied == Approx(50));
        CHECK(*by["B1"].dossiersSatisfied == Approx(100));
        CHECK(by["PT"].dossiers == 5);
        CHECK(*by["PT"].dossiersSatisfied == Approx(60));
        CHECK_FALSE(by["PT"].feedbackOnTime);
        CHECK_FALSE(by["PT"].feedbackSatisfied);
        // Outside the dossiers' days: nothing received, no ratio.
        r.fromDay = r.toDay = localDay(received) + 5;
        CHECK(p.indices.decision766(r).empty());
    });
}
