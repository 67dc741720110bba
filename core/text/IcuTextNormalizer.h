// hailong — IcuTextNormalizer: the TextNormalizer built on ICU and the data in locale/vi.
#pragma once

#include "text/Decoding.h"
#include "text/Tones.h"

#include <hailong/TextNormalizer.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace hailong {

/// Immutable after construction; thread-safe. The language data (abbreviations, sentiment and
/// topic lexicons) comes from <locale>/vi; without a folder only the built-in reading of
/// scores works.
class IcuTextNormalizer final : public TextNormalizer {
public:
    explicit IcuTextNormalizer(const std::string& localeFolder = "",
                               vi::ToneStyle style = vi::ToneStyle::New);

    std::string normalize(std::string_view utf8) const override;
    std::string key(std::string_view utf8) const override;
    std::string unaccented(std::string_view utf8) const override;
    std::vector<std::string> syllables(std::string_view utf8) const override;
    ReplyIntent readReply(std::string_view utf8) const override;
    CommentTags tag(std::string_view utf8) const override;
    std::string decode(std::string_view bytes, std::string_view charset) const override;

    /// normalize() in another style than the configured one.
    std::string normalize(std::string_view utf8, vi::ToneStyle style) const;

    /// A token of a reply: its accent-free words (after abbreviations) and where it stands.
    struct Word {
        std::string key;
        std::size_t begin = 0, end = 0;  ///< byte span in the normalized text
        bool marked = false;             ///< the source token had letters with marks
        std::string lower;               ///< the source token in lower case (NFC)
    };
    /// The normalized text's words, keyed and with abbreviations expanded.
    std::vector<Word> words(const std::string& normalized) const;
    /// A way of writing a command: its words accent-free, and as this normalizer writes them
    /// ("hủy" in the configured tone style), for replies typed with marks.
    struct CommandForm {
        ReplyIntent::Command command;
        std::vector<std::string> plain, marked;
    };
    const std::vector<CommandForm>& commandForms() const { return commands_; }

private:
    vi::ToneStyle style_;
    std::map<std::string, std::vector<std::string>> abbreviations_;  // key -> words
    struct Phrase {
        std::vector<std::string> words;
        int weight = 0;  // sentiment: signed weight
        std::string topic;
    };
    std::vector<Phrase> sentiment_, topics_;
    std::set<std::string> negators_, intensifiers_;
    std::vector<CommandForm> commands_;
    std::shared_ptr<const vi::LegacyTables> tables_;  // TCVN3 and VNI, when the folder has them
};

}  // namespace hailong
