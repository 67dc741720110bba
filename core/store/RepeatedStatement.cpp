#include "store/RepeatedStatement.h"

#include <mutex>
#include <stdexcept>
#include <vector>

namespace hailong {
namespace {

// Statements whose destructor must never run (see the header). Reachable from here, so leak
// checkers do not report them; never freed, so their destructors never run, not even at exit.
struct KeptAside {
    std::mutex mutex;
    std::vector<Poco::Data::Statement*> statements;
};

KeptAside& keptAsideList() {
    static auto* list = new KeptAside;
    return *list;
}

}  // namespace

RepeatedStatement::RepeatedStatement(Poco::Data::Session& session)
    : statement_(std::make_unique<Poco::Data::Statement>(session)),
      postgres_(session.connector() == "postgresql") {}

RepeatedStatement::~RepeatedStatement() = default;

Poco::Data::Statement& RepeatedStatement::operator*() {
    if (!statement_) throw std::logic_error("a statement is used again after its run failed");
    return *statement_;
}

std::size_t RepeatedStatement::execute() {
    Poco::Data::Statement& statement = **this;
    try {
        return statement.execute();
    } catch (...) {
        if (postgres_) {
            KeptAside& list = keptAsideList();
            std::lock_guard lock(list.mutex);
            list.statements.push_back(statement_.release());
        }
        throw;
    }
}

std::size_t RepeatedStatement::keptAside() noexcept {
    KeptAside& list = keptAsideList();
    std::lock_guard lock(list.mutex);
    return list.statements.size();
}

}  // namespace hailong
