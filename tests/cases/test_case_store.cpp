// Follow-up cases: which responses open one, merging per dossier, deadlines, the official's
// workflow, the answer sent back, escalation, and Decision 766's feedback ratios computed by hand.
// On SQLite and PostgreSQL.
#include "cases/CaseStore.h"
#include "common/Clock.h"
#include "common/Utf8.h"
#include "index/Periods.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

using namespace hailong;
using namespace Poco::Data::Keywords;

namespace {

constexpr std::int64_t kDayMs = 86400000;

// A dossier of `agency`, received now, handed in with `phone`.
void dossier(Runtime& rt, const std::string& code, const std::string& agency,
             const std::string& phone = "") {
    DossierInput d;
    d.code = code;
    d.agencyCode = agency;
    d.receivedAtMs = nowMs() - kDayMs;
    d.phone = phone;
    rt.directory().save(d);
}

Receipt rate(Runtime& rt, const std::string& key, const std::string& agency, int score,
             const std::string& comment, const std::string& reason = "",
             const std::string& dossierCode = "", const std::string& survey = "sms-quick") {
    Submission s;
    s.idempotencyKey = key;
    s.surveyId = survey;
    s.channel = "web";
    s.agencyCode = dossierCode.empty() ? agency : "";
    s.dossierCode = dossierCode;
    s.answers.push_back({"rating", score, {}, ""});
    if (!reason.empty()) s.answers.push_back({"reason", std::nullopt, {reason}, ""});
    if (!comment.empty()) s.answers.push_back({"comment", std::nullopt, {}, comment});
    return rt.ingest().submit(s);
}

// The lowest of counter-quick's three faces, with `more` (its reasons or its comment); the receipt.
std::string unhappyAtCounter(Runtime& rt, const std::string& key, const std::string& agency,
                             const std::string& dossierCode, const Answer& more) {
    Submission s;
    s.idempotencyKey = key;
    s.surveyId = "counter-quick";
    s.channel = "counter";
    s.agencyCode = agency;
    s.dossierCode = dossierCode;
    s.answers.push_back({"rating", std::nullopt, {"1"}, ""});
    s.answers.push_back(more);
    return rt.ingest().submit(s).code;
}

std::int64_t casesIn(Runtime& rt) {
    return rt.database().read([](Poco::Data::Session& s) {
        std::int64_t n = 0;
        s << "SELECT COUNT(*) FROM cases", into(n), now;
        return n;
    });
}

std::vector<std::string> outboxKeys(Runtime& rt, const std::string& prefix) {
    return rt.database().read([&](Poco::Data::Session& s) {
        std::vector<std::string> keys;
        std::string like = prefix + "%";
        s << "SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE $1 ORDER BY id", use(like),
            into(keys), now;
        return keys;
    });
}

Complaint complaintAbout(const std::string& dossierCode, const std::string& text,
                         std::int64_t atMs = 0) {
    Complaint c;
    c.channel = "sms";
    c.dossierCode = dossierCode;
    c.text = text;
    c.contact = "+84912000111";
    c.receivedAtMs = atMs;
    return c;
}

}  // namespace

