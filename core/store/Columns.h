// hailong — reading columns of a Poco RecordSet row, NULL-tolerant, the same way everywhere.
#pragma once

#include <Poco/Data/RecordSet.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hailong::columns {

/// The column as an integer; 0 when NULL.
inline std::int64_t i64(Poco::Data::RecordSet& rs, std::size_t col) {
    return rs.value(col).isEmpty() ? 0 : rs.value(col).convert<std::int64_t>();
}
/// The column as an integer; nothing when NULL.
inline std::optional<std::int64_t> optI64(Poco::Data::RecordSet& rs, std::size_t col) {
    if (rs.value(col).isEmpty()) return std::nullopt;
    return rs.value(col).convert<std::int64_t>();
}
/// The column as text; empty when NULL.
inline std::string str(Poco::Data::RecordSet& rs, std::size_t col) {
    return rs.value(col).isEmpty() ? std::string() : rs.value(col).convert<std::string>();
}

}  // namespace hailong::columns
