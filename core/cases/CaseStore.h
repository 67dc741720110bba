// hailong — CaseStore: follow-up cases. A low rating with a comment or a reason, a complaint
// question answered, or a complaint sent by SMS opens a case for the agency concerned; an
// official assigns it, answers it (the answer goes back by SMS or shows on the web page of the
// response) and closes it; the citizen may rate the answer; overdue cases go up to the parent
// agency. Decision 766's feedback ratios count these cases.
#pragma once

#include "cases/WorkingCalendar.h"
#include "common/PeriodicTask.h"
#include "store/Database.h"

#include <Poco/Data/Statement.h>

#include <hailong/Cases.h>
#include <hailong/Directory.h>
#include <hailong/Ingest.h>
#include <hailong/Messages.h>
#include <hailong/Outbox.h>
#include <hailong/Survey.h>
#include <hailong/TextNormalizer.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hailong::cases {

/// An agency's rules for its cases (inherited from the nearest ancestor that set them, else the
/// configured defaults). A plain value.
struct CasePolicy {
    int workingDays = 10;        ///< the answer is due this many working days after receipt
    double ratingAtOrBelow = 2;  ///< on a five-point scale: ratings at or below open a case
    std::string setAt;           ///< the code of the agency that set it ("" the defaults)
};

/// What a stored response says that may open a case, read on the submitting thread.
struct CaseSeed {
    std::string kind;    ///< "rating" (a low rating with words or a reason) or "complaint"
    std::string words;   ///< the citizen's words (comment, complaint text), normalized
    std::string reason;  ///< the reason chosen after a low rating (option label), if any
    std::string topics;  ///< ",waiting,fees," as Feedback reads them
    std::string contact;
};

/// Where the response that opens a case came from; ids resolved by ingest.
struct CaseOrigin {
    std::int64_t responseId = 0;
    std::string channel;
    std::optional<std::int64_t> agency, officer, procedure, dossier;
    std::int64_t receivedAtMs = 0;
};

struct CaseSource {
    std::optional<std::int64_t> responseId;
    std::string receipt, channel, words, reason;
    std::int64_t receivedAtMs = 0;
};

struct CaseEvent {
    std::int64_t atMs = 0;
    std::string actor, action, detail;
};

/// One case, as officials see it. A plain value.
struct Case {
    std::int64_t id = 0;
    std::string code, kind, channel, summary, topics, status;
    std::int64_t agencyId = 0;
    std::string agencyCode, agencyName, agencyPath;
    std::string officerName, procedureName, dossierCode;
    std::optional<std::int64_t> assigneeId;
    std::string assigneeName;
    bool hasContact = false;  ///< an answer can go back by SMS
    std::int64_t openedAtMs = 0, dueAtMs = 0, updatedAtMs = 0;
    std::string answer, answeredBy;
    std::optional<std::int64_t> answeredAtMs, closedAtMs, escalatedAtMs, verdictAtMs;
    std::string escalatedToName;
    std::string verdict;
    std::vector<CaseSource> sources;  ///< filled by find()
    std::vector<CaseEvent> events;    ///< filled by find(), oldest first

    /// Not answered by its deadline (answered late, or still waiting after it).
    bool overdue(std::int64_t nowMs) const {
        return answeredAtMs ? *answeredAtMs > dueAtMs : nowMs > dueAtMs;
    }
};

struct CaseQuery {
    std::string scopePath;  ///< the caller's subtree ("" every agency)
    std::string status;     ///< a status, "open" (not answered), "overdue", or "" every one
    std::size_t limit = 200;
};

/// Counts of cases in a subtree.
struct CaseCounts {
    std::int64_t open = 0, overdue = 0, answered = 0, closed = 0, escalated = 0;
};

/// Thread-safe (each call uses its own pooled session). start() runs a sweep every minute:
/// overdue cases escalate to the parent agency (a notice to the recipients of its alert rules)
/// and answers whose SMS could not be queued are queued again.
class CaseStore final : public Cases {
public:
    struct Options {
        CasePolicy defaults;
        WorkingCalendar calendar;
        int sweepMs = 60000;
        int smsSegments = 5;  ///< an answer by SMS is cut to fit this many concatenated parts
    };
    /// `recipientsOf(agencyId)` gives (channel, address) of whoever hears of an escalation to
    /// that agency; `consoleUrl()` the console's address for notices.
    CaseStore(
        Database& db, const Directory& directory, const SurveyCatalog& surveys,
        const TextNormalizer& text, Outbox& outbox, const Messages& messages,
        std::function<std::vector<std::pair<std::string, std::string>>(std::int64_t)> recipientsOf,
        std::function<std::string()> consoleUrl, Options options);
    ~CaseStore() override;
    CaseStore(const CaseStore&) = delete;
    CaseStore& operator=(const CaseStore&) = delete;

