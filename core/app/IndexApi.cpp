#include "app/IndexApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "survey/SurveyParser.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>

#include <cstdio>
#include <iomanip>

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

using index::IndexValue;

Object::Ptr valueJson(const IndexValue& v) {
    Object::Ptr o = new Object;
    o->set("id", v.id);
    o->set("title", localized(v.definition->title));
    o->set("method", toString(v.definition->method));
    o->set("value", v.value ? Poco::Dynamic::Var(*v.value) : Poco::Dynamic::Var());
    o->set("n", v.n);
    o->set("low", v.low ? Poco::Dynamic::Var(*v.low) : Poco::Dynamic::Var());
    o->set("high", v.high ? Poco::Dynamic::Var(*v.high) : Poco::Dynamic::Var());
    o->set("interval", std::string(v.interval));
    o->set("min_n", v.definition->minN);
    o->set("too_few", v.tooFew);
    if (v.points) {
        o->set("points", *v.points);
        o->set("max_points", *v.maxPoints);
    }
    if (!v.children.empty()) {
        Array::Ptr children = new Array;
        for (const IndexValue& c : v.children) children->add(valueJson(c));
        o->set("children", children);
    }
    return o;
}

std::string number(const std::optional<double>& v, int decimals = 2) {
    if (!v) return "";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, *v);
    return buffer;
}

// The caller's scope: an API key sees its own agency subtree only.
void applyScope(Runtime& rt, const HttpRequest& r, index::IndexRequest& request) {
    const Caller who = caller(rt, r);
    if (who.admin) return;
    if (!request.scopeAgency) {
        request.scopeAgency = who.scopeAgencyId;
        return;
    }
    auto a = rt.directory().agencyById(*request.scopeAgency);
    if (!a || !a->path.starts_with(who.scopePath))
        throw Problem(403, "index.outside_scope", {{"agency", who.scopeCode}});
}

}  // namespace

index::IndexRequest indexRequest(Runtime& rt, const ParamSource& param, bool surveyRequired) {
    index::IndexRequest r;
    auto survey = param("survey");
    if (surveyRequired && (!survey || survey->empty()))
        throw Problem(400, "query.required", {{"name", "survey"}});
    r.surveyId = survey.value_or("");
    r.by = param("by").value_or("");
    if (r.by == "all") r.by.clear();
    if (auto p = param("period"); p && !p->empty()) {
        r.period = index::parseGrain(*p);
        if (!r.period)
            throw Problem(400, "query.one_of",
                          {{"name", "period"}, {"values", "day, week, month, quarter, year"}});
    }
    if (auto a = param("agency"); a && !a->empty()) {
        auto agency = rt.directory().agency(*a);
        if (!agency) throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", *a}});
        r.scopeAgency = agency->id;
    }
    if (auto c = param("channel"); c && !c->empty()) r.channel = *c;
    if (auto v = param("version"); v && !v->empty())
        r.version = queryInteger("version", *v, 1, 1000000);
    if (auto raw = param("raw")) r.raw = *raw == "1" || *raw == "true";
    const auto from = param("from"), to = param("to");
    const auto span = r.surveyId.empty() ? std::nullopt : rt.indices().store().span(r.surveyId);
    const std::int64_t today = index::localDay(nowMs());
    r.toDay = to && !to->empty() ? queryDay("to", *to) : span ? span->second : today;
    const std::int64_t yearStart = index::bucketStart(r.toDay, index::Grain::Year);
    r.fromDay = from && !from->empty() ? queryDay("from", *from)
                : span                 ? span->first
                : r.surveyId.empty()   ? yearStart
                                       : r.toDay;
    if (r.toDay < r.fromDay)
        throw Problem(400, "query.range",
                      {{"from", index::format(r.fromDay)}, {"to", index::format(r.toDay)}});
    if (r.toDay - r.fromDay > 366 * 20)
        throw Problem(400, "query.range_too_long", {{"years", "20"}});
    return r;
}

