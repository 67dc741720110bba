// hailong — indices over HTTP (/api/v1/indices...) and their text forms for the CLI.
#pragma once

#include "index/IndexService.h"

#include <Poco/JSON/Object.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace hailong {

class Runtime;

/// A named parameter of a request (an HTTP query parameter, a CLI option), or nothing.
using ParamSource = std::function<std::optional<std::string>(const std::string&)>;

/// Reads survey, by, from, to, period, agency, channel, version and raw. Dates are
/// YYYY-MM-DD; without them the range is the survey's first to last response (without a
/// survey, when `surveyRequired` is false: this year so far). Problem(400) names the parameter
/// that is malformed.
index::IndexRequest indexRequest(Runtime& rt, const ParamSource& param, bool surveyRequired = true);

/// Decision 766 ratios as JSON, and as a table for the CLI.
Poco::JSON::Object::Ptr decision766Json(const index::IndexRequest& request,
                                        const std::vector<index::Decision766>& rows);
void writeDecision766Table(std::ostream& out, const std::vector<index::Decision766>& rows);

/// The report as JSON: the definitions used, and every group's values with n, interval and flag.
Poco::JSON::Object::Ptr indexJson(const index::IndexReport& report);
/// The report as a table (one line per group, the top-level indices as columns) or CSV (one
/// line per group and index node).
void writeIndexTable(std::ostream& out, const index::IndexReport& report);
void writeIndexCsv(std::ostream& out, const index::IndexReport& report);

/// Key drivers as JSON, and as a table for the CLI.
Poco::JSON::Object::Ptr driversJson(const index::DriverReport& report);
void writeDriversTable(std::ostream& out, const index::DriverReport& report);

/// GET /api/v1/indices, /api/v1/indices/compare, /rank and /drivers.
void registerIndexApi(Runtime& rt);

}  // namespace hailong
