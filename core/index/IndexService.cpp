#include "index/IndexService.h"

#include "common/Clock.h"

#include "store/Columns.h"
#include "survey/Mood.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong::index {
namespace {

struct Named {
    std::string code, name, path;
    int depth = 0;
};

// id → code and name of one directory table (agencies also give their path and depth).
std::map<std::int64_t, Named> namesOf(Database& db, const std::string& table) {
    return db.read([&](Session& s) {
        const bool agencies = table == "agencies";
        Statement select(s);
        select << "SELECT id, code, name" + std::string(agencies ? ", path, depth" : "") +
                      " FROM " + table,
            now;
        RecordSet rs(select);
        std::map<std::int64_t, Named> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            Named n{columns::str(rs, 1), columns::str(rs, 2), "", 0};
            if (agencies) {
                n.path = columns::str(rs, 3);
                n.depth = static_cast<int>(columns::i64(rs, 4));
            }
            out[columns::i64(rs, 0)] = n;
        }
        return out;
    });
}

// The tree path of the scope agency ("" for no scope); Problem(404) when it is unknown.
std::string pathOf(const std::map<std::int64_t, Named>& agencies,
                   const std::optional<std::int64_t>& scope) {
    if (!scope) return "";
    auto it = agencies.find(*scope);
    if (it == agencies.end()) throw Problem(404, "index.unknown_agency", {});
    return it->second.path;
}

// Whether `agency` lies in the subtree at `scopePath` (everything when it is empty).
bool within(const std::map<std::int64_t, Named>& agencies, std::int64_t agency,
            const std::string& scopePath) {
    if (scopePath.empty()) return true;
    auto it = agencies.find(agency);
    return it != agencies.end() && it->second.path.starts_with(scopePath);
}

void leavesOf(const IndexDefinition& node, std::vector<const IndexDefinition*>& out) {
    for (const IndexDefinition& c : node.children) {
        if (c.isLeaf())
            out.push_back(&c);
        else
            leavesOf(c, out);
    }
}

std::vector<std::int64_t> ancestors(const std::string& path) {  // "/1/7/12/" → 1, 7, 12
    std::vector<std::int64_t> ids;
    std::int64_t v = 0;
    bool digits = false;
    for (char c : path) {
        if (c >= '0' && c <= '9') {
            v = v * 10 + (c - '0'), digits = true;
        } else if (digits) {
            ids.push_back(v), v = 0, digits = false;
        }
    }
    return ids;
}

// Standard error read back from a 95% interval.
std::optional<double> standardError(const IndexValue& v) {
    if (!v.low || !v.high) return std::nullopt;
    return (*v.high - *v.low) / (2 * 1.959963984540054);
}

}  // namespace

Verification verify(IndexStore& store, const std::string& surveyId) {
    Verification v;
    const auto span = store.span(surveyId);
    if (!span) return v;
    for (Family f : {Family::Agency, Family::Counter, Family::Officer, Family::Procedure,
                     Family::Total, Family::ProcedureTotal}) {
        for (std::optional<Grain> g :
             {std::optional<Grain>(), std::optional<Grain>(Grain::Day),
              std::optional<Grain>(Grain::Week), std::optional<Grain>(Grain::Month),
              std::optional<Grain>(Grain::Quarter), std::optional<Grain>(Grain::Year)}) {
            if (!hasDays(f) && (g == Grain::Day || g == Grain::Week)) continue;
            CellQuery q{surveyId,
                        f,
                        hasDays(f) ? span->first : firstDayOfMonth(monthOf(span->first)),
                        hasDays(f) ? span->second : lastDayOfMonth(monthOf(span->second)),
                        g,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt};
            const Cells fast = store.aggregated(q), slow = store.raw(q);
            ++v.queries;
            v.cells += slow.size();
            if (f == Family::Agency && !g)
                for (const auto& [cell, tally] : slow) v.responses += tally.responses;
            const std::string where =
                std::string(name(f)) + (g ? std::string(" by ") + name(*g) : "");
            if (fast.size() != slow.size())
                v.mismatches.push_back(where + ": " + std::to_string(fast.size()) + " cells vs " +
                                       std::to_string(slow.size()) + " from raw responses");
            for (const auto& [cell, tally] : slow) {
                auto it = fast.find(cell);
                std::string why = "missing";
                if (it == fast.end() || !sameTally(it->second, tally, why)) {
                    v.mismatches.push_back(where + ", agency " + std::to_string(cell.agency) +
                                           ", group " + std::to_string(cell.group) + ", " +
                                           cell.channel + ", " + format(cell.bucket) + ": " + why);
                    if (v.mismatches.size() > 20) return v;
                }
            }
        }
    }
    // The hour-of-week counts (kept by month) over the same span.
    const Hours fast = store.hours(surveyId, span->first, span->second),
                slow = store.rawHours(surveyId, span->first, span->second);
    ++v.queries;
    v.cells += slow.size();
    if (fast.size() != slow.size())
        v.mismatches.push_back("hours: " + std::to_string(fast.size()) + " cells vs " +
                               std::to_string(slow.size()) + " from raw responses");
    for (const auto& [cell, counts] : slow) {
        auto it = fast.find(cell);
        const bool same =
            it != fast.end() && it->second.responses == counts.responses &&
            it->second.rated == counts.rated && it->second.unhappy == counts.unhappy &&
            std::fabs(it->second.moodTotal - counts.moodTotal) <= 1e-9 * (1 + counts.moodTotal);
        if (!same) {
            v.mismatches.push_back("hours, agency " + std::to_string(cell.first) + ", hour " +
                                   std::to_string(cell.second) + ": " +
                                   (it == fast.end() ? "missing" : "different counts"));
            if (v.mismatches.size() > 20) return v;
        }
    }
    return v;
}

