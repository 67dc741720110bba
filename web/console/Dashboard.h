// hailong — the analyst's dashboard: what the index engine says about a survey, a period and
// the caller's part of the agency tree, gathered for a page and for the JSON API alike.
#pragma once

#include "app/ApiSupport.h"

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>

namespace hailong {

class Runtime;

struct DashboardQuery {
    std::string surveyId;     ///< "" : sipas-2017 when published, else the first survey
    std::string from, to;     ///< YYYY-MM-DD; "" : the last whole month
    std::string agencyCode;   ///< "" : the caller's own agency (or everything)
    std::string counterCode;  ///< comments of this counter only
    std::string search;       ///< comments containing this, with or without diacritics
};

/// The dashboard's data for `who`: the headline index with its interval, n and change from the
/// period before (flagged only beyond noise), the monthly trend of the last twelve months, the
/// agencies one level down and the counters, worst first (those under the minimum n listed
/// apart), and the period's comments. Problem(400/403/404) for a bad or out-of-scope query.
/// Thread-safe (reads only).
Poco::JSON::Object::Ptr dashboardData(Runtime& rt, const Caller& who, const DashboardQuery& query,
                                      const std::string& lang);

}  // namespace hailong
