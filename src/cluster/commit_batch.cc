#include "cluster/commit_batch.h"

#include <algorithm>
#include <stdexcept>

namespace dorm::cluster {
namespace {

// The latest time a Date can hold (8.64e15 ms, in the year 275760).
constexpr long long kMaxAlarmMs = 8640000000000000LL;

// The alarm column of a row: 0 unchanged, 1 set, 2 deleted.
const char* AlarmCode(LogRow::Alarm alarm) {
  switch (alarm) {
    case LogRow::Alarm::kSet:
      return "1";
    case LogRow::Alarm::kDeleted:
      return "2";
    case LogRow::Alarm::kUnchanged:
      break;
  }
  return "0";
}

}  // namespace

std::set<std::pair<std::string, long long>> AppendCommits(PgConnection& connection,
                                                          const std::string& node,
                                                          const std::vector<LogRow>& rows) {
  std::set<std::pair<std::string, long long>> accepted;
  if (rows.empty()) return accepted;
  if (rows.size() > kMaxBatchRows) throw std::invalid_argument("too many rows for one batch");
  // One statement, so one transaction: the log rows and the alarms they carry are written
  // together, and `alarms` changes only for rows the owners join let in (`ins`).
  std::string sql =
      "WITH b (object, seq, epoch, frames, db_size, checksum, alarm, alarm_ms, alarm_name) AS "
      "(VALUES ";
  constexpr size_t kPerRow = 9;
  std::vector<std::string> numbers;
  numbers.reserve(rows.size() * 4);
  std::vector<PgParam> params;
  params.reserve(1 + rows.size() * kPerRow);
  params.push_back(PgParam::Text(node));
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t base = 2 + i * kPerRow;
    auto n = [&](size_t k) { return "$" + std::to_string(base + k); };
    sql += (i ? ", (" : "(") + n(0) + "::text, " + n(1) + "::bigint, " + n(2) + "::bigint, " +
           n(3) + "::bytea, " + n(4) + "::bigint, " + n(5) + "::bytea, " + n(6) + "::integer, " +
           n(7) + "::bigint, " + n(8) + "::text)";
  }
  for (const LogRow& row : rows) {
    numbers.push_back(std::to_string(row.seq));
    numbers.push_back(std::to_string(row.epoch));
    numbers.push_back(std::to_string(row.db_size));
    // Within what JavaScript's Date holds (setAlarm() clamps to it too): a time PostgreSQL's
    // timestamptz could not hold would fail the statement, and every object's rows with it.
    const long long alarm_ms =
        row.alarm == LogRow::Alarm::kSet ? std::clamp(row.alarm_ms, 0LL, kMaxAlarmMs) : 0;
    numbers.push_back(std::to_string(alarm_ms));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const LogRow& row = rows[i];
    params.push_back(PgParam::Text(row.object));
    params.push_back(PgParam::Text(numbers[i * 4]));
    params.push_back(PgParam::Text(numbers[i * 4 + 1]));
    params.push_back(PgParam::Binary(row.frames));
    params.push_back(PgParam::Text(numbers[i * 4 + 2]));
    params.push_back(PgParam::Binary(row.checksum));
    params.push_back(PgParam::Text(AlarmCode(row.alarm)));
    params.push_back(PgParam::Text(numbers[i * 4 + 3]));
    // A view of the row's own string (a parameter refers to its text, which must outlive it).
    params.push_back(PgParam::Text(
        row.alarm == LogRow::Alarm::kSet ? std::string_view(row.alarm_name) : std::string_view()));
  }
  sql +=
      "),\n"
      "ins AS (\n"
      "  INSERT INTO log (object, seq, epoch, node, frames, db_size, checksum)\n"
      "  SELECT b.object, b.seq, b.epoch, $1, b.frames, b.db_size, b.checksum\n"
      "  FROM b JOIN owners o ON o.object = b.object AND o.node = $1 AND o.epoch = b.epoch\n"
      "  FOR SHARE OF o\n"
      "  ON CONFLICT (object, seq) DO NOTHING\n"
      "  RETURNING object, seq),\n"
      // The latest alarm change of each object among the rows inserted.
      "changed AS (\n"
      "  SELECT DISTINCT ON (b.object) b.object, b.alarm, b.alarm_ms, b.alarm_name\n"
      "  FROM b JOIN ins ON ins.object = b.object AND ins.seq = b.seq\n"
      "  WHERE b.alarm <> 0 ORDER BY b.object, b.seq DESC),\n"
      // An alarm moved to another time starts its retries again; one set again at the same
      // time keeps them. A name is kept once known (a commit of an object reached by id alone
      // has none).
      "set_alarms AS (\n"
      "  INSERT INTO alarms (object, at, name)\n"
      "  SELECT object, timestamptz 'epoch' + alarm_ms * interval '1 millisecond', alarm_name\n"
      "  FROM changed WHERE alarm = 1\n"
      "  ON CONFLICT (object) DO UPDATE SET at = EXCLUDED.at,\n"
      "    retries = CASE WHEN alarms.at = EXCLUDED.at THEN alarms.retries ELSE 0 END,\n"
      "    name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE alarms.name END),\n"
      "deleted_alarms AS (\n"
      "  DELETE FROM alarms a USING changed c WHERE a.object = c.object AND c.alarm = 2)\n"
      "SELECT object, seq FROM ins";
  PgResult result = connection.Exec(sql, params);
  for (int r = 0; r < result.rows(); ++r) accepted.emplace(result.Text(r, 0), result.Int(r, 1));
  return accepted;
}

void WriteRowAlarm(PgConnection& connection, const LogRow& row) {
  if (row.alarm == LogRow::Alarm::kDeleted) {
    connection.Exec("DELETE FROM alarms WHERE object = $1", {PgParam::Text(row.object)});
    return;
  }
  if (row.alarm != LogRow::Alarm::kSet) return;
  const std::string alarm_ms = std::to_string(std::clamp(row.alarm_ms, 0LL, kMaxAlarmMs));
  // The same rules as AppendCommits' set_alarms.
  connection.Exec(
      "INSERT INTO alarms (object, at, name)\n"
      "VALUES ($1, timestamptz 'epoch' + $2::bigint * interval '1 millisecond', $3)\n"
      "ON CONFLICT (object) DO UPDATE SET at = EXCLUDED.at,\n"
      "  retries = CASE WHEN alarms.at = EXCLUDED.at THEN alarms.retries ELSE 0 END,\n"
      "  name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE alarms.name END",
      {PgParam::Text(row.object), PgParam::Text(alarm_ms), PgParam::Text(row.alarm_name)});
}

}  // namespace dorm::cluster