IndexService::IndexService(Database& db, const SurveyCatalog& surveys)
    : db_(db), surveys_(surveys), store_(db, surveys) {}

IndexService::~IndexService() {
    stop();
}

void IndexService::start(int intervalMs) {
    if (folder_.joinable()) return;
    stopping_ = false;
    folder_ = std::thread([this, intervalMs] { loop(intervalMs); });
}

void IndexService::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (folder_.joinable()) folder_.join();
}

void IndexService::loop(int intervalMs) {
    for (;;) {
        std::size_t folded = 0;
        try {
            folded = store_.fold();
        } catch (const std::exception&) {
            folded = 0;  // the database is away: the next round tries again, nothing is lost
        }
        std::unique_lock lock(mutex_);
        if (stopping_) return;
        // A full fold means more is waiting: go on at once; otherwise wait for the next round.
        if (folded < kFoldBatch)
            wake_.wait_for(lock, std::chrono::milliseconds(intervalMs), [&] { return stopping_; });
        if (stopping_) return;
    }
}

std::size_t IndexService::foldAll() {
    std::size_t total = 0;
    for (std::size_t n = store_.fold(); n > 0; n = store_.fold()) total += n;
    return total;
}

IndexReport IndexService::report(const IndexRequest& request) {
    IndexReport out;
    out.request = request;
    out.survey = surveys_.find(request.surveyId, request.version.value_or(0));
    if (!out.survey) throw Problem(404, "survey.not_found", {{"id", request.surveyId}});
    if (request.toDay < request.fromDay)
        throw Problem(422, "index.bad_range",
                      {{"from", format(request.fromDay)}, {"to", format(request.toDay)}});
    static const std::vector<std::string> kBy{"",          "agency",  "counter", "officer",
                                              "procedure", "channel", "version"};
    if (std::find(kBy.begin(), kBy.end(), request.by) == kBy.end())
        throw Problem(422, "index.bad_breakdown", {{"by", request.by}});

    CellQuery q;
    q.surveyId = request.surveyId;
    q.family = parseFamily(request.by).value_or(Family::Agency);
    q.fromDay = request.fromDay, q.toDay = request.toDay;
    q.buckets = request.period;
    q.channel = request.channel, q.version = request.version;
    if (!hasDays(q.family)) {  // kept by month: whole months, and the report says so
        if (q.buckets == Grain::Day || q.buckets == Grain::Week)
            throw Problem(422, "index.grain_too_fine", {{"by", request.by}});
        q.fromDay = firstDayOfMonth(monthOf(q.fromDay));
        q.toDay = lastDayOfMonth(monthOf(q.toDay));
        out.request.fromDay = q.fromDay, out.request.toDay = q.toDay;
    }
    const auto agencies = namesOf(db_, "agencies");
    const std::string scopePath = pathOf(agencies, request.scopeAgency);
    if (request.by != "agency") {
        // No breakdown by agency: the database adds the agencies of the scope up.
        CellQuery::Collapse c;
        c.within = scopePath;
        c.withinAgency = request.scopeAgency.value_or(0);
        c.channels = request.by == "channel" || request.channel.has_value();
        c.versions = request.by == "version" || request.version.has_value();
        q.collapse = c;
    }
    // The whole tree (no scope, or its only root): the family added up over every agency, with
    // the responses of no agency when there is no scope.
    bool whole = false;
    const std::optional<Family> wholeTree = wholeTreeOf(q.family);
    if (!request.raw && wholeTree && request.by != "agency") {
        int roots = 0;
        for (const auto& [id, a] : agencies) roots += a.depth == 0 ? 1 : 0;
        const auto scope =
            request.scopeAgency ? agencies.find(*request.scopeAgency) : agencies.end();
        whole = !request.scopeAgency ||
                (scope != agencies.end() && scope->second.depth == 0 && roots == 1);
    }
    Cells cells;
    if (whole) {
        CellQuery total = q;
        total.family = *wholeTree;
        total.collapse->within.clear();
        cells = store_.aggregated(total);
        if (!request.scopeAgency) {
            CellQuery none = q;
            none.collapse->unassignedOnly = true;
            for (auto& [cell, tally] : store_.aggregated(none)) cells[cell].merge(tally);
        }
    } else {
        cells = request.raw ? store_.raw(q) : store_.aggregated(q);
    }

    auto inScope = [&](std::int64_t agency) { return within(agencies, agency, scopePath); };
    std::map<std::int64_t, Named> groupNames;
    if (q.family != Family::Agency && q.family != Family::Total)
        groupNames = namesOf(db_, request.by == "counter"   ? "counters"
                                  : request.by == "officer" ? "officers"
                                                            : "procedures");

    // Sort key: agencies in tree order, others by key; then by bucket.
    std::map<std::tuple<std::string, std::string, std::int64_t>, GroupResult> groups;
    auto groupFor = [&](const std::string& order, const std::string& key, const std::string& name,
                        int depth, std::int64_t bucket) -> GroupResult& {
        GroupResult& g = groups[{order, key, bucket}];
        g.key = key, g.name = name, g.depth = depth, g.periodStart = bucket;
        g.period = request.period ? label(bucket, *request.period) : "";
        return g;
    };
    for (const auto& [cell, tally] : cells) {
        if (!inScope(cell.agency)) continue;
        if (request.by == "agency") {
            auto self = agencies.find(cell.agency);
            if (self == agencies.end()) continue;
            for (std::int64_t id : ancestors(self->second.path)) {
                auto a = agencies.find(id);
                if (a == agencies.end() || !a->second.path.starts_with(scopePath)) continue;
                groupFor(a->second.path, a->second.code, a->second.name, a->second.depth,
                         cell.bucket)
                    .tally.merge(tally);
            }
        } else if (q.family != Family::Agency) {
            auto g = groupNames.find(cell.group);
            const std::string code =
                g == groupNames.end() ? std::to_string(cell.group) : g->second.code;
            groupFor(code, code, g == groupNames.end() ? "" : g->second.name, 0, cell.bucket)
                .tally.merge(tally);
        } else if (request.by == "channel") {
            groupFor(cell.channel, cell.channel, cell.channel, 0, cell.bucket).tally.merge(tally);
        } else if (request.by == "version") {
            const std::string v = std::to_string(cell.version);
            groupFor(std::string(8 - std::min<std::size_t>(8, v.size()), '0') + v, v, v, 0,
                     cell.bucket)
                .tally.merge(tally);
        } else {
            groupFor("", "", "", 0, cell.bucket).tally.merge(tally);
        }
    }
    for (auto& [order, g] : groups) {
        g.indices = compute(*out.survey, g.tally);
        out.groups.push_back(std::move(g));
    }
    return out;
}

