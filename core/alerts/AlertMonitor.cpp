#include "alerts/AlertMonitor.h"

#include "common/Clock.h"
#include "index/Periods.h"
#include "survey/Mood.h"

#include <Poco/Data/Statement.h>

#include <cmath>
#include <cstdio>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {
namespace {

// 84,5 (vi) or 84.5 (en); a dash for nothing.
std::string oneDecimal(double v, const std::string& lang) {
    if (std::isnan(v)) return "—";
    char out[32];
    std::snprintf(out, sizeof out, "%.1f", v);
    std::string s = out;
    if (lang == "vi")
        for (char& c : s)
            if (c == '.') c = ',';
    return s;
}

}  // namespace

AlertMonitor::AlertMonitor(AlertStore& store, Database& db, index::IndexService& indices,
                           Outbox& outbox, const Messages& messages, const Directory& directory,
                           std::function<std::string()> consoleUrl, Options options)
    : store_(store),
      db_(db),
      indices_(indices),
      outbox_(outbox),
      messages_(messages),
      directory_(directory),
      consoleUrl_(std::move(consoleUrl)),
      options_(options) {}

AlertMonitor::~AlertMonitor() {
    stop();
}

void AlertMonitor::start() {
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
}

void AlertMonitor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void AlertMonitor::stored(const std::vector<std::int64_t>& agencyIds) {
    {
        std::lock_guard lock(mutex_);
        if (touched_.size() < 100000) touched_.insert(agencyIds.begin(), agencyIds.end());
    }
    wake_.notify_one();
}

void AlertMonitor::loop() {
    using std::chrono::milliseconds;
    auto nextSweep = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const bool sweep = std::chrono::steady_clock::now() >= nextSweep;
        std::set<std::int64_t> agencies;
        if (!sweep) {
            wake_.wait_until(lock, nextSweep, [&] { return stopping_ || !touched_.empty(); });
            if (stopping_) return;
            if (touched_.empty()) continue;  // the sweep is due
            // Let a burst of ratings settle, then evaluate once for all of it.
            wake_.wait_for(lock, milliseconds(options_.settleMs), [&] { return stopping_; });
            if (stopping_) return;
            agencies.swap(touched_);
        } else {
            touched_.clear();
            nextSweep = std::chrono::steady_clock::now() + milliseconds(options_.sweepMs);
        }
        lock.unlock();
        try {
            if (sweep || !agencies.empty()) evaluate(agencies, nowMs());
        } catch (const std::exception&) {
            // The database is away: the next sweep evaluates every rule again; nothing is lost.
        }
        lock.lock();
    }
}

AlertReading AlertMonitor::read(const AlertRule& rule, std::int64_t atMs) {
    AlertReading out;
    if (rule.kind == AlertKind::UnhappyShare) {
        const std::int64_t since = atMs - std::int64_t{rule.windowMinutes} * 60000;
        std::int64_t n = 0, unhappy = 0;
        db_.read([&](Session& s) {
            std::string like = rule.agencyPath + "%", survey = rule.surveyId;
            const double below = kUnhappyBelow;
            // By arrival (the index on agency and received_at finds the window); ratings a
            // tablet kept offline for longer than the window are not news.
            s << "SELECT COUNT(*), COALESCE(SUM(CASE WHEN r.mood < $1 THEN 1 ELSE 0 END), 0) "
                 "FROM responses r JOIN agencies a ON a.id = r.agency_id WHERE a.path LIKE $2 AND "
                 "r.received_at >= $3 AND r.answered_at >= $4 AND r.mood IS NOT NULL AND ($5 = '' "
                 "OR r.survey_id = $6)",
                bind(below), use(like), bind(since), bind(since), use(survey), bind(survey),
                into(n), into(unhappy), now;
            return 0;
        });
        out.n = n;
        if (n > 0) out.value = static_cast<double>(unhappy) / static_cast<double>(n) * 100;
        out.holds = out.value && n >= rule.minN && *out.value > rule.threshold;
        return out;
    }
    index::IndexRequest r;
    r.surveyId = rule.surveyId;
    r.toDay = index::localDay(atMs);
    r.fromDay = r.toDay - std::max(1, rule.windowMinutes / (24 * 60)) + 1;
    r.scopeAgency = rule.agencyId;
    const index::IndexReport report = indices_.report(r);
    if (report.groups.empty() || report.groups.front().indices.empty()) return out;
    const auto& values = report.groups.front().indices;
    const index::IndexValue* v =
        rule.indexId.empty() ? &values.front() : index::find(values, rule.indexId);
    if (!v) return out;
    out.value = v->value;
    out.n = v->n;
    out.holds = v->value && v->n >= rule.minN && *v->value < rule.threshold;
    return out;
}

