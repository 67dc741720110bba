// hailong — alert rules and the alerts they raise: what officials are told when things go wrong
// at the desk (too many unhappy ratings in the last minutes; an index under its floor for days).
#pragma once

#include "store/Database.h"

#include <hailong/Directory.h>
#include <hailong/Problem.h>
#include <hailong/Survey.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

enum class AlertKind {
    UnhappyShare,  ///< the share of unhappy ratings (survey/Mood.h) over a window of minutes
    IndexFloor,    ///< a survey's index over a window of days, under a floor
};
const char* toString(AlertKind kind);
std::optional<AlertKind> parseAlertKind(std::string_view text);

/// Where an alert's notice goes: an e-mail address or a phone number (canonical "+84...").
struct AlertRecipient {
    std::string channel;  ///< "email" or "sms" (the outbox channel that delivers it)
    std::string address;
    bool operator==(const AlertRecipient&) const = default;
};

/// A rule of one agency (it watches the agency with its descendants). A plain value.
struct AlertRule {
    std::int64_t id = 0;
    std::int64_t agencyId = 0;
    std::string agencyCode, agencyName, agencyPath;
    AlertKind kind = AlertKind::UnhappyShare;
    std::string surveyId;   ///< "" (unhappy share only): every survey
    std::string indexId;    ///< index floor: "" is the survey's headline (first) index
    double threshold = 0;   ///< unhappy share: the percent it must exceed; index floor: the floor
    int windowMinutes = 0;  ///< how far back it looks (index floor: whole days)
    int minN = 0;           ///< fewer ratings than this never raise an alert, and clear one
    std::vector<AlertRecipient> recipients;
    bool active = true;
    std::string createdBy;
    std::int64_t createdAtMs = 0, updatedAtMs = 0;
};

/// A rule as a form or the API sends it: text as typed, checked by AlertStore::save.
struct AlertRuleInput {
    std::string agencyCode, kind, surveyId, indexId;
    std::string threshold, window, minN;  ///< window: minutes (unhappy share) or days (floor)
    std::string recipients;  ///< e-mail addresses and phone numbers, by lines or commas
    bool active = true;
};

/// One alert: opened when its rule held, cleared when it stopped holding. A plain value.
struct Alert {
    std::int64_t id = 0;
    AlertRule rule;  ///< the rule as it is now
    std::int64_t openedAtMs = 0;
    double value = 0;  ///< what the rule measured when it opened (percent or index value)
    std::int64_t n = 0;
    std::optional<std::int64_t> clearedAtMs;
    std::optional<double> clearedValue;
    std::optional<std::int64_t> clearedN;
};

/// Stores rules and alerts in the database. Thread-safe (each call uses its own pooled session).
/// At most one alert of a rule is open at a time, across hosts (a unique partial index).
class AlertStore {
public:
    /// `canonicalPhone` turns a typed number into "+84..." ("" when it is not one).
    AlertStore(Database& db, const Directory& directory, const SurveyCatalog& surveys,
               std::function<std::string(std::string_view)> canonicalPhone);

    /// Validates `input` (Problem(422) naming every bad field; Problem(404) for an unknown
    /// agency) and stores it as a new rule (`id` 0) or over rule `id` (Problem(404) if none).
    AlertRule save(std::int64_t id, const AlertRuleInput& input, const std::string& actor);
    /// Turns a rule on or off; an open alert of a rule turned off is cleared.
    void setActive(std::int64_t id, bool active);
    std::optional<AlertRule> rule(std::int64_t id);
    /// The rules of agencies in the subtree at `scopePath` ("" every one), by agency and id.
    std::vector<AlertRule> rules(const std::string& scopePath, bool activeOnly = false);
    /// Alerts of rules in the subtree, newest first: the open ones, or every one up to `limit`.
    std::vector<Alert> alerts(const std::string& scopePath, bool openOnly, std::size_t limit);

    /// Opens an alert of `rule` unless one is open: the alert when this call opened it.
    std::optional<Alert> open(const AlertRule& rule, double value, std::int64_t n,
                              std::int64_t atMs);
    /// Clears the open alert of `rule`, if any: the alert when this call cleared it.
    std::optional<Alert> clear(const AlertRule& rule, std::optional<double> value, std::int64_t n,
                               std::int64_t atMs);

    /// Limits on what a rule may say.
    static constexpr std::size_t kMaxRecipients = 10;
    static constexpr std::size_t kMaxRulesPerAgency = 50;

private:
    std::vector<AlertRule> select(const std::string& where, const std::string& value);
    std::vector<Alert> selectAlerts(const std::string& scopePath, bool openOnly, std::size_t limit,
                                    std::optional<std::int64_t> id);

    Database& db_;
    const Directory& directory_;
    const SurveyCatalog& surveys_;
    std::function<std::string(std::string_view)> canonicalPhone_;
};

/// Reads the recipients of a rule as typed (lines or commas); adds a FieldError per bad one.
std::vector<AlertRecipient> parseRecipients(
    std::string_view text, const std::function<std::string(std::string_view)>& canonicalPhone,
    std::vector<FieldError>& errors);

}  // namespace hailong