DriverReport IndexService::drivers(const IndexRequest& request, const std::string& indexId) {
    DriverReport out;
    out.survey = surveys_.find(request.surveyId, request.version.value_or(0));
    if (!out.survey) throw Problem(404, "survey.not_found", {{"id", request.surveyId}});
    out.index = indexId.empty()
                    ? (out.survey->indices.empty() ? nullptr : &out.survey->indices.front())
                    : out.survey->index(indexId);
    if (!out.index) throw Problem(404, "index.unknown_index", {{"index", indexId}});
    std::vector<const IndexDefinition*> criteria;
    leavesOf(*out.index, criteria);
    if (criteria.empty()) throw Problem(422, "index.no_criteria", {{"index", out.index->id}});

    const auto agencies = namesOf(db_, "agencies");
    const std::string scopePath = pathOf(agencies, request.scopeAgency);
    // Pearson sums per criterion over the responses that have both scores.
    struct Sums {
        double n = 0, x = 0, y = 0, xx = 0, yy = 0, xy = 0;
    };
    std::vector<Sums> sums(criteria.size());
    CellQuery q{request.surveyId, Family::Agency,  request.fromDay, request.toDay,
                std::nullopt,     request.channel, request.version, std::nullopt};
    store_.eachResponse(q, [&](const Cell& cell, const Survey& survey, const ResponseAnswers& a) {
        if (!within(agencies, cell.agency, scopePath)) return;
        const auto y = scoreOf(survey, *out.index, a);
        if (!y) return;
        ++out.responses;
        for (std::size_t k = 0; k < criteria.size(); ++k) {
            const auto x = scoreOf(survey, *criteria[k], a);
            if (!x) continue;
            Sums& t = sums[k];
            t.n += 1, t.x += *x, t.y += *y, t.xx += *x * *x, t.yy += *y * *y, t.xy += *x * *y;
        }
    });
    for (std::size_t k = 0; k < criteria.size(); ++k) {
        const Sums& t = sums[k];
        Driver d{criteria[k], static_cast<std::int64_t>(t.n), std::nullopt, std::nullopt};
        if (t.n > 0) d.level = t.x / t.n;
        const double vx = t.n * t.xx - t.x * t.x, vy = t.n * t.yy - t.y * t.y;
        if (t.n >= 3 && vx > 1e-9 && vy > 1e-9)
            d.correlation = (t.n * t.xy - t.x * t.y) / std::sqrt(vx * vy);
        out.drivers.push_back(d);
    }
    std::stable_sort(out.drivers.begin(), out.drivers.end(), [](const Driver& a, const Driver& b) {
        return a.correlation.value_or(-2) > b.correlation.value_or(-2);
    });
    return out;
}

