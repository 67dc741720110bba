#include "export/Codebook.h"

#include <algorithm>
#include <cctype>

namespace hailong::exports {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string localized(const LocalizedText& text, const std::string& language) {
    auto it = text.find(language);
    if (it == text.end() || it->second.empty()) it = text.find("vi");
    return it == text.end() ? std::string() : it->second;
}

}  // namespace

std::string columnName(const std::string& raw, std::set<std::string>& used) {
    static const std::set<std::string> kReserved{"all", "and", "by",  "eq", "ge", "gt",  "le",
                                                 "lt",  "ne",  "not", "or", "to", "with"};
    std::string name;
    for (char c : raw) {
        const auto u = static_cast<unsigned char>(c);
        name += std::isalnum(u) && u < 0x80 ? c : '_';
    }
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front()))) name = "q" + name;
    if (name.size() > 60) name.resize(60);
    std::string candidate = name;
    for (int n = 2; used.contains(lower(candidate)) || kReserved.contains(lower(candidate)); ++n)
        candidate = name + "_" + std::to_string(n);
    used.insert(lower(candidate));
    return candidate;
}

std::vector<Column> codebookOf(const Survey& survey, const std::string& language,
                               const Messages& messages) {
    std::vector<Column> out;
    std::set<std::string> used;
    auto field = [&](const char* name, Source source, bool numeric = false) {
        Column c;
        c.name = columnName(name, used);
        c.label = messages.text(language, std::string("export.") + name);
        c.source = source;
        c.numeric = numeric;
        c.measure = numeric ? Measure::Scale : Measure::Nominal;
        out.push_back(std::move(c));
    };
    field("receipt", Source::Receipt);
    field("dossier", Source::Dossier);
    field("agency_code", Source::AgencyCode);
    field("agency_path", Source::AgencyPath);
    field("counter", Source::Counter);
    field("officer", Source::Officer);
    field("procedure", Source::Procedure);
    field("channel", Source::Channel);
    field("version", Source::Version, true);
    out.back().measure = Measure::Nominal;
    field("answered_at", Source::AnsweredAt);
    field("received_at", Source::ReceivedAt);

    const std::string other = messages.text(language, "export.other");
    for (const Question& q : survey.questions) {
        const std::string text = localized(q.text, language);
        Column c;
        c.label = text;
        c.question = q.id;
        switch (q.type) {
            case QuestionType::Rating:
            case QuestionType::YesNo:
            case QuestionType::Nps:
                c.numeric = true;
                c.measure = q.type == QuestionType::Rating ? Measure::Ordinal
                            : q.type == QuestionType::Nps  ? Measure::Scale
                                                           : Measure::Nominal;
                for (const QuestionOption& o : q.options) {
                    const std::string label = localized(o.label, language);
                    if (!label.empty()) c.values.push_back({o.value, label});
                }
                break;
            case QuestionType::SingleChoice:
                c.numeric = true;
                for (std::size_t i = 0; i < q.options.size(); ++i)
                    c.values.push_back(
                        {static_cast<double>(i + 1), localized(q.options[i].label, language)});
                break;
            case QuestionType::MultipleChoice:
                for (const QuestionOption& o : q.options) {
                    Column flag;
                    flag.name = columnName(q.id + "_" + o.id, used);
                    flag.label = text + ": " + localized(o.label, language);
                    flag.numeric = true;
                    flag.source = Source::Chosen;
                    flag.question = q.id;
                    flag.option = o.id;
                    flag.values = {{0, messages.text(language, "export.not_chosen")},
                                   {1, messages.text(language, "export.chosen")}};
                    out.push_back(std::move(flag));
                }
                break;
            case QuestionType::Text:
            case QuestionType::Complaint:
            case QuestionType::DossierCode:
                break;
        }
        if (q.type != QuestionType::MultipleChoice) {
            c.name = columnName(q.id, used);
            out.push_back(std::move(c));
        }
        if (q.allowOther) {
            Column o;
            o.name = columnName(q.id + "_other", used);
            o.label = text + ": " + other;
            o.source = Source::Other;
            o.question = q.id;
            out.push_back(std::move(o));
        }
    }
    field("comment_raw", Source::CommentRaw);
    field("comment_norm", Source::CommentNorm);
    field("sentiment", Source::Sentiment);
    field("topics", Source::Topics);
    return out;
}

}  // namespace hailong::exports
