#include "text/Decoding.h"

#include "common/Tsv.h"
#include "common/Utf8.h"
#include "text/Tones.h"

#include <hailong/Problem.h>

#include <Poco/FileStream.h>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace hailong::vi {
namespace {

void appendUtf8(std::string& out, char32_t c) {
    icu::UnicodeString(static_cast<UChar32>(c)).toUTF8String(out);
}

// NFC of `utf8`; invalid sequences (possible only from Invalid::Replace paths) become U+FFFD.
std::string nfc(const std::string& utf8) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(utf8);
    if (utf8::isValid(utf8) && n->isNormalized(s, status)) return utf8;
    std::string out;
    n->normalize(s, status).toUTF8String(out);
    return out;
}

[[noreturn]] void invalidAt(std::size_t offset, Encoding e) {
    throw Problem(400, "text.invalid_encoding",
                  {{"offset", std::to_string(offset)}, {"encoding", toString(e)}});
}

// VIQR: a vowel followed by its marks: ( breve, ^ circumflex, + horn; ' ` ? ~ . the tones;
// "dd" is đ; a backslash keeps the next character literal.
std::string viqr(std::string_view in) {
    std::string out;
    std::size_t i = 0;
    auto vowelIndex = [](char c, char mark) -> int {
        switch (std::tolower(static_cast<unsigned char>(c))) {
            case 'a':
                return mark == '(' ? 1 : mark == '^' ? 2 : 0;
            case 'e':
                return mark == '^' ? 4 : 3;
            case 'i':
                return 5;
            case 'o':
                return mark == '^' ? 7 : mark == '+' ? 8 : 6;
            case 'u':
                return mark == '+' ? 10 : 9;
            case 'y':
                return 11;
            default:
                return -1;
        }
    };
    auto toneOf = [](char c) -> int {
        switch (c) {
            case '`':
                return Grave;
            case '\'':
                return Acute;
            case '?':
                return Hook;
            case '~':
                return Tilde;
            case '.':
                return Dot;
            default:
                return -1;
        }
    };
    while (i < in.size()) {
        const char c = in[i];
        if (c == '\\' && i + 1 < in.size()) {
            out.push_back(in[i + 1]);
            i += 2;
            continue;
        }
        if ((c == 'd' || c == 'D') && i + 1 < in.size() && (in[i + 1] == 'd' || in[i + 1] == 'D')) {
            appendUtf8(out, c == 'D' ? U'Đ' : U'đ');
            i += 2;
            continue;
        }
        if (vowelIndex(c, 0) < 0) {
            out.push_back(c);
            ++i;
            continue;
        }
        char mark = 0;
        std::size_t j = i + 1;
        if (j < in.size() && (in[j] == '(' || in[j] == '^' || in[j] == '+')) {
            const int v = vowelIndex(c, in[j]);
            if (v != vowelIndex(c, 0)) mark = in[j++];
        }
        int tone = 0;
        // A tone character counts only when a letter, a space or the end follows: "ha?" at the
        // end of a question stays ambiguous by nature; VIQR writers escape it as "ha\?".
        if (j < in.size() && toneOf(in[j]) > 0) {
            const bool end = j + 1 == in.size() ||
                             std::isalpha(static_cast<unsigned char>(in[j + 1])) ||
                             std::isspace(static_cast<unsigned char>(in[j + 1]));
            if (end) tone = toneOf(in[j++]);
        }
        appendUtf8(out, compose(vowelIndex(c, mark), static_cast<Tone>(tone),
                                std::isupper(static_cast<unsigned char>(c)) != 0));
        i = j;
    }
    return out;
}

std::string viaIcu(std::string_view bytes, const char* converter, Encoding e, Invalid invalid) {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<UConverter, void (*)(UConverter*)> conv(ucnv_open(converter, &status),
                                                            ucnv_close);
    if (U_FAILURE(status))
        throw std::logic_error(std::string("ICU converter missing: ") + converter);
    if (invalid == Invalid::Reject)
        ucnv_setToUCallBack(conv.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr,
                            &status);
    // Convert in one call with flush, so that a failure leaves `source` just past the bad bytes.
    std::u16string units(bytes.size() + 1, u'\0');
    UChar* target = units.data();
    const char* source = bytes.data();
    ucnv_toUnicode(conv.get(), &target, units.data() + units.size(), &source,
                   bytes.data() + bytes.size(), nullptr, true, &status);
    if (U_FAILURE(status)) {
        char bad[32];
        int8_t badLength = sizeof bad;
        UErrorCode ignored = U_ZERO_ERROR;
        ucnv_getInvalidChars(conv.get(), bad, &badLength, &ignored);
        const auto consumed = static_cast<std::size_t>(source - bytes.data());
        invalidAt(consumed - std::min<std::size_t>(consumed, static_cast<std::size_t>(badLength)),
                  e);
    }
    std::string out;
    icu::UnicodeString(units.data(), static_cast<int32_t>(target - units.data())).toUTF8String(out);
    return out;
}

