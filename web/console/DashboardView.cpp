#include "console/DashboardView.h"

#include "charts/SvgCharts.h"
#include "console/Format.h"
#include "ingest/Feedback.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <cmath>
#include <map>

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

using console::count;
using console::decimal;

std::size_t sizeOf(const Array::Ptr& a) {
    return a ? a->size() : 0;
}

Object::Ptr at(const Array::Ptr& a, std::size_t i) {
    return a->getObject(static_cast<unsigned>(i));
}

// "84,5 (81,2–87,3)" for an index value, "—" without one.
void annotate(Object::Ptr v, const std::string& lang) {
    if (v->has("value")) {
        std::string text = decimal(v->getValue<double>("value"), lang);
        if (v->has("low") && v->has("high"))
            text += " (" + decimal(v->getValue<double>("low"), lang) + "–" +
                    decimal(v->getValue<double>("high"), lang) + ")";
        v->set("value_text", text);
    } else {
        v->set("value_text", "—");
    }
    v->set("n_text", count(v->optValue<std::int64_t>("n", 0), lang));
}

// The top of a count scale: at least 4, a multiple of 4 (its quarter ticks are whole numbers).
double wholeQuarters(double most) {
    return std::max(4.0, std::ceil(most / 4) * 4);
}

// The headline of a group as a bar (for the bar charts).
charts::Bar barOf(Object::Ptr g) {
    charts::Bar b;
    b.label = g->optValue<std::string>("name", "");
    if (b.label.empty()) b.label = g->optValue<std::string>("code", "");
    if (!g->has("headline")) return b;
    Object::Ptr h = g->getObject("headline");
    if (h->has("value")) b.value = h->getValue<double>("value");
    if (h->has("low")) b.low = h->getValue<double>("low");
    if (h->has("high")) b.high = h->getValue<double>("high");
    b.tooFew = h->optValue<bool>("too_few", false);
    return b;
}

}  // namespace

void addAlertView(Object::Ptr a, const std::string& lang, const ConsoleText& t) {
    Object::Ptr rule = a->getObject("rule");
    const bool share = rule->getValue<std::string>("kind") == "unhappy_share";
    const std::string index = rule->getValue<std::string>("index");
    a->set("when", console::whenIso(a->getValue<std::string>("opened_at"), lang));
    if (a->has("cleared_at"))
        a->set("cleared_when", console::whenIso(a->getValue<std::string>("cleared_at"), lang));
    a->set("text", t(share ? "alert_text_unhappy_share" : "alert_text_index_floor",
                     {{"value", decimal(a->getValue<double>("value"), lang)},
                      {"n", count(a->getValue<std::int64_t>("n"), lang)},
                      {"threshold", decimal(rule->getValue<double>("threshold"), lang)},
                      {"minutes", std::to_string(rule->optValue<int>("window_minutes", 0))},
                      {"days", std::to_string(rule->optValue<int>("window_days", 0))},
                      {"index", index.empty() ? rule->getValue<std::string>("survey") : index}}));
}

