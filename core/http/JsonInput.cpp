#include "http/JsonInput.h"

#include "common/Clock.h"
#include "common/Utf8.h"

#include <Poco/JSON/Array.h>

#include <cmath>

namespace hailong {

void JsonInput::error(const std::string& name, std::string code,
                      std::map<std::string, std::string> params) {
    errors_.push_back({prefix_ + name, std::move(code), std::move(params)});
}

std::optional<Poco::Dynamic::Var> JsonInput::get(const std::string& name, bool required) {
    read_.insert(name);
    if (!object_->has(name) || object_->get(name).isEmpty()) {
        if (required) error(name, "field.required");
        return std::nullopt;
    }
    return object_->get(name);
}

std::optional<std::string> JsonInput::text(const std::string& name, std::size_t maxChars,
                                           bool required) {
    auto v = get(name, required);
    if (!v) return std::nullopt;
    if (!v->isString() && !v->isNumeric()) {
        error(name, "field.text");
        return std::nullopt;
    }
    std::string s = v->convert<std::string>();
    if (!utf8::isValid(s)) {
        error(name, "text.invalid_utf8", {{"offset", std::to_string(*utf8::firstInvalid(s))}});
        return std::nullopt;
    }
    if (auto control = utf8::firstControl(s)) {
        error(name, "text.control_chars", {{"offset", std::to_string(*control)}});
        return std::nullopt;
    }
    if (utf8::length(s) > maxChars) {
        error(name, "field.too_long", {{"max", std::to_string(maxChars)}});
        return std::nullopt;
    }
    if (required && s.empty()) {
        error(name, "field.required");
        return std::nullopt;
    }
    return s;
}

std::optional<double> JsonInput::number(const std::string& name, bool required) {
    auto v = get(name, required);
    if (!v) return std::nullopt;
    if (!v->isNumeric() || v->type() == typeid(bool)) {
        error(name, "field.number");
        return std::nullopt;
    }
    const double d = v->convert<double>();
    if (!std::isfinite(d)) {
        error(name, "field.number");
        return std::nullopt;
    }
    return d;
}

std::optional<std::int64_t> JsonInput::integer(const std::string& name, std::int64_t min,
                                               std::int64_t max, bool required) {
    auto d = number(name, required);
    if (!d) return std::nullopt;
    if (std::floor(*d) != *d || *d < static_cast<double>(min) || *d > static_cast<double>(max)) {
        error(name, "field.range", {{"min", std::to_string(min)}, {"max", std::to_string(max)}});
        return std::nullopt;
    }
    return static_cast<std::int64_t>(*d);
}

std::optional<bool> JsonInput::boolean(const std::string& name) {
    auto v = get(name, false);
    if (!v) return std::nullopt;
    if (v->type() != typeid(bool)) {
        error(name, "field.boolean", {{"value", v->toString()}});
        return std::nullopt;
    }
    return v->extract<bool>();
}

std::optional<std::int64_t> JsonInput::time(const std::string& name, bool required) {
    constexpr double kEarliestMs = 946684800000.0, kLatestMs = 7258118400000.0;  // 2000..2200
    auto v = get(name, required);
    if (!v) return std::nullopt;
    std::optional<std::int64_t> ms;
    if (v->isNumeric() && v->type() != typeid(bool)) {
        const double d = v->convert<double>();
        if (!std::isfinite(d) || d < kEarliestMs || d >= kLatestMs || std::floor(d) != d) {
            error(name, "field.time_range");
            return std::nullopt;
        }
        return static_cast<std::int64_t>(d);
    }
    if (v->isString()) ms = parseTimeMs(v->extract<std::string>());
    if (!ms) {
        error(name, "field.time", {{"value", v->isString() ? v->extract<std::string>() : ""}});
        return std::nullopt;
    }
    if (static_cast<double>(*ms) < kEarliestMs || static_cast<double>(*ms) >= kLatestMs) {
        error(name, "field.time_range");
        return std::nullopt;
    }
    return ms;
}

Poco::JSON::Array::Ptr JsonInput::array(const std::string& name, std::size_t maxItems) {
    auto v = get(name, false);
    if (!v) return nullptr;
    if (v->type() != typeid(Poco::JSON::Array::Ptr)) {
        error(name, "field.array");
        return nullptr;
    }
    auto a = v->extract<Poco::JSON::Array::Ptr>();
    if (a->size() > maxItems) {
        error(name, "field.too_many", {{"max", std::to_string(maxItems)}});
        return nullptr;
    }
    return a;
}

Poco::JSON::Object::Ptr JsonInput::object(const std::string& name) {
    auto v = get(name, false);
    if (!v) return nullptr;
    if (v->type() != typeid(Poco::JSON::Object::Ptr)) {
        error(name, "field.object");
        return nullptr;
    }
    return v->extract<Poco::JSON::Object::Ptr>();
}

void JsonInput::checkUnknown() {
    for (const auto& [key, value] : *object_)
        if (!read_.contains(key)) error(key, "field.unknown");
    read_.clear();
    for (const auto& [key, value] : *object_) read_.insert(key);  // report each once
}

void JsonInput::finish(const std::string& problemCode) {
    checkUnknown();
    if (!errors_.empty()) throw Problem(422, problemCode, {}, errors_);
}

}  // namespace hailong
