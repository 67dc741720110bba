#include "cases/CaseStore.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "common/Utf8.h"
#include "store/Columns.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <cmath>
#include <map>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong::cases {
namespace {

constexpr std::size_t kMaxWords = 2000;   // characters of a citizen's words kept on a case
constexpr std::size_t kMaxAnswer = 1000;  // characters of an official's answer or note
constexpr std::int64_t kPolicyTtlMs = 30000;

// The words of an official (an answer, a note): 1..kMaxAnswer characters of text.
std::string officialText(const std::string& text, const char* field) {
    const std::string t = utf8::trim(text);
    std::vector<FieldError> errors;
    if (t.empty())
        errors.push_back({field, "field.required", {}});
    else if (utf8::firstInvalid(t) || utf8::firstControl(t))
        errors.push_back({field, "text.control_chars", {{"offset", "0"}}});
    else if (utf8::length(t) > kMaxAnswer)
        errors.push_back({field, "field.too_long", {{"max", std::to_string(kMaxAnswer)}}});
    if (!errors.empty()) throw Problem(422, "cases.invalid", {}, errors);
    return t;
}

// The columns select() reads, in order.
constexpr const char* kColumns =
    "SELECT c.id, c.code, c.kind, c.channel, c.summary, c.topics, c.status, c.agency_id, a.code, "
    "a.name, a.path, o.name, p.name, d.code, c.assignee_id, u.display_name, u.username, "
    "c.contact, c.opened_at, c.due_at, c.updated_at, c.answer, c.answered_by, c.answered_at, "
    "c.closed_at, c.escalated_at, e.name, c.verdict, c.verdict_at FROM cases c JOIN agencies a ON "
    "a.id = c.agency_id LEFT JOIN officers o ON o.id = c.officer_id LEFT JOIN procedures p ON "
    "p.id = c.procedure_id LEFT JOIN dossiers d ON d.id = c.dossier_id LEFT JOIN users u ON u.id "
    "= c.assignee_id LEFT JOIN agencies e ON e.id = c.escalated_to ";

// Not answered and not closed.
constexpr const char* kOpen = "c.answered_at IS NULL AND c.closed_at IS NULL";

}  // namespace

const std::vector<std::string>& caseStatuses() {
    static const std::vector<std::string> all{"new", "assigned", "in_progress", "answered",
                                              "closed"};
    return all;
}

CaseStore::CaseStore(
    Database& db, const Directory& directory, const SurveyCatalog& surveys,
    const TextNormalizer& text, Outbox& outbox, const Messages& messages,
    std::function<std::vector<std::pair<std::string, std::string>>(std::int64_t)> recipientsOf,
    std::function<std::string()> consoleUrl, Options options)
    : db_(db),
      directory_(directory),
      surveys_(surveys),
      text_(text),
      outbox_(outbox),
      messages_(messages),
      recipientsOf_(std::move(recipientsOf)),
      consoleUrl_(std::move(consoleUrl)),
      options_(std::move(options)),
      // The database away: the next sweep does it.
      sweeper_(std::chrono::milliseconds(options_.sweepMs), [this] { sweep(nowMs()); }) {}

CaseStore::~CaseStore() {
    stop();
}

// ---- policies ----------------------------------------------------------------------------

CasePolicy CaseStore::policy(std::int64_t agencyId) const {
    std::map<std::int64_t, CasePolicy> set;
    bool fresh = false;
    {
        std::lock_guard lock(mutex_);
        fresh = policiesReadMs_ != 0 && nowMs() - policiesReadMs_ < kPolicyTtlMs;
        if (fresh) set = policies_;
    }
    if (!fresh) {
        set = db_.read([&](Session& s) {
            std::vector<std::int64_t> agency;
            std::vector<int> days;
            std::vector<double> level;
            std::vector<std::string> code;
            s << "SELECT p.agency_id, p.working_days, p.rating_at_or_below, a.code FROM "
                 "case_policies p JOIN agencies a ON a.id = p.agency_id",
                into(agency), into(days), into(level), into(code), now;
            std::map<std::int64_t, CasePolicy> out;
            for (std::size_t i = 0; i < agency.size(); ++i)
                out[agency[i]] = CasePolicy{days[i], level[i], code[i]};
            return out;
        });
        std::lock_guard lock(mutex_);
        policies_ = set;
        policiesReadMs_ = nowMs();
    }
    // The nearest agency on the way up that set one.
    auto agency = directory_.agencyById(agencyId);
    if (!agency) return options_.defaults;
    std::string path = agency->path;  // "/1/7/12/"
    while (path.size() > 1) {
        path.pop_back();
        const auto slash = path.rfind('/');
        const std::int64_t id = std::stoll(path.substr(slash + 1));
        if (auto it = set.find(id); it != set.end()) return it->second;
        path.resize(slash + 1);
    }
    return options_.defaults;
}

