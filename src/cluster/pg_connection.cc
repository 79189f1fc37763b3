#include "cluster/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace dorm::cluster {
namespace {

using Clock = std::chrono::steady_clock;

// The built-in types' OIDs (PostgreSQL's catalog/pg_type.dat; fixed for every server).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

// libpq's messages end with a newline; PostgreSQL's own do not.
std::string Trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Waits for `fd` to become ready in the direction libpq asks for, at most until `deadline`.
bool PollSocket(int fd, bool for_write, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let libpq report the socket's error
  }
}

}  // namespace

PgResult::~PgResult() { PQclear(result_); }

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

int PgResult::rows() const { return result_ ? PQntuples(result_) : 0; }
int PgResult::columns() const { return result_ ? PQnfields(result_) : 0; }

void PgResult::Check(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
    throw PgError("no value at row " + std::to_string(row) + ", column " + std::to_string(column),
                  "", false);
  }
}

bool PgResult::IsNull(int row, int column) const {
  Check(row, column);
  return PQgetisnull(result_, row, column) != 0;
}

std::string PgResult::Text(int row, int column) const {
  Check(row, column);
  return std::string(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
}

long long PgResult::Int(int row, int column) const {
  if (binary_) {
    Check(row, column);
    // Network byte order, of the width the column's type has (int2, int4, int8).
    const Oid type = PQftype(result_, column);
    const int length = PQgetlength(result_, row, column);
    const int width = type == kInt2Oid ? 2 : type == kInt4Oid ? 4 : type == kInt8Oid ? 8 : 0;
    if (width == 0 || length != width || PQgetisnull(result_, row, column)) {
      throw PgError("not an integer column", "", false);
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column));
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) value = (value << 8) | bytes[i];
    // Sign-extend from the column's width.
    const int shift = 64 - 8 * width;
    return static_cast<long long>(static_cast<int64_t>(value << shift) >> shift);
  }
  std::string text = Text(row, column);
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0') {
    throw PgError("not an integer: \"" + text.substr(0, 40) + "\"", "", false);
  }
  return value;
}

std::string PgResult::Bytes(int row, int column) const {
  Check(row, column);
  if (binary_) {
    if (PQftype(result_, column) != kByteaOid) throw PgError("not a bytea column", "", false);
    return std::string(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
  }
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)), &length);
  if (!bytes) throw PgError("cannot decode a bytea value", "", false);
  std::string out(reinterpret_cast<char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

bool PgResult::Bool(int row, int column) const {
  if (binary_) {
    Check(row, column);
    if (PQftype(result_, column) != kBoolOid || PQgetlength(result_, row, column) != 1) {
      throw PgError("not a boolean column", "", false);
    }
    return PQgetvalue(result_, row, column)[0] != 0;
  }
  return Text(row, column) == "t";
}

long long PgResult::affected() const {
  const char* text = result_ ? PQcmdTuples(result_) : "";
  return text[0] ? std::atoll(text) : 0;
}

std::unique_ptr<PgConnection> PgConnection::Connect(const std::string& conninfo,
                                                    std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  PGconn* conn = PQconnectStart(conninfo.c_str());
  if (!conn) throw PgError("out of memory connecting to PostgreSQL", "", true);
  std::unique_ptr<PgConnection> self(new PgConnection(conn));
  if (PQstatus(conn) == CONNECTION_BAD) self->Lose(Trimmed(PQerrorMessage(conn)));
  // PQconnectPoll's contract: start as if it had asked to wait for writing.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) self->Lose(Trimmed(PQerrorMessage(conn)));
    if (!PollSocket(PQsocket(conn), status == PGRES_POLLING_WRITING, deadline)) {
      self->Lose("timed out connecting to PostgreSQL");
    }
    status = PQconnectPoll(conn);
  }
  // Results and notices are read by this class only; the server's notices (for example "relation
  // already exists, skipping") would otherwise go to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(conn, 1) != 0) self->Lose(Trimmed(PQerrorMessage(conn)));
  self->pid_ = PQbackendPID(conn);
  return self;
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

void PgConnection::Lose(const std::string& message) {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  throw PgError(message.empty() ? "connection to PostgreSQL lost" : message, "", true);
}

bool PgConnection::Wait(bool for_write, Clock::time_point deadline) {
  return PollSocket(PQsocket(conn_), for_write, deadline);
}

void PgConnection::RollbackAfterFailure() noexcept {
  if (!usable()) return;
  try {
    Exec("ROLLBACK");
  } catch (...) {
  }
}

PgResult PgConnection::Exec(std::string_view sql, const std::vector<PgParam>& params) {
  return Run(sql, params, default_timeout_, false);
}

PgResult PgConnection::Exec(std::string_view sql, const std::vector<PgParam>& params,
                            std::chrono::milliseconds timeout) {
  return Run(sql, params, timeout, false);
}

PgResult PgConnection::ExecBinary(std::string_view sql, const std::vector<PgParam>& params) {
  return Run(sql, params, default_timeout_, true);
}

std::optional<std::string> PgConnection::AwaitNotification(std::chrono::milliseconds timeout) {
  if (!conn_) throw PgError("connection to PostgreSQL lost", "", true);
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (!PQconsumeInput(conn_)) Lose(Trimmed(PQerrorMessage(conn_)));
    if (PGnotify* notify = PQnotifies(conn_)) {
      std::string channel = notify->relname;
      PQfreemem(notify);
      return channel;
    }
    if (Clock::now() >= deadline || !Wait(false, deadline)) return std::nullopt;
  }
}

