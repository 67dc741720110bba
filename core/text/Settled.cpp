// hailong — the one-pass check that text is already normalized (vi::isSettled).
//
// Text that is already normalized is the common case (stored comments, replays, our own
// exports), so checking it has to cost about what ICU's own NFC check costs. The rules are
// written once, one character at a time, in Syllable::step. At first use they are compiled into
// two tables: a UTF-8 decoder that turns each byte into an event (the letters and signs
// Vietnamese is written with, precomputed with ICU), and an automaton over those events, explored
// from every reachable Syllable and then minimized. The scan is then two table lookups per byte
// with no branch to mispredict. Text with other characters (other scripts, rare symbols) is
// checked by the same rules, one character at a time.
#include "text/Tones.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace hailong::vi {
namespace {

using namespace vowel;

// What a character is to the check. Vowels are kVowel + 2 * class + (1 if it carries a tone
// mark), where the class keeps only what the placement rules ask of a vowel.
enum Event : std::uint8_t {
    kNone = 0,   // a byte that does not end a character
    kSpace,      // the ASCII space
    kSeparator,  // anything else that is not a letter and that normalization keeps
    kUnsettled,  // something normalization changes: controls, odd spaces, marks, U+00D0
    kConsonantQ,
    kConsonantG,
    kConsonant,
    kVowel,
    kEvents = kVowel + 14
};
// One vowel standing for each class: ă â ê ô ơ ư all behave as â.
constexpr int kClassVowel[7] = {A, E, I, O, U, Y, Acirc};

Event vowelEvent(const Letter& l) {
    int c = 6;
    for (int k = 0; k < 6; ++k)
        if (kClassVowel[k] == l.vowel) c = k;
    return static_cast<Event>(kVowel + 2 * c + (l.tone != NoTone ? 1 : 0));
}

Event eventOf(char32_t cp) {
    const Letter l = split(cp);
    if (cp < 0x80) {
        const char32_t lower = cp | 0x20;
        if (lower >= U'a' && lower <= U'z') {
            if (l.vowel >= 0) return vowelEvent(l);
            return lower == U'q' ? kConsonantQ : lower == U'g' ? kConsonantG : kConsonant;
        }
        if (cp == U' ') return kSpace;
        return cp < 0x20 || cp == 0x7F ? kUnsettled : kSeparator;
    }
    if (l.vowel >= 0) return vowelEvent(l);
    if (cp == 0x0110 || cp == 0x0111) return kConsonant;  // Đ đ
    const auto u = static_cast<UChar32>(cp);
    if (cp == 0x00D0 || cp == 0x00AD || u_isUWhiteSpace(u) || u_iscntrl(u) ||
        u_hasBinaryProperty(u, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) || u_getCombiningClass(u) != 0 ||
        u_getIntPropertyValue(u, UCHAR_NFC_QUICK_CHECK) != UNORM_YES)
        return kUnsettled;
    return u_isalpha(u) ? kConsonant : kSeparator;  // a letter of another alphabet: in the word
}

// The check's state: the syllable being read and what came before it. A syllable whose mark
// can no longer be misplaced is `safe` (two marks, vowels after a consonant, too many vowels:
// not one Vietnamese syllable, left as it is; or closed with its mark in place); one closed with
// its mark misplaced is `doomed` unless more vowels show it is not a syllable after all. Fields
// that no longer matter are cleared, so that equal futures have equal states.
struct Syllable {
    std::uint8_t vowels[4] = {};  // the first run of vowels, as kClassVowel
    std::uint8_t count = 0;
    std::int8_t toned = -1;   // which of them carries the mark
    std::uint8_t before = 0;  // the consonant before the run: 1 for q, 2 for g
    bool glide = false;       // the run starts with the "u" of "qu" or the "i" of "gi"
    bool inWord = false, safe = false, doomed = false, bad = false;
    bool space = true;  // after a space (the start counts as one: no leading space)

    std::uint64_t key() const {
        std::uint64_t k = 0;
        for (std::uint8_t v : vowels) k = k << 4 | v;
        k = k << 3 | count;
        k = k << 3 | static_cast<std::uint8_t>(toned + 1);
        k = k << 2 | before;
        k = k << 1 | glide;
        return k << 5 | (inWord << 4) | (safe << 3) | (doomed << 2) | (bad << 1) | space;
    }

    // Whether the mark of the run sits where markTarget() puts it.
    bool inPlace(bool closed, ToneStyle style) const {
        if (toned < 0 || count < 2) return true;
        const int first = glide ? 1 : 0;
        const int n = count - first;
        if (n > 3) return true;
        int run[3];
        for (int k = 0; k < n; ++k) run[k] = vowels[first + k];
        return first + markTarget(run, n, closed, style) == toned;
    }
    void clearRun(bool isSafe, bool isDoomed) {
        const bool word = inWord, after = space;
        *this = Syllable{};
        inWord = word, space = after, safe = isSafe, doomed = isDoomed;
    }
    bool misplaced(ToneStyle style) const {
        return inWord && (doomed || (!safe && !inPlace(false, style)));
    }

