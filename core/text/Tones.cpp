#include "text/Tones.h"

#include <array>
#include <mutex>
#include <unordered_map>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

namespace hailong::vi {
namespace {

// Base vowels with their own diacritics (breve, circumflex, horn) but no tone.
constexpr std::array<char32_t, 12> kBaseLower{U'a', U'ă', U'â', U'e', U'ê', U'i',
                                              U'o', U'ô', U'ơ', U'u', U'ư', U'y'};
constexpr std::array<char32_t, 6> kToneMarks{0, 0x0300, 0x0301, 0x0309, 0x0303, 0x0323};
enum : int { A = 0, Abreve, Acirc, E, Ecirc, I, O, Ocirc, Ohorn, U, Uhorn, Y };

struct Tables {
    std::unordered_map<char32_t, Letter> letters;
    char32_t composed[12][6][2] = {};
};

const Tables& tables() {
    static const Tables built = [] {
        Tables t;
        UErrorCode status = U_ZERO_ERROR;
        const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
        for (int v = 0; v < 12; ++v) {
            for (int tone = 0; tone < 6; ++tone) {
                for (int upper = 0; upper < 2; ++upper) {
                    const UChar32 base = upper ? u_toupper(static_cast<UChar32>(kBaseLower[v]))
                                               : static_cast<UChar32>(kBaseLower[v]);
                    icu::UnicodeString s(base);
                    if (kToneMarks[tone]) s.append(static_cast<UChar32>(kToneMarks[tone]));
                    icu::UnicodeString c = nfc->normalize(s, status);
                    const char32_t cp = static_cast<char32_t>(c.char32At(0));
                    t.composed[v][tone][upper] = cp;
                    t.letters[cp] = Letter{v, static_cast<Tone>(tone), upper != 0};
                }
            }
        }
        return t;
    }();
    return built;
}

bool hasOwnMark(int v) {
    return v == Abreve || v == Acirc || v == Ecirc || v == Ocirc || v == Ohorn || v == Uhorn;
}

char32_t lower(char32_t c) {
    return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
}

}  // namespace

Letter split(char32_t cp) noexcept {
    const auto& t = tables();
    auto it = t.letters.find(cp);
    return it == t.letters.end() ? Letter{} : it->second;
}

char32_t compose(int vowel, Tone tone, bool upper) noexcept {
    return tables().composed[vowel][tone][upper ? 1 : 0];
}

bool placeTone(std::u32string& s, ToneStyle style) {
    const std::size_t n = s.size();
    if (n == 0 || n > 12) return false;
    Letter parts[12];
    int toned = -1, tones = 0;
    for (std::size_t i = 0; i < n; ++i) {
        parts[i] = split(s[i]);
        if (parts[i].tone != NoTone) {
            toned = static_cast<int>(i);
            ++tones;
        }
    }
    if (tones != 1) return false;  // nothing to place, or not one Vietnamese syllable

    // The vowel cluster: the first run of vowels, where "qu" and "gi" (before a vowel) belong
    // to the initial consonant.
    std::size_t first = 0;
    while (first < n && parts[first].vowel < 0) ++first;
    if (first == n) return false;
    const char32_t before = first > 0 ? lower(s[first - 1]) : 0;
    if (first + 1 < n && parts[first + 1].vowel >= 0 &&
        ((before == U'q' && parts[first].vowel == U) ||
         (before == U'g' && parts[first].vowel == I)))
        ++first;
    std::size_t last = first;
    while (last + 1 < n && parts[last + 1].vowel >= 0) ++last;
    for (std::size_t i = last + 1; i < n; ++i)
        if (parts[i].vowel >= 0) return false;  // vowels after a consonant: not one syllable
    // The tone may sit on the "u" of "qu" or the "i" of "gi" (typed as qúy, gía): fine.
    if (static_cast<std::size_t>(toned) < first - (first > 0 ? 1 : 0) ||
        static_cast<std::size_t>(toned) > last)
        return false;
    const std::size_t count = last - first + 1;
    if (count > 3) return false;
    const bool closed = last + 1 < n;

    std::size_t target = first;
    std::size_t marked = n;  // the last vowel with its own diacritic
    for (std::size_t i = first; i <= last; ++i)
        if (hasOwnMark(parts[i].vowel)) marked = i;
    if (marked != n) {
        target = marked;  // ươ: on ơ (the last); ê, ô, â, ă, ư, ơ: on it
    } else if (count == 1) {
        target = first;
    } else if (count == 3) {
        target = first + 1;  // oai, uyu, oay...: the middle one
    } else if (closed) {
        target = last;  // hoàn, toán, quyết (no mark)...: the second
    } else {
        const int a = parts[first].vowel, b = parts[last].vowel;
        const bool glide = (a == O && (b == A || b == E)) || (a == U && b == Y);
        target = glide && style == ToneStyle::New ? last : first;
    }
    if (target == static_cast<std::size_t>(toned)) return false;
    const Tone tone = parts[toned].tone;
    s[static_cast<std::size_t>(toned)] = compose(parts[toned].vowel, NoTone, parts[toned].upper);
    if (parts[target].vowel < 0) return false;
    s[target] = compose(parts[target].vowel, tone, parts[target].upper);
    return true;
}

bool placeTones(std::string_view text, ToneStyle style, std::string& out) {
    out.clear();
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    const auto length = static_cast<std::int32_t>(text.size());
    std::int32_t i = 0, copied = 0;
    bool changed = false;
    std::u32string syllable;
    while (i < length) {
        // Cheap skip of ASCII non-letters.
        if (bytes[i] < 0x80 && !((bytes[i] | 0x20) >= 'a' && (bytes[i] | 0x20) <= 'z')) {
            ++i;
            continue;
        }
        const std::int32_t start = i;
        syllable.clear();
        bool nonAscii = false;
        while (i < length) {
            std::int32_t next = i;
            UChar32 c;
            U8_NEXT(bytes, next, length, c);
            if (c < 0 || !u_isalpha(c)) break;
            nonAscii = nonAscii || c >= 0x80;
            syllable.push_back(static_cast<char32_t>(c));
            i = next;
        }
        if (i == start) {  // a non-letter non-ASCII character
            UChar32 c;
            U8_NEXT(bytes, i, length, c);
            (void)c;
            continue;
        }
        if (!nonAscii || !placeTone(syllable, style)) continue;
        if (!changed) out.reserve(text.size());
        changed = true;
        out.append(text.substr(static_cast<std::size_t>(copied),
                               static_cast<std::size_t>(start - copied)));
        for (char32_t c : syllable) {
            char buffer[4];
            std::int32_t len = 0;
            U8_APPEND_UNSAFE(reinterpret_cast<std::uint8_t*>(buffer), len, static_cast<UChar32>(c));
            out.append(buffer, static_cast<std::size_t>(len));
        }
        copied = i;
    }
    if (!changed) return false;
    out.append(text.substr(static_cast<std::size_t>(copied)));
    return true;
}

}  // namespace hailong::vi