std::vector<Decision766> IndexService::decision766(const IndexRequest& request) {
    const auto agencies = namesOf(db_, "agencies");
    const std::string scopePath = pathOf(agencies, request.scopeAgency);
    const std::int64_t from = dayStartMs(request.fromDay), to = dayStartMs(request.toDay + 1);
    std::map<std::int64_t, std::int64_t> dossiers;       // agency → dossiers received
    std::map<std::int64_t, std::int64_t> unsatisfiedOf;  // agency → unsatisfied dossiers
    // agency → feedback received, handled on time, rated unsatisfied or overdue
    std::map<std::int64_t, std::array<std::int64_t, 3>> feedbackOf;
    db_.snapshot([&](Session& s) {
        std::vector<std::int64_t> agency, count;
        s << "SELECT agency_id, COUNT(*) FROM dossiers WHERE received_at >= $1 AND received_at < "
             "$2 GROUP BY agency_id",
            bind(from), bind(to), into(agency), into(count), now;
        for (std::size_t i = 0; i < agency.size(); ++i) dossiers[agency[i]] = count[i];
        // Dossiers with an unhappy response (survey/Mood.h: its ratings average under 50 of
        // 100), read from the mood each response was given when it was stored, or with a
        // complaint about them (a case).
        std::vector<std::int64_t> unsatisfied, unsatisfiedAgency;
        const double below = kUnhappyBelow;
        s << "SELECT d.id, d.agency_id FROM dossiers d WHERE d.received_at >= $1 AND "
             "d.received_at < $2 AND (EXISTS (SELECT 1 FROM responses r WHERE r.dossier_id = d.id "
             "AND r.mood < $3) OR EXISTS (SELECT 1 FROM cases c WHERE c.dossier_id = d.id AND "
             "NOT (c.closed_at IS NOT NULL AND c.answered_at IS NULL)))",
            bind(from), bind(to), bind(below), into(unsatisfied), into(unsatisfiedAgency), now;
        for (std::size_t i = 0; i < unsatisfied.size(); ++i) ++unsatisfiedOf[unsatisfiedAgency[i]];
        // Feedback: cases opened in the period, less those closed without an answer.
        const std::int64_t at = nowMs();
        std::vector<std::int64_t> agency2, received, onTime, bad;
        s << "SELECT agency_id, COUNT(*), SUM(CASE WHEN answered_at IS NOT NULL AND answered_at "
             "<= due_at THEN 1 ELSE 0 END), SUM(CASE WHEN verdict = 'unsatisfied' OR (answered_at "
             "IS NOT NULL AND answered_at > due_at) OR (answered_at IS NULL AND due_at < $1) THEN "
             "1 ELSE 0 END) FROM cases WHERE opened_at >= $2 AND opened_at < $3 AND NOT "
             "(closed_at IS NOT NULL AND answered_at IS NULL) GROUP BY agency_id",
            bind(at), bind(from), bind(to), into(agency2), into(received), into(onTime), into(bad),
            now;
        for (std::size_t i = 0; i < agency2.size(); ++i)
            feedbackOf[agency2[i]] = {received[i], onTime[i], bad[i]};
    });
    // Each agency with its descendants, in tree order.
    std::map<std::string, Decision766> byPath;
    auto add = [&](std::int64_t agency, std::int64_t received, std::int64_t unhappy,
                   const std::array<std::int64_t, 3>& feedback) {
        auto self = agencies.find(agency);
        if (self == agencies.end() || !within(agencies, agency, scopePath)) return;
        for (std::int64_t id : ancestors(self->second.path)) {
            auto a = agencies.find(id);
            if (a == agencies.end() || !a->second.path.starts_with(scopePath)) continue;
            Decision766& d = byPath[a->second.path];
            d.key = a->second.code, d.name = a->second.name, d.depth = a->second.depth;
            d.dossiers += received, d.unsatisfied += unhappy;
            d.feedback += feedback[0], d.feedbackInTime += feedback[1];
            d.feedbackUnsatisfiedOrLate += feedback[2];
        }
    };
    for (const auto& [agency, n] : dossiers) add(agency, n, 0, {});
    for (const auto& [agency, n] : unsatisfiedOf) add(agency, 0, n, {});
    for (const auto& [agency, counts] : feedbackOf) add(agency, 0, 0, counts);
    std::vector<Decision766> out;
    for (auto& [path, d] : byPath) {
        if (d.dossiers > 0)
            d.dossiersSatisfied = static_cast<double>(d.dossiers - d.unsatisfied) /
                                  static_cast<double>(d.dossiers) * 100;
        if (d.feedback > 0) {
            const auto received = static_cast<double>(d.feedback);
            d.feedbackOnTime = static_cast<double>(d.feedbackInTime) / received * 100;
            d.feedbackSatisfied =
                static_cast<double>(d.feedback - d.feedbackUnsatisfiedOrLate) / received * 100;
        }
        out.push_back(d);
    }
    return out;
}

