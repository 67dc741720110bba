#include "console/Dashboard.h"

#include "app/Runtime.h"
#include "common/Clock.h"
#include "index/Periods.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/JSON/Array.h>

#include <algorithm>

using namespace Poco::Data::Keywords;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

constexpr std::size_t kMaxComments = 200;
constexpr std::size_t kScanComments = 5000;  // the newest comments searched, at most

Object::Ptr valueOf(const index::IndexValue& v) {
    Object::Ptr o = new Object;
    o->set("index", v.id);
    if (v.value) o->set("value", *v.value);
    if (v.low) o->set("low", *v.low);
    if (v.high) o->set("high", *v.high);
    o->set("n", v.n);
    o->set("too_few", v.tooFew);
    return o;
}

// The first (headline) index of a group, if the survey declares any.
const index::IndexValue* headline(const index::GroupResult& g) {
    return g.indices.empty() ? nullptr : &g.indices.front();
}

Object::Ptr groupOf(const index::GroupResult& g, int rank) {
    Object::Ptr o = new Object;
    o->set("code", g.key);
    o->set("name", g.name);
    if (rank > 0) o->set("rank", rank);
    if (const auto* v = headline(g)) o->set("headline", valueOf(*v));
    return o;
}

}  // namespace

Object::Ptr dashboardData(Runtime& rt, const Caller& who, const DashboardQuery& q,
                          const std::string& lang) {
    // The survey: the one asked for, or SIPAS, or the first published one.
    std::string surveyId = q.surveyId;
    if (surveyId.empty()) surveyId = rt.surveys().find("sipas-2017") ? "sipas-2017" : "";
    if (surveyId.empty() && !rt.surveys().list().empty())
        surveyId = rt.surveys().list().front()->id;
    if (surveyId.empty() || !rt.surveys().find(surveyId))
        throw Problem(404, "survey.not_found", {{"id", surveyId}});
    // The agency: asked for (inside the caller's scope), or the caller's own.
    index::IndexRequest base;
    base.surveyId = surveyId;
    std::string agencyCode = q.agencyCode.empty() ? who.scopeCode : q.agencyCode;
    if (!agencyCode.empty()) {
        auto a = rt.directory().agency(agencyCode);
        if (!a)
            throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", agencyCode}});
        if (!who.admin && !a->path.starts_with(who.scopePath))
            throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                          {{"scope", who.scopeCode}, {"code", agencyCode}});
        base.scopeAgency = a->id;
    }
    // The period: asked for, or the last whole month.
    const std::int64_t today = index::localDay(nowMs());
    const std::int64_t thisMonth = index::monthOf(today);
    base.fromDay = index::firstDayOfMonth(thisMonth - 1);
    base.toDay = index::lastDayOfMonth(thisMonth - 1);
    if (!q.from.empty()) {
        auto d = index::parseDay(q.from);
        if (!d) throw Problem(400, "query.date", {{"name", "from"}, {"value", q.from}});
        base.fromDay = *d;
    }
    if (!q.to.empty()) {
        auto d = index::parseDay(q.to);
        if (!d) throw Problem(400, "query.date", {{"name", "to"}, {"value", q.to}});
        base.toDay = *d;
    }
    if (base.toDay < base.fromDay || base.toDay - base.fromDay > 366 * 5)
        throw Problem(400, "query.range",
                      {{"from", index::format(base.fromDay)}, {"to", index::format(base.toDay)}});

    Object::Ptr out = new Object;
    out->set("survey", surveyId);
    out->set("agency", agencyCode);
    out->set("from", index::format(base.fromDay));
    out->set("to", index::format(base.toDay));

    // Headline, against the period of the same length just before.
    const index::IndexReport total = rt.indices().report(base);
    index::IndexRequest before = base;
    const std::int64_t days = base.toDay - base.fromDay + 1;
    before.fromDay = base.fromDay - days;
    before.toDay = base.fromDay - 1;
    const index::IndexReport earlier = rt.indices().report(before);
    if (!total.groups.empty()) {
        out->set("total", groupOf(total.groups.front(), 0));
        const auto* h = headline(total.groups.front());
        if (h) {
            for (const index::Change& c : index::IndexService::compare(earlier, total, h->id)) {
                Object::Ptr change = new Object;
                if (c.before) change->set("before", *c.before);
                if (c.delta) change->set("delta", *c.delta);
                change->set("significant", c.significant);
                out->set("change", change);
            }
            // The criteria under the headline index.
            Array::Ptr parts = new Array;
            for (const auto& child : h->children) {
                Object::Ptr o = valueOf(child);
                if (child.definition)
                    o->set("title", child.definition->title.count(lang)
                                        ? child.definition->title.at(lang)
                                        : child.definition->title.at("vi"));
                parts->add(o);
            }
            out->set("parts", parts);
        }
    }
    // The trend: twelve months up to the period's end.
    index::IndexRequest trend = base;
    trend.period = index::Grain::Month;
    trend.fromDay = index::firstDayOfMonth(index::monthOf(base.toDay) - 11);
    Array::Ptr months = new Array;
    for (const auto& g : rt.indices().report(trend).groups) {
        Object::Ptr o = groupOf(g, 0);
        o->set("period", g.period);
        months->add(o);
    }
    out->set("trend", months);
    // Agencies one level down, and counters: worst first, those with too few answers apart.
    auto ranked = [&](const std::string& by,
                      const std::function<bool(const index::GroupResult&)>& keep) {
        index::IndexRequest r = base;
        r.by = by;
        const index::IndexReport report = rt.indices().report(r);
        Array::Ptr list = new Array;
        if (report.groups.empty() || report.groups.front().indices.empty()) return list;
        auto order = index::IndexService::rank(report, report.groups.front().indices.front().id);
        // The dashboard reads worst first: ranked groups lowest first, then the groups with too
        // few answers (unranked), lowest first too.
        auto value = [](const index::GroupResult* g) {
            const auto* h = headline(*g);
            return h && h->value ? *h->value : 1e9;
        };
        std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
            if ((a.first > 0) != (b.first > 0)) return a.first > 0;
            return value(a.second) < value(b.second);
        });
        for (const auto& [rank, g] : order)
            if (keep(*g)) list->add(groupOf(*g, rank));
        return list;
    };
    const auto scope =
        base.scopeAgency ? rt.directory().agencyById(*base.scopeAgency) : std::optional<Agency>();
    const int depth = scope ? scope->depth : 0;
    // One level down: the scope's children (without a scope, the children of the top).
    out->set("agencies",
             ranked("agency", [&](const index::GroupResult& g) { return g.depth == depth + 1; }));
    out->set("counters", ranked("counter", [](const index::GroupResult&) { return true; }));

    // Comments of the period (free text of the responses), newest first.
    const std::string scopePath = scope ? scope->path : std::string();
    const std::string wanted = q.search.empty() ? "" : rt.text().key(q.search);
    Array::Ptr comments = new Array;
    rt.database().read([&](Poco::Data::Session& s) {
        std::string survey = surveyId, like = scopePath + "%", counter = q.counterCode;
        std::int64_t fromMs = index::dayStartMs(base.fromDay),
                     toMs = index::dayStartMs(base.toDay + 1);
        Poco::Data::Statement st(s);
        st << "SELECT r.receipt, r.answered_at, r.channel, COALESCE(c.code, ''), "
              "COALESCE(t.value_text, r.comment_raw), "
              "(SELECT MIN(n.value_num) FROM answers n WHERE n.response_id = r.id AND "
              "n.value_num IS NOT NULL) FROM responses r JOIN agencies a ON a.id = r.agency_id "
              "LEFT JOIN counters c ON c.id = r.counter_id LEFT JOIN answers t ON t.response_id "
              "= r.id AND t.value_num IS NULL AND t.value_text <> '' WHERE r.survey_id = $1 AND "
              "a.path LIKE $2 AND ($3 = '' OR c.code = $4) AND r.answered_at >= $5 AND "
              "r.answered_at < $6 AND (t.value_text IS NOT NULL OR r.comment_raw <> '') ORDER "
              "BY r.answered_at DESC LIMIT " +
                  std::to_string(kScanComments),
            use(survey), use(like), use(counter), bind(q.counterCode), use(fromMs), use(toMs);
        st.execute();
        Poco::Data::RecordSet rs(st);
        for (bool more = rs.moveFirst(); more && comments->size() < kMaxComments;
             more = rs.moveNext()) {
            const std::string text = rs.value(4).convert<std::string>();
            if (!wanted.empty() && rt.text().key(text).find(wanted) == std::string::npos) continue;
            Object::Ptr o = new Object;
            o->set("receipt", rs.value(0).convert<std::string>());
            o->set("answered_at", formatTimeMs(rs.value(1).convert<std::int64_t>()));
            o->set("channel", rs.value(2).convert<std::string>());
            o->set("counter", rs.value(3).convert<std::string>());
            o->set("text", text);
            if (!rs.value(5).isEmpty()) o->set("lowest", rs.value(5).convert<double>());
            comments->add(o);
        }
        return 0;
    });
    out->set("comments", comments);
    return out;
}

}  // namespace hailong
