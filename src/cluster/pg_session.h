// A PostgreSQL connection that is replaced when lost, at a bounded rate.
//
// Reconnect policy: a lost connection (PgError::connection_lost()) is dropped; the next Get()
// connects again, but not sooner than `retry_delay` after the previous failed attempt, doubling
// up to `max_retry_delay` while attempts keep failing (a server that is down is not hammered by
// every node). Inside that delay Get() throws PgError (connection_lost) at once instead of
// blocking. Statements are never retried here: after a lost connection only the caller knows
// whether the statement may be repeated or its outcome must be read back first.
//
// Threading: one thread at a time. Get() and Exec() may throw PgError.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

struct PgSessionOptions {
  std::string conninfo;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds retry_delay{100};
  std::chrono::milliseconds max_retry_delay{2000};
};

class PgSession {
 public:
  explicit PgSession(PgSessionOptions options) : options_(std::move(options)) {}

  // The open connection, connecting first (within connect_timeout) when there is none.
  PgConnection& Get() { return Get(options_.connect_timeout); }
  PgConnection& Get(std::chrono::milliseconds connect_timeout);
  // Get().Exec(...), dropping the connection if it was lost. With a `timeout`, connecting and
  // the statement together take at most that long.
  PgResult Exec(std::string_view sql, const std::vector<PgParam>& params = {});
  PgResult Exec(std::string_view sql, const std::vector<PgParam>& params,
                std::chrono::milliseconds timeout);
  // Forgets the connection (closing it), for example after a statement with an unknown outcome.
  void Drop() { connection_.reset(); }
  bool connected() const { return connection_ && connection_->usable(); }

 private:
  PgSessionOptions options_;
  std::unique_ptr<PgConnection> connection_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds delay_{0};
};

// After a lost connection whose transaction's outcome is unknown: ends the server process that
// ran it (`pid`, PgConnection::backend_pid()) through `session` and waits until it is gone, since
// a server does not stop when its client goes away and could still commit. Once this returns,
// what that transaction did is in the tables for good, and a read on a new connection tells.
// Throws PgError (PostgreSQL unreachable, or a process that would not end within 5 s).
void EndServerProcess(PgSession& session, int pid);

}  // namespace dorm::cluster
