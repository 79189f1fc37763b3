#include "cluster/commit_batch.h"

#include <stdexcept>

namespace dorm::cluster {

std::set<std::pair<std::string, long long>> AppendCommits(PgConnection& connection,
                                                          const std::string& node,
                                                          const std::vector<LogRow>& rows) {
  std::set<std::pair<std::string, long long>> accepted;
  if (rows.empty()) return accepted;
  if (rows.size() > kMaxBatchRows) throw std::invalid_argument("too many rows for one batch");
  std::string sql =
      "INSERT INTO log (object, seq, epoch, node, frames, db_size, checksum)\n"
      "SELECT b.object, b.seq, b.epoch, $1, b.frames, b.db_size, b.checksum\n"
      "FROM (VALUES ";
  std::vector<std::string> numbers;
  numbers.reserve(rows.size() * 3);
  std::vector<PgParam> params;
  params.reserve(1 + rows.size() * 6);
  params.push_back(PgParam::Text(node));
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t base = 2 + i * 6;
    auto n = [&](size_t k) { return "$" + std::to_string(base + k); };
    sql += (i ? ", (" : "(") + n(0) + "::text, " + n(1) + "::bigint, " + n(2) + "::bigint, " +
           n(3) + "::bytea, " + n(4) + "::bigint, " + n(5) + "::bytea)";
  }
  for (const LogRow& row : rows) {
    numbers.push_back(std::to_string(row.seq));
    numbers.push_back(std::to_string(row.epoch));
    numbers.push_back(std::to_string(row.db_size));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const LogRow& row = rows[i];
    params.push_back(PgParam::Text(row.object));
    params.push_back(PgParam::Text(numbers[i * 3]));
    params.push_back(PgParam::Text(numbers[i * 3 + 1]));
    params.push_back(PgParam::Binary(row.frames));
    params.push_back(PgParam::Text(numbers[i * 3 + 2]));
    params.push_back(PgParam::Binary(row.checksum));
  }
  sql +=
      ") AS b (object, seq, epoch, frames, db_size, checksum)\n"
      "JOIN owners o ON o.object = b.object AND o.node = $1 AND o.epoch = b.epoch\n"
      "FOR SHARE OF o\n"
      "ON CONFLICT (object, seq) DO NOTHING\n"
      "RETURNING object, seq";
  PgResult result = connection.Exec(sql, params);
  for (int r = 0; r < result.rows(); ++r) accepted.emplace(result.Text(r, 0), result.Int(r, 1));
  return accepted;
}

}  // namespace dorm::cluster