TEST_CASE("cases: which responses open one", "[cases]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        auto& cases = rt.cases();
        // A low rating with words opens a case; their text is kept normalized.
        const Receipt r1 = rate(rt, "o-1", "XA", 2, "Cán bộ  hướng dẫn không rõ ràng");
        auto c1 = cases.ofReceipt(r1.code);
        REQUIRE(c1);
        CHECK(c1->status == "new");
        const auto full = cases.findByCode(c1->code);
        REQUIRE(full);
        CHECK(full->kind == "rating");
        CHECK(full->agencyCode == "XA");
        CHECK(full->summary == "Cán bộ hướng dẫn không rõ ràng");
        REQUIRE(full->sources.size() == 1);
        CHECK(full->sources[0].receipt == r1.code);
        // A low rating with a reason and no words opens one too, the reason's label as its words.
        const Receipt r2 = rate(rt, "o-2", "XA", 1, "", "waiting");
        const auto c2 = cases.ofReceipt(r2.code);
        REQUIRE(c2);
        CHECK(cases.findByCode(c2->code)->sources[0].reason == "Chờ lâu");
        // Nothing said, a rating above the level, or no agency: no case.
        CHECK_FALSE(cases.ofReceipt(rate(rt, "o-3", "XA", 1, "").code));
        CHECK_FALSE(cases.ofReceipt(rate(rt, "o-4", "XA", 3, "Bình thường thôi").code));
        CHECK_FALSE(cases.ofReceipt(rate(rt, "o-5", "", 1, "Tệ quá").code));
        // The same submission again stores nothing and opens nothing more.
        CHECK(rate(rt, "o-1", "XA", 2, "Cán bộ  hướng dẫn không rõ ràng").duplicate);
        CHECK(casesIn(rt) == 2);
        // A three-point scale: its lowest point is 1 of 5; its reasons are a multiple choice.
        const auto c6 =
            cases.ofReceipt(unhappyAtCounter(rt, "o-6", "XB", "", {"reasons", {}, {"late"}, ""}));
        REQUIRE(c6);
        CHECK(cases.findByCode(c6->code)->agencyCode == "XB");

        // An agency's own level, inherited below it: PT at 0 opens no case by rating in XA.
        const auto pt = rt.directory().agency("PT");
        const cases::CasePolicy before = cases.policy(rt.directory().agency("XA")->id);
        CHECK(before.setAt.empty());
        CHECK(before.workingDays == 10);
        cases.setPolicy(pt->id, "5", "0", "test");
        const cases::CasePolicy inherited = cases.policy(rt.directory().agency("XA")->id);
        CHECK(inherited.setAt == "PT");
        CHECK(inherited.workingDays == 5);
        CHECK_FALSE(cases.ofReceipt(rate(rt, "o-7", "XA", 1, "Rất tệ").code));
        const Problem bad = test::problemOf([&] { cases.setPolicy(pt->id, "0", "6", "test"); });
        CHECK(bad.status() == 422);
        CHECK(test::hasError(bad.errors(), "working_days", "field.range"));
        CHECK(test::hasError(bad.errors(), "rating_at_or_below", "cases.bad_level"));

        // A complaint question opens a case whatever the rating.
        dossier(rt, "HS-Q1", "XB");
        Submission web;
        web.idempotencyKey = "o-8";
        web.surveyId = "phan-anh";
        web.channel = "web";
        web.dossierCode = "HS-Q1";
        web.answers.push_back({"dossier", std::nullopt, {}, "HS-Q1"});
        web.answers.push_back({"complaint", std::nullopt, {}, "Hồ sơ trễ hẹn 3 ngày"});
        const auto c8 = cases.ofReceipt(rt.ingest().submit(web).code);
        REQUIRE(c8);
        CHECK(c8->dossierCode == "HS-Q1");
        CHECK(cases.findByCode(c8->code)->kind == "complaint");
        // Its deadline: 5 working days from today, as PT says.
        CHECK(c8->dueAtMs == cases.calendar().deadlineMs(c8->openedAtMs, 5));
    });
}

