// hailong — RepeatedStatement: a Poco statement run more than once, safe on PostgreSQL.
#pragma once

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include <cstddef>
#include <memory>

namespace hailong {

/// Owns one Poco::Data::Statement that runs several times: executed again with its bound
/// variables changed, or bound to vectors (Poco runs it once per element). Use it instead of a
/// plain Statement, or of `now`, for those. Not thread-safe, like the session it is made on.
///
/// Why it exists: Poco's PostgreSQL connector (1.11 in Debian 12, and upstream unchanged) frees
/// a statement's previous result when it runs it again but keeps the pointer; if that run fails,
/// the statement's destructor frees the same result a second time and glibc aborts the process.
/// A host died this way when PostgreSQL was stopped under load. So on PostgreSQL a statement
/// whose run failed is never destroyed: it is kept aside for the life of the process (a few
/// kilobytes per failed run, which in practice means per lost connection) and cannot run again.
class RepeatedStatement {
public:
    explicit RepeatedStatement(Poco::Data::Session& session);
    ~RepeatedStatement();
    RepeatedStatement(const RepeatedStatement&) = delete;
    RepeatedStatement& operator=(const RepeatedStatement&) = delete;

    /// The statement, to write its SQL and bindings into.
    Poco::Data::Statement& operator*();
    /// Runs it and returns the rows affected or extracted; rethrows the failure of a run.
    std::size_t execute();
    /// How many statements this process has kept aside after a failed run on PostgreSQL.
    static std::size_t keptAside() noexcept;

private:
    std::unique_ptr<Poco::Data::Statement> statement_;
    bool postgres_;
};

}  // namespace hailong
