// webform plugin — FormFlow: how a survey becomes the pages of a web form, what a posted page
// means, what is missing or wrong in it, and a citizen's unfinished form (Draft) as stored.
// Pure functions over the survey definition: no HTTP, no storage.
#pragma once

#include <hailong/Ingest.h>
#include <hailong/Survey.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace webform {

/// Questions on one page, at most this many (a SIPAS element has at most six).
constexpr std::size_t kMaxPerPage = 8;

/// One page of the form: the survey's questions it asks, in survey order.
struct Page {
    std::vector<const hailong::Question*> questions;
};

/// What a citizen gave for one question: option ids (scales, choices, yes/no) and free text
/// (a text question's answer, or a choice question's "other").
struct Given {
    std::vector<std::string> choices;
    std::string text;
    bool operator==(const Given&) const = default;
};
using Answers = std::map<std::string, Given>;  ///< by question id

/// One problem of a posted page, for the field of `question`. `code` is a message key of the
/// plugin's locale ("form.required"...); `params` fill its placeholders.
struct FieldProblem {
    std::string question;
    std::string code;
    std::map<std::string, std::string> params;
};

/// The pages of `survey` as the web form shows them: one per group of consecutive questions
/// (questions without a group join the page before them, or the first page), at most
/// kMaxPerPage each. Dossier-code questions are left out when the link already names the
/// dossier (`dossierKnown`). Pointers point into `survey`.
std::vector<Page> pagesOf(const hailong::Survey& survey, bool dossierKnown);

/// Whether `q` of `survey` is asked, given the answers so far: it has no condition, or the
/// question its condition names is asked and answered with one of the values.
bool isAsked(const hailong::Survey& survey, const hailong::Question& q, const Answers& answers);

/// Whether the question a condition depends on is on `page` (then the page shows the question
/// with a hint, and JavaScript hides it while the condition does not hold).
bool dependsOnPage(const hailong::Question& q, const Page& page);

/// Reads the fields of `page` from a posted form ("q.<id>" values, "o.<id>" other texts) into
/// `answers`, replacing what its questions had. Values are kept as posted (checked later).
void readPage(const Page& page, const std::multimap<std::string, std::string>& form,
              Answers& answers);

/// The problems of `page` given all the answers: a required question that is asked and not
/// answered, a value that is not an option, a text too long, an "other" where none is allowed.
/// `dossierExists` answers whether a typed dossier code is known.
std::vector<FieldProblem> checkPage(const hailong::Survey& survey, const Page& page,
                                    const Answers& answers,
                                    const std::function<bool(const std::string&)>& dossierExists);

/// The answers as the host's ingest takes them: only questions that are asked and answered.
std::vector<hailong::Answer> submissionAnswers(const hailong::Survey& survey,
                                               const Answers& answers);

/// A citizen's form between requests.
struct Draft {
    std::string id;        ///< 32 hex digits: the secret in the resume link
    std::string surveyId;  ///< the version is pinned when the draft starts
    int version = 0;
    std::string lang = "vi";
    std::string token;    ///< the dossier link it came from ("" for an open survey)
    std::string dossier;  ///< the dossier that link names
    Answers answers;
    int page = 0;             ///< the page shown; == number of pages: the review step
    int reached = 0;          ///< the furthest page reached (pages up to it can be opened directly)
    std::string receipt;      ///< set once submitted
    bool suspicious = false;  ///< the honeypot field was filled: held for review, not counted
    std::int64_t startedAtMs = 0;

    std::string toJson() const;
    /// Throws std::runtime_error for what this plugin did not write.
    static Draft fromJson(const std::string& json);
};

/// The text of `text` in `lang`, else Vietnamese.
std::string textIn(const hailong::LocalizedText& text, const std::string& lang);

}  // namespace webform