TEST_CASE("cases: one open case per dossier gathers what is said of it", "[cases]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        auto& cases = rt.cases();
        dossier(rt, "HS-M1", "XA", "0912000111");
        const auto a = cases.ofReceipt(rate(rt, "m-1", "", 1, "Chờ quá lâu", "", "HS-M1").code);
        REQUIRE(a);
        // A rating of another survey about the same dossier joins it, and so does a complaint.
        const auto b = cases.ofReceipt(
            unhappyAtCounter(rt, "m-2", "", "HS-M1", {"comment", {}, {}, "Thái độ không tốt"}));
        REQUIRE(b);
        CHECK(b->code == a->code);
        Complaint sms = complaintAbout("HS-M1", "PA: chưa nhận được kết quả");
        sms.idempotencyKey = "sms:kannel:42";
        const CaseView joined = cases.complain(sms);
        CHECK(joined.code == a->code);
        CHECK(joined.joined);
        // The gateway's retry of that message joins nothing more.
        CHECK(cases.complain(sms).code == a->code);
        const auto whole = cases.findByCode(a->code);
        REQUIRE(whole);
        CHECK(whole->sources.size() == 3);
        CHECK(whole->hasContact);  // the dossier's phone: the answer can go by SMS
        CHECK(casesIn(rt) == 1);
        // Once answered, a new complaint about the dossier is a new case.
        cases.answer(whole->id, "Đã xử lý, xin lỗi Ông/Bà.", "user:test");
        const CaseView next = cases.complain(complaintAbout("HS-M1", "Lại chậm"));
        CHECK(next.code != a->code);
        CHECK_FALSE(next.joined);
        // A complaint must say something, about a dossier that exists.
        const Problem empty =
            test::problemOf([&] { cases.complain(complaintAbout("HS-M1", " ")); });
        CHECK(test::hasError(empty.errors(), "text", "field.required"));
        const Problem unknown =
            test::problemOf([&] { cases.complain(complaintAbout("HS-NONE", "Chậm")); });
        CHECK(test::hasError(unknown.errors(), "dossier", "directory.unknown_reference"));
    });
}

TEST_CASE("cases: deadlines in working days, across a weekend and holidays", "[cases]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            dossier(rt, "HS-D1", "XA");
            rt.cases().setPolicy(rt.directory().agency("XA")->id, "5", "2", "test");
            // Received on Friday 24/04/2026 at 16:00 (Vietnam): Mon 27, Tue 28, Wed 29, then
            // the holidays of 30/4 and 1/5, the weekend, Mon 4, Tue 5: due at the end of 5/5.
            const std::int64_t friday =
                index::dayStartMs(*index::parseDay("2026-04-24")) + 16 * 3600000LL;
            const CaseView c = rt.cases().complain(complaintAbout("HS-D1", "Chậm", friday));
            CHECK(c.dueAtMs == index::dayStartMs(*index::parseDay("2026-05-06")) - 1);
            CHECK(hailong::dayText(c.dueAtMs) == "05/05/2026");
        },
        false, {{"cases.holidays", "2026-04-30..2026-05-01"}});
}