Object::Ptr indexJson(const index::IndexReport& report) {
    const index::IndexRequest& q = report.request;
    Object::Ptr body = new Object;
    Object::Ptr survey = new Object;
    survey->set("id", report.survey->id);
    survey->set("version", report.survey->version);
    survey->set("title", localized(report.survey->title));
    body->set("survey", survey);
    body->set("by", q.by.empty() ? std::string("all") : q.by);
    body->set("from", index::format(q.fromDay));
    body->set("to", index::format(q.toDay));
    body->set("period", q.period ? std::string(index::name(*q.period)) : std::string());
    body->set("time_zone", "Asia/Ho_Chi_Minh");
    body->set("source", q.raw ? "raw" : "aggregates");
    Object::Ptr method = new Object;
    method->set("confidence", 0.95);
    method->set("wilson", "Wilson score interval of a share");
    method->set("normal", "mean ± 1.96 standard errors of the answers");
    method->set("per-response",
                "the node's value ± 1.96 standard errors of each response's own score on it "
                "(a linearization of the mean of means)");
    body->set("intervals", method);
    Array::Ptr groups = new Array;
    for (const index::GroupResult& g : report.groups) {
        Object::Ptr o = new Object;
        o->set("key", g.key);
        o->set("name", g.name);
        if (q.by == "agency") o->set("depth", g.depth);
        if (q.period) o->set("period", g.period);
        o->set("responses", g.tally.responses);
        Array::Ptr values = new Array;
        for (const IndexValue& v : g.indices) values->add(valueJson(v));
        o->set("indices", values);
        groups->add(o);
    }
    body->set("groups", groups);
    return body;
}

void writeIndexTable(std::ostream& out, const index::IndexReport& report) {
    const bool trend = report.request.period.has_value();
    out << std::left;
    if (trend) out << std::setw(12) << "PERIOD";
    out << std::setw(16) << "GROUP" << std::setw(10) << "RESPONSES";
    for (const IndexDefinition& d : report.survey->indices)
        out << std::setw(30) << (d.id + " [95% CI]");
    out << "NAME\n";
    for (const index::GroupResult& g : report.groups) {
        if (trend) out << std::setw(12) << g.period;
        out << std::setw(16)
            << (std::string(static_cast<std::size_t>(g.depth) * 2, ' ') +
                (g.key.empty() ? "(all)" : g.key))
            << std::setw(10) << g.tally.responses;
        for (const IndexValue& v : g.indices) {
            std::string cell = v.value ? number(v.value) : "-";
            if (v.low && v.high) cell += " [" + number(v.low, 1) + "–" + number(v.high, 1) + "]";
            if (v.tooFew) cell += " *";
            // std::setw counts bytes; pad by characters so that the en dash lines up.
            const std::size_t chars = cell.size() - (v.low && v.high ? 2 : 0);
            out << cell << std::string(chars < 30 ? 30 - chars : 1, ' ');
        }
        out << g.name << "\n";
    }
    out << "* n under the index's minimum: read with care.\n";
}