    void step(Event e, ToneStyle style) {
        if (bad || e == kNone) return;
        if (e >= kConsonantQ) {
            inWord = true;
            space = false;
            if (safe) return;
            const bool isVowel = e >= kVowel;
            if (doomed) {
                if (isVowel) clearRun(true, false);
                return;
            }
            if (isVowel) {
                const int v = kClassVowel[(e - kVowel) >> 1];
                if (count == 4) return clearRun(true, false);
                if ((e - kVowel) & 1) {
                    if (toned >= 0) return clearRun(true, false);
                    toned = static_cast<std::int8_t>(count);
                }
                if (count == 0) {  // what came before matters no more, only whether it glides
                    glide = (before == 1 && v == U) || (before == 2 && v == I);
                    before = 0;
                }
                vowels[count++] = static_cast<std::uint8_t>(v);
                if (count == 4 && !glide) clearRun(true, false);  // never checked
            } else if (count > 0) {
                const bool ok = inPlace(true, style);
                clearRun(ok, !ok);
            } else {
                before = e == kConsonantQ ? 1 : e == kConsonantG ? 2 : 0;
            }
            return;
        }
        if (e == kUnsettled || (e == kSpace && space) || misplaced(style)) {
            bad = true;
            return;
        }
        const bool after = e == kSpace;
        *this = Syllable{};
        space = after;
    }
    bool finish(ToneStyle style) const { return !bad && !space && !misplaced(style); }
};

// Decodes one strict UTF-8 sequence of one to three bytes at `i` (Vietnamese needs no more);
// 0 when it is anything else.
std::size_t decode(const std::uint8_t* bytes, std::size_t i, std::size_t length, char32_t& cp) {
    const std::uint8_t b = bytes[i];
    if (b < 0x80) {
        cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF && i + 1 < length && (bytes[i + 1] & 0xC0) == 0x80) {
        cp = ((b & 0x1Fu) << 6) | (bytes[i + 1] & 0x3Fu);
        return 2;
    }
    if ((b & 0xF0) == 0xE0 && i + 2 < length && (bytes[i + 1] & 0xC0) == 0x80 &&
        (bytes[i + 2] & 0xC0) == 0x80) {
        cp = ((b & 0x0Fu) << 12) | ((bytes[i + 1] & 0x3Fu) << 6) | (bytes[i + 2] & 0x3Fu);
        return cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : 3;
    }
    return 0;
}

// The UTF-8 decoder's states: ready for a character; after a lead byte C2..C6 (U+0080..U+01BF);
// after E1 or E2; after E1 BA, E1 BB (U+1E80..U+1EFF, most toned vowels) or E2 80 (U+2000..
// U+203F: dashes, quotes, ellipsis); and elsewhere (anything else: checked step by step).
enum Decoder : std::uint32_t {
    kReady = 0,
    kLead2 = 1,  // + (lead - 0xC2), five states
    kLeadE1 = 6,
    kLeadE2,
    kE1BA,
    kE1BB,
    kE280,
    kElsewhere,
    kDecoderStates
};

struct Automata {
    // [decoder state * 256 + byte] = next decoder state * 256 | event << 16.
    std::vector<std::uint32_t> decoder;
    // Per style: [state * kEvents + event] = next state * kEvents; whether a state may end the
    // text; the first state (times kEvents).
    std::vector<std::uint16_t> next[2];
    std::vector<bool> accepts[2];
    std::uint32_t start[2] = {};
};

std::vector<std::uint32_t> buildDecoder() {
    std::vector<std::uint32_t> table(kDecoderStates * 256);
    auto set = [&table](std::uint32_t state, std::uint32_t byte, std::uint32_t to, Event e) {
        table[state * 256 + byte] = to * 256 | static_cast<std::uint32_t>(e) << 16;
    };
    for (std::uint32_t b = 0; b < 256; ++b) {
        const bool continuation = (b & 0xC0) == 0x80;
        set(kReady, b,
            b < 0x80                 ? kReady
            : b >= 0xC2 && b <= 0xC6 ? kLead2 + (b - 0xC2)
            : b == 0xE1              ? kLeadE1
            : b == 0xE2              ? kLeadE2
                                     : kElsewhere,
            b < 0x80 ? eventOf(b) : kNone);
        for (std::uint32_t lead = 0xC2; lead <= 0xC6; ++lead)
            set(kLead2 + (lead - 0xC2), b, continuation ? kReady : kElsewhere,
                continuation ? eventOf(((lead & 0x1F) << 6) | (b & 0x3F)) : kNone);
        set(kLeadE1, b, b == 0xBA ? kE1BA : b == 0xBB ? kE1BB : kElsewhere, kNone);
        set(kLeadE2, b, b == 0x80 ? kE280 : kElsewhere, kNone);
        for (auto [state, base] : {std::pair{kE1BA, 0x1E80u}, {kE1BB, 0x1EC0u}, {kE280, 0x2000u}})
            set(state, b, continuation ? kReady : kElsewhere,
                continuation ? eventOf(base + (b & 0x3F)) : kNone);
        set(kElsewhere, b, kElsewhere, kNone);
    }
    return table;
}

// Explores every Syllable reachable from the start, then merges the states with the same future
// (Moore's partition refinement) so that the table stays small enough for the L1 cache.
void buildSyllables(ToneStyle style, Automata& out) {
    const int slot = style == ToneStyle::New ? 0 : 1;
    std::vector<Syllable> states{Syllable{}};
    std::unordered_map<std::uint64_t, std::uint32_t> ids{{Syllable{}.key(), 0}};
    std::vector<std::uint32_t> next;
    for (std::size_t i = 0; i < states.size(); ++i) {
        for (int e = 0; e < kEvents; ++e) {
            Syllable s = states[i];
            s.step(static_cast<Event>(e), style);
            auto [it, added] = ids.emplace(s.key(), static_cast<std::uint32_t>(states.size()));
            if (added) states.push_back(s);
            next.push_back(it->second);
        }
    }
    const std::size_t n = states.size();
    std::vector<std::uint32_t> group(n), refined(n);
    for (std::size_t i = 0; i < n; ++i) group[i] = states[i].finish(style) ? 1 : 0;
    for (std::size_t groups = 0;;) {
        // Two states stay together while they are in the same group and every event takes them
        // to the same group; the signature spells that out as bytes.
        std::unordered_map<std::string, std::uint32_t> signatures;
        std::uint32_t signature[kEvents + 1];
        for (std::size_t i = 0; i < n; ++i) {
            signature[0] = group[i];
            for (int e = 0; e < kEvents; ++e) signature[e + 1] = group[next[i * kEvents + e]];
            const std::string bytes(reinterpret_cast<const char*>(signature), sizeof signature);
            refined[i] = signatures.emplace(bytes, signatures.size()).first->second;
        }
        group.swap(refined);
        if (signatures.size() == groups) break;
        groups = signatures.size();
    }
    std::uint32_t count = 0;
    for (std::uint32_t g : group) count = std::max(count, g + 1);
    if (count * kEvents > 0xFFFF) throw std::logic_error("isSettled: automaton too large");
    out.next[slot].assign(count * kEvents, 0);
    out.accepts[slot].assign(count, false);
    for (std::size_t i = 0; i < n; ++i) {
        for (int e = 0; e < kEvents; ++e)
            out.next[slot][group[i] * kEvents + e] =
                static_cast<std::uint16_t>(group[next[i * kEvents + e]] * kEvents);
        out.accepts[slot][group[i]] = states[i].finish(style);
    }
    out.start[slot] = group[0] * kEvents;
}

const Automata& automata() {
    static const Automata built = [] {
        Automata a;
        a.decoder = buildDecoder();
        buildSyllables(ToneStyle::New, a);
        buildSyllables(ToneStyle::Old, a);
        return a;
    }();
    return built;
}

}  // namespace

bool isSettledStepByStep(std::string_view text, ToneStyle style) noexcept {
    if (text.empty()) return true;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    Syllable s;
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        const std::size_t len = decode(bytes, i, text.size(), cp);
        if (len == 0) return false;  // 4-byte and invalid sequences: the slow path decides
        s.step(eventOf(cp), style);
        if (s.bad) return false;
        i += len;
    }
    return s.finish(style);
}

bool isSettled(std::string_view text, ToneStyle style) {
    if (text.empty()) return true;
    const Automata& a = automata();
    const int slot = style == ToneStyle::New ? 0 : 1;
    const std::uint32_t* decoder = a.decoder.data();
    const std::uint16_t* next = a.next[slot].data();
    std::uint32_t at = kReady, state = a.start[slot];
    for (const char c : text) {
        const std::uint32_t step = decoder[at + static_cast<std::uint8_t>(c)];
        at = step & 0xFFFF;
        state = next[state + (step >> 16)];
    }
    if (at != kReady) return isSettledStepByStep(text, style);  // other characters, or cut short
    return a.accepts[slot][state / kEvents];
}

}  // namespace hailong::vi
