// hailong — JsonInput: reads fields of an untrusted JSON object with bounds, collecting every
// complaint before throwing one Problem(422) that lists them all.
#pragma once

#include <hailong/Problem.h>

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hailong {

/// Not thread-safe; one per request body.
class JsonInput {
public:
    explicit JsonInput(Poco::JSON::Object::Ptr object, std::string prefix = "")
        : object_(std::move(object)), prefix_(std::move(prefix)) {}

    bool has(const std::string& name) const { return object_->has(name); }
    /// Text up to `maxChars` characters; numbers are accepted as text.
    std::optional<std::string> text(const std::string& name, std::size_t maxChars,
                                    bool required = false);
    std::optional<std::int64_t> integer(const std::string& name, std::int64_t min, std::int64_t max,
                                        bool required = false);
    std::optional<double> number(const std::string& name, bool required = false);
    std::optional<bool> boolean(const std::string& name);
    /// Epoch milliseconds, or a time string (ISO 8601, dd/MM/yyyy HH:mm).
    std::optional<std::int64_t> time(const std::string& name, bool required = false);
    Poco::JSON::Array::Ptr array(const std::string& name, std::size_t maxItems);
    Poco::JSON::Object::Ptr object(const std::string& name);

    void error(const std::string& name, std::string code,
               std::map<std::string, std::string> params = {});
    std::vector<FieldError>& errors() { return errors_; }
    /// Adds an error for every field that was never read (unknown fields, typos).
    void checkUnknown();
    /// checkUnknown(), then throws Problem(422) if any field was wrong.
    void finish(const std::string& problemCode = "request.invalid");

private:
    std::optional<Poco::Dynamic::Var> get(const std::string& name, bool required);
    Poco::JSON::Object::Ptr object_;
    std::string prefix_;
    std::set<std::string> read_;
    std::vector<FieldError> errors_;
};

}  // namespace hailong
