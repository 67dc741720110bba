#include "export/SavSink.h"

#include <stdexcept>

namespace hailong::exports {

std::unique_ptr<RowSink> savSink(std::ostream&) {
    throw std::logic_error("SAV exports are being written");
}

}  // namespace hailong::exports