CasePolicy CaseStore::setPolicy(std::int64_t agencyId, const std::string& days,
                                const std::string& level, const std::string& actor) {
    std::vector<FieldError> errors;
    auto number = [](const std::string& text) -> std::optional<double> {
        const std::string t = utf8::trim(text);
        try {
            std::size_t used = 0;
            const double v = std::stod(t, &used);
            if (used == t.size() && std::isfinite(v)) return v;
        } catch (const std::exception&) {
        }
        return std::nullopt;
    };
    const auto d = number(days), l = number(level);
    if (!d || *d < 1 || *d > 60 || std::floor(*d) != *d)
        errors.push_back({"working_days", "field.range", {{"min", "1"}, {"max", "60"}}});
    if (!l || *l < 0 || *l > 5) errors.push_back({"rating_at_or_below", "cases.bad_level", {}});
    if (!errors.empty()) throw Problem(422, "cases.invalid", {}, errors);
    int wd = static_cast<int>(*d);
    double lv = *l;
    std::string who = actor;
    const std::int64_t at = nowMs();
    db_.write([&](Session& s) {
        s << "DELETE FROM case_policies WHERE agency_id = $1", use(agencyId), now;
        s << "INSERT INTO case_policies (agency_id, working_days, rating_at_or_below, updated_by, "
             "updated_at) VALUES ($1, $2, $3, $4, $5)",
            use(agencyId), use(wd), use(lv), use(who), bind(at), now;
    });
    {
        std::lock_guard lock(mutex_);
        policiesReadMs_ = 0;
    }
    return policy(agencyId);
}

// ---- opening -----------------------------------------------------------------------------

std::optional<CaseSeed> CaseStore::seed(const Survey& survey, const Submission& sub,
                                        std::optional<std::int64_t> agencyId,
                                        const std::string& feedbackText,
                                        const std::string& topics) const {
    if (!agencyId) return std::nullopt;  // a case belongs to an agency
    std::string complaint;
    std::optional<double> lowest;  // on a five-point scale
    std::string reason;
    for (const Answer& a : sub.answers) {
        const Question* q = survey.question(a.question);
        if (!q) continue;
        if (q->type == QuestionType::Complaint && !utf8::trim(a.text).empty()) {
            complaint += (complaint.empty() ? "" : "\n") + utf8::trim(a.text);
        } else if (q->type == QuestionType::Rating && q->max > q->min) {
            // By its number, or by the scale point chosen.
            std::optional<double> value = a.number;
            if (!value && !a.choices.empty())
                if (const QuestionOption* o = q->option(a.choices.front())) value = o->value;
            if (!value) continue;
            const double five = 1 + (*value - q->min) / (q->max - q->min) * 4;
            lowest = std::min(lowest.value_or(five), five);
        } else if ((q->type == QuestionType::SingleChoice ||
                    q->type == QuestionType::MultipleChoice) &&
                   q->showIf && !a.choices.empty()) {
            // Reasons asked after a rating ("Vì sao?"): their labels say why.
            const Question* after = survey.question(q->showIf->question);
            if (!after || after->type != QuestionType::Rating) continue;
            for (const std::string& choice : a.choices)
                if (const QuestionOption* o = q->option(choice))
                    reason += (reason.empty() ? "" : ", ") +
                              (o->label.count("vi") ? o->label.at("vi") : o->id);
        }
    }
    if (!complaint.empty()) {
        std::string words = text_.normalize(complaint);
        if (!utf8::trim(sub.comment).empty())
            words += "\n" + text_.normalize(utf8::trim(sub.comment));
        return CaseSeed{"complaint", utf8::shortened(words, kMaxWords), reason, topics,
                        sub.contact};
    }
    if (!lowest || (feedbackText.empty() && reason.empty())) return std::nullopt;
    if (*lowest > policy(*agencyId).ratingAtOrBelow + 1e-9) return std::nullopt;
    return CaseSeed{"rating", utf8::shortened(feedbackText, kMaxWords), reason, topics,
                    sub.contact};
}