void writeIndexCsv(std::ostream& out, const index::IndexReport& report) {
    auto quoted = [](const std::string& s) {
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    out << "period,group,name,responses,index,value,n,low,high,too_few\n";
    for (const index::GroupResult& g : report.groups) {
        for (const IndexValue* v : index::flatten(g.indices))
            out << g.period << "," << quoted(g.key) << "," << quoted(g.name) << ","
                << g.tally.responses << "," << v->id << "," << number(v->value, 4) << "," << v->n
                << "," << number(v->low, 4) << "," << number(v->high, 4) << ","
                << (v->tooFew ? 1 : 0) << "\n";
    }
}

Object::Ptr driversJson(const index::DriverReport& report) {
    Object::Ptr body = new Object;
    body->set("survey", report.survey->id);
    body->set("index", report.index->id);
    body->set("responses", report.responses);
    body->set("method",
              "Pearson correlation, over the responses that have both, of each criterion's own "
              "score with the index's own score");
    Array::Ptr items = new Array;
    for (const index::Driver& d : report.drivers) {
        Object::Ptr o = new Object;
        o->set("criterion", d.criterion->id);
        o->set("title", localized(d.criterion->title));
        o->set("n", d.n);
        o->set("correlation",
               d.correlation ? Poco::Dynamic::Var(*d.correlation) : Poco::Dynamic::Var());
        o->set("level", d.level ? Poco::Dynamic::Var(*d.level) : Poco::Dynamic::Var());
        items->add(o);
    }
    body->set("drivers", items);
    return body;
}

void writeDriversTable(std::ostream& out, const index::DriverReport& report) {
    out << "Key drivers of " << report.index->id << " (" << report.responses
        << " responses; Pearson r of each criterion's score with the index's)\n"
        << std::left << std::setw(30) << "CRITERION" << std::setw(8) << "r" << std::setw(9)
        << "LEVEL" << std::setw(8) << "N"
        << "TITLE\n";
    for (const index::Driver& d : report.drivers)
        out << std::setw(30) << d.criterion->id << std::setw(8) << number(d.correlation, 3)
            << std::setw(9) << number(d.level, 1) << std::setw(8) << d.n
            << d.criterion->title.at("vi") << "\n";
}

Object::Ptr decision766Json(const index::IndexRequest& request,
                            const std::vector<index::Decision766>& rows) {
    Object::Ptr body = new Object;
    body->set("from", index::format(request.fromDay));
    body->set("to", index::format(request.toDay));
    body->set(
        "method",
        "Decision 766/QĐ-TTg satisfaction ratios in percent. 1: follow-up cases opened in the "
        "period and answered by their deadline / cases opened (those closed without an "
        "answer, outside competence, are left out); 2: cases whose answer was not rated "
        "unsatisfied and that were not overdue / cases opened (null: no case). 3: dossiers "
        "received in the period not rated unsatisfied (ratings averaging under the middle "
        "of their scales) and without a complaint / dossiers received.");
    auto optional = [](const std::optional<double>& v) {
        return v ? Poco::Dynamic::Var(*v) : Poco::Dynamic::Var();
    };
    Array::Ptr items = new Array;
    for (const index::Decision766& d : rows) {
        Object::Ptr o = new Object;
        o->set("key", d.key);
        o->set("name", d.name);
        o->set("depth", d.depth);
        o->set("dossiers", d.dossiers);
        o->set("dossiers_unsatisfied", d.unsatisfied);
        o->set("feedback", d.feedback);
        o->set("feedback_answered_on_time", d.feedbackInTime);
        o->set("feedback_unsatisfied_or_overdue", d.feedbackUnsatisfiedOrLate);
        o->set("feedback_on_time", optional(d.feedbackOnTime));
        o->set("feedback_satisfied", optional(d.feedbackSatisfied));
        o->set("dossiers_satisfied", optional(d.dossiersSatisfied));
        items->add(o);
    }
    body->set("agencies", items);
    return body;
}

void writeDecision766Table(std::ostream& out, const std::vector<index::Decision766>& rows) {
    out << std::left << std::setw(18) << "AGENCY" << std::setw(10) << "DOSSIERS" << std::setw(13)
        << "UNSATISFIED" << std::setw(10) << "FEEDBACK" << std::setw(10) << "RATIO 1"
        << std::setw(10) << "RATIO 2" << std::setw(10) << "RATIO 3"
        << "NAME\n";
    for (const index::Decision766& d : rows)
        out << std::setw(18) << (std::string(static_cast<std::size_t>(d.depth) * 2, ' ') + d.key)
            << std::setw(10) << d.dossiers << std::setw(13) << d.unsatisfied << std::setw(10)
            << d.feedback << std::setw(10) << (d.feedbackOnTime ? number(d.feedbackOnTime) : "-")
            << std::setw(10) << (d.feedbackSatisfied ? number(d.feedbackSatisfied) : "-")
            << std::setw(10) << (d.dossiersSatisfied ? number(d.dossiersSatisfied) : "-") << d.name
            << "\n";
    out << "Ratio 1: cases answered on time / received; 2: not rated unsatisfied nor overdue / "
           "received; 3: dossiers not rated unsatisfied nor complained about / received (-: no "
           "data).\n";
}

void registerIndexApi(Runtime& rt) {
    RouteTable& routes = rt.routes();
    // Indices by breakdown and period, from the aggregates (plus what is not folded yet).
    routes.add("GET", "/api/v1/indices", [&rt](const HttpRequest& r) {
        auto request = indexRequest(rt, [&r](const std::string& n) { return r.queryParam(n); });
        applyScope(rt, r, request);
        return HttpResponse::json(indexJson(rt.indices().report(request)));
    });
    // Two periods side by side: ?before_from=&before_to= against ?from=&to=.
    routes.add("GET", "/api/v1/indices/compare", [&rt](const HttpRequest& r) {
        auto after = indexRequest(rt, [&r](const std::string& n) { return r.queryParam(n); });
        applyScope(rt, r, after);
        auto before = after;
        before.fromDay = queryDay("before_from", r.queryParam("before_from").value_or(""));
        before.toDay = queryDay("before_to", r.queryParam("before_to").value_or(""));
        const auto a = rt.indices().report(after), b = rt.indices().report(before);
        Array::Ptr changes = new Array;
        for (const index::Change& c :
             index::IndexService::compare(b, a, r.queryParam("index").value_or(""))) {
            Object::Ptr o = new Object;
            o->set("key", c.key);
            o->set("index", c.index);
            o->set("before", c.before ? Poco::Dynamic::Var(*c.before) : Poco::Dynamic::Var());
            o->set("after", c.after ? Poco::Dynamic::Var(*c.after) : Poco::Dynamic::Var());
            o->set("change", c.delta ? Poco::Dynamic::Var(*c.delta) : Poco::Dynamic::Var());
            o->set("beyond_noise", c.significant);
            changes->add(o);
        }
        Object::Ptr body = new Object;
        body->set("before", indexJson(b));
        body->set("after", indexJson(a));
        body->set("changes", changes);
        return HttpResponse::json(body);
    });
    // Which criteria move an index most (?index=, default the survey's first); reads the raw
    // responses of the range, so it is an analysis, not a dashboard query.
    routes.add("GET", "/api/v1/indices/drivers", [&rt](const HttpRequest& r) {
        auto request = indexRequest(rt, [&r](const std::string& n) { return r.queryParam(n); });
        applyScope(rt, r, request);
        return HttpResponse::json(
            driversJson(rt.indices().drivers(request, r.queryParam("index").value_or(""))));
    });
    // Decision 766/QĐ-TTg's satisfaction ratios by agency (no survey: all of them count).
    routes.add("GET", "/api/v1/indices/d766", [&rt](const HttpRequest& r) {
        auto request = indexRequest(
            rt, [&r](const std::string& n) { return r.queryParam(n); }, false);
        applyScope(rt, r, request);
        return HttpResponse::json(decision766Json(request, rt.indices().decision766(request)));
    });
    // Groups ranked on one index (?index=, default the survey's first); groups under the
    // minimum n are listed without a rank.
    routes.add("GET", "/api/v1/indices/rank", [&rt](const HttpRequest& r) {
        auto request = indexRequest(rt, [&r](const std::string& n) { return r.queryParam(n); });
        if (request.by.empty()) request.by = "agency";
        applyScope(rt, r, request);
        const auto report = rt.indices().report(request);
        std::string indexId = r.queryParam("index").value_or("");
        if (indexId.empty() && !report.survey->indices.empty())
            indexId = report.survey->indices.front().id;
        Array::Ptr items = new Array;
        for (const auto& [rank, g] : index::IndexService::rank(report, indexId)) {
            const IndexValue* v = index::find(g->indices, indexId);
            if (!v) throw Problem(404, "index.unknown_index", {{"index", indexId}});
            Object::Ptr o = new Object;
            o->set("rank", rank ? Poco::Dynamic::Var(rank) : Poco::Dynamic::Var());
            o->set("key", g->key);
            o->set("name", g->name);
            o->set("value", valueJson(*v));
            items->add(o);
        }
        Object::Ptr body = new Object;
        body->set("index", indexId);
        body->set("items", items);
        return HttpResponse::json(body);
    });
}

}  // namespace hailong
