// hailong — the analyst's dashboard: what the index engine says about a survey, a period and
// the caller's part of the agency tree, gathered for a page, a printable report and the JSON
// API alike.
#pragma once

#include "app/ApiSupport.h"

#include <Poco/JSON/Object.h>

#include <string>

namespace hailong {

class Runtime;

/// What the dashboard is asked. Every field is untrusted text from a query string.
struct DashboardQuery {
    std::string surveyId;    ///< "" : sipas-2017 when published, else the first survey
    std::string from, to;    ///< YYYY-MM-DD; "" : the last whole month
    std::string agencyCode;  ///< "" : the caller's own agency (or everything)
    std::string trend;       ///< "month" (default: twelve months) or "week" (thirteen weeks)
    // Which comments: of one counter, containing a text (with or without diacritics), with a
    // topic tag, a sentiment, or a rating ("unhappy": mood under 50; "satisfied").
    std::string counterCode, search, topic, sentiment, rating;
    std::string comments;  ///< how many comments at most: 0 to 500, "" for 50
};

/// The query's fields from ?survey=&from=&to=&agency=&trend=&counter=&q=&topic=&sentiment=&
/// rating=&comments=, each cut to 200 bytes.
DashboardQuery dashboardQuery(const HttpRequest& request);

/// The dashboard's data for `who`, in `lang` for titles and labels:
/// - survey, agency, period; the headline index with its 95% interval and n, its change from
///   the period just before (flagged only beyond noise) and its parts (criteria);
/// - the distribution of answers to each closed question, the channel mix, the trend by month
///   or week;
/// - rankings with intervals, worst first, those under the minimum n apart: the agencies one
///   level down, counters, officers, procedures (the last three kept by month: they cover the
///   whole months of the period, and say so), channels;
/// - the hour-of-week heat map of ratings and of the share unhappy (whole months too);
/// - the period's comments with their sentiment and topics, filtered, and counts by topic;
/// - the open alerts of the scope.
/// Problem(400/403/404) for a bad or out-of-scope query. Thread-safe (reads only).
Poco::JSON::Object::Ptr dashboardData(Runtime& rt, const Caller& who, const DashboardQuery& query,
                                      const std::string& lang);

}  // namespace hailong