std::vector<Change> IndexService::compare(const IndexReport& before, const IndexReport& after,
                                          const std::string& indexId) {
    std::vector<Change> out;
    std::map<std::string, const GroupResult*> earlier;
    for (const GroupResult& g : before.groups) earlier[g.key] = &g;
    for (const GroupResult& g : after.groups) {
        for (const IndexValue* v : flatten(g.indices)) {
            if (!indexId.empty() && v->id != indexId) continue;
            Change c{g.key, v->id, std::nullopt, v->value, std::nullopt, false};
            auto e = earlier.find(g.key);
            const IndexValue* old = e == earlier.end() ? nullptr : find(e->second->indices, v->id);
            if (old) c.before = old->value;
            if (c.before && c.after) {
                c.delta = *c.after - *c.before;
                const auto s1 = standardError(*old), s2 = standardError(*v);
                if (s1 && s2 && !old->tooFew && !v->tooFew)
                    c.significant =
                        std::fabs(*c.delta) > 1.959963984540054 * std::sqrt(*s1 * *s1 + *s2 * *s2);
            }
            out.push_back(c);
        }
    }
    return out;
}

std::vector<std::pair<int, const GroupResult*>> IndexService::rank(const IndexReport& report,
                                                                   const std::string& indexId) {
    std::vector<std::pair<double, const GroupResult*>> ranked;
    std::vector<const GroupResult*> unranked;
    for (const GroupResult& g : report.groups) {
        const IndexValue* v = find(g.indices, indexId);
        if (v && v->value && !v->tooFew)
            ranked.emplace_back(*v->value, &g);
        else
            unranked.push_back(&g);
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::pair<int, const GroupResult*>> out;
    for (std::size_t i = 0; i < ranked.size(); ++i)
        out.emplace_back(static_cast<int>(i + 1), ranked[i].second);
    for (const GroupResult* g : unranked) out.emplace_back(0, g);
    return out;
}

}  // namespace hailong::index
