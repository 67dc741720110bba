// Personal data: masking, the report of everything held about one phone number, its erasure,
// and the retention sweep (phone numbers and free text), on SQLite and PostgreSQL.
#include "cases/CaseStore.h"
#include "common/Clock.h"
#include "privacy/PersonalData.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Array.h>

#include <catch2/catch.hpp>

using namespace hailong;
using namespace Poco::Data::Keywords;

namespace {

constexpr std::int64_t kDayMs = 86400000;
constexpr const char* kWords =
    "Gọi tôi số 0912 345 678, CCCD 001203004005, thư an.nguyen@gmail.com";
constexpr const char* kMasked = "Gọi tôi số ***, CCCD ***, thư ***";

// Dossier D-1 of XA, handed in 40 days ago with the citizen's phone and returned 35 days ago; a
// rating of it with words (so a case, answered: an SMS answer queued to the phone); then a
// complaint about D-1, still open; a conversation and an opt-out of that phone. Dossier D-2 of
// someone else, rated with words too (its case open).
struct Citizen {
    explicit Citizen(Runtime& runtime) : rt(runtime) {
        for (const auto& [code, phone] : std::vector<std::pair<std::string, std::string>>{
                 {"D-1", "0912 345 678"}, {"D-2", "0987 654 321"}}) {
            DossierInput d;
            d.code = code;
            d.agencyCode = "XA";
            d.receivedAtMs = nowMs() - 40 * kDayMs;
            d.returnedAtMs = nowMs() - 35 * kDayMs;
            d.status = "returned";
            d.phone = phone;
            rt.directory().save(d);
        }
        rated = rate("p-1", "D-1", kWords);
        rate("p-2", "D-2", "Cán bộ gọi 0987654321 mãi không nghe");
        const auto c = rt.cases().ofReceipt(rated);
        REQUIRE(c);
        answeredCase = rt.cases().findByCode(c->code)->id;  // its contact: the dossier's phone
        rt.cases().answer(answeredCase, "Chúng tôi đã liên hệ lại với ông/bà.", "admin");
        Complaint complaint;
        complaint.channel = "sms";
        complaint.dossierCode = "D-1";
        complaint.text = "Hồ sơ trả muộn, gọi 0912345678";
        complaint.contact = "+84 912 345 678";
        openCase = rt.cases().complain(complaint).code;
        rt.database().write([&](Poco::Data::Session& s) {
            std::string key = "conv:" + rt.phones().key("0912345678");
            s << "INSERT INTO plugin_state (plugin, record_key, value, expires_at, updated_at) "
                 "VALUES ('sms', $1, 'reason:D-1', $2, $3)",
                use(key), bind(nowMs() + kDayMs), bind(nowMs()), now;
        });
        rt.phones().optOut("+84912345678", "sms");
        // A rating of D-1 held for review (too many taps), with the phone as its contact.
        Submission held;
        held.idempotencyKey = "h-1";
        held.surveyId = "sms-quick";
        held.channel = "web";
        held.dossierCode = "D-1";
        held.contact = "0912345678";
        held.comment = "Số tôi 0912345678";
        held.answers.push_back({"rating", 2, {}, ""});
        held.answers.push_back({"comment", std::nullopt, {}, held.comment});
        rt.ingest().hold(held, "rate_limit");
    }

    std::string rate(const std::string& key, const std::string& dossier, const std::string& words) {
        Submission s;
        s.idempotencyKey = key;
        s.surveyId = "sms-quick";
        s.channel = "web";
        s.dossierCode = dossier;
        s.answers.push_back({"rating", 1, {}, ""});
        s.answers.push_back({"comment", std::nullopt, {}, words});
        s.comment = words;
        return rt.ingest().submit(s).code;
    }

    template <class T>
    T one(const std::string& sql) {
        T out{};
        rt.database().read([&](Poco::Data::Session& s) { s << sql, into(out), now; });
        return out;
    }

    Runtime& rt;
    std::string rated, openCase;
    std::int64_t answeredCase = 0;
};

}  // namespace

TEST_CASE("privacy: numbers and e-mail addresses are masked, other words kept", "[privacy]") {
    CHECK(PersonalData::mask(kWords) == kMasked);
    CHECK(PersonalData::mask("+84 912-345-678 hoặc 0912.345.678") == "*** hoặc ***");
    // Short numbers are what citizens say about the service, not who they are.
    CHECK(PersonalData::mask("Chờ 45 phút, quầy 3, ngày 12/05/2026, 2 lần") ==
          "Chờ 45 phút, quầy 3, ngày 12/05/2026, 2 lần");
    CHECK(PersonalData::mask("") == "");
}

TEST_CASE("privacy: a report of everything held about one phone number", "[privacy]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        Citizen citizen(rt);
        // Any way the number is written finds the same person.
        for (const char* phone : {"0912 345 678", "+84912345678", "0912.345.678"}) {
            const auto report = rt.personalData().report(phone);
            CHECK(report->getValue<std::string>("phone") == "+84912345678");
            const auto dossiers = report->getArray("dossiers");
            REQUIRE(dossiers->size() == 1);
            CHECK(dossiers->getObject(0)->getValue<std::string>("code") == "D-1");
            CHECK(dossiers->getObject(0)->getValue<bool>("phone_held"));
            const auto responses = report->getArray("responses");
            REQUIRE(responses->size() == 1);
            CHECK(responses->getObject(0)->getValue<std::string>("receipt") == citizen.rated);
            CHECK(responses->getObject(0)->getValue<std::string>("comment") == kWords);
            CHECK(report->getArray("cases")->size() == 2);
            CHECK(report->getArray("messages")->size() == 1);  // the case's answer by SMS
            CHECK(report->getArray("conversations")->size() == 1);
            CHECK(report->getArray("held")->size() == 1);
            CHECK_FALSE(report->isNull("opted_out"));
        }
        // Someone else's number finds only their own.
        const auto other = rt.personalData().report("0987654321");
        CHECK(other->getArray("dossiers")->size() == 1);
        CHECK(other->getArray("cases")->size() == 1);
        CHECK(other->getArray("messages")->size() == 0);
        CHECK(test::problemOf([&] { rt.personalData().report("not a phone"); }).code() ==
              "privacy.phone_invalid");
    });
}

