// MySqlSession on mysql-connector-c++ 1.1 (JDBC-style API over libmariadb).
#include "core/mysql_session.hpp"

#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace ticketing {
namespace {

// After a failed connect, calls fail fast for this long instead of each waiting for a timeout.
constexpr auto kReconnectBackoff = std::chrono::milliseconds(250);

}  // namespace

DbErrorKind ClassifyMySqlError(int code) {
  switch (code) {
    case 1213:  // ER_LOCK_DEADLOCK
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
      return DbErrorKind::kRetryable;
    case 1062:  // ER_DUP_ENTRY
      return DbErrorKind::kDuplicate;
    case 1040:  // ER_CON_COUNT_ERROR
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1927:  // ER_CONNECTION_KILLED (MariaDB)
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2026:  // CR_SSL_CONNECTION_ERROR
    case 2055:  // CR_SERVER_LOST_EXTENDED
      return DbErrorKind::kConnection;
    default:
      return DbErrorKind::kOther;
  }
}

void MySqlThreadScope::InitDriver() { sql::mysql::get_mysql_driver_instance(); }
MySqlThreadScope::MySqlThreadScope() { sql::mysql::get_mysql_driver_instance()->threadInit(); }
MySqlThreadScope::~MySqlThreadScope() { sql::mysql::get_mysql_driver_instance()->threadEnd(); }

MySqlSession::MySqlSession(const Config& config, Metrics* metrics)
    : config_(config), metrics_(metrics) {}

MySqlSession::~MySqlSession() { Disconnect(); }

void MySqlSession::Connect() {
  if (connection_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_connect_attempt_) {
    throw DbError(DbErrorKind::kConnection, 2003, "MySQL reconnect is backing off");
  }
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("tcp://" + config_.db_host + ":" +
                                       std::to_string(config_.db_port));
  options["userName"] = sql::SQLString(config_.db_user);
  options["password"] = sql::SQLString(config_.db_password);
  options["schema"] = sql::SQLString(config_.db_name);
  options["OPT_CONNECT_TIMEOUT"] = (config_.db_connect_timeout_ms + 999) / 1000;
  options["OPT_READ_TIMEOUT"] = config_.db_read_timeout_seconds;
  options["OPT_WRITE_TIMEOUT"] = config_.db_read_timeout_seconds;
  options["OPT_RECONNECT"] = false;
  options["CLIENT_MULTI_RESULTS"] = true;
  try {
    connection_.reset(sql::mysql::get_mysql_driver_instance()->connect(options));
    std::unique_ptr<sql::Statement> init(connection_->createStatement());
    // READ COMMITTED: every decision in the procedures is made on locking reads, and it keeps
    // the sweeper's range updates from taking gap locks that would block new holds.
    init->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    init->execute("SET SESSION innodb_lock_wait_timeout = " +
                  std::to_string(config_.db_lock_wait_timeout_seconds));
    init->execute("SET time_zone = '+00:00'");
    connection_->setAutoCommit(true);
    Log(LogLevel::kInfo, "mysql connected").Str("host", config_.db_host).Int("port", config_.db_port);
  } catch (const sql::SQLException& e) {
    connection_.reset();
    next_connect_attempt_ = now + kReconnectBackoff;
    if (metrics_) metrics_->Increment(Counter::kDbErrors);
    Log(LogLevel::kError, "mysql connect failed").Int("code", e.getErrorCode()).Str("detail", e.what());
    throw DbError(DbErrorKind::kConnection, e.getErrorCode(), e.what());
  }
}

void MySqlSession::Disconnect() {
  statements_.clear();
  if (connection_) {
    try {
      connection_->close();
    } catch (const sql::SQLException&) {
      // The connection is being thrown away; a failing close changes nothing.
    }
    connection_.reset();
  }
}

sql::PreparedStatement& MySqlSession::Prepare(const char* sql_text) {
  Connect();
  auto& slot = statements_[sql_text];
  if (!slot) slot.reset(connection_->prepareStatement(sql_text));
  return *slot;
}

std::unique_ptr<sql::PreparedStatement> MySqlSession::PrepareOnce(const char* sql_text) {
  Connect();
  return std::unique_ptr<sql::PreparedStatement>(connection_->prepareStatement(sql_text));
}

std::unique_ptr<sql::ResultSet> MySqlSession::Query(sql::PreparedStatement& statement) {
  std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
  return rows;
}

void MySqlSession::Execute(const char* sql_text) {
  Connect();
  std::unique_ptr<sql::Statement> statement(connection_->createStatement());
  statement->execute(sql_text);
}

bool MySqlSession::Ping() {
  try {
    Run([](MySqlSession& s) {
      auto& ping = s.Prepare("SELECT 1");
      auto rows = s.Query(ping);
      return rows->next();
    });
    return true;
  } catch (const DbError&) {
    return false;
  }
}

void MySqlSession::Fail(const std::exception& e) {
  const auto* sql_error = dynamic_cast<const sql::SQLException*>(&e);
  const int code = sql_error ? sql_error->getErrorCode() : 0;
  const DbErrorKind kind = ClassifyMySqlError(code);
  if (metrics_) metrics_->Increment(Counter::kDbErrors);
  if (kind == DbErrorKind::kConnection) {
    Disconnect();
  } else if (connection_) {
    // A procedure that failed midway leaves its transaction open on this connection.
    try {
      std::unique_ptr<sql::Statement> rollback(connection_->createStatement());
      rollback->execute("ROLLBACK");
    } catch (const sql::SQLException&) {
      Disconnect();
    }
  }
  throw DbError(kind, code, e.what());
}

}  // namespace ticketing
