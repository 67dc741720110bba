// hailong — IndexStore: the aggregates behind the indices. Folds stored responses into counts
// per rollup cell, and reads a query's cells back from them (plus the responses not folded
// yet) or, for verification, from the raw responses alone.
#pragma once

#include "index/Periods.h"
#include "index/Tally.h"
#include "store/Database.h"

#include <hailong/Survey.h>

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace hailong::index {

/// The families of breakdowns kept as rollups. Every cell also knows its agency, channel and
/// survey version. Total adds every agency up (responses without an agency apart), and
/// ProcedureTotal each procedure over every agency: the province-wide figures read them instead
/// of adding every agency up at each request. Counters and officers need no such family: each
/// belongs to one agency.
enum class Family { Agency, Counter, Officer, Procedure, Total, ProcedureTotal };
const char* name(Family f);
/// The family keeping `f` added up over every agency, if there is one.
std::optional<Family> wholeTreeOf(Family f);
/// Whether `f` is added up over every agency (its rows and cells have no agency of their own).
bool isWholeTree(Family f);
/// Whether a family is kept by day and week as well as by month, quarter and year. Only agencies
/// and the total are (custom ranges, daily and weekly trends); counters, officers and procedures
/// are kept by month, quarter and year, the coarsest grains that serve them, so that their rollups
/// stay much smaller than the answers they count. Their queries cover whole months.
bool hasDays(Family f);
std::optional<Family> parseFamily(std::string_view text);

/// A cell as a query sees it: where, how, on which version, and the first day of its bucket.
struct Cell {
    std::int64_t agency = 0;  ///< 0: no agency
    std::int64_t group = 0;   ///< the counter, officer or procedure; 0 in the agency family
    std::string channel;
    int version = 0;
    std::int64_t bucket = 0;
    auto operator<=>(const Cell&) const = default;
};
using Cells = std::map<Cell, Tally>;

struct CellQuery {
    std::string surveyId;
    Family family = Family::Agency;
    std::int64_t fromDay = 0, toDay = 0;  ///< local days, inclusive
    std::optional<Grain> buckets;         ///< none: the whole range is one bucket (fromDay)
    std::optional<std::string> channel;
    std::optional<int> version;
    /// Reading a report that needs no breakdown by agency, channel or version, the aggregates
    /// can be added up by the database: `within` keeps the agencies of one subtree (its path; ""
    /// every agency) and gives their cells `withinAgency` as their agency; channels and versions
    /// are kept apart only when asked. The tail of unfolded responses keeps its real cells.
    struct Collapse {
        std::string within;
        std::int64_t withinAgency = 0;
        bool channels = false, versions = false;
        bool unassignedOnly = false;  ///< only responses without an agency (agency 0)
    };
    std::optional<Collapse> collapse;
};

/// The heat map counts a response in the month it was answered and the hour of the week its
/// citizen was served (responses.served_at, see ingest/Feedback.h).
///
/// The hour of the week an epoch millisecond falls in, in local time: weekday × 24 + hour, with
/// Monday 0 (so 0 is Monday 00:00–00:59 and 167 Sunday 23:00–23:59).
int hourOfWeek(std::int64_t epochMs);

/// What the heat map counts in one agency and hour of the week: responses, those with a mood
/// (survey/Mood.h), those unhappy, and the moods' sum. A plain value.
struct HourCounts {
    std::int64_t responses = 0, rated = 0, unhappy = 0;
    double moodTotal = 0;
    void add(const std::optional<double>& mood);
    void merge(const HourCounts& other);
    auto operator<=>(const HourCounts&) const = default;
};
/// (agency id, hour of the week) → counts.
using Hours = std::map<std::pair<std::int64_t, int>, HourCounts>;
/// A stored response as the hour-of-week counts see it.
struct HourSample {
    std::string surveyId;
    std::int64_t agency = 0, answeredAt = 0, servedAt = 0;
    std::optional<double> mood;
};

/// Called with each stored response: its cell, the survey version it answered, its options.
using ResponseVisitor = std::function<void(const Cell&, const Survey&, const ResponseAnswers&)>;

/// The most responses one fold counts in one transaction.
constexpr std::size_t kFoldBatch = 20000;

/// Only responses already read at ingest (responses.read_at, see ingest/Feedback.h) are folded;
/// the others wait in the tail until they are read. Thread-safe (each call uses its own pooled
/// session), except setAfterRead. Several hosts may
/// fold into one PostgreSQL database at once: a fold counts from a snapshot, then stores under
/// the index_state row lock, counting again there if another host folded the same responses.
class IndexStore {
public:
    IndexStore(Database& db, const SurveyCatalog& surveys) : db_(db), surveys_(surveys) {}

    /// Counts up to `limit` responses not folded yet into the aggregates; returns how many it
    /// folded.
    std::size_t fold(std::size_t limit = kFoldBatch);
    /// For tests: runs in fold between counting and storing (where another host may fold).
    void setAfterRead(std::function<void()> hook) { afterRead_ = std::move(hook); }
    /// Folds whose responses another host folded first, so that they counted again.
    std::int64_t recounts() const { return recounts_; }
    /// Responses stored but not folded yet.
    std::int64_t unfolded();
    /// The cells of `q` from the aggregates and the responses not folded yet, read from one
    /// snapshot: real time, at a cost that grows with cells, not responses.
    Cells aggregated(const CellQuery& q);
    /// The same cells counted from every raw response: the reference for `hailong index verify`.
    Cells raw(const CellQuery& q);
    /// The hour-of-week counts of `surveyId` over whole months [fromDay's month, toDay's month]
    /// (kept by month): the aggregates plus the responses not folded yet, from one snapshot.
    Hours hours(const std::string& surveyId, std::int64_t fromDay, std::int64_t toDay);
    /// The same for the agencies of one subtree (its path; "" every agency) added up by the
    /// database: hour of the week → counts.
    std::map<int, HourCounts> hoursWithin(const std::string& surveyId, std::int64_t fromDay,
                                          std::int64_t toDay, const std::string& scopePath);
    /// The same counted from every raw response (verification).
    Hours rawHours(const std::string& surveyId, std::int64_t fromDay, std::int64_t toDay);
    /// Adds responses folded before the hour-of-week counts existed (read at the first start
    /// of this version), inside the caller's write transaction.
    static void addFoldedHours(Poco::Data::Session& s, const std::vector<HourSample>& samples);
    /// Every raw response of `q`, one at a time (analyses that need more than counts).
    void eachResponse(const CellQuery& q, const ResponseVisitor& visit);
    /// The local days of the first and the last response to `surveyId`, if any.
    std::optional<std::pair<std::int64_t, std::int64_t>> span(const std::string& surveyId);

private:
    Database& db_;
    const SurveyCatalog& surveys_;
    std::function<void()> afterRead_;
    std::atomic<std::int64_t> recounts_{0};
};

}  // namespace hailong::index
