#include "text/IcuTextNormalizer.h"

#include "common/Tsv.h"
#include "common/Utf8.h"

#include <hailong/Problem.h>

#include <Poco/File.h>
#include <Poco/FileStream.h>

#include <cctype>

#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace hailong {
namespace {

void requireUtf8(std::string_view text) {
    if (auto bad = utf8::firstInvalid(text))
        throw Problem(400, "text.invalid_utf8", {{"offset", std::to_string(*bad)}});
}

const icu::Normalizer2& nfcNormalizer() {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status) || n == nullptr) throw std::logic_error("ICU NFC unavailable");
    return *n;
}
const icu::Normalizer2& nfdNormalizer() {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFDInstance(status);
    if (U_FAILURE(status) || n == nullptr) throw std::logic_error("ICU NFD unavailable");
    return *n;
}

// Whether `text` needs the slow path of tidying: control characters, runs of spaces, spaces at
// the ends, non-ASCII spaces or the Icelandic eth (U+00D0, read as Đ).
bool needsTidy(std::string_view text) {
    if (text.empty()) return false;
    if (text.front() == ' ' || text.back() == ' ') return true;
    char previous = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c > ' ' && c < 0x7F) {  // the common case: a visible ASCII byte
            previous = static_cast<char>(c);
            continue;
        }
        if (c < 0x20 || c == 0x7F || (c == ' ' && previous == ' ')) return true;
        if (c == 0xC2 && i + 1 < text.size()) {  // U+0080..U+00BF: C1 controls, NBSP
            const auto d = static_cast<unsigned char>(text[i + 1]);
            if (d < 0xA0 || d == 0xA0 || d == 0xAD) return true;
        }
        if (c == 0xC3 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x90)
            return true;  // U+00D0
        if (c == 0xE2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80)
            return true;  // U+2000..U+203F spaces, ZWSP
        if (c == 0xEF && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xBB &&
            static_cast<unsigned char>(text[i + 2]) == 0xBF)
            return true;  // BOM
        if (c == 0xE3 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
            static_cast<unsigned char>(text[i + 2]) == 0x80)
            return true;  // ideographic space
        previous = static_cast<char>(c);
    }
    return false;
}

// Collapses runs of white space into one ASCII space, trims the ends, drops controls.
icu::UnicodeString tidy(const icu::UnicodeString& in) {
    icu::UnicodeString out;
    bool pendingSpace = false;
    for (int32_t i = 0; i < in.length();) {
        const UChar32 c = in.char32At(i);
        i += U16_LENGTH(c);
        if (u_isUWhiteSpace(c) || c == 0x200B || c == 0xFEFF) {
            pendingSpace = !out.isEmpty();
            continue;
        }
        if (u_iscntrl(c) || c == 0x00AD) continue;
        if (pendingSpace) out.append(static_cast<UChar>(0x20));
        pendingSpace = false;
        out.append(c == 0x00D0 ? static_cast<UChar32>(0x0110) : c);  // Ð (eth) -> Đ
    }
    return out;
}

std::vector<std::string> splitWords(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

}  // namespace

IcuTextNormalizer::IcuTextNormalizer(const std::string& localeFolder, vi::ToneStyle style)
    : style_(style) {
    using enum ReplyIntent::Command;
    for (const auto& [command, form] :
         std::initializer_list<std::pair<ReplyIntent::Command, const char*>>{{Stop, "stop"},
                                                                             {Stop, "hủy"},
                                                                             {Stop, "từ chối"},
                                                                             {Stop, "dừng"},
                                                                             {Stop, "hủy đăng ký"},
                                                                             {Help, "help"},
                                                                             {Help, "hd"},
                                                                             {Help, "hướng dẫn"}})
        commands_.push_back({command, splitWords(key(form)), splitWords(normalize(form))});
    if (localeFolder.empty()) return;
    const std::string vi = localeFolder + "/vi";
    if (Poco::File(vi + "/encodings/tcvn3.tsv").exists())
        tables_ = std::make_shared<const vi::LegacyTables>(vi + "/encodings");
    for (const auto& row : tsv::read(vi + "/abbreviations.tsv")) {
        if (row[0].starts_with("#") || row.size() < 2) continue;
        abbreviations_[key(row[0])] = splitWords(key(row[1]));
    }
    for (const auto& row : tsv::read(vi + "/lexicon/sentiment.tsv")) {
        if (row[0].starts_with("#negators:")) {
            for (auto& w : splitWords(row[0].substr(10))) negators_.insert(key(w));
        } else if (row[0].starts_with("#intensifiers:")) {
            for (auto& w : splitWords(row[0].substr(14))) intensifiers_.insert(key(w));
        } else if (!row[0].starts_with("#") && row.size() >= 3) {
            const int weight = std::stoi(row[2]);
            sentiment_.push_back({splitWords(key(row[0])), row[1] == "-" ? -weight : weight, ""});
        }
    }
    for (const auto& row : tsv::read(vi + "/lexicon/topics.tsv")) {
        if (row[0].starts_with("#") || row.size() < 2) continue;
        topics_.push_back({splitWords(key(row[1])), 0, row[0]});
    }
    // Longest phrases first, so that "thai do kem" wins over "kem".
    auto longestFirst = [](const Phrase& a, const Phrase& b) {
        return a.words.size() > b.words.size();
    };
    std::stable_sort(sentiment_.begin(), sentiment_.end(), longestFirst);
    std::stable_sort(topics_.begin(), topics_.end(), longestFirst);
}