    // Opening, on ingest's path.
    /// Whether a validated response opens a case, by its agency's policy. Any thread; cheap
    /// for responses that do not.
    std::optional<CaseSeed> seed(const Survey& survey, const Submission& submission,
                                 std::optional<std::int64_t> agencyId,
                                 const std::string& feedbackText, const std::string& topics) const;
    /// Opens the case (or joins the open one of its dossier) inside the transaction that stored
    /// the response. Needs an agency; without one nothing opens.
    void open(Poco::Data::Session& s, const CaseOrigin& origin, const CaseSeed& seed);

    // Cases, as channels see them.
    CaseView complain(const Complaint& complaint) override;
    std::optional<CaseView> ofReceipt(std::string_view receipt) override;
    bool rateAnswer(std::string_view code, bool satisfied, std::string_view channel) override;

    // Cases, as officials handle them. `actor` goes into the history ("user:<name>").
    std::vector<Case> list(const CaseQuery& query) const;
    /// One case with its sources and history.
    std::optional<Case> find(std::int64_t id) const;
    std::optional<Case> findByCode(std::string_view code) const;
    CaseCounts counts(const std::string& scopePath, std::int64_t nowMs) const;
    /// Problem(404) unknown case; 409 when the case is closed (or answered, for assign/start).
    Case assign(std::int64_t id, std::int64_t userId, const std::string& userName,
                const std::string& actor);
    Case start(std::int64_t id, const std::string& actor);
    /// Stores the answer (1–1000 characters; Problem(422) otherwise) and sends it back by SMS
    /// when the citizen wrote from a phone. An answered case can be answered again until it
    /// closes (the citizen hears again).
    Case answer(std::int64_t id, const std::string& text, const std::string& actor);
    /// Closes the case (an unanswered one needs a note, kept in its history); the contact is
    /// erased.
    Case close(std::int64_t id, const std::string& note, const std::string& actor);
    /// A note in the history (an official's remark), 1–1000 characters.
    Case note(std::int64_t id, const std::string& text, const std::string& actor);

    CasePolicy policy(std::int64_t agencyId) const;
    /// Days 1–60, level 1–5 (on a five-point scale; 0 opens none by rating).
    CasePolicy setPolicy(std::int64_t agencyId, const std::string& days, const std::string& level,
                         const std::string& actor);

    /// Escalates overdue cases, re-queues answers not yet queued; returns the cases escalated.
    std::vector<Case> sweep(std::int64_t nowMs);
    void start();
    void stop();

    const WorkingCalendar& calendar() const { return options_.calendar; }

private:
    /// Runs `apply` on case `id` (not closed) in one transaction and records `action` with the
    /// detail `apply` returns in the history; the case as it is then.
    Case change(std::int64_t id, const std::string& actor, const std::string& action,
                const std::function<std::string(Poco::Data::Session&, const Case&)>& apply);
    void queueAnswer(const Case& c);
    /// The SMS that carries the answer of `c`, cut to Options::smsSegments.
    std::string answerSms(const Case& c) const;
    std::optional<CaseView> view(const std::optional<Case>& c) const;
    std::vector<Case> select(Poco::Data::Session& s, const std::string& where,
                             const std::function<void(Poco::Data::Statement&)>& bindAll,
                             std::size_t limit) const;

    Database& db_;
    const Directory& directory_;
    const SurveyCatalog& surveys_;
    const TextNormalizer& text_;
    Outbox& outbox_;
    const Messages& messages_;
    std::function<std::vector<std::pair<std::string, std::string>>(std::int64_t)> recipientsOf_;
    std::function<std::string()> consoleUrl_;
    Options options_;

    mutable std::mutex mutex_;
    mutable std::map<std::int64_t, CasePolicy> policies_;  // agency → its own policy
    mutable std::int64_t policiesReadMs_ = 0;              // 0: read them again
    PeriodicTask sweeper_;                                 // last: stopped before the rest goes
};

/// The statuses in their order.
const std::vector<std::string>& caseStatuses();

}  // namespace hailong::cases