namespace {

struct Opened {
    std::int64_t id = 0;
    bool joined = false;
    bool duplicate = false;
};

// Opens a case or joins the open one of the dossier, in the caller's transaction.
Opened openOrJoin(Session& s, const CaseOrigin& origin, const CaseSeed& seed,
                  const std::string& sourceKey, std::int64_t dueAtMs) {
    Opened out;
    std::string key = sourceKey;
    if (!key.empty()) {
        Poco::Nullable<std::int64_t> seen;
        s << "SELECT case_id FROM case_sources WHERE source_key = $1", use(key), into(seen), now;
        if (!seen.isNull()) return Opened{seen.value(), true, true};
    }
    Poco::Nullable<std::int64_t> agency = *origin.agency, officer, procedure, dossier, response;
    if (origin.officer) officer = *origin.officer;
    if (origin.procedure) procedure = *origin.procedure;
    if (origin.dossier) dossier = *origin.dossier;
    if (origin.responseId) response = origin.responseId;
    std::string contact = seed.contact;
    if (contact.empty() && origin.dossier) {
        // The phone the dossier was handed in with, while the directory keeps it.
        s << "SELECT phone FROM dossiers WHERE id = $1", use(dossier), into(contact), now;
    }
    std::string words = seed.words.empty() ? seed.reason : seed.words;
    std::string channel = origin.channel, kind = seed.kind, topics = seed.topics,
                reason = seed.reason, status = "new";
    const std::int64_t at = origin.receivedAtMs;
    for (int attempt = 0; attempt < 5 && out.id == 0; ++attempt) {
        if (origin.dossier) {
            Poco::Nullable<std::int64_t> open;
            s << "SELECT id FROM cases WHERE dossier_id = $1 AND answered_at IS NULL AND "
                 "closed_at IS NULL",
                use(dossier), into(open), now;
            if (!open.isNull()) {
                out.id = open.value(), out.joined = true;
                // The case answers this citizen too: a contact it lacked is kept.
                if (!contact.empty())
                    s << "UPDATE cases SET contact = $1, updated_at = $2 WHERE id = $3 AND "
                         "contact = ''",
                        use(contact), bind(at), use(out.id), now;
                break;
            }
        }
        std::string code = "PA-" + random::code(7);
        Poco::Nullable<std::int64_t> id;
        s << "INSERT INTO cases (code, kind, channel, agency_id, officer_id, procedure_id, "
             "dossier_id, summary, topics, status, contact, opened_at, due_at, updated_at) VALUES "
             "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING "
             "RETURNING id",
            use(code), use(kind), use(channel), use(agency), use(officer), use(procedure),
            use(dossier), use(words), use(topics), use(status), use(contact), bind(at),
            bind(dueAtMs), bind(at), into(id), now;
        if (!id.isNull()) out.id = id.value();
    }
    if (out.id == 0) throw std::runtime_error("no case code could be drawn");
    s << "INSERT INTO case_sources (case_id, response_id, channel, words, reason, source_key, "
         "received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        use(out.id), use(response), use(channel), use(words), use(reason), use(key), bind(at), now;
    std::string actor = "citizen:" + channel, action = out.joined ? "joined" : "opened";
    s << "INSERT INTO case_events (case_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
        use(out.id), bind(at), use(actor), use(action), use(kind), now;
    return out;
}

}  // namespace