// How Vietnamese a decoded text looks: the share of its non-ASCII words made only of
// Vietnamese letters with at most one tone mark.
double vietnameseScore(const std::string& text, std::size_t& words) {
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(text);
    std::size_t good = 0;
    words = 0;
    int tones = 0;
    bool nonAscii = false, bad = false, inWord = false;
    auto endWord = [&] {
        if (inWord && nonAscii) {
            ++words;
            if (!bad && tones <= 1) ++good;
        }
        inWord = nonAscii = bad = false;
        tones = 0;
    };
    for (std::int32_t i = 0; i < s.length();) {
        const UChar32 c = s.char32At(i);
        i += U16_LENGTH(c);
        if (!u_isalpha(c)) {
            endWord();
            continue;
        }
        inWord = true;
        if (c < 0x80) continue;
        nonAscii = true;
        const Letter l = split(static_cast<char32_t>(c));
        if (l.vowel >= 0) {
            tones += l.tone != NoTone;
        } else if (c != U'đ' && c != U'Đ') {
            bad = true;
        }
    }
    endWord();
    return words ? static_cast<double>(good) / static_cast<double>(words) : 0;
}

}  // namespace

std::optional<Encoding> encodingNamed(std::string_view raw) {
    std::string name(raw);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
    name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
    if (name == "utf8") return Encoding::Utf8;
    if (name == "utf16be" || name == "ucs2") return Encoding::Utf16BE;
    if (name == "utf16le") return Encoding::Utf16LE;
    if (name == "cp1258" || name == "windows1258") return Encoding::Cp1258;
    if (name == "tcvn3" || name == "tcvn" || name == "abc") return Encoding::Tcvn3;
    if (name == "vni" || name == "vniwindows") return Encoding::Vni;
    if (name == "viqr") return Encoding::Viqr;
    return std::nullopt;
}

const char* toString(Encoding e) {
    switch (e) {
        case Encoding::Utf8:
            return "utf8";
        case Encoding::Utf16BE:
            return "utf-16be";
        case Encoding::Utf16LE:
            return "utf-16le";
        case Encoding::Cp1258:
            return "cp1258";
        case Encoding::Tcvn3:
            return "tcvn3";
        case Encoding::Vni:
            return "vni";
        case Encoding::Viqr:
            return "viqr";
    }
    return "?";
}

LegacyTables::LegacyTables(const std::string& folder) {
    for (unsigned b = 0; b < 256; ++b) tcvn3_[b] = b < 0x80 ? b : 0;
    tcvn3_[0xA0] = 0xA0;  // no-break space, as in Latin-1 (the table lists letters only)
    auto read = [&](const std::string& name, auto onLine) {
        const std::string file = folder + "/" + name;
        Poco::FileInputStream in(file);
        std::string line;
        for (int number = 1; std::getline(in, line); ++number) {
            if (line.empty() || line[0] == '#') continue;
            try {
                onLine(line);
            } catch (const std::exception& e) {
                throw std::runtime_error(file + ":" + std::to_string(number) + ": " + e.what());
            }
        }
    };
    auto codePoint = [](const std::string& field) {
        if (!field.starts_with("U+")) throw std::runtime_error("expected U+XXXX");
        return static_cast<char32_t>(std::stoul(field.substr(2), nullptr, 16));
    };
    auto fields = [](const std::string& line) { return tsv::split(line); };
    read("tcvn3.tsv", [&](const std::string& line) {
        auto f = fields(line);
        if (f.size() < 2) throw std::runtime_error("expected byte<TAB>U+XXXX");
        const auto byte = std::stoul(f[0], nullptr, 16);
        if (byte > 0xFF) throw std::runtime_error("byte out of range");
        tcvn3_[byte] = codePoint(f[1]);
    });
    read("vni.tsv", [&](const std::string& line) {
        auto f = fields(line);
        if (f.size() < 2) throw std::runtime_error("expected bytes<TAB>U+XXXX");
        std::string sequence;
        std::size_t pos = 0;
        while (pos < f[0].size()) {
            while (pos < f[0].size() && f[0][pos] == ' ') ++pos;
            if (pos >= f[0].size()) break;
            std::size_t used = 0;
            sequence.push_back(static_cast<char>(std::stoul(f[0].substr(pos), &used, 16)));
            pos += used;
        }
        if (sequence.empty() || sequence.size() > 3) throw std::runtime_error("bad sequence");
        vni_[sequence] = codePoint(f[1]);
    });
}

std::pair<char32_t, std::size_t> LegacyTables::vni(std::string_view bytes) const {
    for (std::size_t len = std::min<std::size_t>(3, bytes.size()); len > 0; --len) {
        auto it = vni_.find(bytes.substr(0, len));
        if (it != vni_.end()) return {it->second, len};
    }
    return {0, 0};
}

