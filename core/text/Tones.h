// hailong — Vietnamese letters and where a syllable's tone mark goes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hailong::vi {

/// Where the tone mark of an open "oa", "oe", "uy" syllable goes: old style on the first vowel
/// (hòa, khỏe, thủy), new style on the second (hoà, khoẻ, thuỷ). Every other syllable is
/// written the same way in both styles.
enum class ToneStyle { New, Old };

/// The tone marks, in the order of VIQR and most keyboards.
enum Tone : std::uint8_t { NoTone = 0, Grave, Acute, Hook, Tilde, Dot };

/// A letter broken into its parts: a base vowel (a ă â e ê i o ô ơ u ư y, as an index
/// 0..11), its tone and its case; `vowel` is -1 for anything that is not a Vietnamese vowel.
struct Letter {
    int vowel = -1;
    Tone tone = NoTone;
    bool upper = false;
};

/// The base vowels, as Letter::vowel numbers them.
namespace vowel {
enum : int { A = 0, Abreve, Acirc, E, Ecirc, I, O, Ocirc, Ohorn, U, Uhorn, Y };
}

/// The parts of code point `cp` (a precomposed NFC letter). Thread-safe (immutable tables).
Letter split(char32_t cp) noexcept;
/// The precomposed code point of a vowel with a tone (inverse of split).
char32_t compose(int vowel, Tone tone, bool upper) noexcept;

/// Whether base vowel `v` carries its own diacritic (ă â ê ô ơ ư).
bool hasOwnMark(int v) noexcept;

/// Where the tone mark of a vowel run goes in `style` (an index into `vowels`): the run is the
/// syllable's `n` (1..3) base vowels without the "u" of "qu" or the "i" of "gi"; `closed` when a
/// consonant follows it. The one statement of the placement rules.
int markTarget(const int* vowels, int n, bool closed, ToneStyle style) noexcept;

/// True when `text` is already what normalization in `style` produces: valid UTF-8, NFC, tidy
/// (no control characters, no runs of spaces or odd spaces, nothing at the ends) and every tone
/// mark in place. One pass; callers then keep `text` as it is. False means "take the slow
/// path", not "invalid". Runs a byte automaton compiled from the rules at first use.
bool isSettled(std::string_view text, ToneStyle style);
/// The same answer as isSettled, worked out one character at a time; isSettled falls back on it
/// for characters outside its tables. Exposed for tests.
bool isSettledStepByStep(std::string_view text, ToneStyle style) noexcept;

/// Rewrites every syllable of NFC UTF-8 `text` with placeTone; everything else is copied.
/// Returns false (and leaves `out` empty) when nothing had to change, so callers can keep the
/// input as it is.
bool placeTones(std::string_view text, ToneStyle style, std::string& out);

}  // namespace hailong::vi