void CaseStore::open(Session& s, const CaseOrigin& origin, const CaseSeed& seed) {
    if (!origin.agency) return;
    const CasePolicy p = policy(*origin.agency);
    openOrJoin(s, origin, seed, "",
               options_.calendar.deadlineMs(origin.receivedAtMs, p.workingDays));
}

CaseView CaseStore::complain(const Complaint& c) {
    std::vector<FieldError> errors;
    const std::string words = utf8::trim(c.text);
    if (words.empty())
        errors.push_back({"text", "field.required", {}});
    else if (utf8::firstInvalid(words) || utf8::firstControl(words))
        errors.push_back({"text", "text.control_chars", {{"offset", "0"}}});
    else if (utf8::length(words) > kMaxWords)
        errors.push_back({"text", "field.too_long", {{"max", std::to_string(kMaxWords)}}});
    if (c.channel.empty() || c.channel.size() > 32)
        errors.push_back({"channel", "field.required", {}});
    if (c.idempotencyKey.size() > 200)
        errors.push_back({"idempotency_key", "submission.key_invalid", {{"max", "200"}}});
    CaseOrigin origin;
    origin.channel = c.channel;
    origin.receivedAtMs = c.receivedAtMs ? c.receivedAtMs : nowMs();
    if (!c.dossierCode.empty()) {
        if (auto d =
                c.dossierCode.size() <= 64 ? directory_.dossier(c.dossierCode) : std::nullopt) {
            origin.dossier = d->id, origin.agency = d->agencyId;
            origin.officer = d->officerId, origin.procedure = d->procedureId;
        } else {
            errors.push_back({"dossier", "directory.unknown_reference", {{"code", c.dossierCode}}});
        }
    } else if (!c.agencyCode.empty()) {
        if (auto a = c.agencyCode.size() <= 64 ? directory_.agency(c.agencyCode) : std::nullopt)
            origin.agency = a->id;
        else
            errors.push_back({"agency", "directory.unknown_reference", {{"code", c.agencyCode}}});
    } else {
        errors.push_back({"dossier", "field.required", {}});
    }
    if (!errors.empty()) throw Problem(422, "cases.invalid", {}, errors);
    CaseSeed seed{"complaint", text_.normalize(words), "", "", c.contact};
    const std::int64_t due =
        options_.calendar.deadlineMs(origin.receivedAtMs, policy(*origin.agency).workingDays);
    const Opened opened =
        db_.write([&](Session& s) { return openOrJoin(s, origin, seed, c.idempotencyKey, due); });
    auto view = this->view(find(opened.id));
    if (!view) throw std::logic_error("a case just stored cannot be read");
    view->joined = opened.joined;
    return *view;
}

// ---- reading -----------------------------------------------------------------------------