std::string decode(std::string_view bytes, Encoding encoding, const LegacyTables& tables,
                   Invalid invalid) {
    std::string out;
    switch (encoding) {
        case Encoding::Utf8: {
            if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
            if (auto bad = utf8::firstInvalid(bytes)) {
                if (invalid == Invalid::Reject) invalidAt(*bad, encoding);
                return nfc(viaIcu(bytes, "UTF-8", encoding, Invalid::Replace));
            }
            return nfc(std::string(bytes));
        }
        case Encoding::Utf16BE:
            return nfc(viaIcu(bytes, "UTF-16BE", encoding, invalid));
        case Encoding::Utf16LE:
            return nfc(viaIcu(bytes, "UTF-16LE", encoding, invalid));
        case Encoding::Cp1258:
            return nfc(viaIcu(bytes, "windows-1258", encoding, invalid));
        case Encoding::Tcvn3:
            for (std::size_t i = 0; i < bytes.size(); ++i) {
                const char32_t c = tables.tcvn3(static_cast<unsigned char>(bytes[i]));
                if (c == 0 && bytes[i] != 0) {
                    if (invalid == Invalid::Reject) invalidAt(i, encoding);
                    appendUtf8(out, 0xFFFD);
                } else {
                    appendUtf8(out, c);
                }
            }
            return nfc(out);
        case Encoding::Vni:
            for (std::size_t i = 0; i < bytes.size();) {
                auto [letter, used] = tables.vni(bytes.substr(i));
                if (used) {
                    appendUtf8(out, letter);
                    i += used;
                } else {
                    // Anything else is Windows-1252 (VNI fonts keep Latin-1 for other text).
                    const auto b = static_cast<unsigned char>(bytes[i++]);
                    if (b < 0x80)
                        out.push_back(static_cast<char>(b));
                    else
                        out += viaIcu(std::string_view(reinterpret_cast<const char*>(&b), 1),
                                      "windows-1252", encoding, Invalid::Replace);
                }
            }
            return nfc(out);
        case Encoding::Viqr:
            if (auto bad = utf8::firstInvalid(bytes); bad && invalid == Invalid::Reject)
                invalidAt(*bad, encoding);
            return nfc(viqr(bytes));
    }
    return out;
}

Detection detect(std::string_view bytes, const LegacyTables& tables) {
    if (bytes.starts_with("\xEF\xBB\xBF")) return {Encoding::Utf8, 1.0, "UTF-8 byte order mark"};
    if (bytes.starts_with("\xFE\xFF")) return {Encoding::Utf16BE, 1.0, "UTF-16BE byte order mark"};
    if (bytes.starts_with("\xFF\xFE")) return {Encoding::Utf16LE, 1.0, "UTF-16LE byte order mark"};
    const bool ascii = std::all_of(bytes.begin(), bytes.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) {
        // VIQR writes marks after vowels: count the telltale pairs.
        std::size_t marks = 0, letters = 0;
        for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
            const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(bytes[i])));
            if (std::isalpha(static_cast<unsigned char>(c))) ++letters;
            const char m = bytes[i + 1];
            if (std::string_view("aeiouy").find(c) != std::string_view::npos &&
                (m == '^' || m == '(' || m == '+' || m == '`' || m == '~'))
                ++marks;
            if (c == 'd' && (bytes[i + 1] == 'd' || bytes[i + 1] == 'D')) ++marks;
        }
        if (marks >= 2 && letters &&
            static_cast<double>(marks) / static_cast<double>(letters) > 0.02)
            return {Encoding::Viqr, std::min(0.95, 0.5 + static_cast<double>(marks) / 20.0),
                    "ASCII with VIQR marks after vowels"};
        return {Encoding::Utf8, 1.0, "plain ASCII"};
    }
    if (!utf8::firstInvalid(bytes)) return {Encoding::Utf8, 0.99, "valid UTF-8"};
    if (bytes.size() >= 4 && bytes.size() % 2 == 0) {
        std::size_t zeroEven = 0, zeroOdd = 0;
        for (std::size_t i = 0; i < bytes.size(); ++i)
            (i % 2 ? zeroOdd : zeroEven) += bytes[i] == 0;
        if (zeroEven * 3 > bytes.size() / 2) return {Encoding::Utf16BE, 0.9, "zero high bytes"};
        if (zeroOdd * 3 > bytes.size() / 2) return {Encoding::Utf16LE, 0.9, "zero high bytes"};
    }
    struct Candidate {
        Encoding e;
        double score;
        std::size_t words;
    };
    std::vector<Candidate> candidates;
    for (Encoding e : {Encoding::Tcvn3, Encoding::Vni, Encoding::Cp1258}) {
        try {
            std::size_t words = 0;
            const double score = vietnameseScore(decode(bytes, e, tables, Invalid::Replace), words);
            candidates.push_back({e, score, words});
        } catch (const std::exception&) {
        }
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (candidates.empty() || candidates.front().score == 0)
        return {Encoding::Cp1258, 0.1, "not UTF-8; no legacy encoding reads as Vietnamese"};
    const Candidate& best = candidates.front();
    const double second = candidates.size() > 1 ? candidates[1].score : 0;
    // Sure when most words read well and clearly better than the runner-up, on enough words.
    double confidence = best.score * std::min(1.0, (best.score - second) * 2 + 0.3);
    if (best.words < 5) confidence *= 0.5;
    return {best.e, std::clamp(confidence, 0.0, 0.99),
            std::to_string(static_cast<int>(best.score * 100)) + "% of " +
                std::to_string(best.words) + " words read as Vietnamese"};
}

}  // namespace hailong::vi