TEST_CASE("privacy: erasing a phone number on request", "[privacy]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        Citizen citizen(rt);
        const auto answers = citizen.one<std::int64_t>("SELECT COUNT(*) FROM answers");
        const PersonalDataReport r = rt.personalData().erase("+84 912 345 678");
        CHECK(r.dossierPhones == 1);
        CHECK(r.caseContacts == 2);
        CHECK(r.messages == 1);
        CHECK(r.texts == 2);  // the response's words, and the held one's
        CHECK(r.states == 1);
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM held_submissions WHERE payload "
                                        "LIKE '%0912%'") == 0);
        // Nothing about them is left to report; the other citizen's data is untouched.
        const auto after = rt.personalData().report("0912345678");
        CHECK(after->getArray("dossiers")->size() == 0);
        CHECK(after->getArray("cases")->size() == 0);
        CHECK(after->getArray("messages")->size() == 0);
        CHECK(after->getArray("conversations")->size() == 0);
        CHECK_FALSE(after->isNull("opted_out"));  // no message goes to it again
        CHECK(citizen.one<std::string>("SELECT phone FROM dossiers WHERE code = 'D-2'") != "");
        CHECK(citizen.one<std::string>(
                  "SELECT comment_raw FROM responses WHERE idempotency_key = 'p-2'") != "");
        CHECK(citizen.one<std::string>(
                  "SELECT comment_raw FROM responses WHERE idempotency_key = 'p-1'") == "");
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM answers WHERE value_text LIKE "
                                        "'%0912%'") == 0);
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM case_sources WHERE words LIKE "
                                        "'%0912%'") == 0);
        // The ratings stay: the indices do not change.
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM answers") == answers);
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM answers WHERE value_num IS NOT "
                                        "NULL") == 2);
    });
}

TEST_CASE("privacy: the retention sweep masks or deletes what is past its time, once",
          "[privacy]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        Citizen citizen(rt);
        rt.database().write([&](Poco::Data::Session& s) {
            s << "UPDATE outbox SET status = 'sent', sent_at = created_at", now;
            s << "UPDATE held_submissions SET status = 'discarded', decided_at = $1", bind(nowMs()),
                now;
        });
        // Nothing is past a retention of 30 days for numbers, and text is kept by default.
        Retention keep;
        keep.phonesBeforeMs = nowMs() - 30 * kDayMs;
        // The dossiers were returned 35 days ago: their numbers go (their keys stay).
        PersonalDataReport r = rt.personalData().sweep(keep);
        CHECK(r.dossierPhones == 2);
        CHECK(r.caseContacts == 0);  // the case was answered today
        CHECK(r.texts == 0);
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM dossiers WHERE phone = '' AND "
                                        "phone_key <> ''") == 2);

        // Everything received up to now is past a text retention ending now (masked).
        Retention all;
        all.phonesBeforeMs = nowMs() + 1;
        all.textBeforeMs = nowMs() + 1;
        r = rt.personalData().sweep(all);
        CHECK(r.caseContacts == 1);  // the answered case; the open complaint keeps its contact
        CHECK(r.messages == 1);
        // Two comments, two free-text answers, one finished case, one decided held submission.
        CHECK(r.texts == 2 + 2 + 1 + 1);
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM held_submissions WHERE payload "
                                        "LIKE '%0912%'") == 0);
        CHECK(citizen.one<std::string>(
                  "SELECT comment_raw FROM responses WHERE idempotency_key = 'p-1'") == kMasked);
        CHECK(citizen.one<std::string>(
                  "SELECT comment_raw FROM responses WHERE idempotency_key = 'p-2'") ==
              "Cán bộ gọi *** mãi không nghe");
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM answers WHERE value_text LIKE "
                                        "'%0912%'") == 0);
        CHECK(citizen.one<std::string>("SELECT summary FROM cases WHERE code = '" +
                                       citizen.openCase + "'") != "");
        CHECK(citizen.one<std::int64_t>("SELECT COUNT(*) FROM case_sources WHERE words LIKE "
                                        "'%***%'") == 1);
        // Once done, a period is not swept again.
        r = rt.personalData().sweep(all);
        CHECK(r.texts == 0);
        CHECK(r.caseContacts == 0);

        // Deleting instead of masking, for what arrives later.
        citizen.rate("p-3", "", "Liên hệ 0912345678");
        all.textBeforeMs = nowMs() + 1;
        all.deleteText = true;
        r = rt.personalData().sweep(all);
        CHECK(r.texts >= 1);
        CHECK(citizen.one<std::string>(
                  "SELECT comment_raw FROM responses WHERE idempotency_key = 'p-3'") == "");
    });
}
