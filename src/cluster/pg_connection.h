// One connection to PostgreSQL (libpq), for the cluster's system of record.
//
// Statements are always parameterized (PQexecParams: no SQL is ever built from values), and
// every call is bounded by a timeout: a node must notice a silent network or a stuck server
// before its lease runs out, so no call may block for longer than its caller can afford. On a
// timeout or a lost connection the connection is closed (a statement whose outcome is unknown
// must not be followed by others on the same session) and PgError::connection_lost() is true;
// a COMMIT that failed that way may or may not have taken effect, and only re-reading tells.
//
// Threading: a PgConnection is used by one thread at a time. Everything may throw PgError.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace dorm::cluster {

class PgError : public std::runtime_error {
 public:
  // `message` is PostgreSQL's own (or libpq's) message; `sqlstate` its five-character code
  // ("40001"...), empty when the error did not come from the server.
  PgError(const std::string& message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  // True when the connection is gone (or was closed after a timeout): the statement's outcome is
  // unknown and the connection must be replaced.
  bool connection_lost() const { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// A statement parameter: NULL, text (PostgreSQL parses it as the parameter's type), or binary
// bytes (sent as-is: for bytea parameters, without escaping). The parameter refers to `bytes`;
// the caller keeps them alive during the call.
struct PgParam {
  enum class Kind { kNull, kText, kBinary };
  Kind kind = Kind::kNull;
  std::string_view bytes;

  static PgParam Null() { return {}; }
  static PgParam Text(std::string_view text) { return {Kind::kText, text}; }
  static PgParam Binary(std::string_view bytes) { return {Kind::kBinary, bytes}; }
};

// The rows of a successful statement, in text format, or in binary format for a statement run
// with PgConnection::ExecBinary. Owns the PGresult.
class PgResult {
 public:
  explicit PgResult(pg_result* result, bool binary = false) : result_(result), binary_(binary) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : result_(other.result_), binary_(other.binary_) {
    other.result_ = nullptr;
  }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  int columns() const;
  bool IsNull(int row, int column) const;
  // The value as PostgreSQL's text representation (in a binary result: the value's bytes, which
  // are the same for text and varchar columns only). Throws PgError when out of range.
  std::string Text(int row, int column) const;
  // An integer column (int2/int4/int8). Throws PgError if the value is not one.
  long long Int(int row, int column) const;
  // A bytea column: decoded from its text (hex) form, or as sent in a binary result.
  std::string Bytes(int row, int column) const;
  // A boolean column. Throws PgError (in a binary result) if the value is not one.
  bool Bool(int row, int column) const;
  // Rows changed by INSERT/UPDATE/DELETE.
  long long affected() const;

 private:
  void Check(int row, int column) const;
  pg_result* result_;
  bool binary_;
};

class PgConnection {
 public:
  // Connects within `timeout`. `conninfo` is a libpq connection string or URI. Throws PgError.
  static std::unique_ptr<PgConnection> Connect(const std::string& conninfo,
                                               std::chrono::milliseconds timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement (or, without parameters, a string of several) and returns its result.
  // An error reported by the server throws PgError with its message and SQLSTATE; the
  // connection stays usable (an open transaction is then aborted, as in psql). A timeout or a
  // broken connection closes the connection and throws PgError with connection_lost().
  PgResult Exec(std::string_view sql, const std::vector<PgParam>& params = {});
  PgResult Exec(std::string_view sql, const std::vector<PgParam>& params,
                std::chrono::milliseconds timeout);
  // The same for one statement whose rows come in binary format: bytea values as they are stored
  // (the text form, hex, is twice their size on the wire and must be decoded), for reading
  // objects' log frames and snapshots.
  PgResult ExecBinary(std::string_view sql, const std::vector<PgParam>& params);

  // Waits up to `timeout` for a notification on a channel this session LISTENs to (outside any
  // statement). Returns the channel's name, or nullopt when none came in time. A lost connection
  // closes it and throws PgError with connection_lost().
  std::optional<std::string> AwaitNotification(std::chrono::milliseconds timeout);

  // Ends the transaction a failed statement left open: ROLLBACK when the connection is still
  // usable, nothing otherwise (the server aborts it with the lost session). An error of the
  // ROLLBACK itself is swallowed: the caller rethrows the failure that brought it here.
  void RollbackAfterFailure() noexcept;

  // False once the connection was lost or closed after a timeout.
  bool usable() const { return conn_ != nullptr; }
  // The server process's id (pg_backend_pid), kept after the connection is lost: a statement
  // may still be running there, and only ending that process settles its outcome.
  int backend_pid() const { return pid_; }

  std::chrono::milliseconds default_timeout() const { return default_timeout_; }
  void set_default_timeout(std::chrono::milliseconds timeout) { default_timeout_ = timeout; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  PgResult Run(std::string_view sql, const std::vector<PgParam>& params,
               std::chrono::milliseconds timeout, bool binary);
  [[noreturn]] void Lose(const std::string& message);
  // Waits until the socket is readable (or writable) or the deadline passes.
  bool Wait(bool for_write, std::chrono::steady_clock::time_point deadline);

  pg_conn* conn_;
  int pid_ = 0;
  std::chrono::milliseconds default_timeout_{std::chrono::seconds(10)};
};

}  // namespace dorm::cluster
