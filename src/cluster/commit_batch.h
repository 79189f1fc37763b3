// The group-commit statement: many objects' committed transactions made durable in one
// PostgreSQL statement, each only if its object is still owned by this node at the epoch it was
// written under.
//
// The rows join `owners` with FOR SHARE: a concurrent takeover (object_ownership.h) either
// committed before, and the join no longer matches (under READ COMMITTED the locked row is
// re-read), or waits for this statement's transaction to end. So every log row is written by
// the object's owner at that epoch and ordered before any later epoch; a fenced row is never
// inserted, never visible. A row whose (object, seq) exists already is skipped too (ON CONFLICT
// DO NOTHING): one failed object cannot fail the whole batch, and a caller that lost the
// connection after COMMIT reads back which of its rows are there.
//
// A row whose transactions set or deleted the object's alarm carries the alarm as it stood after
// them; the same statement writes it to `alarms` for the rows it inserted, and only for those: a
// fenced or skipped row leaves `alarms` as it was, so `alarms` always says what the log's last
// row of the object says. When one batch holds several rows of an object, the highest `seq` that
// changed the alarm wins.
//
// Threading: uses the caller's connection (inside the caller's transaction, if one is open; on
// its own the statement is its own transaction). Throws PgError.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

struct LogRow {
  std::string object;
  long long seq = 0;
  long long epoch = 0;
  std::string frames;     // EncodeCommit() of the transaction's pages
  long long db_size = 0;  // pages in the database after the transaction
  std::string checksum;   // the chain value after the transaction (commit_frames.h)
  // What the row's transactions did to the object's alarm.
  enum class Alarm { kUnchanged, kSet, kDeleted };
  Alarm alarm = Alarm::kUnchanged;
  long long alarm_ms = 0;  // kSet: the alarm's time, in milliseconds since the Unix epoch
  // kSet: the name the object was reached by, if any (empty: the one `alarms` has is kept).
  std::string alarm_name{};
};

// Most rows one statement takes (PostgreSQL allows 65535 parameters; nine per row).
constexpr size_t kMaxBatchRows = 2000;

// Inserts the rows that `node` may still write; returns the (object, seq) pairs inserted.
// Throws std::invalid_argument for more than kMaxBatchRows rows.
std::set<std::pair<std::string, long long>> AppendCommits(PgConnection& connection,
                                                          const std::string& node,
                                                          const std::vector<LogRow>& rows);

// Writes what `row` did to its object's alarm to `alarms`, as AppendCommits does for a row it
// inserted: for a commit made durable another way (commit_snapshot.h), inside the transaction
// that makes it durable. Does nothing for Alarm::kUnchanged.
void WriteRowAlarm(PgConnection& connection, const LogRow& row);

}  // namespace dorm::cluster
