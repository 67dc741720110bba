#include "text/Tones.h"

#include <array>
#include <mutex>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/unorm2.h>
#include <unicode/utf8.h>

namespace hailong::vi {
namespace {

// Base vowels with their own diacritics (breve, circumflex, horn) but no tone.
constexpr std::array<char32_t, 12> kBaseLower{U'a', U'ă', U'â', U'e', U'ê', U'i',
                                              U'o', U'ô', U'ơ', U'u', U'ư', U'y'};
constexpr std::array<char32_t, 6> kToneMarks{0, 0x0300, 0x0301, 0x0309, 0x0303, 0x0323};
using namespace vowel;

// Vietnamese vowels live in U+00C0..U+01B0 and U+1EA0..U+1EF9 (plus ASCII): direct tables.
constexpr char32_t kLatinFirst = 0x00C0, kLatinLast = 0x01B0;
constexpr char32_t kExtFirst = 0x1EA0, kExtLast = 0x1EF9;

struct Tables {
    Letter ascii[128];
    Letter latin[kLatinLast - kLatinFirst + 1];
    Letter extended[kExtLast - kExtFirst + 1];
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
                    const Letter letter{v, static_cast<Tone>(tone), upper != 0};
                    if (cp < 128)
                        t.ascii[cp] = letter;
                    else if (cp >= kLatinFirst && cp <= kLatinLast)
                        t.latin[cp - kLatinFirst] = letter;
                    else if (cp >= kExtFirst && cp <= kExtLast)
                        t.extended[cp - kExtFirst] = letter;
                }
            }
        }
        return t;
    }();
    return built;
}

char32_t lower(char32_t c) {
    return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
}

}  // namespace

Letter split(char32_t cp) noexcept {
    const auto& t = tables();
    if (cp < 128) return t.ascii[cp];
    if (cp >= kLatinFirst && cp <= kLatinLast) return t.latin[cp - kLatinFirst];
    if (cp >= kExtFirst && cp <= kExtLast) return t.extended[cp - kExtFirst];
    return Letter{};
}

char32_t compose(int vowel, Tone tone, bool upper) noexcept {
    return tables().composed[vowel][tone][upper ? 1 : 0];
}

bool hasOwnMark(int v) noexcept {
    return v == Abreve || v == Acirc || v == Ecirc || v == Ocirc || v == Ohorn || v == Uhorn;
}

int markTarget(const int* vowels, int n, bool closed, ToneStyle style) noexcept {
    int marked = -1;  // the last vowel with its own diacritic
    for (int k = 0; k < n; ++k)
        if (hasOwnMark(vowels[k])) marked = k;
    if (marked >= 0) return marked;  // ươ: on ơ (the last); ê, ô, â, ă, ư, ơ: on it
    if (n == 1) return 0;
    if (n == 3) return 1;      // oai, uyu, oay...: the middle one
    if (closed) return n - 1;  // hoàn, toán, quyết (no mark)...: the second
    const int a = vowels[0], b = vowels[n - 1];
    const bool glide = (a == O && (b == A || b == E)) || (a == U && b == Y);
    return glide && style == ToneStyle::New ? n - 1 : 0;
}

namespace {

// Where the one tone mark of a syllable (its letters `cps`, split into `parts`) should be: the
// index of the target letter, or -1 when it is already there or the syllable is not plausibly
// one Vietnamese syllable. `toned` receives the index of the letter that carries the mark.
int targetOf(const Letter* parts, const char32_t* cps, std::size_t n, ToneStyle style, int& toned) {
    if (n == 0 || n > 12) return -1;
    int tones = 0;
    toned = -1;
    for (std::size_t i = 0; i < n; ++i)
        if (parts[i].tone != NoTone) toned = static_cast<int>(i), ++tones;
    if (tones != 1) return -1;  // nothing to place, or not one Vietnamese syllable

    // The vowel cluster: the first run of vowels, where "qu" and "gi" (before a vowel) belong
    // to the initial consonant.
    std::size_t first = 0;
    while (first < n && parts[first].vowel < 0) ++first;
    if (first == n) return -1;
    const char32_t before = first > 0 ? lower(cps[first - 1]) : 0;
    if (first + 1 < n && parts[first + 1].vowel >= 0 &&
        ((before == U'q' && parts[first].vowel == U) ||
         (before == U'g' && parts[first].vowel == I)))
        ++first;
    std::size_t last = first;
    while (last + 1 < n && parts[last + 1].vowel >= 0) ++last;
    for (std::size_t i = last + 1; i < n; ++i)
        if (parts[i].vowel >= 0) return -1;  // vowels after a consonant: not one syllable
    // The tone may sit on the "u" of "qu" or the "i" of "gi" (typed as qúy, gía): fine.
    if (static_cast<std::size_t>(toned) < first - (first > 0 ? 1 : 0) ||
        static_cast<std::size_t>(toned) > last)
        return -1;
    const std::size_t count = last - first + 1;
    if (count > 3) return -1;
    const bool closed = last + 1 < n;

    int run[3];
    for (std::size_t i = first; i <= last; ++i) run[i - first] = parts[i].vowel;
    const std::size_t target =
        first + static_cast<std::size_t>(markTarget(run, static_cast<int>(count), closed, style));
    if (target == static_cast<std::size_t>(toned) || parts[target].vowel < 0) return -1;
    return static_cast<int>(target);
}

// Moves the mark from `toned` to `target` in `cps`.
void moveTone(const Letter* parts, char32_t* cps, int toned, int target) {
    const Letter& from = parts[toned];
    const Letter& to = parts[target];
    cps[toned] = compose(from.vowel, NoTone, from.upper);
    cps[target] = compose(to.vowel, from.tone, to.upper);
}

}  // namespace

