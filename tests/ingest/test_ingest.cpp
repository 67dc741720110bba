// Tests for core/ingest: validation against the survey, de-duplication, group commit, and
// draining on stop, on SQLite and on a real PostgreSQL.
#include "directory/DirectoryStore.h"
#include "ingest/IngestService.h"
#include "support/TestSupport.h"
#include "survey/SurveyStore.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

struct Fixture {
    explicit Fixture(Backend b, IngestService::Options options = {})
        : tdb(b),
          db(tdb.migrated()),
          surveys(db),
          directory(db, text),
          ingest(db, surveys, directory, text, options) {
        surveys.publishFolder(test::sourceDir() + "/surveys");
        directory.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
        directory.save(AgencyInput{"XA", "Xã Thử", "PT", "commune", "", true});
        directory.save(CounterInput{"XA-Q1", "Quầy 1", "XA", true});
        directory.save(OfficerInput{"XA-CB1", "Nguyễn Văn An", "Công chức", "XA", true});
        directory.save(ProcedureInput{"1.001193", "Đăng ký khai sinh", "Hộ tịch", "full", 1, true});
        DossierInput d;
        d.code = "XA-250304-00001";
        d.agencyCode = "XA";
        d.procedureCode = "1.001193";
        d.officerCode = "XA-CB1";
        d.counterCode = "XA-Q1";
        d.receivedAtMs = 1741050900000;
        directory.save(d);
    }
    std::int64_t count(const std::string& table) {
        std::int64_t n = 0;
        db.read([&](Session& s) { s << "SELECT COUNT(*) FROM " + table, into(n), now; });
        return n;
    }
    test::TestDatabase tdb;
    Database& db;
    IcuTextNormalizer text;
    SurveyStore surveys;
    DirectoryStore directory;
    IngestService ingest;
};

Submission rating(const std::string& key, double value) {
    Submission s;
    s.idempotencyKey = key;
    s.surveyId = "counter-quick";
    s.channel = "counter";
    s.counterCode = "XA-Q1";
    s.answers.push_back({"rating", value, {}, ""});
    return s;
}

std::vector<FieldError> problemErrors(IngestService& ingest, const Submission& s) {
    Problem p = test::problemOf([&] { ingest.submit(s); });
    CHECK(p.status() == 422);
    return p.errors();
}

using test::hasError;

}  // namespace

TEST_CASE("a valid submission is stored with its answers and references") {
    test::onEachBackend([](Backend b) {
        Fixture f(b);
        Submission s = rating("k-1", 1);
        s.dossierCode = "XA-250304-00001";
        s.answers.push_back({"reasons", std::nullopt, {"late", "attitude"}, ""});
        s.comment = "Tra ket qua  cham";
        Receipt r = f.ingest.submit(s);
        CHECK_FALSE(r.duplicate);
        CHECK(r.code.size() == 10);
        CHECK(f.count("responses") == 1);
        CHECK(f.count("answers") == 3);  // one rating, two reasons
        std::string comment, norm;
        Poco::Nullable<std::int64_t> officer, procedure;
        f.db.read([&](Session& ss) {
            ss << "SELECT comment_raw, comment_norm, officer_id, procedure_id FROM responses",
                into(comment), into(norm), into(officer), into(procedure), now;
        });
        CHECK(comment == "Tra ket qua  cham");  // as received
        CHECK(norm == "Tra ket qua cham");      // normalized
        CHECK_FALSE(officer.isNull());          // from the dossier
        CHECK_FALSE(procedure.isNull());
    });
}

TEST_CASE("the same idempotency key twice stores one response") {
    test::onEachBackend([](Backend b) {
        Fixture f(b);
        Receipt first = f.ingest.submit(rating("same-key", 3));
        Receipt second = f.ingest.submit(rating("same-key", 1));  // a retry, even if altered
        CHECK_FALSE(first.duplicate);
        CHECK(second.duplicate);
        CHECK(second.code == first.code);
        CHECK(second.responseId == first.responseId);
        CHECK(f.count("responses") == 1);
        CHECK(f.ingest.stats().duplicates == 1);
    });
}

