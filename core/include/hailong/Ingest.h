// hailong — Ingest: the one path by which a response is stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// One answer in a Submission. Ratings, NPS, yes/no (1/0) and single choices carry `number`
/// (or `choices` for choice questions by option id); free text carries `text`.
struct Answer {
    std::string question;              ///< question id in the survey
    std::optional<double> number;      ///< numeric value, if any
    std::vector<std::string> choices;  ///< option ids for single/multiple choice
    std::string text;                  ///< free text or "other" text, as received (UTF-8)
};

/// A citizen's response as a channel hands it in. A value type.
struct Submission {
    /// De-duplication key: a client-generated UUID, or "dossier:<code>:<survey>" for
    /// one-per-dossier channels. The same key twice stores one response.
    std::string idempotencyKey;
    std::string surveyId;
    int surveyVersion = 0;  ///< 0: the catalog's current version
    std::string channel;    ///< "counter", "sms", "web", "api", "import", ...
    std::string language = "vi";
    // What the response is about. A dossier code fills agency, procedure and officer from the
    // dossier; the explicit codes below override or complete it.
    std::string dossierCode;
    std::string agencyCode;
    std::string counterCode;
    std::string officerCode;
    std::string procedureCode;
    std::string deviceCode;
    std::int64_t answeredAtMs = 0;  ///< when the citizen answered (client clock); 0 = now
    /// The device's own clock at that moment, kept beside the server's when a channel corrects
    /// a device clock into answeredAtMs.
    std::optional<std::int64_t> deviceAtMs;
    std::vector<Answer> answers;
    std::string comment;  ///< free comment as received
    /// Where an answer to this response can reach the citizen (a phone for "sms"), kept only on
    /// the follow-up case it opens, until that case closes; "" none.
    std::string contact;
};

/// What a channel tells the citizen (or client) once the response is durable.
struct Receipt {
    std::int64_t responseId = 0;
    std::string code;        ///< short human-readable receipt code
    bool duplicate = false;  ///< true when the key was seen before: nothing new was stored
    std::int64_t storedAtMs = 0;
    bool held = false;  ///< kept for an official's review, not counted (see Ingest::hold)
};

/// Validates, de-duplicates and durably stores submissions. Thread-safe.
class Ingest {
public:
    virtual ~Ingest() = default;
    /// Blocks until the response is committed (or found to be a duplicate: the same key, or
    /// the same dossier for the same survey) and returns its receipt. Throws Problem (422,
    /// with field errors) for invalid submissions: nothing was stored. Throws Unavailable when
    /// the store cannot confirm the commit now: the response may or may not be stored, and
    /// the channel retries later with the same key (which never double-counts).
    virtual Receipt submit(const Submission& submission) = 0;
    /// Keeps a valid submission for an official's review instead of counting it (a device
    /// flooding taps, say), durably, with `reason` ("rate_limit"...). The same key twice holds
    /// one; a key already stored as a response answers with that response (duplicate). An
    /// official later releases it (then it counts) or discards it (kept for the record).
    /// Throws like submit().
    virtual Receipt hold(const Submission& submission, std::string_view reason) = 0;
    /// The response stored for this dossier and survey (any version, any channel), if there is
    /// one: how a channel tells a citizen "already answered" before asking anything.
    virtual std::optional<Receipt> answered(std::string_view dossierCode,
                                            std::string_view surveyId) = 0;
};

}  // namespace hailong
