#include "alerts/AlertStore.h"

#include "common/Clock.h"
#include "common/Utf8.h"
#include "store/Columns.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <charconv>
#include <cmath>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong {
namespace {

constexpr int kMinuteWindowMin = 5, kMinuteWindowMax = 7 * 24 * 60;  // 5 minutes to a week
constexpr int kDayWindowMin = 1, kDayWindowMax = 90;

// A number typed in a form, with a decimal point or comma; nothing when it is not one.
std::optional<double> number(const std::string& typed) {
    std::string t = utf8::trim(typed);
    std::replace(t.begin(), t.end(), ',', '.');
    double v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

std::optional<int> whole(const std::string& typed, int min, int max) {
    const std::string t = utf8::trim(typed);
    int v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v < min || v > max)
        return std::nullopt;
    return v;
}

// An e-mail address as people type them: one @, a local part and a domain with a dot, nothing
// that is a space or control character, at most 254 bytes.
bool emailAddress(std::string_view s) {
    const auto at = s.find('@');
    if (s.size() > 254 || at == std::string_view::npos || at == 0 ||
        s.find('@', at + 1) != std::string_view::npos)
        return false;
    const std::string_view domain = s.substr(at + 1);
    if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
        domain.back() == '.')
        return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return c > 0x20 && c < 0x7F && c != '<' && c != '>' && c != '"' && c != ',' && c != ';';
    });
}

std::string storedRecipients(const std::vector<AlertRecipient>& list) {
    std::string out;
    for (const AlertRecipient& r : list)
        out += (out.empty() ? "" : "\n") + r.channel + ":" + r.address;
    return out;
}

std::vector<AlertRecipient> recipientsOf(const std::string& stored) {
    std::vector<AlertRecipient> out;
    std::size_t at = 0;
    while (at < stored.size()) {
        std::size_t end = stored.find('\n', at);
        if (end == std::string::npos) end = stored.size();
        const std::string line = stored.substr(at, end - at);
        const auto colon = line.find(':');
        if (colon != std::string::npos)
            out.push_back({line.substr(0, colon), line.substr(colon + 1)});
        at = end + 1;
    }
    return out;
}

const char* kRuleColumns =
    "SELECT r.id, r.agency_id, a.code, a.name, a.path, r.kind, r.survey_id, r.index_id, "
    "r.threshold, r.window_minutes, r.min_n, r.recipients, r.active, r.created_by, r.created_at, "
    "r.updated_at FROM alert_rules r JOIN agencies a ON a.id = r.agency_id ";

AlertRule ruleOf(RecordSet& rs, std::size_t at = 0) {
    AlertRule r;
    r.id = columns::i64(rs, at + 0);
    r.agencyId = columns::i64(rs, at + 1);
    r.agencyCode = columns::str(rs, at + 2);
    r.agencyName = columns::str(rs, at + 3);
    r.agencyPath = columns::str(rs, at + 4);
    r.kind = parseAlertKind(columns::str(rs, at + 5)).value_or(AlertKind::UnhappyShare);
    r.surveyId = columns::str(rs, at + 6);
    r.indexId = columns::str(rs, at + 7);
    r.threshold = rs.value(at + 8).convert<double>();
    r.windowMinutes = static_cast<int>(columns::i64(rs, at + 9));
    r.minN = static_cast<int>(columns::i64(rs, at + 10));
    r.recipients = recipientsOf(columns::str(rs, at + 11));
    r.active = columns::i64(rs, at + 12) != 0;
    r.createdBy = columns::str(rs, at + 13);
    r.createdAtMs = columns::i64(rs, at + 14);
    r.updatedAtMs = columns::i64(rs, at + 15);
    return r;
}

}  // namespace

const char* toString(AlertKind kind) {
    return kind == AlertKind::IndexFloor ? "index_floor" : "unhappy_share";
}

std::optional<AlertKind> parseAlertKind(std::string_view text) {
    if (text == "unhappy_share") return AlertKind::UnhappyShare;
    if (text == "index_floor") return AlertKind::IndexFloor;
    return std::nullopt;
}

std::vector<AlertRecipient> parseRecipients(
    std::string_view text, const std::function<std::string(std::string_view)>& canonicalPhone,
    std::vector<FieldError>& errors) {
    std::vector<AlertRecipient> out;
    std::string item;
    auto take = [&] {
        const std::string typed = utf8::trim(item);
        item.clear();
        if (typed.empty()) return;
        AlertRecipient r;
        if (typed.find('@') != std::string::npos) {
            if (!emailAddress(typed)) {
                errors.push_back(
                    {"recipients", "alert.bad_email", {{"value", typed.substr(0, 80)}}});
                return;
            }
            r = {"email", typed};
        } else {
            const std::string phone = canonicalPhone(typed);
            if (phone.empty()) {
                errors.push_back(
                    {"recipients", "alert.bad_recipient", {{"value", typed.substr(0, 80)}}});
                return;
            }
            r = {"sms", phone};
        }
        if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    };
    for (char c : text) {
        if (c == '\n' || c == ',' || c == ';')
            take();
        else
            item += c;
    }
    take();
    if (out.size() > AlertStore::kMaxRecipients)
        errors.push_back({"recipients",
                          "alert.too_many_recipients",
                          {{"max", std::to_string(AlertStore::kMaxRecipients)}}});
    return out;
}

