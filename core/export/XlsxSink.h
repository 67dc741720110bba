// hailong — exports as Excel workbooks (XLSX), written through libxlsxwriter.
#pragma once

#include "export/ResponseExport.h"

#include <memory>
#include <string>
#include <vector>

namespace hailong::exports {

/// An XLSX workbook at `path`, written in libxlsxwriter's constant-memory mode (memory does not
/// grow with the number of rows; its temporary files go in `tmpDir`). Sheets: the responses
/// (a header row of column names, frozen; numbers as numbers, texts as texts, missing cells
/// empty), the codebook (each column's name, label, type, measurement level and value labels,
/// headed in `language` from `messages`' "export.codebook.*"), then `extra` in order. The
/// workbook is complete only after end(). Throws std::runtime_error when the file cannot be
/// written. Not thread-safe.
std::unique_ptr<RowSink> xlsxSink(const std::string& path, const std::string& tmpDir,
                                  const Messages& messages, const std::string& language,
                                  std::vector<Sheet> extra);

}  // namespace hailong::exports