TEST_CASE("concurrent submissions are committed in groups, each exactly once") {
    test::onEachBackend([](Backend b) {
        Fixture f(b);
        constexpr int kThreads = 8, kEach = 40;
        std::vector<std::thread> threads;
        std::atomic<int> duplicates{0};
        std::mutex m;
        std::set<std::string> receipts;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i) {
                    // Every key is sent twice, from two different threads.
                    const std::string key = "c-" + std::to_string((t / 2) * kEach + i);
                    Receipt r = f.ingest.submit(rating(key, 1 + (i % 3)));
                    if (r.duplicate) ++duplicates;
                    std::lock_guard lock(m);
                    receipts.insert(r.code);
                }
            });
        }
        for (auto& t : threads) t.join();
        const int unique = kThreads / 2 * kEach;
        CHECK(f.count("responses") == unique);
        CHECK(static_cast<int>(receipts.size()) == unique);
        CHECK(duplicates == unique);
        const auto stats = f.ingest.stats();
        CHECK(stats.stored == static_cast<std::uint64_t>(unique));
        CHECK(stats.batches < stats.stored + stats.duplicates);  // commits were grouped
    });
}

TEST_CASE("one dossier is rated once per survey, whatever the key or channel") {
    test::onEachBackend([](Backend b) {
        Fixture f(b);
        Submission atCounter = rating("tablet-uuid-1", 3);
        atCounter.dossierCode = "XA-250304-00001";
        Submission bySms = rating("sms-84912345678-1", 1);
        bySms.dossierCode = "XA-250304-00001";
        bySms.channel = "sms";
        const Receipt first = f.ingest.submit(atCounter);
        const Receipt second = f.ingest.submit(bySms);
        CHECK_FALSE(first.duplicate);
        CHECK(second.duplicate);
        CHECK(second.code == first.code);
        CHECK(f.count("responses") == 1);
    });
}

TEST_CASE("invalid submissions are refused with field errors and store nothing") {
    Fixture f(Backend::SQLite);
    SECTION("unknown survey") {
        Submission s = rating("x", 1);
        s.surveyId = "nope";
        CHECK(hasError(problemErrors(f.ingest, s), "survey", "submission.unknown_survey"));
    }
    SECTION("rating outside the scale, unknown question, missing required") {
        Submission s = rating("x", 7);
        s.answers.push_back({"favourite_colour", 1.0, {}, ""});
        auto errors = problemErrors(f.ingest, s);
        CHECK(hasError(errors, "answers.rating", "submission.not_an_option"));
        CHECK(hasError(errors, "answers.favourite_colour", "submission.unknown_question"));
        Submission empty = rating("y", 1);
        empty.answers.clear();
        CHECK(hasError(problemErrors(f.ingest, empty), "answers.rating",
                       "submission.answer_required"));
    }
    SECTION("reasons not among the options, duplicated answer") {
        Submission s = rating("x", 1);
        s.answers.push_back({"reasons", std::nullopt, {"late", "bribes"}, ""});
        s.answers.push_back({"rating", 2.0, {}, ""});
        auto errors = problemErrors(f.ingest, s);
        CHECK(hasError(errors, "answers.reasons", "submission.not_an_option"));
        CHECK(hasError(errors, "answers.rating", "submission.duplicate_answer"));
    }
    SECTION("bad references, bad key, bad comment, time in the future, wrong channel") {
        Submission s = rating("", 1);
        s.counterCode = "NO-SUCH";
        s.dossierCode = "NO-SUCH-DOSSIER";
        s.comment = "bad \xff";
        s.answeredAtMs = 4102444800000;  // 2100
        s.channel = "fax";
        auto errors = problemErrors(f.ingest, s);
        CHECK(hasError(errors, "idempotency_key", "submission.key_invalid"));
        CHECK(hasError(errors, "counter", "directory.unknown_reference"));
        CHECK(hasError(errors, "dossier", "directory.unknown_reference"));
        CHECK(hasError(errors, "comment", "text.invalid_utf8"));
        CHECK(hasError(errors, "answered_at", "submission.time_out_of_range"));
        CHECK(hasError(errors, "channel", "submission.channel_not_allowed"));
    }
    SECTION("a comment with a NUL byte (PostgreSQL would cut it there)") {
        Submission s = rating("x", 1);
        s.comment = std::string("abc\0def", 7);
        CHECK(hasError(problemErrors(f.ingest, s), "comment", "text.control_chars"));
    }
    SECTION("a comment over 2000 characters") {
        Submission s = rating("x", 1);
        s.comment = std::string(2001, 'a');
        CHECK(hasError(problemErrors(f.ingest, s), "comment", "field.too_long"));
    }
    CHECK(f.count("responses") == 0);
}

TEST_CASE("stop() commits everything already acknowledged-to-be and then refuses") {
    Fixture f(Backend::SQLite);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i)
                if (!f.ingest.submit(rating("s-" + std::to_string(t * 25 + i), 2)).duplicate) ++ok;
        });
    for (auto& t : threads) t.join();
    f.ingest.stop();
    CHECK(ok == 100);
    CHECK(f.count("responses") == 100);
    CHECK_THROWS_AS(f.ingest.submit(rating("late", 2)), Unavailable);
}
