#include "common/Tsv.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>

#include <stdexcept>

namespace hailong::tsv {

std::vector<std::string> split(std::string_view line) {
    std::vector<std::string> fields;
    std::size_t pos = 0;
    while (pos <= line.size()) {
        auto tab = line.find('\t', pos);
        if (tab == std::string_view::npos) tab = line.size();
        fields.emplace_back(line.substr(pos, tab - pos));
        pos = tab + 1;
    }
    return fields;
}

std::vector<std::vector<std::string>> read(const std::string& file) {
    if (!Poco::File(file).exists()) throw std::runtime_error("language data missing: " + file);
    Poco::FileInputStream in(file);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) rows.push_back(split(line));
    }
    return rows;
}

}  // namespace hailong::tsv
