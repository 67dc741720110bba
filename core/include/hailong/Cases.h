// hailong — Cases: follow-up cases (negative feedback, complaints) as channels see them.
#pragma once

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hailong {

/// A complaint a citizen sends outside any survey (the SMS keyword "PA <code> <text>").
struct Complaint {
    std::string channel;            ///< "sms", ...
    std::string dossierCode;        ///< the dossier it is about
    std::string agencyCode;         ///< the agency, when no dossier names one
    std::string text;               ///< the citizen's words, as received (UTF-8)
    std::string contact;            ///< where the answer goes (a phone for "sms"); "" none
    std::string idempotencyKey;     ///< the same key twice joins the case once ("" = always new)
    std::int64_t receivedAtMs = 0;  ///< 0 = now
};

/// A case as the citizen who raised it may see it. A value type.
struct CaseView {
    std::string code;    ///< "PA-7K2M9Q"
    std::string status;  ///< "new", "assigned", "in_progress", "answered", "closed"
    std::string dossierCode;
    std::int64_t openedAtMs = 0, dueAtMs = 0;
    std::string answer;  ///< the official's answer ("" until answered)
    std::optional<std::int64_t> answeredAtMs;
    std::string verdict;  ///< the citizen's rating of the answer: "", "satisfied", "unsatisfied"
    bool joined = false;  ///< complain(): the complaint joined a case already open
};

/// A day as citizens read it in messages, in Vietnam time (UTC+7): "05/12/2026".
inline std::string dayText(std::int64_t epochMs) {
    return Poco::DateTimeFormatter::format(Poco::Timestamp(epochMs * 1000), "%d/%m/%Y", 7 * 3600);
}

/// Opens and reports follow-up cases. Thread-safe.
class Cases {
public:
    virtual ~Cases() = default;
    /// Opens a case for `complaint`, or adds it to the open case about the same dossier. Throws
    /// Problem(422) with field errors (no text, an unknown dossier or agency, text too long) and
    /// Unavailable when the store cannot confirm it now (retry with the same key).
    virtual CaseView complain(const Complaint& complaint) = 0;
    /// The case that the response with this receipt code opened or joined, if any.
    virtual std::optional<CaseView> ofReceipt(std::string_view receipt) = 0;
    /// The citizen's rating of the answer to case `code`, through `channel`: false when the case
    /// has no answer yet or its answer was rated already (the first rating stands).
    virtual bool rateAnswer(std::string_view code, bool satisfied, std::string_view channel) = 0;
};

}  // namespace hailong
