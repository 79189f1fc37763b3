#include "cluster/cluster_alarms.h"

#include <algorithm>

#include "cluster/rendezvous.h"

namespace dorm::cluster {
namespace {

// The earliest due alarms whose object has no owner, or an owner whose lease is not live (ran
// out, or ended by a release), with the live nodes that may take them, in one round trip. Uses
// the index on `alarms (at)`.
constexpr const char* kOrphaned = R"sql(
SELECT a.object, (extract(epoch FROM a.at) * 1000)::bigint,
       (SELECT array_agg(n.node ORDER BY n.node) FROM nodes n
        WHERE n.lease_until > now() AND NOT n.draining),
       a.name, a.retries
FROM alarms a LEFT JOIN owners o ON o.object = a.object
WHERE a.at <= now() + $1::bigint * interval '1 millisecond'
  AND (o.node IS NULL OR
       NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node = o.node AND n.lease_until > now()))
ORDER BY a.at
LIMIT $2::integer)sql";

// The elements of a one-dimensional text[] in PostgreSQL's text form, "{a,b,"c d"}". Node names
// are the node's own choice, so quoted elements are read too.
std::vector<std::string> ParseTextArray(const std::string& text) {
  std::vector<std::string> out;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return out;
  std::string current;
  bool quoted = false, in_quotes = false, any = false;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '\\' && i + 2 < text.size()) {
        current.push_back(text[++i]);
      } else if (c == '"') {
        in_quotes = false;
      } else {
        current.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      in_quotes = quoted = any = true;
    } else if (c == ',') {
      out.push_back(std::move(current));
      current.clear();
      quoted = false;
    } else {
      current.push_back(c);
      any = true;
    }
  }
  if (any || quoted || !out.empty()) out.push_back(std::move(current));
  return out;
}

}  // namespace

std::vector<OrphanedAlarm> FindOrphanedAlarms(PgConnection& connection, const std::string& node,
                                              long long lookahead_ms, int limit) {
  std::vector<OrphanedAlarm> mine;
  PgResult found = connection.Exec(kOrphaned, {PgParam::Text(std::to_string(lookahead_ms)),
                                               PgParam::Text(std::to_string(limit))});
  if (found.rows() == 0 || found.IsNull(0, 2)) return mine;
  // The same list in every row: read once.
  const std::vector<std::string> live = ParseTextArray(found.Text(0, 2));
  if (std::find(live.begin(), live.end(), node) == live.end()) return mine;
  for (int r = 0; r < found.rows(); ++r) {
    std::string object = found.Text(r, 0);
    std::optional<size_t> pick = RendezvousPick(live, object);
    if (!pick || live[*pick] != node) continue;
    mine.push_back(OrphanedAlarm{std::move(object), found.Int(r, 1), found.Text(r, 3),
                                 static_cast<int>(found.Int(r, 4))});
  }
  return mine;
}

int AlarmRetries(PgConnection& connection, const std::string& object) {
  PgResult found =
      connection.Exec("SELECT retries FROM alarms WHERE object = $1", {PgParam::Text(object)});
  return found.rows() == 1 ? static_cast<int>(found.Int(0, 0)) : 0;
}

void NoteAlarmRetry(PgConnection& connection, const std::string& node, const std::string& object,
                    long long at_ms, int retries) {
  connection.Exec(
      "UPDATE alarms a SET retries = $4::integer FROM owners o\n"
      "WHERE a.object = $2 AND o.object = a.object AND o.node = $1\n"
      "  AND a.at = timestamptz 'epoch' + $3::bigint * interval '1 millisecond'",
      {PgParam::Text(node), PgParam::Text(object), PgParam::Text(std::to_string(at_ms)),
       PgParam::Text(std::to_string(retries))});
}

}  // namespace dorm::cluster
