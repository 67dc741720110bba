// hailong — IndexService: indices by breakdown and period (the API and CLI read these), and
// the background fold that keeps the aggregates current.
#pragma once

#include "index/Calculator.h"
#include "index/IndexStore.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hailong::index {

/// What to compute. Dates are local (Asia/Ho_Chi_Minh) days, inclusive.
struct IndexRequest {
    std::string surveyId;
    /// "" (one total), "agency" (each agency with its descendants), "counter", "officer",
    /// "procedure", "channel" or "version".
    std::string by;
    std::int64_t fromDay = 0, toDay = 0;
    std::optional<Grain> period;              ///< a trend: one group per bucket
    std::optional<std::int64_t> scopeAgency;  ///< only this agency and its descendants
    std::optional<std::string> channel;
    std::optional<int> version;
    bool raw = false;  ///< count raw responses instead of reading aggregates
};

/// One group of a report: a breakdown key in one period bucket.
struct GroupResult {
    std::string key;     ///< agency/counter/officer/procedure code, channel, version; "" for all
    std::string name;    ///< its display name
    int depth = 0;       ///< agencies: depth in the tree
    std::string period;  ///< bucket label ("" without a trend)
    std::int64_t periodStart = 0;
    Tally tally;
    std::vector<IndexValue> indices;
};

struct IndexReport {
    std::shared_ptr<const Survey> survey;  ///< the version whose definitions were applied
    IndexRequest request;
    std::vector<GroupResult> groups;
};

/// The change of one index between two reports' groups, and whether it is beyond noise (the
/// two 95% intervals, read as normal errors: |Δ| > 1.96·√(se₁² + se₂²)).
struct Change {
    std::string key, index;
    std::optional<double> before, after, delta;
    bool significant = false;
};

/// How strongly one criterion moves an index: the Pearson correlation, over the responses
/// that have both, of the criterion's own score with the index's own score (the index includes
/// the criterion, which with many criteria weighs little).
struct Driver {
    const IndexDefinition* criterion = nullptr;  ///< a leaf under the index
    std::int64_t n = 0;
    std::optional<double> correlation;  ///< none under 3 responses or when a side never varies
    std::optional<double> level;        ///< the criterion's mean score: where it stands
};
struct DriverReport {
    std::shared_ptr<const Survey> survey;
    const IndexDefinition* index = nullptr;
    std::int64_t responses = 0;
    std::vector<Driver> drivers;  ///< strongest first
};

/// Decision 766/QĐ-TTg's satisfaction ratios for one agency (with its descendants), in percent.
/// The first two count the follow-up cases opened in the period (cases/CaseStore.h; those closed
/// without an answer, outside the agency's competence, are not feedback received): answered by
/// their deadline over received; received less those whose answer the citizen rated unsatisfied
/// or that were overdue, over received. Empty ("no data") without cases, never 0. The third
/// counts dossiers received in the period: those with a response whose rating answers average
/// under the middle of their scales, or with a case opened about them, are unsatisfied.
struct Decision766 {
    std::string key, name;
    int depth = 0;
    std::int64_t dossiers = 0, unsatisfied = 0;
    std::int64_t feedback = 0, feedbackInTime = 0, feedbackUnsatisfiedOrLate = 0;
    std::optional<double> feedbackOnTime, feedbackSatisfied, dossiersSatisfied;
};

/// What `hailong index verify` found.
struct Verification {
    std::size_t queries = 0, cells = 0;
    std::int64_t responses = 0;
    std::vector<std::string> mismatches;
};
/// Reads `surveyId`'s cells through the aggregates and from the raw responses, for every family,
/// over the whole span as one total and by day, week, month, quarter and year, and compares them.
Verification verify(IndexStore& store, const std::string& surveyId);

/// Thread-safe. Owns the folding thread when started.
class IndexService {
public:
    IndexService(Database& db, const SurveyCatalog& surveys);
    ~IndexService();
    IndexService(const IndexService&) = delete;
    IndexService& operator=(const IndexService&) = delete;

    /// Folds new responses every `intervalMs` in the background until stop().
    void start(int intervalMs);
    void stop();
    /// Folds everything stored so far (the CLI, tests). Returns how many responses it folded.
    std::size_t foldAll();

    /// Throws Problem(404) for an unknown survey or agency, Problem(422) for a bad request.
    IndexReport report(const IndexRequest& request);
    /// Each group of `after` against the same key in `before`, for index `indexId` (or every
    /// index when empty).
    static std::vector<Change> compare(const IndexReport& before, const IndexReport& after,
                                       const std::string& indexId = "");
    /// Key drivers of `indexId` (or the survey's first index) among its criteria, read from the
    /// raw responses of the request's range and scope (an analysis: it reads every response).
    DriverReport drivers(const IndexRequest& request, const std::string& indexId);
    /// Decision 766 ratios for every agency of the scope, over the request's days (by the
    /// dossiers' reception). Reads dossiers and their responses of the period.
    std::vector<Decision766> decision766(const IndexRequest& request);
    /// Groups ranked by `indexId` (highest first); groups under the minimum n are left unranked
    /// (rank 0) at the end.
    static std::vector<std::pair<int, const GroupResult*>> rank(const IndexReport& report,
                                                                const std::string& indexId);

    IndexStore& store() { return store_; }

private:
    void loop(int intervalMs);

    Database& db_;
    const SurveyCatalog& surveys_;
    IndexStore store_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread folder_;
};

}  // namespace hailong::index