bool placeTones(std::string_view text, ToneStyle style, std::string& out) {
    out.clear();
    const Tables& t = tables();
    auto letterOf = [&t](char32_t cp) -> Letter {
        if (cp >= kLatinFirst && cp <= kLatinLast) return t.latin[cp - kLatinFirst];
        if (cp >= kExtFirst && cp <= kExtLast) return t.extended[cp - kExtFirst];
        return Letter{};
    };
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    const std::size_t length = text.size();
    std::size_t i = 0, copied = 0;
    bool changed = false;
    // One pass over the bytes: a syllable is a run of letters; only a syllable with exactly one
    // tone mark and two or more vowels can have its mark misplaced, and only those are decoded.
    while (i < length) {
        const std::size_t start = i;
        int vowels = 0, tones = 0;
        bool letters = false, skip = false;
        while (i < length) {
            const std::uint8_t b = bytes[i];
            if (b < 0x80) {
                const std::uint8_t lower = b | 0x20;
                if (lower < 'a' || lower > 'z') break;
                vowels += lower == 'a' || lower == 'e' || lower == 'i' || lower == 'o' ||
                          lower == 'u' || lower == 'y';
                letters = true;
                ++i;
                continue;
            }
            // Two- and three-byte letters (Vietnamese needs no more); anything else ends it.
            char32_t cp = 0;
            std::size_t len = 0;
            if ((b & 0xE0) == 0xC0 && i + 1 < length) {
                cp = ((b & 0x1Fu) << 6) | (bytes[i + 1] & 0x3Fu), len = 2;
            } else if ((b & 0xF0) == 0xE0 && i + 2 < length) {
                cp = ((b & 0x0Fu) << 12) | ((bytes[i + 1] & 0x3Fu) << 6) | (bytes[i + 2] & 0x3Fu);
                len = 3;
            } else {
                break;
            }
            const Letter l = letterOf(cp);
            if (cp >= 0x0300 && cp <= 0x036F) {  // a mark NFC could not compose: leave it be
                skip = true;
                letters = true;
                i += len;
                continue;
            }
            if (l.vowel < 0 && cp != 0x0110 && cp != 0x0111 && !u_isalpha(static_cast<UChar32>(cp)))
                break;
            vowels += l.vowel >= 0;
            tones += l.tone != NoTone;
            letters = true;
            i += len;
        }
        if (!letters) {  // a non-letter: skip it whole
            const std::uint8_t b = bytes[i];
            i += b < 0x80             ? 1
                 : (b & 0xE0) == 0xC0 ? 2
                 : (b & 0xF0) == 0xE0 ? 3
                 : (b & 0xF8) == 0xF0 ? 4
                                      : 1;
            continue;
        }
        if (skip || tones != 1 || vowels < 2) continue;
        // Decode the syllable into fixed arrays (no allocation) and check where the mark goes.
        char32_t cps[12];
        Letter parts[12];
        std::size_t n = 0;
        for (std::size_t k = start; k < i && n < 12; ++n) {
            UChar32 c;
            U8_NEXT_UNSAFE(bytes, k, c);
            cps[n] = static_cast<char32_t>(c);
            parts[n] = c < 0x80 ? t.ascii[c] : letterOf(cps[n]);
        }
        if (n >= 12) continue;
        int toned = -1;
        const int target = targetOf(parts, cps, n, style, toned);
        if (target < 0) continue;
        moveTone(parts, cps, toned, target);
        if (!changed) out.reserve(length);
        changed = true;
        out.append(text.substr(copied, start - copied));
        for (std::size_t k = 0; k < n; ++k) {
            char buffer[4];
            std::int32_t len = 0;
            U8_APPEND_UNSAFE(reinterpret_cast<std::uint8_t*>(buffer), len,
                             static_cast<UChar32>(cps[k]));
            out.append(buffer, static_cast<std::size_t>(len));
        }
        copied = i;
    }
    if (!changed) return false;
    out.append(text.substr(copied));
    return true;
}

}  // namespace hailong::vi
