// hailong — TextNormalizer: one way to turn received Vietnamese text into comparable text, and
// to read what a short reply means.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// What a short reply (an SMS, a one-line comment) asks for.
struct ReplyIntent {
    enum class Command { None, Rate, Stop, Help };
    Command command = Command::None;
    std::optional<int> score;  ///< 1 rất không hài lòng … 5 rất hài lòng, for Rate
    std::string code;          ///< dossier code from "DG <code> ...", if any
    std::string comment;       ///< the rest of the reply, as written (normalized)
};

/// What a free-text comment is about and how it sounds.
struct CommentTags {
    std::string sentiment = "neutral";  ///< "positive", "neutral" or "negative"
    int score = 0;                      ///< sum of the lexicon weights (negative is bad)
    std::vector<std::string> topics;    ///< waiting, attitude, guidance, fees, facilities, result
};

/// Normalizes and reads UTF-8 Vietnamese text. Thread-safe (const, immutable data).
class TextNormalizer {
public:
    virtual ~TextNormalizer() = default;
    /// Bytes in `charset` ("UTF-8", "UTF-16BE" as SMS gateways send UCS-2, "UTF-16LE",
    /// "ISO-8859-1", "windows-1258", "TCVN3", "VNI", "VIQR"; any case) as normalized UTF-8. Throws
    /// Problem(400, text.unknown_charset) for another charset and Problem(400,
    /// text.invalid_encoding) with the byte offset for bytes invalid in it.
    virtual std::string decode(std::string_view bytes, std::string_view charset) const = 0;
    /// NFC, one tone-mark placement style, U+00D0 read as Đ, spaces tidied. Throws Problem(400)
    /// on invalid UTF-8.
    virtual std::string normalize(std::string_view utf8) const = 0;
    /// Case-folded, accent-free key for matching and search ("Hài Lòng" -> "hai long").
    virtual std::string key(std::string_view utf8) const = 0;
    /// The text without tone and vowel marks, case kept ("UBND xã Phú Thượng" -> "UBND xa Phu
    /// Thuong"): what an accent-free SMS (one GSM-7 segment of 160) can carry.
    virtual std::string unaccented(std::string_view utf8) const = 0;
    /// The syllables (words of letters and digits) of the text, normalized.
    virtual std::vector<std::string> syllables(std::string_view utf8) const = 0;
    /// Reads a short reply; anything it cannot read with confidence is Command::None.
    virtual ReplyIntent readReply(std::string_view utf8) const = 0;
    /// Sentiment (negation-aware) and topics of a comment, from the lexicons in locale/vi.
    virtual CommentTags tag(std::string_view utf8) const = 0;
};

}  // namespace hailong
