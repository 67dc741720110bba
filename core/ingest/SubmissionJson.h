// hailong — a Submission as one JSON text and back: how held submissions wait for review.
#pragma once

#include <hailong/Ingest.h>

#include <string>

namespace hailong {

/// Every field of `s`, as compact JSON.
std::string submissionToJson(const Submission& s);
/// The Submission submissionToJson wrote. Throws std::runtime_error for text it did not write
/// (stored payloads are ours: a failure is a bug or a damaged database, not user input).
Submission submissionFromJson(const std::string& json);

}  // namespace hailong
