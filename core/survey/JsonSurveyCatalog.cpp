#include "survey/JsonSurveyCatalog.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <stdexcept>

namespace hailong {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

LocalizedText localized(const Object::Ptr& obj, const std::string& key, const std::string& where,
                        bool required) {
    LocalizedText out;
    if (!obj->has(key)) {
        if (required) fail(where, "missing \"" + key + "\"");
        return out;
    }
    auto v = obj->get(key);
    if (v.isString()) {
        out["vi"] = v.toString();
    } else if (auto o = obj->getObject(key)) {
        for (const auto& [lang, text] : *o) out[lang] = text.toString();
    } else {
        fail(where, "\"" + key + "\" must be text or {\"vi\": ..., \"en\": ...}");
    }
    if (required && !out.contains("vi")) fail(where, "\"" + key + "\" needs a Vietnamese text");
    return out;
}

QuestionType typeOf(const std::string& t, const std::string& where) {
    static const std::map<std::string, QuestionType> types{
        {"rating", QuestionType::Rating},
        {"single", QuestionType::SingleChoice},
        {"multiple", QuestionType::MultipleChoice},
        {"yesno", QuestionType::YesNo},
        {"nps", QuestionType::Nps},
        {"text", QuestionType::Text},
        {"dossier", QuestionType::DossierCode}};
    auto it = types.find(t);
    if (it == types.end()) fail(where, "unknown question type \"" + t + "\"");
    return it->second;
}

}  // namespace

const Question* Survey::question(std::string_view questionId) const {
    for (const Question& q : questions)
        if (q.id == questionId) return &q;
    return nullptr;
}

bool Survey::allowsChannel(std::string_view channel) const {
    return channels.empty() ||
           std::find(channels.begin(), channels.end(), channel) != channels.end();
}

Survey JsonSurveyCatalog::parse(const std::string& json) {
    Object::Ptr root;
    try {
        root = Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
    } catch (const Poco::Exception& e) {
        fail("survey", "not a JSON object: " + e.displayText());
    }
    Survey s;
    s.id = root->optValue<std::string>("id", "");
    if (s.id.empty()) fail("survey", "missing \"id\"");
    s.version = root->optValue<int>("version", 1);
    if (s.version < 1) fail(s.id, "\"version\" must be 1 or more");
    s.title = localized(root, "title", s.id, true);
    if (auto ch = root->getArray("channels"))
        for (const auto& c : *ch) s.channels.push_back(c.toString());
    auto qs = root->getArray("questions");
    if (!qs || qs->size() == 0) fail(s.id, "needs at least one question");
    for (std::size_t i = 0; i < qs->size(); ++i) {
        auto qo = qs->getObject(static_cast<unsigned>(i));
        const std::string where = s.id + ".questions[" + std::to_string(i) + "]";
        if (!qo) fail(where, "must be an object");
        Question q;
        q.id = qo->optValue<std::string>("id", "");
        if (q.id.empty()) fail(where, "missing \"id\"");
        if (s.question(q.id)) fail(where, "duplicate question id \"" + q.id + "\"");
        q.type = typeOf(qo->optValue<std::string>("type", "rating"), where);
        q.required = qo->optValue<bool>("required", false);
        q.text = localized(qo, "text", where, true);
        q.maxLength = qo->optValue<std::size_t>("maxLength", 1000);
        if (auto opts = qo->getArray("options")) {
            for (std::size_t k = 0; k < opts->size(); ++k) {
                auto oo = opts->getObject(static_cast<unsigned>(k));
                if (!oo) fail(where, "options must be objects");
                QuestionOption o;
                o.id = oo->optValue<std::string>("id", "");
                if (o.id.empty()) fail(where, "an option has no \"id\"");
                o.value = oo->optValue<double>("value", static_cast<double>(k + 1));
                o.label = localized(oo, "label", where + ".options", true);
                q.options.push_back(std::move(o));
            }
        }
        switch (q.type) {
            case QuestionType::Rating:
                if (q.options.size() < 2) fail(where, "a rating needs at least two options");
                q.min = q.max = q.options.front().value;
                for (const auto& o : q.options) {
                    q.min = std::min(q.min, o.value);
                    q.max = std::max(q.max, o.value);
                }
                break;
            case QuestionType::SingleChoice:
            case QuestionType::MultipleChoice:
                if (q.options.empty()) fail(where, "a choice question needs options");
                break;
            case QuestionType::YesNo:
                q.min = 0, q.max = 1;
                break;
            case QuestionType::Nps:
                q.min = 0, q.max = 10;
                break;
            case QuestionType::Text:
            case QuestionType::DossierCode:
                break;
        }
        s.questions.push_back(std::move(q));
    }
    return s;
}

JsonSurveyCatalog::JsonSurveyCatalog(const std::string& folder) {
    Poco::File dir(folder);
    if (!dir.exists() || !dir.isDirectory()) {
        errors_.push_back(folder + ": survey folder not found");
        return;
    }
    std::vector<std::string> files;
    for (Poco::DirectoryIterator it(folder), end; it != end; ++it)
        if (it->isFile() && it.path().getExtension() == "json") files.push_back(it->path());
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
        try {
            Poco::FileInputStream in(file);
            std::string text;
            Poco::StreamCopier::copyToString(in, text);
            auto survey = std::make_shared<const Survey>(parse(text));
            auto& versions = surveys_[survey->id];
            if (versions.contains(survey->version))
                throw std::runtime_error("version " + std::to_string(survey->version) + " of \"" +
                                         survey->id + "\" is defined twice");
            versions[survey->version] = survey;
        } catch (const std::exception& e) {
            errors_.push_back(file + ": " + e.what());
        }
    }
}

std::shared_ptr<const Survey> JsonSurveyCatalog::find(std::string_view id, int version) const {
    auto it = surveys_.find(id);
    if (it == surveys_.end() || it->second.empty()) return nullptr;
    if (version == 0) return it->second.rbegin()->second;
    auto v = it->second.find(version);
    return v == it->second.end() ? nullptr : v->second;
}

std::vector<std::shared_ptr<const Survey>> JsonSurveyCatalog::list() const {
    std::vector<std::shared_ptr<const Survey>> out;
    for (const auto& [id, versions] : surveys_)
        if (!versions.empty()) out.push_back(versions.rbegin()->second);
    return out;
}

}  // namespace hailong
