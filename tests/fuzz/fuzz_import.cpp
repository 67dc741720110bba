// libFuzzer target for imports of typed paper forms (exports::importResponses) with the real
// text normalizer, legacy encodings, message catalogs and the project's surveys, and an ingest
// that keeps submissions in memory. The first byte picks the survey (by
// rank of id); the rest is the file.
// Properties: a refused file is a Problem 413 or 422 (or 400 for bytes in no encoding); every row
// is imported, a duplicate or rejected with its line; what reaches the ingest names the survey,
// real questions and their option ids, in UTF-8, under a key of the import; importing the same file
// again stores nothing.
#include "FuzzSupport.h"
#include "common/MessageCatalog.h"
#include "common/Utf8.h"
#include "export/ResponseImport.h"
#include "survey/SurveyParser.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace hailong;
using hailong::fuzz::fail;

namespace {

// Stores keys only, and checks what it is given.
class MemoryIngest final : public Ingest {
public:
    const Survey* survey = nullptr;
    std::set<std::string> keys;

    Receipt submit(const Submission& s) override {
        if (s.surveyId != survey->id || s.channel != "paper") fail("another survey or channel");
        if (!s.idempotencyKey.starts_with("paper:" + survey->id + ":")) fail("a foreign key");
        for (const std::string* t : {&s.agencyCode, &s.dossierCode, &s.counterCode, &s.officerCode,
                                     &s.procedureCode, &s.comment})
            if (!utf8::isValid(*t)) fail("a code that is not UTF-8");
        if (s.answers.empty()) fail("a submission without answers");
        for (const Answer& a : s.answers) {
            const Question* q = survey->question(a.question);
            if (!q) fail("an answer to no question");
            if (!utf8::isValid(a.text)) fail("an answer that is not UTF-8");
            for (const std::string& c : a.choices)
                if (!q->option(c)) fail("a choice that is not an option of its question");
        }
        Receipt r;
        r.duplicate = !keys.insert(s.idempotencyKey).second;
        r.code = "R" + std::to_string(keys.size());
        return r;
    }
    Receipt hold(const Submission& s, std::string_view) override { return submit(s); }
    std::optional<Receipt> answered(std::string_view, std::string_view) override {
        return std::nullopt;
    }
};

void checkReport(const exports::ResponseImportReport& r) {
    if (r.rows != r.imported + r.duplicates + r.rejected.size()) fail("a row not accounted for");
    for (const ImportRejection& x : r.rejected)
        if (x.line == 0 || x.errors.empty()) fail("a rejection without its line or reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const IcuTextNormalizer text(HAILONG_SOURCE_DIR "/locale");
    static const vi::LegacyTables tables(HAILONG_SOURCE_DIR "/locale/vi/encodings");
    static const MessageCatalog messages(HAILONG_SOURCE_DIR "/locale");
    static const fuzz::ProjectSurveys surveys;
    if (size == 0) return 0;
    const auto all = surveys.list();
    const Survey& survey = *all[data[0] % all.size()];
    const std::string_view content(reinterpret_cast<const char*>(data) + 1, size - 1);

    MemoryIngest ingest;
    ingest.survey = &survey;
    exports::ResponseImportOptions options;
    options.surveyId = survey.id;
    options.language = data[0] & 0x80 ? "en" : "vi";
    exports::ResponseImportReport first;
    try {
        first = exports::importResponses(ingest, surveys, text, tables, messages, content,
                                         "forms.csv", options);
    } catch (const Problem& p) {
        // Bytes no encoding reads are a 400 (vi::decode's), not the 422 the header promises.
        if (p.status() == 400 && p.code() == "text.invalid_encoding") return 0;
        if ((p.status() != 413 && p.status() != 422) || p.code().empty()) {
            std::fprintf(stderr, "Problem %d %s\n", p.status(), p.code().c_str());
            fail("a refused file is not a 413 or 422");
        }
        return 0;
    }
    checkReport(first);
    // Importing the same file again stores nothing twice.
    const auto second = exports::importResponses(ingest, surveys, text, tables, messages, content,
                                                 "forms.csv", options);
    checkReport(second);
    if (second.imported != 0 || second.duplicates != first.imported + first.duplicates ||
        second.rejected.size() != first.rejected.size())
        fail("a file imported twice stored something twice");
    return 0;
}
