// hailong — how the console writes times and numbers for people: Vietnamese first (dd/MM/yyyy,
// 84,5, 1.234), English on request. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hailong::console {

/// dd/MM/yyyy HH:mm in Vietnam time (vi), or yyyy-MM-dd HH:mm (en).
std::string when(std::int64_t epochMs, const std::string& lang);
/// The same from formatTimeMs()'s ISO form ("2026-10-31T09:15:00.000Z"); the text itself when
/// it is not one.
std::string whenIso(const std::string& iso, const std::string& lang);
/// One decimal: 84,5 (vi) or 84.5 (en).
std::string decimal(double v, const std::string& lang);
/// A whole count with thousands marks: 1.234 (vi) or 1,234 (en).
std::string count(std::int64_t n, const std::string& lang);

}  // namespace hailong::console
