#include "console/Dashboard.h"

#include "app/AlertApi.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "index/Periods.h"
#include "ingest/Feedback.h"
#include "survey/Mood.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/JSON/Array.h>

#include <algorithm>
#include <future>
#include <set>

using namespace Poco::Data::Keywords;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

constexpr int kCommentsShown = 50, kMostComments = 500;
constexpr std::int64_t kMinHeatCell = 5;  // fewer ratings in an hour: no share shown

const std::string& localizedText(const LocalizedText& text, const std::string& lang) {
    static const std::string none;
    auto it = text.find(lang);
    if (it != text.end()) return it->second;
    it = text.find("vi");
    return it == text.end() ? none : it->second;
}

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
    o->set("responses", g.tally.responses);
    if (rank > 0) o->set("rank", rank);
    if (const auto* v = headline(g)) o->set("headline", valueOf(*v));
    return o;
}

std::string oneOf(const std::string& name, const std::string& value,
                  const std::vector<std::string>& allowed) {
    if (value.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end())
        return value;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw Problem(400, "query.one_of", {{"name", name}, {"allowed", list}});
}

// `text` for a LIKE pattern: % _ and \ stand for themselves (ESCAPE '\').
std::string likeLiteral(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// The distribution of answers to each closed question of `survey` in `tally`.
Array::Ptr distributionOf(const Survey& survey, const index::Tally& tally,
                          const std::string& lang) {
    Array::Ptr out = new Array;
    for (const Question& q : survey.questions) {
        if (isFreeText(q.type) || q.type == QuestionType::DossierCode) continue;
        auto answered = tally.answers.find(q.id);
        if (answered == tally.answers.end()) continue;
        std::int64_t sum = 0;
        for (const auto& [option, n] : answered->second) sum += n;
        if (sum == 0) continue;
        const bool multiple = q.type == QuestionType::MultipleChoice;
        const std::int64_t base = multiple ? tally.responses : sum;
        Object::Ptr o = new Object;
        o->set("question", q.id);
        o->set("text", localizedText(q.text, lang));
        o->set("type", multiple                         ? "multiple"
                       : q.type == QuestionType::Rating ? "rating"
                                                        : "single");
        o->set("n", multiple ? tally.responses : sum);
        Array::Ptr options = new Array;
        for (const QuestionOption& opt : q.options) {
            auto it = answered->second.find(opt.id);
            const std::int64_t n = it == answered->second.end() ? 0 : it->second;
            Object::Ptr x = new Object;
            x->set("id", opt.id);
            x->set("label", localizedText(opt.label, lang));
            x->set("count", n);
            x->set("share",
                   base > 0 ? static_cast<double>(n) / static_cast<double>(base) * 100 : 0.0);
            options->add(x);
        }
        o->set("options", options);
        out->add(o);
    }
    return out;
}

// What the comments section asks: a survey's comments in a subtree and period, narrowed.
struct CommentQuery {
    std::string surveyId, scopePath, counter, topic, sentiment, rating;
    std::string key;  ///< the search's accent-free key ("" for none)
    std::int64_t fromMs = 0, toMs = 0;
    int limit = 0;
};

// The comments of `q`, newest first (at most q.limit), how many match in all, and the counts by
// topic and sentiment over every comment of the period (of q.counter, if any).
void readComments(Poco::Data::Session& s, const CommentQuery& q, Array::Ptr& list,
                  Object::Ptr& topics, std::int64_t& matching) {
    std::string surveyText = q.surveyId, like = q.scopePath + "%", counter = q.counter;
    std::string topicLike = "%," + q.topic + ",%", sent = q.sentiment, rate = q.rating;
    std::string search = "%" + likeLiteral(q.key) + "%";
    std::int64_t fromMs = q.fromMs, toMs = q.toMs;
    const double below = kUnhappyBelow;
    const std::string from =
        " FROM responses r JOIN agencies a ON a.id = r.agency_id LEFT JOIN counters c ON c.id "
        "= r.counter_id WHERE r.survey_id = $1 AND r.feedback <> '' AND r.answered_at >= $2 "
        "AND r.answered_at < $3 AND a.path LIKE $4 AND ($5 = '' OR c.code = $6)";
    {
        Poco::Data::Statement st(s);
        st << "SELECT r.topics, r.sentiment, COUNT(*)" + from + " GROUP BY r.topics, r.sentiment",
            use(surveyText), use(fromMs), use(toMs), use(like), use(counter), bind(q.counter);
        st.execute();
        Poco::Data::RecordSet rs(st);
        std::map<std::string, std::int64_t> byTopic, negative, bySentiment;
        std::int64_t all = 0;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            const std::int64_t n = rs.value(2).convert<std::int64_t>();
            const std::string feel = rs.value(1).convert<std::string>();
            all += n;
            bySentiment[feel] += n;
            for (const std::string& t : topicsOf(rs.value(0).convert<std::string>())) {
                byTopic[t] += n;
                if (feel == "negative") negative[t] += n;
            }
        }
        Array::Ptr counts = new Array;
        for (const std::string& t : knownTopics()) {
            Object::Ptr o = new Object;
            o->set("topic", t);
            o->set("count", byTopic[t]);
            o->set("negative", negative[t]);
            counts->add(o);
        }
        topics->set("comments", all);
        topics->set("topics", counts);
        Object::Ptr feelings = new Object;
        for (const char* f : {"positive", "neutral", "negative"}) feelings->set(f, bySentiment[f]);
        topics->set("sentiment", feelings);
    }
    const std::string narrowed =
        " AND ($7 = '' OR r.topics LIKE $8) AND ($9 = '' OR r.sentiment = $10) AND ($11 = '' OR "
        "($12 = 'unhappy' AND r.mood < $13) OR ($14 = 'satisfied' AND r.mood >= $15)) AND ($16 = "
        "'' OR r.feedback_key LIKE $17 ESCAPE '\\')";
    auto bindAll = [&](Poco::Data::Statement& st) {
        st, use(surveyText), use(fromMs), use(toMs), use(like), use(counter), bind(q.counter),
            bind(q.topic), use(topicLike), use(sent), bind(q.sentiment), use(rate), bind(q.rating),
            bind(below), bind(q.rating), bind(below), bind(q.key), use(search);
    };
    {
        Poco::Data::Statement st(s);
        st << "SELECT COUNT(*)" + from + narrowed, into(matching);
        bindAll(st);
        st.execute();
    }
    Poco::Data::Statement st(s);
    st << "SELECT r.receipt, r.answered_at, r.channel, COALESCE(c.code, ''), a.code, r.feedback, "
          "r.mood, r.sentiment, r.topics" +
              from + narrowed + " ORDER BY r.answered_at DESC, r.id DESC LIMIT " +
              std::to_string(q.limit);
    bindAll(st);
    st.execute();
    Poco::Data::RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        Object::Ptr o = new Object;
        o->set("receipt", rs.value(0).convert<std::string>());
        o->set("answered_at", formatTimeMs(rs.value(1).convert<std::int64_t>()));
        o->set("channel", rs.value(2).convert<std::string>());
        o->set("counter", rs.value(3).convert<std::string>());
        o->set("agency", rs.value(4).convert<std::string>());
        o->set("text", rs.value(5).convert<std::string>());
        if (!rs.value(6).isEmpty()) {
            const double mood = rs.value(6).convert<double>();
            o->set("mood", mood);
            o->set("unhappy", mood < kUnhappyBelow);
        }
        o->set("sentiment", rs.value(7).convert<std::string>());
        Array::Ptr tags = new Array;
        for (const std::string& t : topicsOf(rs.value(8).convert<std::string>())) tags->add(t);
        o->set("topics", tags);
        list->add(o);
    }
}

}  // namespace

