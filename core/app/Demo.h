// hailong — the demo: a province's service centre, communes, counters, officers, procedures,
// a year of dossiers and the ratings citizens gave, generated from locale/vi/demo/seed.json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hailong {

class Runtime;

class DirectoryStore;
class Ingest;

struct DemoOptions {
    std::size_t dossiers = 24000;   ///< over the last 365 days
    double ratedShare = 0.6;        ///< share of returned dossiers that get a rating
    std::uint32_t seed = 20250701;  ///< same seed, same demo
    std::int64_t nowMs = 0;         ///< "today"; 0 = the current time
};

struct DemoSummary {
    std::size_t agencies = 0, counters = 0, officers = 0, procedures = 0, dossiers = 0,
                responses = 0, cases = 0;
};

/// Loads the demo into an empty directory (throws std::runtime_error if the database already
/// holds dossiers). Directory rows are written in one transaction; ratings go through Ingest,
/// the one path for responses; the follow-up cases they open are then dated from their ratings
/// and handled as a diligent agency would have. Not thread-safe; run once.
DemoSummary loadDemo(Runtime& rt, const std::string& seedFile, const DemoOptions& options);

}  // namespace hailong