std::string IcuTextNormalizer::normalize(std::string_view text) const {
    return normalize(text, style_);
}

std::string IcuTextNormalizer::normalize(std::string_view text, vi::ToneStyle style) const {
    if (vi::isSettled(text, style)) return std::string(text);  // the common case, one pass
    requireUtf8(text);
    const icu::Normalizer2& nfc = nfcNormalizer();
    UErrorCode status = U_ZERO_ERROR;
    std::string result;
    // Fast path: already NFC and tidy (the common case) needs no UTF-16 round trip.
    if (!needsTidy(text) &&
        nfc.isNormalizedUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())),
                             status) &&
        U_SUCCESS(status)) {
        result.assign(text);
    } else {
        status = U_ZERO_ERROR;
        icu::UnicodeString s = tidy(icu::UnicodeString::fromUTF8(
            icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))));
        const int32_t done = nfc.spanQuickCheckYes(s, status);
        if (U_SUCCESS(status) && done < s.length()) {
            icu::UnicodeString head(s, 0, done);
            icu::UnicodeString tail(s, done);
            nfc.normalizeSecondAndAppend(head, tail, status);
            s = head;
        }
        if (U_FAILURE(status)) throw std::logic_error(u_errorName(status));
        s.toUTF8String(result);
    }
    // Moving a mark can make text that NFC writes differently; repeat until nothing moves, so
    // that normalize(normalize(x)) == normalize(x) always holds.
    std::string placed;
    for (int round = 0; round < 4 && vi::placeTones(result, style, placed); ++round) {
        status = U_ZERO_ERROR;
        result.clear();
        nfc.normalize(icu::UnicodeString::fromUTF8(placed), status).toUTF8String(result);
    }
    return result;
}

namespace {
// The key of text made only of ASCII and precomposed Vietnamese letters, without ICU; false when
// something else needs the general path (other scripts, combining marks, odd spaces).
bool fastKey(std::string_view text, std::string& out) {
    static constexpr char kBase[] = {'a', 'a', 'a', 'e', 'e', 'i', 'o', 'o', 'o', 'u', 'u', 'y'};
    out.clear();
    out.reserve(text.size());
    bool space = false;
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            if (b == ' ') {
                space = !out.empty();
            } else if (b < 0x20 || b == 0x7F) {
                return false;
            } else {
                if (space) out.push_back(' ');
                space = false;
                out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
            }
            ++i;
            continue;
        }
        char32_t cp;
        if ((b & 0xE0) == 0xC0 && i + 1 < text.size()) {
            cp = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu), i += 2;
        } else if ((b & 0xF0) == 0xE0 && i + 2 < text.size()) {
            cp = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
                 (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
            i += 3;
        } else {
            return false;
        }
        char c;
        if (cp == 0x0110 || cp == 0x0111 || cp == 0x00D0) {
            c = 'd';
        } else {
            const vi::Letter l = vi::split(cp);
            if (l.vowel < 0) return false;
            c = kBase[l.vowel];
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return true;
}
}  // namespace

namespace {
// `s` without its marks (đ and Đ too: they have no decomposition).
std::string withoutMarks(const icu::UnicodeString& s) {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString decomposed = nfdNormalizer().normalize(s, status);
    if (U_FAILURE(status)) throw std::logic_error(u_errorName(status));
    icu::UnicodeString out;
    for (int32_t i = 0; i < decomposed.length();) {
        const UChar32 c = decomposed.char32At(i);
        i += U16_LENGTH(c);
        if (u_getCombiningClass(c) != 0 || u_charType(c) == U_NON_SPACING_MARK) continue;
        out.append(c == 0x0111   ? static_cast<UChar32>('d')
                   : c == 0x0110 ? static_cast<UChar32>('D')
                                 : c);
    }
    std::string result;
    out.toUTF8String(result);
    return result;
}
}  // namespace

std::string IcuTextNormalizer::key(std::string_view text) const {
    requireUtf8(text);
    if (std::string fast; fastKey(text, fast)) return fast;
    icu::UnicodeString s = tidy(icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))));
    s.foldCase();
    return withoutMarks(s);
}

std::string IcuTextNormalizer::unaccented(std::string_view text) const {
    requireUtf8(text);
    return withoutMarks(tidy(icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))));
}

