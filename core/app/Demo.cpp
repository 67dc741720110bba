#include "app/Demo.h"

#include "app/Runtime.h"
#include "common/Clock.h"
#include "directory/DirectoryStore.h"

#include <hailong/Ingest.h>
#include <hailong/Problem.h>

#include <Poco/DateTime.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Nullable.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iomanip>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace hailong {
namespace {

using namespace Poco::Data::Keywords;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::int64_t kHour = 3600LL * 1000, kDay = 24 * kHour;
constexpr std::int64_t kVietnam = 7 * kHour;

struct Unit {
    std::string code, name;
    std::vector<std::string> fields;  // departments: fields handled; communes: empty (commune tier)
    std::vector<std::string> counters, officers;
    double quality = 0;  // how well this unit serves (shifts the ratings)
};

struct ProcedureSeed {
    std::string code, field, tier;
    int days = 0;
};

class Generator {
public:
    explicit Generator(std::uint32_t seed) : rng_(seed) {}
    double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
    std::size_t below(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[below(v.size())];
    }
    double normal(double mean, double sd) {
        return std::normal_distribution<double>(mean, sd)(rng_);
    }

private:
    std::mt19937 rng_;
};

std::vector<std::string> strings(const Array::Ptr& a) {
    std::vector<std::string> out;
    if (a)
        for (const auto& v : *a) out.push_back(v.toString());
    return out;
}

// Skips Saturdays and Sundays.
std::int64_t addWorkingDays(std::int64_t ms, int days) {
    while (days > 0) {
        ms += kDay;
        const int dow = Poco::DateTime(Poco::Timestamp((ms + kVietnam) * 1000)).dayOfWeek();
        if (dow != 0 && dow != 6) --days;
    }
    return ms;
}

// The same moment if it falls in working hours (Monday to Friday, 7:30 to 17:00, Vietnam
// time), else a moment in the next working day's hours: results are handed out at the desk.
std::int64_t inWorkingHours(std::int64_t ms, double where) {
    const std::int64_t local = ms + kVietnam;
    const std::int64_t minute = (local % kDay) / 60000;
    const int dow = Poco::DateTime(Poco::Timestamp(local * 1000)).dayOfWeek();
    if (dow != 0 && dow != 6 && minute >= 7 * 60 + 30 && minute < 17 * 60) return ms;
    std::int64_t dayStart = ms - local % kDay;  // local midnight, as epoch ms
    if (minute >= 7 * 60 + 30 || dow == 0 || dow == 6) dayStart = addWorkingDays(dayStart, 1);
    return dayStart + 7 * kHour + 30 * 60000 + static_cast<std::int64_t>(where * 9.5 * kHour);
}

// How the hour of the week weighs on citizens' moods: Monday mornings and Friday afternoons
// crowd the desks.
double crowding(std::int64_t ms) {
    const std::int64_t local = ms + kVietnam;
    const int hour = static_cast<int>((local % kDay) / kHour);
    const int dow = Poco::DateTime(Poco::Timestamp(local * 1000)).dayOfWeek();
    if (dow == 1 && hour >= 8 && hour < 11) return 0.45;
    if (dow == 5 && hour >= 14) return 0.3;
    if (hour == 11 || hour == 16) return 0.15;
    return 0;
}

std::string dossierCode(const std::string& agency, std::int64_t receivedMs, std::size_t seq) {
    Poco::DateTime d(Poco::Timestamp((receivedMs + kVietnam) * 1000));
    std::ostringstream out;
    out << agency << '-' << std::setfill('0') << std::setw(2) << d.year() % 100 << std::setw(2)
        << d.month() << std::setw(2) << d.day() << '-' << std::setw(5) << seq;
    return out.str();
}

// The SIPAS 2017 criteria and how each tends to be rated against the citizen's mood (seats and
// feedback handling lower, officers' manners higher, as provincial reports describe).
const std::vector<std::pair<std::string, double>> kSipasCriteria{
    {"access_seats", -0.35},
    {"access_equipment_sufficient", -0.2},
    {"access_equipment_modern", -0.3},
    {"access_equipment_easy", -0.15},
    {"procedure_posted_full", 0.1},
    {"procedure_posted_accurate", 0.1},
    {"procedure_dossier", 0},
    {"procedure_fees", 0.15},
    {"procedure_time", -0.1},
    {"officer_polite", 0.25},
    {"officer_listens", 0.2},
    {"officer_explains", 0.15},
    {"officer_guides", 0.15},
    {"officer_guidance_clear", 0.1},
    {"officer_rules", 0.2},
    {"result_as_prescribed", 0.2},
    {"result_complete", 0.15},
    {"result_accurate", 0.2},
    {"feedback_channel", -0.25},
    {"feedback_easy", -0.3},
    {"feedback_handled", -0.4},
    {"feedback_notified", -0.45}};

const std::vector<std::string> kNegativeComments{
    "Phải đi lại nhiều lần mới xong hồ sơ.",
    "Tra ket qua cham hon lich hen 3 ngay",
    "Cán bộ hướng dẫn chưa rõ ràng, phải bổ sung giấy tờ hai lần.",
    "Chờ đợi quá lâu, quầy đông người.",
    "thai do can bo chua nhiet tinh",
    "Không được thông báo khi hồ sơ bị trễ hẹn.",
    "Phòng chờ nóng, thiếu ghế ngồi.",
};
const std::vector<std::string> kPositiveComments{
    "Cán bộ nhiệt tình, hướng dẫn chu đáo.",
    "Nhanh gọn, đúng hẹn. Cảm ơn!",
    "rat hai long",
    "Thủ tục đơn giản hơn trước nhiều.",
};

const std::vector<std::string> kAnswers{
    "UBND đã kiểm tra, nhắc nhở công chức tiếp nhận; xin lỗi Ông/Bà về sự chậm trễ.",
    "Hồ sơ của Ông/Bà đã được giải quyết xong; mời Ông/Bà nhận kết quả tại quầy số 1.",
    "Bộ phận một cửa đã bổ sung ghế chờ và bố trí thêm người hướng dẫn vào giờ cao điểm.",
    "Khoản thu là lệ phí theo quy định; biên lai đã được gửi kèm kết quả. Cảm ơn Ông/Bà.",
    "Cơ quan ghi nhận góp ý và đã đăng hướng dẫn chi tiết thủ tục trên Cổng dịch vụ công.",
};

// A year of cases as an agency that keeps up would leave them: those opened before the last
// fortnight answered (most within their deadline, some late), rated by most citizens and
// closed, a few closed as repeats; the recent ones partly answered, the rest waiting.
std::size_t settleDemoCases(Runtime& rt, Generator& g, std::int64_t today) {
    return rt.database().write([&](Poco::Data::Session& s) {
        // Opened when the citizen rated (the demo stores a year at once), due by the agency's
        // deadline in working days from then.
        std::vector<std::int64_t> ids, agencies, opened, due;
        s << "SELECT c.id, c.agency_id, MIN(r.answered_at) FROM cases c JOIN case_sources cs ON "
             "cs.case_id = c.id JOIN responses r ON r.id = cs.response_id GROUP BY c.id, "
             "c.agency_id ORDER BY c.id",
            into(ids), into(agencies), into(opened), now;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            std::int64_t id = ids[i], at = opened[i];
            due.push_back(
                rt.cases().calendar().deadlineMs(at, rt.cases().policy(agencies[i]).workingDays));
            std::int64_t dueAt = due[i];
            s << "UPDATE cases SET opened_at = $1, due_at = $2, updated_at = $3 WHERE id = $4",
                bind(at), bind(dueAt), bind(at), use(id), now;
            s << "UPDATE case_sources SET received_at = $1 WHERE case_id = $2", bind(at), use(id),
                now;
            s << "UPDATE case_events SET at = $1 WHERE case_id = $2", bind(at), use(id), now;
        }
        for (std::size_t i = 0; i < ids.size(); ++i) {
            std::int64_t id = ids[i];
            const bool old = opened[i] < today - 14 * kDay;
            if (!old && g.uniform() < 0.6) continue;  // still waiting for its answer
            std::string actor = "user:demo", answer = g.pick(kAnswers), verdict, note;
            std::int64_t answered =
                opened[i] + static_cast<std::int64_t>((0.15 + g.uniform() * (old ? 1.05 : 0.5)) *
                                                      static_cast<double>(due[i] - opened[i]));
            answered = std::min(answered, today - kHour);
            if (old && g.uniform() < 0.03) {  // the same complaint twice: closed as a repeat
                note = "Trùng nội dung với phản ánh trước của cùng hồ sơ.";
                std::int64_t at = opened[i] + kDay;
                std::string action = "closed";
                s << "UPDATE cases SET status = 'closed', closed_at = $1, contact = '', "
                     "updated_at = $2 WHERE id = $3",
                    bind(at), bind(at), use(id), now;
                s << "INSERT INTO case_events (case_id, at, actor, action, detail) VALUES ($1, "
                     "$2, $3, $4, $5)",
                    use(id), bind(at), use(actor), use(action), use(note), now;
                continue;
            }
            const double r = g.uniform();
            verdict = r < 0.7 ? "satisfied" : r < 0.85 ? "unsatisfied" : "";
            std::string status = old ? "closed" : "answered";
            Poco::Nullable<std::int64_t> verdictAt, closedAt;
            if (!verdict.empty()) verdictAt = answered + 3 * kHour;
            if (old) closedAt = answered + 2 * kDay;
            s << "UPDATE cases SET status = $1, answer = $2, answered_by = $3, answered_at = $4, "
                 "answer_queued_at = $5, verdict = $6, verdict_at = $7, closed_at = $8, "
                 "contact = CASE WHEN $9 = 1 THEN '' ELSE contact END, updated_at = $10 WHERE "
                 "id = $11",
                use(status), use(answer), use(actor), bind(answered), bind(answered), use(verdict),
                use(verdictAt), use(closedAt), bind(old ? 1 : 0), bind(answered), use(id), now;
            std::vector<std::tuple<std::int64_t, std::string, std::string, std::string>> events{
                {answered, actor, "answered", answer}};
            if (!verdict.empty())
                events.emplace_back(answered + 3 * kHour, "citizen:sms", "rated", verdict);
            if (old) events.emplace_back(answered + 2 * kDay, actor, "closed", "");
            for (auto& [at, who, action, detail] : events)
                s << "INSERT INTO case_events (case_id, at, actor, action, detail) VALUES ($1, "
                     "$2, $3, $4, $5)",
                    use(id), bind(at), use(who), use(action), use(detail), now;
        }
        return ids.size();
    });
}

}  // namespace