std::vector<Case> CaseStore::select(Session& s, const std::string& where,
                                    const std::function<void(Statement&)>& bindAll,
                                    std::size_t limit) const {
    Statement st(s);
    st << std::string(kColumns) + "WHERE " + where +
              " ORDER BY (CASE WHEN c.answered_at IS NULL AND c.closed_at IS NULL THEN 0 ELSE 1 "
              "END), (CASE WHEN c.answered_at IS NULL AND c.closed_at IS NULL THEN c.due_at ELSE "
              "-c.updated_at END), c.id DESC LIMIT " +
              std::to_string(limit);
    bindAll(st);
    st.execute();
    RecordSet rs(st);
    std::vector<Case> out;
    using namespace columns;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        Case c;
        c.id = i64(rs, 0);
        c.code = str(rs, 1), c.kind = str(rs, 2), c.channel = str(rs, 3);
        c.summary = str(rs, 4), c.topics = str(rs, 5), c.status = str(rs, 6);
        c.agencyId = i64(rs, 7);
        c.agencyCode = str(rs, 8), c.agencyName = str(rs, 9), c.agencyPath = str(rs, 10);
        c.officerName = str(rs, 11), c.procedureName = str(rs, 12), c.dossierCode = str(rs, 13);
        c.assigneeId = optI64(rs, 14);
        c.assigneeName = str(rs, 15).empty() ? str(rs, 16) : str(rs, 15);
        c.hasContact = !str(rs, 17).empty();
        c.openedAtMs = i64(rs, 18), c.dueAtMs = i64(rs, 19), c.updatedAtMs = i64(rs, 20);
        c.answer = str(rs, 21), c.answeredBy = str(rs, 22);
        c.answeredAtMs = optI64(rs, 23), c.closedAtMs = optI64(rs, 24);
        c.escalatedAtMs = optI64(rs, 25);
        c.escalatedToName = str(rs, 26);
        c.verdict = str(rs, 27);
        c.verdictAtMs = optI64(rs, 28);
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<Case> CaseStore::list(const CaseQuery& q) const {
    return db_.read([&](Session& s) {
        std::string like = q.scopePath + "%";
        std::int64_t at = nowMs();
        std::string status = q.status;
        const std::size_t limit = std::clamp<std::size_t>(q.limit, 1, 1000);
        if (q.status == "open")
            return select(
                s, "a.path LIKE $1 AND " + std::string(kOpen),
                [&](Statement& st) { st, use(like); }, limit);
        if (q.status == "overdue")
            return select(
                s, "a.path LIKE $1 AND " + std::string(kOpen) + " AND c.due_at < $2",
                [&](Statement& st) { st, use(like), use(at); }, limit);
        if (!q.status.empty())
            return select(
                s, "a.path LIKE $1 AND c.status = $2",
                [&](Statement& st) { st, use(like), use(status); }, limit);
        return select(
            s, "a.path LIKE $1", [&](Statement& st) { st, use(like); }, limit);
    });
}

std::optional<Case> CaseStore::find(std::int64_t id) const {
    return db_.read([&](Session& s) -> std::optional<Case> {
        auto found = select(
            s, "c.id = $1", [&](Statement& st) { st, use(id); }, 1);
        if (found.empty()) return std::nullopt;
        Case c = std::move(found.front());
        Statement sources(s);
        sources << "SELECT cs.response_id, r.receipt, cs.channel, cs.words, cs.reason, "
                   "cs.received_at FROM case_sources cs LEFT JOIN responses r ON r.id = "
                   "cs.response_id WHERE cs.case_id = $1 ORDER BY cs.received_at, cs.id",
            use(id);
        sources.execute();
        RecordSet rs(sources);
        for (bool more = rs.moveFirst(); more; more = rs.moveNext())
            c.sources.push_back({columns::optI64(rs, 0), columns::str(rs, 1), columns::str(rs, 2),
                                 columns::str(rs, 3), columns::str(rs, 4), columns::i64(rs, 5)});
        std::vector<std::int64_t> at;
        std::vector<std::string> actor, action, detail;
        s << "SELECT at, actor, action, detail FROM case_events WHERE case_id = $1 ORDER BY at, id",
            use(id), into(at), into(actor), into(action), into(detail), now;
        for (std::size_t i = 0; i < at.size(); ++i)
            c.events.push_back({at[i], actor[i], action[i], detail[i]});
        return c;
    });
}

std::optional<Case> CaseStore::findByCode(std::string_view code) const {
    if (code.empty() || code.size() > 32) return std::nullopt;
    std::string key(code);
    const std::int64_t id = db_.read([&](Session& s) {
        Poco::Nullable<std::int64_t> found;
        s << "SELECT id FROM cases WHERE code = $1", use(key), into(found), now;
        return found.isNull() ? std::int64_t{0} : found.value();
    });
    return id ? find(id) : std::nullopt;
}

CaseCounts CaseStore::counts(const std::string& scopePath, std::int64_t atMs) const {
    return db_.read([&](Session& s) {
        CaseCounts out;
        std::string like = scopePath + "%";
        std::vector<std::int64_t> open, overdue, answered, closed, escalated;
        s << "SELECT COALESCE(SUM(CASE WHEN c.answered_at IS NULL AND c.closed_at IS NULL THEN 1 "
             "ELSE 0 END), 0), COALESCE(SUM(CASE WHEN c.answered_at IS NULL AND c.closed_at IS "
             "NULL AND c.due_at < $1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN c.status = "
             "'answered' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN c.status = 'closed' THEN 1 "
             "ELSE 0 END), 0), COALESCE(SUM(CASE WHEN c.escalated_to IS NOT NULL AND "
             "c.answered_at IS NULL AND c.closed_at IS NULL THEN 1 ELSE 0 END), 0) FROM cases c "
             "JOIN agencies a ON a.id = c.agency_id WHERE a.path LIKE $2",
            bind(atMs), use(like), into(open), into(overdue), into(answered), into(closed),
            into(escalated), now;
        if (!open.empty())
            out = CaseCounts{open[0], overdue[0], answered[0], closed[0], escalated[0]};
        return out;
    });
}

std::optional<CaseView> CaseStore::view(const std::optional<Case>& c) const {
    if (!c) return std::nullopt;
    CaseView v;
    v.code = c->code;
    v.status = c->status;
    v.dossierCode = c->dossierCode;
    v.openedAtMs = c->openedAtMs;
    v.dueAtMs = c->dueAtMs;
    v.answer = c->answer;
    v.answeredAtMs = c->answeredAtMs;
    v.verdict = c->verdict;
    return v;
}

std::optional<CaseView> CaseStore::ofReceipt(std::string_view receipt) {
    if (receipt.empty() || receipt.size() > 32) return std::nullopt;
    std::string code(receipt);
    const std::int64_t id = db_.read([&](Session& s) {
        Poco::Nullable<std::int64_t> found;
        s << "SELECT cs.case_id FROM responses r JOIN case_sources cs ON cs.response_id = r.id "
             "WHERE r.receipt = $1",
            use(code), into(found), now;
        return found.isNull() ? std::int64_t{0} : found.value();
    });
    return id ? view(find(id)) : std::nullopt;
}

// ---- changes -----------------------------------------------------------------------------

Case CaseStore::change(std::int64_t id, const std::string& actor, const std::string& action,
                       const std::function<std::string(Session&, const Case&)>& apply) {
    db_.write([&](Session& s) {
        if (db_.backend() == Backend::PostgreSQL) {  // one change of a case at a time
            std::vector<std::int64_t> locked;
            s << "SELECT id FROM cases WHERE id = $1 FOR UPDATE", use(id), into(locked), now;
        }
        auto found = select(
            s, "c.id = $1", [&](Statement& st) { st, use(id); }, 1);
        if (found.empty()) throw Problem(404, "cases.not_found", {{"id", std::to_string(id)}});
        if (found.front().closedAtMs)
            throw Problem(409, "cases.closed", {{"code", found.front().code}});
        std::string detail = apply(s, found.front());
        std::int64_t at = nowMs();
        std::string who = actor, what = action;
        s << "UPDATE cases SET updated_at = $1 WHERE id = $2", bind(at), use(id), now;
        s << "INSERT INTO case_events (case_id, at, actor, action, detail) VALUES ($1, $2, $3, "
             "$4, $5)",
            use(id), bind(at), use(who), use(what), use(detail), now;
    });
    auto c = find(id);
    if (!c) throw std::logic_error("a case just changed cannot be read");
    return *c;
}

Case CaseStore::assign(std::int64_t id, std::int64_t userId, const std::string& userName,
                       const std::string& actor) {
    return change(id, actor, "assigned", [&](Session& s, const Case& c) {
        if (c.answeredAtMs) throw Problem(409, "cases.answered", {{"code", c.code}});
        std::int64_t user = userId;
        s << "UPDATE cases SET assignee_id = $1, status = CASE WHEN status = 'new' THEN "
             "'assigned' ELSE status END WHERE id = $2",
            use(user), use(id), now;
        return userName;
    });
}

Case CaseStore::start(std::int64_t id, const std::string& actor) {
    return change(id, actor, "started", [&](Session& s, const Case& c) {
        if (c.answeredAtMs) throw Problem(409, "cases.answered", {{"code", c.code}});
        s << "UPDATE cases SET status = 'in_progress' WHERE id = $1", use(id), now;
        return std::string();
    });
}

Case CaseStore::answer(std::int64_t id, const std::string& text, const std::string& actor) {
    const std::string answer = officialText(text, "answer");
    Case c = change(id, actor, "answered", [&](Session& s, const Case&) {
        std::string a = answer, who = actor;
        std::int64_t at = nowMs();
        // The first answer's time is what the deadline is measured against.
        s << "UPDATE cases SET answer = $1, answered_by = $2, answered_at = COALESCE(answered_at, "
             "$3), status = 'answered', answer_queued_at = NULL WHERE id = $4",
            use(a), use(who), bind(at), use(id), now;
        return answer;
    });
    try {
        queueAnswer(c);
    } catch (const std::exception&) {
        // Queued by the next sweep: the answer is stored, its message not lost.
    }
    return c;
}

Case CaseStore::close(std::int64_t id, const std::string& note, const std::string& actor) {
    return change(id, actor, "closed", [&](Session& s, const Case& c) {
        std::string why;
        if (!c.answeredAtMs || !utf8::trim(note).empty()) why = officialText(note, "note");
        std::int64_t at = nowMs();
        s << "UPDATE cases SET status = 'closed', closed_at = $1, contact = '' WHERE id = $2",
            bind(at), use(id), now;
        return why;
    });
}

Case CaseStore::note(std::int64_t id, const std::string& text, const std::string& actor) {
    const std::string words = officialText(text, "note");
    return change(id, actor, "noted", [&](Session&, const Case&) { return words; });
}

bool CaseStore::rateAnswer(std::string_view code, bool satisfied, std::string_view channel) {
    if (code.empty() || code.size() > 32) return false;
    std::string key(code), verdict = satisfied ? "satisfied" : "unsatisfied";
    std::string actor = "citizen:" + std::string(channel.substr(0, 32));
    return db_.write([&](Session& s) {
        const std::int64_t at = nowMs();
        Poco::Nullable<std::int64_t> id;
        s << "UPDATE cases SET verdict = $1, verdict_at = $2, updated_at = $3 WHERE code = $4 AND "
             "answered_at IS NOT NULL AND verdict = '' RETURNING id",
            use(verdict), bind(at), bind(at), use(key), into(id), now;
        if (id.isNull()) return false;
        std::string action = "rated";
        s << "INSERT INTO case_events (case_id, at, actor, action, detail) VALUES ($1, $2, $3, "
             "$4, $5)",
            use(id), bind(at), use(actor), use(action), use(verdict), now;
        return true;
    });
}

std::string CaseStore::answerSms(const Case& c) const {
    auto body = [&](const std::string& answer) {
        return messages_.text("vi", "cases.answer_sms",
                              {{"code", c.code},
                               {"dossier", c.dossierCode.empty() ? c.code : c.dossierCode},
                               {"agency", c.agencyName},
                               {"answer", answer}});
    };
    // What fits in smsSegments concatenated parts: GSM-7 (ASCII here) 153 characters a part,
    // UCS-2 (any Vietnamese letter) 67; one part alone holds 160 or 70.
    const std::string whole = body(c.answer);
    const bool gsm = std::all_of(whole.begin(), whole.end(),
                                 [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
    const std::size_t parts = static_cast<std::size_t>(std::max(1, options_.smsSegments));
    const std::size_t fits = parts == 1 ? (gsm ? 160 : 70) : parts * (gsm ? 153 : 67);
    const std::size_t length = utf8::length(whole);
    if (length <= fits) return whole;
    // The answer is cut (the console keeps it whole); the question after it stays.
    const std::size_t keep =
        utf8::length(c.answer) - std::min(utf8::length(c.answer), length - fits + 1);
    return body(utf8::shortened(c.answer, keep));
}

void CaseStore::queueAnswer(const Case& c) {
    std::string contact = db_.read([&](Session& s) {
        std::string phone;
        std::int64_t id = c.id;
        s << "SELECT contact FROM cases WHERE id = $1", use(id), into(phone), now;
        return phone;
    });
    if (!contact.empty() && c.answeredAtMs) {
        int answers = 0;
        for (const CaseEvent& e : c.events) answers += e.action == "answered";
        OutboundMessage m;
        m.channel = "sms";
        m.recipient = contact;
        m.body = answerSms(c);
        // The SMS channel reads the case's code back from this key (a reply rates the answer).
        m.dedupeKey = "case-answer:" + c.code + ":" + std::to_string(answers);
        outbox_.enqueue(m);
    }
    std::int64_t id = c.id, at = nowMs();
    db_.write([&](Session& s) {
        s << "UPDATE cases SET answer_queued_at = $1 WHERE id = $2", bind(at), use(id), now;
    });
}

// ---- the sweep ---------------------------------------------------------------------------

std::vector<Case> CaseStore::sweep(std::int64_t atMs) {
    std::vector<Case> escalated;
    // Overdue and not yet escalated: up to the parent agency (the root keeps its own).
    std::vector<std::int64_t> due, dueAgency;
    db_.read([&](Session& s) {
        s << "SELECT id, agency_id FROM cases WHERE answered_at IS NULL AND closed_at IS NULL AND "
             "escalated_at IS NULL AND due_at < $1 ORDER BY due_at LIMIT 500",
            bind(atMs), into(due), into(dueAgency), now;
    });
    for (std::size_t i = 0; i < due.size(); ++i) {
        std::int64_t id = due[i];
        const auto agency = directory_.agencyById(dueAgency[i]);
        Poco::Nullable<std::int64_t> parent;
        if (agency && agency->parentId) parent = *agency->parentId;
        const bool mine = db_.write([&](Session& s) {
            Poco::Nullable<std::int64_t> took;
            s << "UPDATE cases SET escalated_to = $1, escalated_at = $2, updated_at = $3 WHERE id "
                 "= $4 AND escalated_at IS NULL RETURNING id",
                use(parent), bind(atMs), bind(atMs), use(id), into(took), now;
            if (took.isNull()) return false;  // another host escalated it
            std::string actor = "system", action = "escalated", detail;
            if (!parent.isNull())
                if (auto p = directory_.agencyById(parent.value())) detail = p->name;
            s << "INSERT INTO case_events (case_id, at, actor, action, detail) VALUES ($1, $2, "
                 "$3, $4, $5)",
                use(id), bind(atMs), use(actor), use(action), use(detail), now;
            return true;
        });
        if (!mine) continue;
        const auto c = find(id);
        if (!c) continue;
        escalated.push_back(*c);
        // Whoever hears the alerts of the agency it went up to (its own, at the root).
        const std::int64_t to = parent.isNull() ? c->agencyId : parent.value();
        const std::map<std::string, std::string> params{
            {"code", c->code},
            {"agency", c->agencyName},
            {"dossier", c->dossierCode},
            {"url", consoleUrl_() + "/console/cases/" + std::to_string(c->id)}};
        for (const auto& [channel, address] : recipientsOf_(to)) {
            OutboundMessage m;
            m.channel = channel;
            m.recipient = address;
            m.dedupeKey = "case-escalated:" + c->code + ":" + channel + ":" + address;
            m.body = channel == "email"
                         ? messages_.text("vi", "cases.escalated_subject", params) + "\n\n" +
                               messages_.text("vi", "cases.escalated_notice", params) +
                               "\n\n-- \n" +
                               messages_.text("en", "cases.escalated_notice", params) + "\n"
                         : messages_.text("vi", "cases.escalated_notice", params);
            outbox_.enqueue(m);
        }
    }
    // Answers stored while their message could not be queued.
    const std::vector<std::int64_t> unsent = db_.read([&](Session& s) {
        std::vector<std::int64_t> ids;
        s << "SELECT id FROM cases WHERE answered_at IS NOT NULL AND answer_queued_at IS NULL AND "
             "closed_at IS NULL LIMIT 500",
            into(ids), now;
        return ids;
    });
    for (std::int64_t id : unsent)
        if (auto c = find(id)) queueAnswer(*c);
    return escalated;
}

void CaseStore::start() {
    sweeper_.start();
}

void CaseStore::stop() {
    sweeper_.stop();
}

}  // namespace hailong::cases
