// hailong — Phones: phone numbers as personal data (Decree 13/2023/NĐ-CP): matched by a keyed
// hash, and the numbers that asked for no more messages.
#pragma once

#include <string>
#include <string_view>

namespace hailong {

/// Thread-safe.
class Phones {
public:
    virtual ~Phones() = default;
    /// A Vietnamese or international number as "+84912345678" ("0912 345 678", "84912345678",
    /// "+84-912-345-678" all give that); "" when `raw` is not a phone number.
    virtual std::string canonical(std::string_view raw) const = 0;
    /// The keyed hash (HMAC-SHA256, hex) of a number's canonical form: how numbers are matched,
    /// counted and de-duplicated without being stored. "" for what is not a number.
    virtual std::string key(std::string_view raw) const = 0;
    /// Whether the number asked for no more messages (on any channel).
    virtual bool optedOut(std::string_view raw) = 0;
    /// Records that the number wants no more messages (STOP); `channel` says where it asked.
    virtual void optOut(std::string_view raw, std::string_view channel) = 0;
    /// The number takes messages again (it asked to).
    virtual void optIn(std::string_view raw) = 0;
};

}  // namespace hailong
