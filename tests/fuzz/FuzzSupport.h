// What the fuzz targets share: how a broken property stops the run, and the project's surveys
// as a catalog (parsed once from surveys/*.json).
#pragma once

#include "survey/SurveyParser.h"

#include <hailong/Survey.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace hailong::fuzz {

/// Reports a broken property and stops: libFuzzer keeps the input that did it.
[[noreturn]] inline void fail(const char* why) {
    std::fprintf(stderr, "property broken: %s\n", why);
    std::abort();
}

/// The surveys shipped in surveys/, sorted by id; find() ignores the version.
class ProjectSurveys final : public SurveyCatalog {
public:
    ProjectSurveys() {
        for (const auto& entry :
             std::filesystem::directory_iterator(HAILONG_SOURCE_DIR "/surveys")) {
            if (entry.path().extension() != ".json") continue;
            std::ifstream in(entry.path());
            std::stringstream text;
            text << in.rdbuf();
            ParsedSurvey parsed = SurveyParser::parse(text.str());
            if (parsed.survey) all_.push_back(std::make_shared<Survey>(std::move(*parsed.survey)));
        }
        if (all_.empty()) fail("no survey in surveys/");
        std::sort(all_.begin(), all_.end(),
                  [](const auto& a, const auto& b) { return a->id < b->id; });
    }
    std::shared_ptr<const Survey> find(std::string_view id, int) const override {
        for (const auto& s : all_)
            if (s->id == id) return s;
        return nullptr;
    }
    std::vector<std::shared_ptr<const Survey>> list() const override { return all_; }
    std::vector<std::shared_ptr<const Survey>> versions(std::string_view) const override {
        return all_;
    }

private:
    std::vector<std::shared_ptr<const Survey>> all_;
};

}  // namespace hailong::fuzz