TEST_CASE("cases: assigned, answered by SMS, rated by the citizen, closed", "[cases]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        auto& cases = rt.cases();
        dossier(rt, "HS-W1", "XA");
        const CaseView opened = cases.complain(complaintAbout("HS-W1", "Phải đi lại nhiều lần"));
        const auto c = cases.findByCode(opened.code);
        REQUIRE(c);
        const User official =
            rt.users().add({"can.bo.xa", "Cán bộ Xã A", "official", "XA"}, "mat-khau-dai-1", false);
        CHECK(cases.assign(c->id, official.id, "Cán bộ Xã A", "user:admin").status == "assigned");
        CHECK(cases.start(c->id, "user:can.bo.xa").status == "in_progress");
        // An answer of nothing, or of more than 1,000 characters, is refused.
        CHECK(test::problemOf([&] { cases.answer(c->id, "  ", "user:can.bo.xa"); }).status() ==
              422);
        CHECK(test::problemOf([&] {
                  cases.answer(c->id, std::string(1001, 'a'), "user:can.bo.xa");
              }).status() == 422);
        const cases::Case answered =
            cases.answer(c->id, "Cơ quan đã rút ngắn quy trình.", "user:can.bo.xa");
        CHECK(answered.status == "answered");
        CHECK(answered.answeredAtMs);
        // The answer is queued for the citizen's phone, with the case's code in its key.
        const auto keys = outboxKeys(rt, "case-answer:");
        REQUIRE(keys.size() == 1);
        CHECK(keys[0] == "case-answer:" + c->code + ":1");
        const std::string body = rt.database().read([&](Poco::Data::Session& s) {
            std::string b, recipient, key = keys[0];
            s << "SELECT body, recipient FROM outbox WHERE dedupe_key = $1", use(key), into(b),
                into(recipient), now;
            CHECK(recipient == "+84912000111");
            return b;
        });
        CHECK(body.find("Cơ quan đã rút ngắn quy trình.") != std::string::npos);
        CHECK(body.find(c->code) != std::string::npos);
        // Assigning an answered case is refused; the citizen's first rating stands.
        CHECK(test::problemOf([&] { cases.assign(c->id, official.id, "x", "user:x"); }).status() ==
              409);
        CHECK(cases.rateAnswer(c->code, false, "sms"));
        CHECK_FALSE(cases.rateAnswer(c->code, true, "sms"));
        CHECK(cases.findByCode(c->code)->verdict == "unsatisfied");
        // Closed: the phone is erased and nothing changes any more.
        const cases::Case closed = cases.close(c->id, "", "user:can.bo.xa");
        CHECK(closed.status == "closed");
        CHECK_FALSE(closed.hasContact);
        CHECK(test::problemOf([&] { cases.note(c->id, "x", "user:x"); }).status() == 409);
        std::vector<std::string> actions;
        for (const auto& e : closed.events) actions.push_back(e.action);
        CHECK(actions == std::vector<std::string>{"opened", "assigned", "started", "answered",
                                                  "rated", "closed"});
        // A long answer is cut to five UCS-2 parts (335 characters), its question kept at the end.
        const CaseView longer = cases.complain(complaintAbout("HS-W1", "Lần nữa"));
        std::string words;
        while (utf8::length(words) < 900) words += "Cơ quan đã xem xét kỹ hồ sơ của Ông/Bà. ";
        cases.answer(cases.findByCode(longer.code)->id, words, "user:x");
        const std::string cut = rt.database().read([&](Poco::Data::Session& s) {
            std::string b, key = "case-answer:" + longer.code + ":1";
            s << "SELECT body FROM outbox WHERE dedupe_key = $1", use(key), into(b), now;
            return b;
        });
        CHECK(utf8::length(cut) <= 335);
        CHECK(utf8::length(cut) > 300);
        CHECK(cut.find("…") != std::string::npos);
        CHECK(cut.ends_with("2 neu chua hai long."));
        CHECK(cases.findByCode(longer.code)->answer == words.substr(0, words.size() - 1));
        // Closing an unanswered case needs its reason.
        const CaseView other = cases.complain(complaintAbout("HS-W1", "Không liên quan"));
        const auto o = cases.findByCode(other.code);
        CHECK(test::problemOf([&] { cases.close(o->id, "", "user:x"); }).status() == 422);
        CHECK(cases.close(o->id, "Không thuộc thẩm quyền", "user:x").status == "closed");
    });
}

TEST_CASE("cases: overdue ones go up to the parent agency, once, with notices", "[cases]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        auto& cases = rt.cases();
        dossier(rt, "HS-E1", "XA");
        dossier(rt, "HS-E2", "XA");
        AlertRuleInput rule;
        rule.agencyCode = "PT";
        rule.kind = "unhappy_share";
        rule.threshold = "30";
        rule.window = "60";
        rule.minN = "10";
        rule.recipients = "lanh.dao@pt.gov.vn, 0987000222";
        rt.alerts().save(0, rule, "test");
        const std::int64_t old = nowMs() - 30 * kDayMs;
        const CaseView late = cases.complain(complaintAbout("HS-E1", "Quá hạn", old));
        const CaseView fresh = cases.complain(complaintAbout("HS-E2", "Mới"));
        const auto escalated = cases.sweep(nowMs());
        REQUIRE(escalated.size() == 1);
        CHECK(escalated[0].code == late.code);
        CHECK(escalated[0].escalatedToName == "Tỉnh Phú Thọ");
        CHECK(escalated[0].events.back().action == "escalated");
        CHECK(outboxKeys(rt, "case-escalated:") ==
              std::vector<std::string>{"case-escalated:" + late.code + ":email:lanh.dao@pt.gov.vn",
                                       "case-escalated:" + late.code + ":sms:+84987000222"});
        // Once: the next sweep finds nothing new.
        CHECK(cases.sweep(nowMs()).empty());
        CHECK_FALSE(cases.findByCode(fresh.code)->escalatedAtMs);
        const auto counts = cases.counts(rt.directory().agency("PT")->path, nowMs());
        CHECK(counts.open == 2);
        CHECK(counts.overdue == 1);
        CHECK(counts.escalated == 1);
        // The subtree of XB sees none of them.
        CHECK(cases.counts(rt.directory().agency("XB")->path, nowMs()).open == 0);
        cases::CaseQuery q;
        q.scopePath = rt.directory().agency("XB")->path;
        CHECK(cases.list(q).empty());
        q.scopePath = rt.directory().agency("XA")->path;
        q.status = "overdue";
        REQUIRE(cases.list(q).size() == 1);
        CHECK(cases.list(q)[0].code == late.code);
    });
}

