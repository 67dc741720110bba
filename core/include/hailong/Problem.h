// hailong — Problem: the one exception type for input that a user or client got wrong.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hailong {

/// One field-level complaint inside a Problem, e.g. {"answers.q1", "value.out_of_range", {...}}.
struct FieldError {
    std::string field;                          ///< where: a JSON pointer-ish path, a CSV column
    std::string code;                           ///< message key in locale/<lang>/messages.json
    std::map<std::string, std::string> params;  ///< values for {placeholders} in the message
};

/// Thrown for untrusted input that is wrong (never for broken invariants, which are bugs).
/// The HTTP layer turns it into an application/problem+json response whose `detail` is the
/// message `code` rendered in the client's language. Copyable; thread-compatible.
class Problem : public std::runtime_error {
public:
    Problem(int status, std::string code, std::map<std::string, std::string> params = {},
            std::vector<FieldError> errors = {});

    int status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    const std::map<std::string, std::string>& params() const noexcept { return params_; }
    const std::vector<FieldError>& errors() const noexcept { return errors_; }

    /// Extra HTTP headers for the response (e.g. Retry-After, Allow).
    std::vector<std::pair<std::string, std::string>> headers;

private:
    int status_;
    std::string code_;
    std::map<std::string, std::string> params_;
    std::vector<FieldError> errors_;
};

/// Thrown when the database (or another dependency) is unavailable for now; HTTP 503.
class Unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace hailong