DemoSummary loadDemo(Runtime& rt, const std::string& seedFile, const DemoOptions& options) {
    DirectoryStore& directory = rt.directory();
    Ingest& ingest = rt.ingest();
    if (directory.count("dossiers") > 0)
        throw std::runtime_error(
            "the database already holds dossiers; the demo needs an empty one");
    Object::Ptr seed;
    {
        Poco::FileInputStream in(seedFile);
        std::string json;
        Poco::StreamCopier::copyToString(in, json);
        seed = Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
    }
    Generator g(options.seed);
    const std::int64_t today = options.nowMs ? options.nowMs : nowMs();
    DemoSummary summary;

    // Names: weighted family names, then middle and given names by sex.
    std::vector<std::string> families;
    for (const auto& f : *seed->getArray("family_names")) {
        auto o = f.extract<Object::Ptr>();
        for (int i = 0; i < o->getValue<int>("weight"); ++i)
            families.push_back(o->getValue<std::string>("name"));
    }
    const auto middleM = strings(seed->getArray("middle_names_male"));
    const auto middleF = strings(seed->getArray("middle_names_female"));
    const auto givenM = strings(seed->getArray("given_names_male"));
    const auto givenF = strings(seed->getArray("given_names_female"));
    const auto titles = strings(seed->getArray("officer_titles"));
    auto personName = [&] {
        const bool male = g.uniform() < 0.5;
        return g.pick(families) + " " + g.pick(male ? middleM : middleF) + " " +
               g.pick(male ? givenM : givenF);
    };

    std::vector<Unit> units;
    std::vector<ProcedureSeed> procedures;
    directory.database().write([&](Poco::Data::Session& s) {
        auto province = seed->getObject("province");
        auto centre = seed->getObject("centre");
        const std::string provinceCode = province->getValue<std::string>("code");
        const std::string centreCode = centre->getValue<std::string>("code");
        directory.save(s, AgencyInput{provinceCode, province->getValue<std::string>("name"), "",
                                      "province", "", true});
        directory.save(s,
                       AgencyInput{centreCode, centre->getValue<std::string>("name"), provinceCode,
                                   "centre", centre->optValue<std::string>("address", ""), true});
        summary.agencies = 2;
        for (const auto& d : *seed->getArray("departments")) {
            auto o = d.extract<Object::Ptr>();
            Unit u{o->getValue<std::string>("code"),
                   o->getValue<std::string>("name"),
                   strings(o->getArray("fields")),
                   {},
                   {},
                   g.normal(0, 0.6)};
            directory.save(s, AgencyInput{u.code, u.name, centreCode, "department", "", true});
            units.push_back(std::move(u));
        }
        for (const auto& c : *seed->getArray("communes")) {
            auto o = c.extract<Object::Ptr>();
            Unit u{o->getValue<std::string>("code"),
                   o->getValue<std::string>("name"),
                   {},
                   {},
                   {},
                   g.normal(0, 0.6)};
            directory.save(s, AgencyInput{u.code, u.name, provinceCode, "commune", "", true});
            units.push_back(std::move(u));
        }
        summary.agencies += units.size();
        for (Unit& u : units) {
            const bool department = !u.fields.empty();
            const int counters = department ? 1 + static_cast<int>(g.below(2)) : 2;
            for (int i = 1; i <= counters; ++i) {
                const std::string code = u.code + "-Q" + std::to_string(i);
                directory.save(
                    s, CounterInput{code, "Quầy số " + std::to_string(i) + " – " + u.name, u.code,
                                    true});
                u.counters.push_back(code);
            }
            const int officers =
                department ? 2 + static_cast<int>(g.below(3)) : 3 + static_cast<int>(g.below(2));
            for (int i = 1; i <= officers; ++i) {
                const std::string code = u.code + "-CB" + std::to_string(i);
                directory.save(s, OfficerInput{code, personName(), g.pick(titles), u.code, true});
                u.officers.push_back(code);
            }
            summary.counters += u.counters.size();
            summary.officers += u.officers.size();
        }
        for (const auto& p : *seed->getArray("procedures")) {
            auto o = p.extract<Object::Ptr>();
            ProcedureSeed ps{o->getValue<std::string>("code"), o->getValue<std::string>("field"),
                             o->getValue<std::string>("tier"), o->getValue<int>("days")};
            directory.save(s, ProcedureInput{ps.code, o->getValue<std::string>("name"), ps.field,
                                             o->getValue<std::string>("online"), ps.days, true});
            procedures.push_back(std::move(ps));
        }
        summary.procedures = procedures.size();
    });

    // Which procedures each unit handles.
    std::map<std::string, std::vector<const ProcedureSeed*>> byUnit;
    for (const ProcedureSeed& p : procedures) {
        for (const Unit& u : units) {
            const bool commune = u.fields.empty();
            if ((commune && p.tier == "commune") ||
                (!commune && p.tier == "province" &&
                 std::find(u.fields.begin(), u.fields.end(), p.field) != u.fields.end()))
                byUnit[u.code].push_back(&p);
        }
    }
    std::vector<const Unit*> activeUnits;
    for (const Unit& u : units)
        if (!byUnit[u.code].empty()) activeUnits.push_back(&u);

    // Dossiers over the past year, on working days between 7:30 and 17:00.
    std::vector<Submission> ratings;
    std::map<std::string, std::size_t> sequence;
    directory.database().write([&](Poco::Data::Session& s) {
        for (std::size_t i = 0; i < options.dossiers; ++i) {
            const Unit& u = *activeUnits[g.below(activeUnits.size())];
            const ProcedureSeed& p = *g.pick(byUnit[u.code]);
            std::int64_t dayStart = today - static_cast<std::int64_t>(g.below(365)) * kDay;
            dayStart -= (dayStart + kVietnam) % kDay;  // local midnight
            const int dow =
                Poco::DateTime(Poco::Timestamp((dayStart + kVietnam) * 1000)).dayOfWeek();
            if (dow == 0 || dow == 6) dayStart = addWorkingDays(dayStart, 1);
            const std::int64_t received = dayStart - kVietnam + 7 * kHour + 30 * 60000 +
                                          static_cast<std::int64_t>(g.uniform() * 9.5 * kHour);
            const std::int64_t due = addWorkingDays(received, std::max(p.days, 0));
            DossierInput d;
            d.code = dossierCode(u.code, received, ++sequence[u.code]);
            d.agencyCode = u.code;
            d.procedureCode = p.code;
            d.counterCode = g.pick(u.counters);
            d.officerCode = g.pick(u.officers);
            d.receivedAtMs = received;
            d.dueAtMs = due;
            if (g.uniform() < 0.7) d.phone = "09" + std::to_string(10000000 + g.below(89999999));
            // Most are returned on time; some late; recent ones may still be in progress.
            const double lateness = g.uniform();
            std::int64_t returned =
                lateness < 0.88
                    ? received + static_cast<std::int64_t>(
                                     g.uniform() * static_cast<double>(std::max<std::int64_t>(
                                                       due - received, kHour)))
                    : due + static_cast<std::int64_t>(1 + g.below(6)) * kDay;
            returned = inWorkingHours(returned, g.uniform());
            if (returned < today) {
                d.returnedAtMs = returned;
                d.status = "returned";
            } else {
                d.status = g.uniform() < 0.1 ? "supplement" : "received";
            }
            directory.save(s, d);
            ++summary.dossiers;
            if (!d.returnedAtMs || g.uniform() >= options.ratedShare) continue;

            // The citizen's rating: worse for late dossiers and weaker units.
            const bool late = *d.returnedAtMs > due;
            const double mood = 1.25 + u.quality * 0.35 - (late ? 1.1 : 0) -
                                crowding(*d.returnedAtMs) + g.normal(0, 0.8);
            const int rating = mood < 0.35 ? 1 : mood < 1.55 ? 2 : 3;
            Submission sub;
            const double channel = g.uniform();
            sub.channel = channel < 0.6 ? "counter" : channel < 0.85 ? "sms" : "web";
            sub.idempotencyKey = "demo:" + d.code;
            sub.surveyId = "counter-quick";
            sub.dossierCode = d.code;
            sub.answeredAtMs =
                *d.returnedAtMs +
                (sub.channel == "counter" ? 60000 : static_cast<std::int64_t>(g.below(48)) * kHour);
            if (sub.answeredAtMs > today) sub.answeredAtMs = today;
            sub.answers.push_back({"rating", static_cast<double>(rating), {}, ""});
            if (rating == 1) {
                Answer reasons{"reasons", std::nullopt, {}, ""};
                reasons.choices.push_back(late ? "late"
                                               : g.pick(std::vector<std::string>{
                                                     "attitude", "guidance", "fees", "waiting"}));
                sub.answers.push_back(reasons);
                if (g.uniform() < 0.5) sub.comment = g.pick(kNegativeComments);
            } else if (rating == 3 && g.uniform() < 0.08) {
                sub.comment = g.pick(kPositiveComments);
            }
            ratings.push_back(std::move(sub));

            // One citizen in six also fills in the SIPAS questionnaire on the web: 22 criteria
            // on the five-level scale, moved by the same mood and by each element's own level.
            if (g.uniform() < 1.0 / 6) {
                Submission sipas;
                sipas.channel = "web";
                sipas.idempotencyKey = "demo-sipas:" + d.code;
                sipas.surveyId = "sipas-2017";
                sipas.dossierCode = d.code;
                sipas.answeredAtMs = std::min(
                    today, *d.returnedAtMs + static_cast<std::int64_t>(1 + g.below(72)) * kHour);
                for (const auto& [question, offset] : kSipasCriteria) {
                    const double level = 3.7 + mood * 0.55 + offset + g.normal(0, 0.75);
                    const int answer = std::clamp(static_cast<int>(std::lround(level)), 1, 5);
                    sipas.answers.push_back({question, static_cast<double>(answer), {}, ""});
                }
                ratings.push_back(std::move(sipas));
            }
        }
    });

    // Ratings through the one ingest path, from several threads so that commits are grouped.
    std::atomic<std::size_t> next{0}, stored{0};
    std::exception_ptr failure;
    std::mutex failureMutex;
    std::vector<std::thread> workers;
    for (int t = 0; t < 16; ++t) {
        workers.emplace_back([&] {
            try {
                for (std::size_t i = next++; i < ratings.size(); i = next++)
                    if (!ingest.submit(ratings[i]).duplicate) ++stored;
            } catch (...) {
                std::lock_guard lock(failureMutex);
                if (!failure) failure = std::current_exception();
                next = ratings.size();
            }
        });
    }
    for (auto& w : workers) w.join();
    if (failure) std::rethrow_exception(failure);
    summary.responses = stored;
    summary.cases = settleDemoCases(rt, g, today);
    return summary;
}

}  // namespace hailong
