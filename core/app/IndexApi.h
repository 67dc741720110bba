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
/// YYYY-MM-DD; without them the range is the survey's first to last response. Problem(400)
/// names the parameter that is malformed.
index::IndexRequest indexRequest(Runtime& rt, const ParamSource& param);

/// The report as JSON: the definitions used, and every group's values with n, interval and flag.
Poco::JSON::Object::Ptr indexJson(const index::IndexReport& report);
/// The report as a table (one line per group, the top-level indices as columns) or CSV (one
/// line per group and index node).
void writeIndexTable(std::ostream& out, const index::IndexReport& report);
void writeIndexCsv(std::ostream& out, const index::IndexReport& report);

/// GET /api/v1/indices, /api/v1/indices/compare and /api/v1/indices/rank.
void registerIndexApi(Runtime& rt);

}  // namespace hailong