void addDashboardView(Object::Ptr data, const std::string& lang, const ConsoleText& t,
                      std::size_t rowsShown) {
    auto text = [&](const std::string& key) { return t(key, {}); };
    if (data->optValue<std::string>("agency_name", "").empty())
        data->set("agency_name", text("scope_all"));
    charts::Options options;
    options.locale = lang;
    options.emptyText = text("no_data");

    // The headline, its change and its parts.
    if (data->has("total")) {
        Object::Ptr total = data->getObject("total");
        if (total->has("headline")) annotate(total->getObject("headline"), lang);
        total->set("responses_text", count(total->getValue<std::int64_t>("responses"), lang));
    }
    if (data->has("change")) {
        Object::Ptr c = data->getObject("change");
        if (c->has("delta")) {
            const double d = c->getValue<double>("delta");
            c->set("delta_text", (d > 0 ? "+" : "") + decimal(d, lang));
        }
    }
    const Array::Ptr parts = data->getArray("parts");
    for (std::size_t i = 0; i < sizeOf(parts); ++i) annotate(at(parts, i), lang);
    data->set("has_parts", sizeOf(parts) > 0);

    // The trend.
    const bool weekly = data->optValue<std::string>("trend_grain", "month") == "week";
    data->set("trend_title", text(weekly ? "trend_week" : "trend_month"));
    data->set("trend_weekly", weekly);
    std::vector<charts::Point> points;
    const Array::Ptr trend = data->getArray("trend");
    for (std::size_t i = 0; i < sizeOf(trend); ++i) {
        Object::Ptr g = at(trend, i);
        if (!g->has("headline")) g->set("headline", Object::Ptr(new Object));  // no responses
        annotate(g->getObject("headline"), lang);
        const charts::Bar b = barOf(g);
        points.push_back({g->optValue<std::string>("period", ""), b.value, b.low, b.high});
    }
    data->set("trend_svg", charts::lineChart(text(weekly ? "trend_week" : "trend_month"),
                                             text("chart_interval"), points, options));

    // The distribution of answers: a stacked bar chart for the rating questions that share the
    // first one's scale, a table for every question.
    const Array::Ptr distribution = data->getArray("distribution");
    std::vector<std::string> scale;
    std::vector<charts::Stack> stacks;
    for (std::size_t i = 0; i < sizeOf(distribution); ++i) {
        Object::Ptr q = at(distribution, i);
        q->set("n_text", count(q->getValue<std::int64_t>("n"), lang));
        const Array::Ptr opts = q->getArray("options");
        std::vector<std::string> labels;
        charts::Stack stack{q->getValue<std::string>("text"), {}};
        for (std::size_t k = 0; k < sizeOf(opts); ++k) {
            Object::Ptr o = at(opts, k);
            o->set("share_text", decimal(o->getValue<double>("share"), lang) + "%");
            o->set("count_text", count(o->getValue<std::int64_t>("count"), lang));
            labels.push_back(o->getValue<std::string>("label"));
            stack.counts.push_back(static_cast<double>(o->getValue<std::int64_t>("count")));
        }
        if (q->getValue<std::string>("type") != "rating") continue;
        if (scale.empty()) scale = labels;
        if (labels == scale) stacks.push_back(std::move(stack));
    }
    data->set("has_distribution", sizeOf(distribution) > 0);
    if (!stacks.empty())
        data->set("distribution_svg",
                  charts::stackedBars(text("distribution"), text("distribution_chart"), scale,
                                      stacks, options));

    // Rankings: each value written out, the first rows shown, the rest folded.
    for (const char* list : {"agencies", "counters", "officers", "procedures", "channels"}) {
        const Array::Ptr groups = data->getArray(list);
        Array::Ptr top = new Array, more = new Array;
        std::int64_t responses = 0;
        for (std::size_t i = 0; i < sizeOf(groups); ++i)
            responses += at(groups, i)->optValue<std::int64_t>("responses", 0);
        for (std::size_t i = 0; i < sizeOf(groups); ++i) {
            Object::Ptr g = at(groups, i);
            if (g->has("headline")) annotate(g->getObject("headline"), lang);
            if (std::string(list) == "channels") {
                g->set("name", t("channel_" + g->getValue<std::string>("code"), {}));
                const auto n = g->optValue<std::int64_t>("responses", 0);
                g->set("share_text", decimal(responses ? 100.0 * static_cast<double>(n) /
                                                             static_cast<double>(responses)
                                                       : 0.0,
                                             lang) +
                                         "%");
            }
            g->set("responses_text", count(g->optValue<std::int64_t>("responses", 0), lang));
            (i < rowsShown ? top : more)->add(g);
        }
        data->set(std::string(list) + "_top", top);
        data->set(std::string(list) + "_more", more);
        data->set(std::string(list) + "_has_more", more->size() > 0);
        data->set(std::string(list) + "_more_label",
                  t("more_rows", {{"n", count(static_cast<std::int64_t>(more->size()), lang)}}));
        data->set(std::string(list) + "_any", sizeOf(groups) > 0);
    }
    auto bars = [&](const char* list, const std::string& title) {
        std::vector<charts::Bar> out;
        const Array::Ptr groups = data->getArray(std::string(list) + "_top");
        for (std::size_t i = 0; i < sizeOf(groups); ++i) out.push_back(barOf(at(groups, i)));
        return charts::barChart(title, text("chart_interval"), out, options);
    };
    data->set("agencies_svg", bars("agencies", text("by_agency")));
    data->set("counters_svg", bars("counters", text("worst_counters")));
    data->set("officers_svg", bars("officers", text("worst_officers")));
    data->set("channels_svg", bars("channels", text("channel_mix")));
    if (data->has("whole_months")) {
        Object::Ptr m = data->getObject("whole_months");
        data->set("whole_months_text",
                  t("whole_months", {{"from", m->getValue<std::string>("from")},
                                     {"to", m->getValue<std::string>("to")}}));
    }

    // The heat maps: weekdays down, the hours with ratings across (at least 7h to 17h).
    Object::Ptr heat = data->getObject("heatmap");
    const Array::Ptr cells = heat ? heat->getArray("cells") : Array::Ptr();
    int firstHour = 7, lastHour = 17;
    std::map<std::pair<int, int>, Object::Ptr> byCell;
    double most = 0;
    for (std::size_t i = 0; i < sizeOf(cells); ++i) {
        Object::Ptr c = at(cells, i);
        const int day = c->getValue<int>("weekday"), hour = c->getValue<int>("hour");
        byCell[{day, hour}] = c;
        firstHour = std::min(firstHour, hour), lastHour = std::max(lastHour, hour);
        most = std::max(most, static_cast<double>(c->getValue<std::int64_t>("responses")));
    }
    std::vector<std::string> dayLabels, hourLabels;
    for (int d = 0; d < 7; ++d) dayLabels.push_back(text("weekday_" + std::to_string(d)));
    for (int h = firstHour; h <= lastHour; ++h) hourLabels.push_back(std::to_string(h) + "h");
    std::vector<std::vector<std::optional<double>>> counts(7), shares(7);
    Array::Ptr heatRows = new Array;
    Array::Ptr heatHours = new Array;
    for (const std::string& h : hourLabels) heatHours->add(h);
    for (int d = 0; d < 7; ++d) {
        Object::Ptr row = new Object;
        row->set("day", dayLabels[static_cast<std::size_t>(d)]);
        Array::Ptr values = new Array;
        for (int h = firstHour; h <= lastHour; ++h) {
            auto it = byCell.find({d, h});
            std::optional<double> n, share;
            if (it != byCell.end()) {
                n = static_cast<double>(it->second->getValue<std::int64_t>("responses"));
                if (it->second->has("unhappy_share"))
                    share = it->second->getValue<double>("unhappy_share");
            }
            counts[static_cast<std::size_t>(d)].push_back(n);
            shares[static_cast<std::size_t>(d)].push_back(share);
            values->add(n ? count(static_cast<std::int64_t>(*n), lang) +
                                (share ? "; " + decimal(*share, lang) + "%" : "")
                          : "");
        }
        row->set("values", values);
        heatRows->add(row);
    }
    data->set("heat_rows", heatRows);
    data->set("heat_hours", heatHours);
    if (heat)
        data->set("heat_help",
                  t("heat_help", {{"from", heat->getValue<std::string>("from")},
                                  {"to", heat->getValue<std::string>("to")},
                                  {"n", std::to_string(heat->getValue<int>("min_n"))}}));
    charts::Options countOptions = options;
    countOptions.unit = "";
    countOptions.decimals = 0;
    countOptions.max = wholeQuarters(most);
    data->set("heat_counts_svg", charts::heatMap(text("heat_responses"), text("counts_chart"),
                                                 dayLabels, hourLabels, counts, countOptions));
    data->set("heat_unhappy_svg", charts::heatMap(text("heat_unhappy"), text("unhappy_chart"),
                                                  dayLabels, hourLabels, shares, options));

    // Topics of the comments, and the comments themselves.
    Object::Ptr topics = data->getObject("comment_topics");
    const Array::Ptr topicList = topics ? topics->getArray("topics") : Array::Ptr();
    std::vector<charts::Bar> topicBars;
    double mostTopic = 0;
    for (std::size_t i = 0; i < sizeOf(topicList); ++i) {
        Object::Ptr o = at(topicList, i);
        o->set("label", text("topic_" + o->getValue<std::string>("topic")));
        o->set("count_text", count(o->getValue<std::int64_t>("count"), lang));
        o->set("negative_text", count(o->getValue<std::int64_t>("negative"), lang));
        mostTopic = std::max(mostTopic, static_cast<double>(o->getValue<std::int64_t>("count")));
        topicBars.push_back({o->getValue<std::string>("label"),
                             static_cast<double>(o->getValue<std::int64_t>("count")), std::nullopt,
                             std::nullopt, false});
    }
    charts::Options topicOptions = countOptions;
    topicOptions.max = wholeQuarters(mostTopic);
    data->set("topics_svg",
              charts::barChart(text("topics"), text("topics_chart"), topicBars, topicOptions));
    const Array::Ptr comments = data->getArray("comments");
    for (std::size_t i = 0; i < sizeOf(comments); ++i) {
        Object::Ptr c = at(comments, i);
        c->set("when", console::whenIso(c->getValue<std::string>("answered_at"), lang));
        c->set("channel_label", text("channel_" + c->getValue<std::string>("channel")));
        // On the 0-100 scale every rating is read on: "0/100" says which end is which.
        if (c->has("mood"))
            c->set("mood_text", std::to_string(std::lround(c->getValue<double>("mood"))) + "/100");
        const std::string feel = c->getValue<std::string>("sentiment");
        if (!feel.empty()) c->set("sentiment_label", text("sentiment_" + feel));
        std::string tags;
        const Array::Ptr list = c->getArray("topics");
        for (std::size_t k = 0; k < sizeOf(list); ++k)
            tags += (tags.empty() ? "" : ", ") +
                    text("topic_" + list->getElement<std::string>(static_cast<unsigned>(k)));
        c->set("topics_text", tags);
    }
    data->set("has_comments", sizeOf(comments) > 0);
    Object::Ptr filters = data->getObject("filters");
    auto choices = [&](const char* name, const std::vector<std::string>& values,
                       const std::string& prefix) {
        Array::Ptr out = new Array;
        const std::string chosen = filters ? filters->optValue<std::string>(name, "") : "";
        for (const std::string& v : values) {
            Object::Ptr o = new Object;
            o->set("id", v);
            o->set("label", text(prefix + v));
            o->set("selected", v == chosen);
            out->add(o);
        }
        data->set(std::string(name) + "_options", out);
    };
    choices("topic", knownTopics(), "topic_");
    choices("sentiment", {"negative", "neutral", "positive"}, "sentiment_");
    choices("rating", {"unhappy", "satisfied"}, "rating_");
    data->set("comments_shown",
              t("comments_shown",
                {{"shown", count(static_cast<std::int64_t>(sizeOf(comments)), lang)},
                 {"total", count(data->optValue<std::int64_t>("comments_matching", 0), lang)}}));

    // Open alerts, in words.
    const Array::Ptr alerts = data->getArray("alerts");
    for (std::size_t i = 0; i < sizeOf(alerts); ++i) addAlertView(at(alerts, i), lang, t);
    data->set("has_alerts", sizeOf(alerts) > 0);
}

}  // namespace hailong
