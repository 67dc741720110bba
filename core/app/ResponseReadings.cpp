#include "app/ResponseReadings.h"

#include "common/Clock.h"
#include "index/IndexStore.h"
#include "ingest/Feedback.h"
#include "survey/Mood.h"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <map>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {

std::size_t readOlderResponses(Database& db, const SurveyCatalog& surveys,
                               const TextNormalizer& text, std::size_t batch) {
    std::size_t total = 0;
    for (;;) {
        const std::size_t read = db.write([&](Session& s) -> std::size_t {
            std::vector<std::int64_t> id, agency, answeredAt, folded;
            std::vector<Poco::Nullable<std::int64_t>> returnedAt;
            std::vector<std::string> survey, comment;
            std::vector<int> version;
            s << "SELECT r.id, r.survey_id, r.survey_version, r.comment_raw, r.folded, "
                 "COALESCE(r.agency_id, 0), r.answered_at, d.returned_at FROM responses r LEFT "
                 "JOIN dossiers d ON d.id = r.dossier_id WHERE r.read_at IS NULL ORDER BY r.id "
                 "LIMIT " +
                     std::to_string(batch),
                into(id), into(survey), into(version), into(comment), into(folded), into(agency),
                into(answeredAt), into(returnedAt), now;
            if (id.empty()) return 0;
            std::string ids;
            for (std::size_t i = 0; i < id.size(); ++i)
                ids += (i ? "," : "") + std::to_string(id[i]);
            std::vector<std::int64_t> answerOf;
            std::vector<std::string> question, answerText;
            std::vector<Poco::Nullable<double>> number;
            s << "SELECT response_id, question_id, value_num, value_text FROM answers WHERE "
                 "response_id IN (" +
                     ids + ") ORDER BY response_id, question_id, position",
                into(answerOf), into(question), into(number), into(answerText), now;
            std::map<std::int64_t, std::vector<std::size_t>> answersOf;
            for (std::size_t k = 0; k < answerOf.size(); ++k) answersOf[answerOf[k]].push_back(k);

            const std::int64_t at = nowMs();
            std::vector<index::HourSample> hours;
            for (std::size_t i = 0; i < id.size(); ++i) {
                const auto definition = surveys.find(survey[i], version[i]);
                std::vector<std::pair<std::string, double>> ratings;
                std::vector<std::string> words{comment[i]};
                for (std::size_t k : answersOf[id[i]]) {
                    const Question* q = definition ? definition->question(question[k]) : nullptr;
                    if (!number[k].isNull())
                        ratings.emplace_back(question[k], number[k].value());
                    else if (q && q->type != QuestionType::DossierCode)
                        words.push_back(answerText[k]);
                }
                Poco::Nullable<double> mood;
                if (definition)
                    if (const auto m = moodOf(*definition, ratings)) mood = *m;
                FeedbackReading f = readFeedback(words, text);
                std::int64_t responseId = id[i];
                std::int64_t served = servedAt(
                    returnedAt[i].isNull() ? std::nullopt : std::optional(returnedAt[i].value()),
                    answeredAt[i]);
                std::size_t claimed = 0;
                Poco::Data::Statement update(s);
                update << "UPDATE responses SET mood = $1, feedback = $2, feedback_key = $3, "
                          "sentiment = $4, topics = $5, served_at = $6, read_at = $7 WHERE id = "
                          "$8 AND read_at IS NULL",
                    use(mood), use(f.text), use(f.key), use(f.sentiment), use(f.topics),
                    use(served), bind(at), use(responseId);
                claimed = update.execute();
                if (claimed == 1 && folded[i] == 1)
                    hours.push_back({survey[i], agency[i], answeredAt[i], served,
                                     mood.isNull() ? std::nullopt : std::optional(mood.value())});
            }
            index::IndexStore::addFoldedHours(s, hours);
            return id.size();
        });
        total += read;
        if (read == 0) return total;
    }
}

}  // namespace hailong