DashboardQuery dashboardQuery(const HttpRequest& r) {
    DashboardQuery q;
    auto p = [&](const char* name) {
        std::string v = r.queryParam(name).value_or("");
        return v.size() > 200 ? v.substr(0, 200) : v;
    };
    q.surveyId = p("survey"), q.from = p("from"), q.to = p("to"), q.agencyCode = p("agency");
    q.trend = p("trend"), q.counterCode = p("counter"), q.search = p("q"), q.topic = p("topic");
    q.sentiment = p("sentiment"), q.rating = p("rating"), q.comments = p("comments");
    return q;
}

Object::Ptr dashboardData(Runtime& rt, const Caller& who, const DashboardQuery& q,
                          const std::string& lang) {
    // The survey: the one asked for, or SIPAS, or the first published one.
    std::string surveyId = q.surveyId;
    if (surveyId.empty()) surveyId = rt.surveys().find("sipas-2017") ? "sipas-2017" : "";
    if (surveyId.empty() && !rt.surveys().list().empty())
        surveyId = rt.surveys().list().front()->id;
    const auto survey = surveyId.empty() ? nullptr : rt.surveys().find(surveyId);
    if (!survey) throw Problem(404, "survey.not_found", {{"id", surveyId}});
    const std::string trendGrain = oneOf("trend", q.trend, {"month", "week"});
    const std::string topic = oneOf("topic", q.topic, knownTopics());
    const std::string sentiment =
        oneOf("sentiment", q.sentiment, {"positive", "neutral", "negative"});
    const std::string rating = oneOf("rating", q.rating, {"unhappy", "satisfied"});
    const int commentLimit = q.comments.empty()
                                 ? kCommentsShown
                                 : queryInteger("comments", q.comments, 0, kMostComments);
    // The agency: asked for (inside the caller's scope), or the caller's own.
    index::IndexRequest base;
    base.surveyId = surveyId;
    const std::string agencyCode = q.agencyCode.empty() ? who.scopeCode : q.agencyCode;
    std::optional<Agency> scope;
    if (!agencyCode.empty()) {
        scope = rt.directory().agency(agencyCode);
        if (!scope)
            throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", agencyCode}});
        if (!who.admin && !scope->path.starts_with(who.scopePath))
            throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                          {{"scope", who.scopeCode}, {"code", agencyCode}});
        base.scopeAgency = scope->id;
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
    if (base.toDay < base.fromDay)
        throw Problem(400, "query.range",
                      {{"from", index::format(base.fromDay)}, {"to", index::format(base.toDay)}});
    if (base.toDay - base.fromDay > 366 * 5)
        throw Problem(400, "query.range_too_long", {{"years", "5"}});

    Object::Ptr out = new Object;
    out->set("survey", surveyId);
    out->set("survey_title", localizedText(survey->title, lang));
    out->set("agency", agencyCode);
    out->set("agency_name", scope ? scope->name : std::string());
    out->set("from", index::format(base.fromDay));
    out->set("to", index::format(base.toDay));
    out->set("trend_grain", trendGrain.empty() ? "month" : trendGrain);
    Object::Ptr filters = new Object;
    filters->set("counter", q.counterCode);
    filters->set("q", q.search);
    filters->set("topic", topic);
    filters->set("sentiment", sentiment);
    filters->set("rating", rating);
    out->set("filters", filters);

    // The parts below read independently: each on its own thread (and pooled session), so that
    // a page waits for the slowest, not for their sum.
    auto later = [](auto f) { return std::async(std::launch::async, std::move(f)); };
    // Headline, against the period of the same length just before.
    auto total = later([&] { return rt.indices().report(base); });
    index::IndexRequest before = base;
    const std::int64_t days = base.toDay - base.fromDay + 1;
    before.fromDay = base.fromDay - days;
    before.toDay = base.fromDay - 1;
    auto earlier = later([&] { return rt.indices().report(before); });
    // The trend: twelve months, or thirteen weeks, up to the period's end.
    index::IndexRequest trend = base;
    if (trendGrain == "week") {
        trend.period = index::Grain::Week;
        trend.fromDay = index::bucketStart(base.toDay, index::Grain::Week) - 12 * 7;
    } else {
        trend.period = index::Grain::Month;
        trend.fromDay = index::firstDayOfMonth(index::monthOf(base.toDay) - 11);
    }
    auto trendReport = later([&] { return rt.indices().report(trend); });
    // Rankings: worst first, those with too few answers (unranked) after, lowest first too.
    struct Ranking {
        Array::Ptr list = new Array;
        std::int64_t fromDay = 0, toDay = 0;  // what the report covered (whole months or not)
    };
    auto ranked = [&](const std::string& by, std::function<bool(const index::GroupResult&)> keep) {
        return later([&rt, base, by, keep] {
            index::IndexRequest r = base;
            r.by = by;
            const index::IndexReport report = rt.indices().report(r);
            Ranking ranking{new Array, report.request.fromDay, report.request.toDay};
            if (report.groups.empty() || report.groups.front().indices.empty()) return ranking;
            auto order =
                index::IndexService::rank(report, report.groups.front().indices.front().id);
            auto value = [](const index::GroupResult* g) {
                const auto* h = headline(*g);
                return h && h->value ? *h->value : 1e9;
            };
            std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
                if ((a.first > 0) != (b.first > 0)) return a.first > 0;
                return value(a.second) < value(b.second);
            });
            for (const auto& [rank, g] : order)
                if (keep(*g)) ranking.list->add(groupOf(*g, rank));
            return ranking;
        });
    };
    auto every = [](const index::GroupResult&) { return true; };
    const int depth = scope ? scope->depth : -1;
    // One level down: the scope's children (without a scope, the top of the tree).
    auto agencies =
        ranked("agency", [depth](const index::GroupResult& g) { return g.depth == depth + 1; });
    auto counters = ranked("counter", every), officers = ranked("officer", every),
         procedures = ranked("procedure", every), channels = ranked("channel", every);

    // The hour-of-week heat map, over the whole months of the period.
    const std::string scopePath = scope ? scope->path : std::string();
    auto heat = later([&] {
        const std::map<int, index::HourCounts> slots =
            rt.indices().store().hoursWithin(surveyId, base.fromDay, base.toDay, scopePath);
        Object::Ptr map = new Object;
        map->set("from", index::format(index::firstDayOfMonth(index::monthOf(base.fromDay))));
        map->set("to", index::format(index::lastDayOfMonth(index::monthOf(base.toDay))));
        map->set("min_n", kMinHeatCell);
        Array::Ptr cells = new Array;
        for (const auto& [slot, c] : slots) {
            Object::Ptr o = new Object;
            o->set("weekday", slot / 24);  // 0 Monday … 6 Sunday
            o->set("hour", slot % 24);
            o->set("responses", c.responses);
            o->set("rated", c.rated);
            o->set("unhappy", c.unhappy);
            if (c.rated > 0) o->set("mood", c.moodTotal / static_cast<double>(c.rated));
            if (c.rated >= kMinHeatCell)
                o->set("unhappy_share",
                       static_cast<double>(c.unhappy) / static_cast<double>(c.rated) * 100);
            cells->add(o);
        }
        map->set("cells", cells);
        return map;
    });

    // Comments of the period (the citizens' own words), newest first, and counts by topic.
    struct Comments {
        Array::Ptr list = new Array;
        Object::Ptr topics = new Object;
        std::int64_t matching = 0;
    };
    auto comments = later([&] {
        Comments found;
        const std::string wanted = q.search.empty() ? "" : rt.text().key(q.search);
        rt.database().read([&](Poco::Data::Session& s) {
            readComments(s,
                         CommentQuery{surveyId, scopePath, q.counterCode, topic, sentiment, rating,
                                      wanted, index::dayStartMs(base.fromDay),
                                      index::dayStartMs(base.toDay + 1), commentLimit},
                         found.list, found.topics, found.matching);
            return 0;
        });
        return found;
    });

    // Everything together, in the order the page reads it.
    const index::IndexReport totalReport = total.get(), earlierReport = earlier.get();
    if (!totalReport.groups.empty()) {
        const index::GroupResult& all = totalReport.groups.front();
        out->set("total", groupOf(all, 0));
        if (const auto* h = headline(all)) {
            for (const index::Change& c :
                 index::IndexService::compare(earlierReport, totalReport, h->id)) {
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
                if (child.definition) o->set("title", localizedText(child.definition->title, lang));
                parts->add(o);
            }
            out->set("parts", parts);
            if (h->definition)
                out->set("headline_title", localizedText(h->definition->title, lang));
        }
        out->set("distribution", distributionOf(*totalReport.survey, all.tally, lang));
    }
    // Every bucket of the trend, those without responses too (a gap in the line, a dash in the
    // table).
    std::map<std::int64_t, Object::Ptr> byBucket;
    for (const auto& g : trendReport.get().groups) {
        Object::Ptr o = groupOf(g, 0);
        o->set("period", g.period);
        byBucket[g.periodStart] = o;
    }
    Array::Ptr buckets = new Array;
    for (std::int64_t start = index::bucketStart(trend.fromDay, *trend.period); start <= base.toDay;
         start = index::bucketEnd(start, *trend.period) + 1) {
        auto it = byBucket.find(start);
        if (it != byBucket.end()) {
            buckets->add(it->second);
            continue;
        }
        Object::Ptr empty = new Object;
        empty->set("period", index::label(start, *trend.period));
        empty->set("responses", 0);
        buckets->add(empty);
    }
    out->set("trend", buckets);
    out->set("agencies", agencies.get().list);
    Object::Ptr months;  // the whole months the families kept by month covered
    for (auto* f : {&counters, &officers, &procedures}) {
        const Ranking r = f->get();
        out->set(f == &counters ? "counters" : f == &officers ? "officers" : "procedures", r.list);
        if (r.fromDay != base.fromDay || r.toDay != base.toDay) {
            months = new Object;
            months->set("from", index::format(r.fromDay));
            months->set("to", index::format(r.toDay));
        }
    }
    if (months) out->set("whole_months", months);
    out->set("channels", channels.get().list);
    out->set("heatmap", heat.get());
    const Comments said = comments.get();
    out->set("comments", said.list);
    out->set("comments_matching", said.matching);
    out->set("comment_topics", said.topics);

    // The open alerts of the scope.
    Array::Ptr alerts = new Array;
    for (const Alert& a : rt.alerts().alerts(scopePath, true, 20)) alerts->add(alertJson(a));
    out->set("alerts", alerts);
    return out;
}

}  // namespace hailong
