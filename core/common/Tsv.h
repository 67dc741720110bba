// hailong — tab-separated language data (locale/vi/*.tsv and test tables).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hailong::tsv {

/// The fields of one line, split at tabs (an empty line is one empty field).
std::vector<std::string> split(std::string_view line);

/// Every non-empty line of `file` split into fields, comments (#...) included, CR removed.
/// Throws std::runtime_error naming the file when it cannot be read.
std::vector<std::vector<std::string>> read(const std::string& file);

}  // namespace hailong::tsv