PgResult PgConnection::Run(std::string_view sql, const std::vector<PgParam>& params,
                           std::chrono::milliseconds timeout, bool binary) {
  if (!conn_) throw PgError("connection to PostgreSQL lost", "", true);
  Clock::time_point deadline = Clock::now() + timeout;
  std::string text(sql);
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  std::vector<std::string> texts(params.size());  // text parameters need a terminating NUL
  for (size_t i = 0; i < params.size(); ++i) {
    const PgParam& p = params[i];
    switch (p.kind) {
      case PgParam::Kind::kNull:
        values[i] = nullptr;
        break;
      case PgParam::Kind::kText:
        texts[i] = std::string(p.bytes);
        values[i] = texts[i].c_str();
        break;
      case PgParam::Kind::kBinary:
        values[i] = p.bytes.data() ? p.bytes.data() : "";
        lengths[i] = static_cast<int>(p.bytes.size());
        formats[i] = 1;
        break;
    }
  }
  // Without parameters a string may hold several statements (the simple protocol), whose rows
  // are always text.
  int sent = params.empty() && !binary
                 ? PQsendQuery(conn_, text.c_str())
                 : PQsendQueryParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                                     values.data(), lengths.data(), formats.data(), binary ? 1 : 0);
  if (!sent) Lose(Trimmed(PQerrorMessage(conn_)));
  // Non-blocking: push the query out, then read until libpq has every result.
  for (;;) {
    int flushed = PQflush(conn_);
    if (flushed < 0) Lose(Trimmed(PQerrorMessage(conn_)));
    if (flushed == 0) break;
    if (!Wait(true, deadline)) Lose("timed out sending a statement to PostgreSQL");
    if (!PQconsumeInput(conn_)) Lose(Trimmed(PQerrorMessage(conn_)));
  }
  PGresult* last = nullptr;
  std::string error;
  std::string sqlstate;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (!Wait(false, deadline)) {
        PQclear(last);
        Lose("timed out waiting for PostgreSQL");
      }
      if (!PQconsumeInput(conn_)) {
        PQclear(last);
        Lose(Trimmed(PQerrorMessage(conn_)));
      }
    }
    PGresult* result = PQgetResult(conn_);
    if (!result) break;
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
        status == PGRES_BAD_RESPONSE) {
      if (error.empty()) {
        const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        error = primary ? primary : Trimmed(PQresultErrorMessage(result));
        sqlstate = state ? state : "";
      }
      PQclear(result);
      continue;
    }
    PQclear(last);
    last = result;
  }
  if (PQstatus(conn_) == CONNECTION_BAD) {
    PQclear(last);
    Lose(error.empty() ? Trimmed(PQerrorMessage(conn_)) : error);
  }
  if (!error.empty()) {
    PQclear(last);
    throw PgError(error, sqlstate, false);
  }
  return PgResult(last, binary);
}

}  // namespace dorm::cluster