TEST_CASE("cases: Decision 766 feedback ratios on a dataset computed by hand", "[cases]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        auto& cases = rt.cases();
        for (const char* code : {"HS-A", "HS-B", "HS-C", "HS-D", "HS-E", "HS-F"})
            dossier(rt, code, std::string(code) < "HS-E" ? "XA" : "XB");
        const std::int64_t old = nowMs() - 20 * kDayMs;  // due long ago
        auto open = [&](const char* code, std::int64_t at) {
            return cases.findByCode(cases.complain(complaintAbout(code, "Phản ánh", at)).code)->id;
        };
        // XA: (a) answered on time, satisfied; (b) on time, rated unsatisfied; (c) answered late;
        // (d) still unanswered past its deadline.
        const std::int64_t a = open("HS-A", 0), b = open("HS-B", 0), c = open("HS-C", old);
        open("HS-D", old);
        for (std::int64_t id : {a, b, c}) cases.answer(id, "Đã giải quyết.", "user:x");
        cases.rateAnswer(cases.find(a)->code, true, "web");
        cases.rateAnswer(cases.find(b)->code, false, "web");
        // XB: (e) answered on time, not rated; (f) closed without an answer: outside competence.
        cases.answer(open("HS-E", 0), "Đã giải quyết.", "user:x");
        cases.close(open("HS-F", 0), "Không thuộc thẩm quyền", "user:x");

        index::IndexRequest r{"",
                              "",
                              index::localDay(old) - 1,
                              index::localDay(nowMs()) + 1,
                              std::nullopt,
                              std::nullopt,
                              std::nullopt,
                              std::nullopt,
                              false};
        std::map<std::string, index::Decision766> by;
        for (const auto& d : rt.indices().decision766(r)) by[d.key] = d;
        // XA: 4 received, 2 on time (a, b) = 50%; not unsatisfied nor overdue: a only = 25%.
        CHECK(by["XA"].feedback == 4);
        REQUIRE(by["XA"].feedbackOnTime);
        CHECK(*by["XA"].feedbackOnTime == Approx(50));
        CHECK(*by["XA"].feedbackSatisfied == Approx(25));
        // XB: f is left out; e is on time and not rated unsatisfied.
        CHECK(by["XB"].feedback == 1);
        CHECK(*by["XB"].feedbackOnTime == Approx(100));
        CHECK(*by["XB"].feedbackSatisfied == Approx(100));
        // PT adds them up: 5 received, 3 on time = 60%, 2 good = 40%.
        CHECK(by["PT"].feedback == 5);
        CHECK(*by["PT"].feedbackOnTime == Approx(60));
        CHECK(*by["PT"].feedbackSatisfied == Approx(40));
        // A dossier with a complaint is not satisfied (f is outside competence): XA has 4 of
        // 4 dossiers complained about, XB 1 of 2.
        CHECK(*by["XA"].dossiersSatisfied == Approx(0));
        CHECK(*by["XB"].dossiersSatisfied == Approx(50));
    });
}
