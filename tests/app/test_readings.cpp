// Tests for the reading of each response (mood, the citizen's words with sentiment and topics),
// at ingest and, for responses an older version stored, at the next start.
#include "app/ResponseReadings.h"
#include "common/Clock.h"
#include "index/IndexStore.h"
#include "support/TestSupport.h"

#include <Poco/Data/Statement.h>

#include <catch2/catch.hpp>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

struct Reading {
    Poco::Nullable<double> mood;
    std::string feedback, key, sentiment, topics;
};

Reading readingOf(Database& db, const std::string& receipt) {
    return db.read([&](Session& s) {
        Reading r;
        std::string code = receipt;
        s << "SELECT mood, feedback, feedback_key, sentiment, topics FROM responses WHERE "
             "receipt = $1",
            use(code), into(r.mood), into(r.feedback), into(r.key), into(r.sentiment),
            into(r.topics), now;
        return r;
    });
}

}  // namespace

TEST_CASE("each response is read once: mood, words, sentiment and topics, older ones at start",
          "[readings]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            auto rate = [&](const std::string& key, const std::string& rating,
                            const std::string& comment, const std::string& typed) {
                Submission s;
                s.idempotencyKey = key;
                s.surveyId = "counter-quick";
                s.channel = "counter";
                s.agencyCode = "XA";
                s.answers.push_back({"rating", std::nullopt, {rating}, ""});
                if (!typed.empty()) s.answers.push_back({"comment", std::nullopt, {}, typed});
                s.comment = comment;
                return rt.ingest().submit(s).code;
            };
            const std::string unhappy =
                rate("k1", "1", "", "Phải chờ đợi quá lâu, cán bộ thái độ hách dịch");
            const std::string happy = rate("k2", "3", "Cán bộ nhiệt tình", "");
            const std::string middle = rate("k3", "2", "", "");
            // A result collected two hours before it was rated: served at the return.
            DossierInput d;
            d.code = "XA-HS1";
            d.agencyCode = "XA";
            d.receivedAtMs = nowMs() - 5 * 86400000;
            d.returnedAtMs = nowMs() - 2 * 3600000;
            d.status = "returned";
            rt.directory().save(d);
            Submission later;
            later.idempotencyKey = "k5";
            later.surveyId = "counter-quick";
            later.channel = "sms";
            later.dossierCode = "XA-HS1";
            later.answers.push_back({"rating", std::nullopt, {"3"}, ""});
            const std::string collected = rt.ingest().submit(later).code;
            auto servedOf = [&](const std::string& receipt) {
                return rt.database().read([&](Session& s) {
                    std::int64_t served = 0, answered = 0;
                    std::string code = receipt;
                    s << "SELECT served_at, answered_at FROM responses WHERE receipt = $1",
                        use(code), into(served), into(answered), now;
                    return std::make_pair(served, answered);
                });
            };
            CHECK(servedOf(collected).first == *d.returnedAtMs);
            CHECK(servedOf(middle).first == servedOf(middle).second);  // rated at the desk

            Reading r = readingOf(rt.database(), unhappy);
            REQUIRE_FALSE(r.mood.isNull());
            CHECK(r.mood.value() == Approx(0));
            CHECK(r.feedback == "Phải chờ đợi quá lâu, cán bộ thái độ hách dịch");
            CHECK(r.key == "phai cho doi qua lau, can bo thai do hach dich");
            CHECK(r.sentiment == "negative");
            CHECK(r.topics.find(",waiting,") != std::string::npos);
            CHECK(r.topics.find(",attitude,") != std::string::npos);
            r = readingOf(rt.database(), happy);
            CHECK(r.mood.value() == Approx(100));
            CHECK(r.sentiment == "positive");
            r = readingOf(rt.database(), middle);
            CHECK(r.mood.value() == Approx(50));  // "Hài lòng" on three faces: not unhappy
            CHECK(r.feedback.empty());
            CHECK(r.sentiment.empty());

            // Responses an older version stored (read nothing, some folded already): read at the
            // next start, and the folded ones counted into the hour-of-week counts once.
            rt.indices().foldAll();
            rate("k4", "1", "thai do can bo chua nhiet tinh", "");  // not folded
            rt.database().write([](Session& s) {
                s << "UPDATE responses SET mood = NULL, feedback = '', feedback_key = '', "
                     "sentiment "
                     "= '', topics = '', served_at = NULL, read_at = NULL",
                    now;
                s << "DELETE FROM index_hours", now;
            });
            const auto day = index::localDay(nowMs());
            // Before they are read, the folded ones are missing from the hour-of-week counts: only
            // the unfolded one is there (from the tail).
            std::int64_t before = 0;
            for (const auto& [cell, c] : rt.indices().store().hours("counter-quick", day, day))
                before += c.responses;
            CHECK(before == 1);
            CHECK(readOlderResponses(rt.database(), rt.surveys(), rt.text(), 2) == 5);
            CHECK(servedOf(collected).first == *d.returnedAtMs);
            CHECK(readOlderResponses(rt.database(), rt.surveys(), rt.text()) == 0);
            r = readingOf(rt.database(), unhappy);
            CHECK(r.mood.value() == Approx(0));
            CHECK(r.topics.find(",waiting,") != std::string::npos);
            rt.indices().foldAll();
            const auto fast = rt.indices().store().hours("counter-quick", day, day);
            const auto slow = rt.indices().store().rawHours("counter-quick", day, day);
            REQUIRE(fast.size() == slow.size());
            std::int64_t responses = 0, unhappyCount = 0;
            for (const auto& [cell, c] : fast) {
                CHECK(slow.at(cell).responses == c.responses);
                CHECK(slow.at(cell).unhappy == c.unhappy);
                responses += c.responses, unhappyCount += c.unhappy;
            }
            CHECK(responses == 5);
            CHECK(unhappyCount == 2);
        },
        false);
}
