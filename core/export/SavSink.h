// hailong — exports as SPSS system files (.sav), written through libreadstat.
#pragma once

#include "export/ResponseExport.h"

#include <memory>
#include <ostream>

namespace hailong::exports {

/// An SPSS .sav file written to `out` (row-compressed): one variable per column with its name,
/// its label, its value labels (5 = "Rất hài lòng"), its measurement level (nominal, ordinal,
/// scale), numbers as numeric variables with missing cells system-missing, texts as strings
/// (UTF-8; cut at SPSS's limits on a character boundary). The row count given to begin() is
/// written first and must match the rows that follow. Throws std::runtime_error when readstat
/// refuses a value or the stream fails. Not thread-safe.
std::unique_ptr<RowSink> savSink(std::ostream& out);

}  // namespace hailong::exports