AlertStore::AlertStore(Database& db, const Directory& directory, const SurveyCatalog& surveys,
                       std::function<std::string(std::string_view)> canonicalPhone)
    : db_(db),
      directory_(directory),
      surveys_(surveys),
      canonicalPhone_(std::move(canonicalPhone)) {}

AlertRule AlertStore::save(std::int64_t id, const AlertRuleInput& in, const std::string& actor) {
    std::vector<FieldError> errors;
    const auto agency = directory_.agency(utf8::trim(in.agencyCode));
    if (!agency)
        throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", in.agencyCode}});
    AlertRule r;
    r.agencyId = agency->id;
    const auto kind = parseAlertKind(utf8::trim(in.kind));
    if (!kind)
        errors.push_back({"kind", "field.one_of", {{"allowed", "unhappy_share, index_floor"}}});
    r.kind = kind.value_or(AlertKind::UnhappyShare);
    r.surveyId = utf8::trim(in.surveyId);
    r.indexId = utf8::trim(in.indexId);
    std::shared_ptr<const Survey> survey;
    if (!r.surveyId.empty()) {
        survey = surveys_.find(r.surveyId);
        if (!survey) errors.push_back({"survey", "survey.not_found", {{"id", r.surveyId}}});
    } else if (r.kind == AlertKind::IndexFloor) {
        errors.push_back({"survey", "field.required", {}});
    }
    if (r.kind == AlertKind::IndexFloor && survey) {
        if (survey->indices.empty())
            errors.push_back({"survey", "alert.survey_without_index", {{"id", r.surveyId}}});
        else if (!r.indexId.empty() && !survey->index(r.indexId))
            errors.push_back({"index", "index.unknown_index", {{"index", r.indexId}}});
    }
    if (r.kind == AlertKind::UnhappyShare) r.indexId.clear();
    if (const auto t = number(in.threshold); t && *t >= 0 && *t <= 100)
        r.threshold = *t;
    else
        errors.push_back({"threshold", "alert.bad_threshold", {}});
    const bool days = r.kind == AlertKind::IndexFloor;
    if (const auto w = whole(in.window, days ? kDayWindowMin : kMinuteWindowMin,
                             days ? kDayWindowMax : kMinuteWindowMax))
        r.windowMinutes = days ? *w * 24 * 60 : *w;
    else
        errors.push_back({"window",
                          "field.range",
                          {{"min", std::to_string(days ? kDayWindowMin : kMinuteWindowMin)},
                           {"max", std::to_string(days ? kDayWindowMax : kMinuteWindowMax)}}});
    if (const auto m = whole(in.minN, 1, 100000))
        r.minN = *m;
    else
        errors.push_back({"min_n", "field.range", {{"min", "1"}, {"max", "100000"}}});
    r.recipients = parseRecipients(in.recipients, canonicalPhone_, errors);
    r.active = in.active;
    if (!errors.empty()) throw Problem(422, "alert.invalid", {}, errors);

    const std::int64_t at = nowMs();
    const std::int64_t saved = db_.write([&](Session& s) -> std::int64_t {
        std::string kindText = toString(r.kind), recipients = storedRecipients(r.recipients);
        int active = r.active ? 1 : 0;
        if (id == 0) {
            std::int64_t rules = 0;
            s << "SELECT COUNT(*) FROM alert_rules WHERE agency_id = $1", use(r.agencyId),
                into(rules), now;
            if (rules >= static_cast<std::int64_t>(kMaxRulesPerAgency))
                throw Problem(422, "alert.too_many_rules",
                              {{"max", std::to_string(kMaxRulesPerAgency)}});
            std::int64_t newId = 0;
            std::string by = actor;
            s << "INSERT INTO alert_rules (agency_id, kind, survey_id, index_id, threshold, "
                 "window_minutes, min_n, recipients, active, created_by, created_at, updated_at) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                use(r.agencyId), use(kindText), use(r.surveyId), use(r.indexId), use(r.threshold),
                use(r.windowMinutes), use(r.minN), use(recipients), use(active), use(by), bind(at),
                bind(at), into(newId), now;
            return newId;
        }
        Statement update(s);
        update << "UPDATE alert_rules SET agency_id = $1, kind = $2, survey_id = $3, index_id = "
                  "$4, threshold = $5, window_minutes = $6, min_n = $7, recipients = $8, active "
                  "= $9, updated_at = $10 WHERE id = $11",
            use(r.agencyId), use(kindText), use(r.surveyId), use(r.indexId), use(r.threshold),
            use(r.windowMinutes), use(r.minN), use(recipients), use(active), bind(at), bind(id);
        if (update.execute() == 0)
            throw Problem(404, "alert.rule_not_found", {{"id", std::to_string(id)}});
        return id;
    });
    auto stored = rule(saved);
    if (!stored) throw std::logic_error("an alert rule just saved is missing");
    if (!stored->active) clear(*stored, std::nullopt, 0, at);
    return *stored;
}

