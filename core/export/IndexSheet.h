// hailong — the indices of an export's filter as a worksheet beside its responses.
#pragma once

#include "export/ResponseExport.h"
#include "index/IndexService.h"

#include <string>

namespace hailong::exports {

/// `report` as a table: one row per group and index node (period, group, name, responses,
/// index, title in `language`, value, n, low, high, too_few), values rounded to 4 decimals,
/// an empty cell where there is no value. Pure.
Sheet indexSheet(const index::IndexReport& report, const std::string& language,
                 const std::string& sheetName);

}  // namespace hailong::exports