std::vector<AlertChange> AlertMonitor::evaluate(const std::set<std::int64_t>& agencyIds,
                                                std::int64_t atMs) {
    std::vector<std::string> paths;
    for (std::int64_t id : agencyIds)
        if (auto a = directory_.agencyById(id)) paths.push_back(a->path);
    std::vector<AlertChange> changes;
    for (const AlertRule& rule : store_.rules("", true)) {
        if (!agencyIds.empty() &&
            std::none_of(paths.begin(), paths.end(),
                         [&](const std::string& p) { return p.starts_with(rule.agencyPath); }))
            continue;
        AlertReading reading;
        try {
            reading = read(rule, atMs);
        } catch (const Problem&) {
            continue;  // its survey or index is gone: nothing to say until the rule is fixed
        }
        std::optional<Alert> changed = reading.holds
                                           ? store_.open(rule, *reading.value, reading.n, atMs)
                                           : store_.clear(rule, reading.value, reading.n, atMs);
        if (!changed) continue;
        changes.push_back({reading.holds, *changed});
        notify(changes.back());
    }
    return changes;
}

void AlertMonitor::notify(const AlertChange& change) {
    const Alert& a = change.alert;
    const AlertRule& rule = a.rule;
    const bool share = rule.kind == AlertKind::UnhappyShare;
    const double value = change.opened ? a.value : a.clearedValue.value_or(NAN);
    const std::int64_t n = change.opened ? a.n : a.clearedN.value_or(0);
    auto params = [&](const std::string& lang) {
        return std::map<std::string, std::string>{
            {"agency", rule.agencyName},
            {"code", rule.agencyCode},
            {"value", oneDecimal(value, lang)},
            {"n", std::to_string(n)},
            {"threshold", oneDecimal(rule.threshold, lang)},
            {"minutes", std::to_string(rule.windowMinutes)},
            {"days", std::to_string(rule.windowMinutes / (24 * 60))},
            {"survey", rule.surveyId.empty() ? "*" : rule.surveyId},
            {"index", rule.indexId.empty() ? rule.surveyId : rule.indexId},
            {"url", consoleUrl_() + "/console/alerts"}};
    };
    const std::string what =
        std::string(change.opened ? "alert.notice_open_" : "alert.notice_clear_") +
        (share ? "unhappy_share" : "index_floor");
    const std::string vi = messages_.text("vi", what, params("vi"));
    for (const AlertRecipient& to : rule.recipients) {
        OutboundMessage m;
        m.channel = to.channel;
        m.recipient = to.address;
        m.dedupeKey = "alert:" + std::to_string(a.id) + (change.opened ? ":open:" : ":clear:") +
                      to.channel + ":" + to.address;
        if (to.channel == "email") {
            // The first line is the subject (see mail/SmtpSender.h); Vietnamese, then English.
            m.body =
                messages_.text("vi", change.opened ? "alert.subject_open" : "alert.subject_clear",
                               params("vi")) +
                "\n\n" + vi + "\n\n-- \n" + messages_.text("en", what, params("en")) + "\n";
        } else {
            m.body = vi;
        }
        outbox_.enqueue(m);
    }
}

}  // namespace hailong