void AlertStore::setActive(std::int64_t id, bool active) {
    const std::int64_t at = nowMs();
    const std::size_t changed = db_.write([&](Session& s) {
        int flag = active ? 1 : 0;
        Statement update(s);
        update << "UPDATE alert_rules SET active = $1, updated_at = $2 WHERE id = $3", use(flag),
            bind(at), bind(id);
        return update.execute();
    });
    if (changed == 0) throw Problem(404, "alert.rule_not_found", {{"id", std::to_string(id)}});
    if (!active)
        if (auto r = rule(id)) clear(*r, std::nullopt, 0, at);
}

std::vector<AlertRule> AlertStore::select(const std::string& where, const std::string& value) {
    return db_.read([&](Session& s) {
        Statement st(s);
        std::string v = value;
        st << kRuleColumns + where + " ORDER BY a.path, r.id", use(v);
        st.execute();
        RecordSet rs(st);
        std::vector<AlertRule> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(ruleOf(rs));
        return out;
    });
}

std::optional<AlertRule> AlertStore::rule(std::int64_t id) {
    auto found = select("WHERE r.id = CAST($1 AS BIGINT)", std::to_string(id));
    if (found.empty()) return std::nullopt;
    return found.front();
}

std::vector<AlertRule> AlertStore::rules(const std::string& scopePath, bool activeOnly) {
    return select(std::string("WHERE a.path LIKE $1") + (activeOnly ? " AND r.active = 1" : ""),
                  scopePath + "%");
}

std::vector<Alert> AlertStore::selectAlerts(const std::string& scopePath, bool openOnly,
                                            std::size_t limit, std::optional<std::int64_t> id) {
    return db_.read([&](Session& s) {
        Statement st(s);
        std::string like = scopePath + "%";
        std::int64_t only = id.value_or(0);
        st << std::string(kRuleColumns)
                      .replace(0, 6,
                               "SELECT x.id, x.opened_at, x.value, x.n, "
                               "x.cleared_at, x.cleared_value, "
                               "x.cleared_n,") +
                  "JOIN alerts x ON x.rule_id = r.id WHERE a.path LIKE $1 AND ($2 = 0 OR x.id = "
                  "$3)" +
                  (openOnly ? " AND x.cleared_at IS NULL" : "") +
                  " ORDER BY x.opened_at DESC, x.id DESC LIMIT " + std::to_string(limit),
            use(like), use(only), bind(only);
        st.execute();
        RecordSet rs(st);
        std::vector<Alert> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            Alert a;
            a.id = columns::i64(rs, 0);
            a.openedAtMs = columns::i64(rs, 1);
            a.value = rs.value(2).convert<double>();
            a.n = columns::i64(rs, 3);
            a.clearedAtMs = columns::optI64(rs, 4);
            if (!rs.value(5).isEmpty()) a.clearedValue = rs.value(5).convert<double>();
            a.clearedN = columns::optI64(rs, 6);
            a.rule = ruleOf(rs, 7);
            out.push_back(a);
        }
        return out;
    });
}

std::vector<Alert> AlertStore::alerts(const std::string& scopePath, bool openOnly,
                                      std::size_t limit) {
    return selectAlerts(scopePath, openOnly, limit, std::nullopt);
}

std::optional<Alert> AlertStore::open(const AlertRule& rule, double value, std::int64_t n,
                                      std::int64_t atMs) {
    Poco::Nullable<std::int64_t> id = db_.write([&](Session& s) {
        Poco::Nullable<std::int64_t> opened;
        std::int64_t ruleId = rule.id, agency = rule.agencyId;
        s << "INSERT INTO alerts (rule_id, agency_id, opened_at, value, n) VALUES ($1, $2, $3, "
             "$4, $5) ON CONFLICT DO NOTHING RETURNING id",
            use(ruleId), use(agency), bind(atMs), bind(value), bind(n), into(opened), now;
        return opened;
    });
    if (id.isNull()) return std::nullopt;
    auto found = selectAlerts("", false, 1, id.value());
    if (found.empty()) return std::nullopt;
    return found.front();
}

std::optional<Alert> AlertStore::clear(const AlertRule& rule, std::optional<double> value,
                                       std::int64_t n, std::int64_t atMs) {
    Poco::Nullable<std::int64_t> id = db_.write([&](Session& s) {
        Poco::Nullable<std::int64_t> cleared;
        Poco::Nullable<double> v;
        if (value) v = *value;
        std::int64_t ruleId = rule.id;
        s << "UPDATE alerts SET cleared_at = $1, cleared_value = $2, cleared_n = $3 WHERE "
             "rule_id = $4 AND cleared_at IS NULL RETURNING id",
            bind(atMs), use(v), bind(n), use(ruleId), into(cleared), now;
        return cleared;
    });
    if (id.isNull()) return std::nullopt;
    auto found = selectAlerts("", false, 1, id.value());
    if (found.empty()) return std::nullopt;
    return found.front();
}

}  // namespace hailong