std::vector<std::string> IcuTextNormalizer::syllables(std::string_view text) const {
    const std::string normalized = normalize(text);
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(normalized);
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> words(
        icu::BreakIterator::createWordInstance(icu::Locale("vi"), status));
    if (U_FAILURE(status)) throw std::logic_error("ICU word break iterator unavailable");
    words->setText(s);
    std::vector<std::string> out;
    for (int32_t start = words->first(), end = words->next(); end != icu::BreakIterator::DONE;
         start = end, end = words->next()) {
        if (words->getRuleStatus() == UBRK_WORD_NONE) continue;  // spaces, punctuation
        std::string w;
        s.tempSubStringBetween(start, end).toUTF8String(w);
        out.push_back(std::move(w));
    }
    return out;
}

std::vector<IcuTextNormalizer::Word> IcuTextNormalizer::words(const std::string& text) const {
    std::vector<Word> out;
    std::size_t i = 0;
    auto isWordByte = [](unsigned char c) {
        return c >= 0x80 || std::isalnum(c) || c == '.' || c == '-' || c == '*' || c == '/' ||
               c == '_';
    };
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '?') {  // a lone question mark asks for help
            out.push_back({"?", i, i + 1, false, "?"});
            ++i;
            continue;
        }
        if (!isWordByte(c)) {
            ++i;
            continue;
        }
        const std::size_t begin = i;
        while (i < text.size() && isWordByte(static_cast<unsigned char>(text[i]))) ++i;
        std::size_t end = i;
        while (end > begin && (text[end - 1] == '.' || text[end - 1] == '-')) --end;  // "tốt."
        if (end == begin) continue;
        const std::string_view source = std::string_view(text).substr(begin, end - begin);
        const std::string k = key(source);
        const bool marked = std::any_of(source.begin(), source.end(), [](char ch) {
            return static_cast<unsigned char>(ch) >= 0x80;
        });
        std::string lower(source);
        if (marked) {
            static const icu::Locale vietnamese("vi");
            lower.clear();
            icu::UnicodeString(icu::UnicodeString::fromUTF8(icu::StringPiece(
                                   source.data(), static_cast<int32_t>(source.size()))))
                .toLower(vietnamese)
                .toUTF8String(lower);
        } else {
            for (char& ch : lower)
                if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        }
        auto abbreviation = abbreviations_.find(k);
        if (abbreviation != abbreviations_.end()) {
            for (const std::string& w : abbreviation->second)
                out.push_back({w, begin, end, marked, lower});
        } else {
            out.push_back({k, begin, end, marked, lower});
        }
    }
    return out;
}

CommentTags IcuTextNormalizer::tag(std::string_view text) const {
    CommentTags tags;
    const std::vector<Word> ws = words(normalize(text));
    auto matches = [&](const std::vector<std::string>& phrase, std::size_t at) {
        if (at + phrase.size() > ws.size()) return false;
        for (std::size_t k = 0; k < phrase.size(); ++k)
            if (ws[at + k].key != phrase[k]) return false;
        return true;
    };
    for (std::size_t i = 0; i < ws.size();) {
        std::size_t used = 0;
        for (const Phrase& p : sentiment_) {
            if (!matches(p.words, i)) continue;
            int weight = p.weight;
            // Look back over up to two words for intensifiers and a negator.
            bool negated = false;
            for (std::size_t back = 1; back <= 2 && back <= i; ++back) {
                const std::string& w = ws[i - back].key;
                if (negators_.contains(w))
                    negated = !negated;
                else if (intensifiers_.contains(w))
                    weight *= 2;
                else
                    break;
            }
            if (i + p.words.size() < ws.size() &&
                intensifiers_.contains(ws[i + p.words.size()].key))  // "tốt lắm", "chậm quá"
                weight *= 2;
            tags.score += negated ? -weight : weight;
            used = p.words.size();
            break;
        }
        i += used ? used : 1;
    }
    for (const Phrase& p : topics_)
        for (std::size_t i = 0; i < ws.size(); ++i)
            if (matches(p.words, i) &&
                std::find(tags.topics.begin(), tags.topics.end(), p.topic) == tags.topics.end())
                tags.topics.push_back(p.topic);
    tags.sentiment = tags.score > 0 ? "positive" : tags.score < 0 ? "negative" : "neutral";
    return tags;
}

std::string IcuTextNormalizer::decode(std::string_view bytes, std::string_view charset) const {
    std::string name(charset);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "iso-8859-1" || name == "latin1" || name == "us-ascii" || name == "ascii") {
        std::string utf8;  // every Latin-1 byte is the code point of the same number
        for (unsigned char b : bytes) {
            if (b < 0x80) {
                utf8 += static_cast<char>(b);
            } else {
                utf8 += static_cast<char>(0xC0 | (b >> 6));
                utf8 += static_cast<char>(0x80 | (b & 0x3F));
            }
        }
        return normalize(utf8);
    }
    const auto encoding = vi::encodingNamed(name.empty() ? "utf-8" : name);
    const bool legacy = encoding == vi::Encoding::Tcvn3 || encoding == vi::Encoding::Vni;
    if (!encoding || (legacy && !tables_))
        throw Problem(400, "text.unknown_charset",
                      {{"charset", std::string(charset).substr(0, 40)}});
    static const vi::LegacyTables none;
    return normalize(vi::decode(bytes, *encoding, tables_ ? *tables_ : none));
}

}  // namespace hailong
