// hailong — the columns of a survey's export (its codebook), shared by every export format.
#pragma once

#include "hailong/Messages.h"
#include "hailong/Survey.h"

#include <set>
#include <string>
#include <vector>

namespace hailong::exports {

/// How a column is measured (SPSS's measurement levels).
enum class Measure { Nominal, Ordinal, Scale };

/// Where a column's cells come from.
enum class Source {
    Receipt,      ///< the response's receipt code
    Dossier,      ///< the dossier's code
    AgencyCode,   ///< the agency's code
    AgencyPath,   ///< the agency and its ancestors, by name, "Tỉnh … / Sở … / …"
    Counter,      ///< the counter's code
    Officer,      ///< the officer's code
    Procedure,    ///< the procedure's national code
    Channel,      ///< counter, sms, web, paper…
    Version,      ///< the survey version answered
    AnsweredAt,   ///< local time, ISO 8601
    ReceivedAt,   ///< local time, ISO 8601
    CommentRaw,   ///< the comment as received
    CommentNorm,  ///< the comment normalised by the text module
    Sentiment,    ///< negative, neutral, positive
    Topics,       ///< topic tags, comma-separated
    Answer,       ///< `question`'s answer: its option's value or code, or its text
    Other,        ///< `question`'s "other" text
    Chosen,       ///< 1 when `option` of multiple-choice `question` was chosen, else 0
};

/// A value and what it means ("5" = "Rất hài lòng").
struct ValueLabel {
    double value = 0;
    std::string label;
};

/// One column: a name that SPSS, Stata, R and Excel all accept, a label for people, its type and
/// measurement level, and its value labels.
struct Column {
    std::string name;   ///< unique (case-insensitively), [A-Za-z][A-Za-z0-9_]*, at most 64 bytes
    std::string label;  ///< the question's text (or the field's), in the export's language
    bool numeric = false;
    Measure measure = Measure::Nominal;
    std::vector<ValueLabel> values;
    Source source = Source::Answer;
    std::string question;  ///< Answer, Other, Chosen
    std::string option;    ///< Chosen: the option's id
    /// Texts: the longest cell in bytes (at least 1), measured when the sink asks
    /// (RowSink::needsWidths); 0 when not measured.
    std::size_t width = 0;
};

/// The columns of an export of `survey`, labels in `language` ("vi" or "en"; "vi" where a text
/// has no such translation): the response's fields first, then one column per question (rating,
/// yes/no, NPS: the option's value; single choice: its position from 1; multiple choice: a 0/1
/// column per option; text: the text), each followed by its "other" text when it allows one.
/// Phone numbers are never among them. The fields' labels come from `messages` ("export.*").
std::vector<Column> codebookOf(const Survey& survey, const std::string& language,
                               const Messages& messages);

/// `raw` made a column name SPSS, Stata and R accept, different from every name in `used`
/// (compared without case), which it joins: characters other than ASCII letters, digits and '_'
/// become '_', a name not starting with a letter gets a 'q' first, names are cut to 60 bytes,
/// and reserved words (SPSS's ALL, AND, BY…) and clashes get a suffix "_2", "_3"….
std::string columnName(const std::string& raw, std::set<std::string>& used);

}  // namespace hailong::exports
