// hailong — a response as the API receives it: the JSON of POST /api/v1/responses (one object,
// or each item of "responses") read into a Submission, every error named by its field.
#pragma once

#include <hailong/Ingest.h>
#include <hailong/Problem.h>
#include <hailong/Survey.h>

#include <Poco/JSON/Object.h>

#include <functional>
#include <string>

namespace hailong {

/// `p` with `prefix` ("responses.3.") in front of every field that does not have it yet.
Problem prefixed(const Problem& p, const std::string& prefix);
/// `p` with the ingest's field names as the API's body names them (answered_at: submitted_at).
Problem withApiNames(const Problem& p);

/// One response from a JSON object. The envelope's errors and the answers' are reported
/// together in one Problem(422), with `prefix` in front of each field: when the envelope is
/// wrong, `check` (Ingest::check) is asked what is wrong with the answers too. Free-text and
/// dossier-code questions of the survey (from `surveys`) take a string as their text; other
/// strings are option ids.
Submission submissionFrom(const Poco::JSON::Object::Ptr& body, const std::string& prefix,
                          const SurveyCatalog& surveys,
                          const std::function<void(const Submission&)>& check);

}  // namespace hailong
