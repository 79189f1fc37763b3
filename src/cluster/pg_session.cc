#include "cluster/pg_session.h"

#include <algorithm>
#include <string>

namespace dorm::cluster {

PgConnection& PgSession::Get(std::chrono::milliseconds connect_timeout) {
  if (connection_ && connection_->usable()) return *connection_;
  connection_.reset();
  auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    throw PgError("not connected to PostgreSQL (next attempt in " +
                      std::to_string(
                          std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now)
                              .count()) +
                      " ms)",
                  "", true);
  }
  try {
    connection_ = PgConnection::Connect(options_.conninfo, connect_timeout);
    connection_->set_default_timeout(options_.statement_timeout);
    delay_ = std::chrono::milliseconds(0);
    return *connection_;
  } catch (const PgError&) {
    delay_ =
        delay_.count() == 0 ? options_.retry_delay : std::min(delay_ * 2, options_.max_retry_delay);
    next_attempt_ = std::chrono::steady_clock::now() + delay_;
    throw;
  }
}

PgResult PgSession::Exec(std::string_view sql, const std::vector<PgParam>& params) {
  return Exec(sql, params, options_.statement_timeout);
}

PgResult PgSession::Exec(std::string_view sql, const std::vector<PgParam>& params,
                         std::chrono::milliseconds timeout) {
  using std::chrono::milliseconds;
  auto started = std::chrono::steady_clock::now();
  PgConnection& connection = Get(std::min(options_.connect_timeout, timeout));
  auto left = timeout -
              std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  // The connection stays: nothing was sent on it.
  if (left.count() <= 0) throw PgError("timed out connecting to PostgreSQL", "", true);
  try {
    return connection.Exec(sql, params, left);
  } catch (const PgError& e) {
    if (e.connection_lost()) connection_.reset();
    throw;
  }
}

void EndServerProcess(PgSession& session, int pid) {
  if (pid == 0) return;
  const std::string process = std::to_string(pid);
  // Returns false at once if the process is gone already, after 5 s if it will not end.
  session.Exec("SELECT pg_terminate_backend($1::int, 5000)", {PgParam::Text(process)},
               std::chrono::seconds(10));
  PgResult alive =
      session.Exec("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", {PgParam::Text(process)});
  if (alive.rows() != 0) {
    throw PgError("the server process of a lost transaction would not end", "", false);
  }
}

}  // namespace dorm::cluster
