// One process's MySQL connection: opened after fork, reopened after a drop, errors classified.
#pragma once

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "core/config.hpp"

namespace ticketing {

class Metrics;

enum class DbErrorKind {
  kRetryable,   // deadlock or lock-wait timeout: the transaction was rolled back, run it again
  kConnection,  // the connection is gone: reconnect; the outcome of an in-flight commit is unknown
  kDuplicate,   // a unique key rejected the row
  kOther,       // a bug or a constraint: not retried
};

// A database failure with the driver's code; its text is for logs, never for clients.
class DbError : public std::runtime_error {
 public:
  DbError(DbErrorKind kind, int code, const std::string& what)
      : std::runtime_error(what), kind_(kind), code_(code) {}
  DbErrorKind kind() const { return kind_; }
  int code() const { return code_; }

 private:
  DbErrorKind kind_;
  int code_;
};

DbErrorKind ClassifyMySqlError(int code);

// Connector set-up for threads that open sessions: InitDriver once before any thread connects,
// and one scope object alive in each such thread (the client library's per-thread state).
class MySqlThreadScope {
 public:
  static void InitDriver();
  MySqlThreadScope();
  ~MySqlThreadScope();
  MySqlThreadScope(const MySqlThreadScope&) = delete;
  MySqlThreadScope& operator=(const MySqlThreadScope&) = delete;
};

class MySqlSession {
 public:
  MySqlSession(const Config& config, Metrics* metrics);
  ~MySqlSession();
  MySqlSession(const MySqlSession&) = delete;
  MySqlSession& operator=(const MySqlSession&) = delete;

  // A prepared statement for one of the named SQL constants (cached by address, per
  // connection). Connects first if needed. Throws DbError.
  sql::PreparedStatement& Prepare(const char* sql);
  // A statement of its own, closed when the caller drops it: for results of megabytes, which
  // a cached statement would keep buffered (per connection, so per request thread) until its
  // next execution.
  std::unique_ptr<sql::PreparedStatement> PrepareOnce(const char* sql);
  // Runs a statement that returns one result set, draining any trailing results (CALL).
  std::unique_ptr<sql::ResultSet> Query(sql::PreparedStatement& statement);
  void Execute(const char* sql);

  // Runs `fn(*this)`; converts driver exceptions to DbError, rolls back any open transaction
  // on failure, and drops the connection when it was lost so the next call reconnects.
  template <typename Fn>
  auto Run(Fn&& fn) -> decltype(fn(*this));

  bool Ping();
  void Disconnect();
  bool connected() const { return connection_ != nullptr; }

 private:
  void Connect();
  [[noreturn]] void Fail(const std::exception& e);

  const Config& config_;
  Metrics* metrics_;
  std::unique_ptr<sql::Connection> connection_;
  std::unordered_map<const char*, std::unique_ptr<sql::PreparedStatement>> statements_;
  std::chrono::steady_clock::time_point next_connect_attempt_{};
};

}  // namespace ticketing

#include "core/mysql_session_inl.hpp"
