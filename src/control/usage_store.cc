#include "control/usage_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "util/wall_clock.h"

namespace dorm::control {

namespace {
void CheckUsage(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string("usage database ") + what + ": " + sqlite3_errmsg(db));
  }
}

// A prepared statement that finalizes itself.
class UsageStatement {
 public:
  UsageStatement(sqlite3* db, const std::string& sql) : db_(db) {
    CheckUsage(db, sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr), "prepare");
  }
  ~UsageStatement() { sqlite3_finalize(st_); }
  UsageStatement& Text(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  UsageStatement& Int(int i, long long v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  bool Step() {
    int rc = sqlite3_step(st_);
    CheckUsage(db_, rc, "step");
    return rc == SQLITE_ROW;
  }
  void Reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string ColText(int i) {
    const unsigned char* t = sqlite3_column_text(st_, i);
    return std::string(t ? reinterpret_cast<const char*>(t) : "",
                       static_cast<size_t>(sqlite3_column_bytes(st_, i)));
  }
  long long ColInt(int i) { return sqlite3_column_int64(st_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

UsageTotals TotalsAt(UsageStatement& st, int first) {
  UsageTotals t;
  t.http_requests = static_cast<unsigned long long>(st.ColInt(first));
  t.websocket_messages = static_cast<unsigned long long>(st.ColInt(first + 1));
  t.alarms = static_cast<unsigned long long>(st.ColInt(first + 2));
  t.cpu_ns = static_cast<unsigned long long>(st.ColInt(first + 3));
  t.wall_ns = static_cast<unsigned long long>(st.ColInt(first + 4));
  t.outbound_requests = static_cast<unsigned long long>(st.ColInt(first + 5));
  t.outbound_bytes = static_cast<unsigned long long>(st.ColInt(first + 6));
  return t;
}

// Ends an INSERT into usage_minutes: a row already there for the object and minute gets the new
// counts added.
const char kAddToExistingRow[] =
    " ON CONFLICT (app, class, object, minute) DO UPDATE SET"
    " http_requests = http_requests + excluded.http_requests,"
    " websocket_messages = websocket_messages + excluded.websocket_messages,"
    " alarms = alarms + excluded.alarms, cpu_ns = cpu_ns + excluded.cpu_ns,"
    " wall_ns = wall_ns + excluded.wall_ns,"
    " outbound_requests = outbound_requests + excluded.outbound_requests,"
    " outbound_bytes = outbound_bytes + excluded.outbound_bytes";

const char kSums[] =
    "SUM(http_requests), SUM(websocket_messages), SUM(alarms), SUM(cpu_ns), SUM(wall_ns),"
    " SUM(outbound_requests), SUM(outbound_bytes)";

// Columns added after the first release: a usage database written by an older server gains them
// (zero for its past minutes).
void AddMissingColumns(sqlite3* db) {
  const char* const kAdded[] = {"outbound_requests", "outbound_bytes"};
  for (const char* column : kAdded) {
    bool present;
    {
      UsageStatement st(
          db, std::string("SELECT 1 FROM pragma_table_info('usage_minutes') WHERE name = '") +
                  column + "'");
      present = st.Step();
    }
    if (present) continue;
    CheckUsage(db,
               sqlite3_exec(db,
                            (std::string("ALTER TABLE usage_minutes ADD COLUMN ") + column +
                             " INTEGER NOT NULL DEFAULT 0")
                                .c_str(),
                            nullptr, nullptr, nullptr),
               "migrate");
  }
}
}  // namespace

UsageStore::UsageStore(const std::string& data_dir, UsageRetention retention)
    : retention_(retention) {
  std::string path = data_dir + "/usage.sqlite";
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  CheckUsage(db_, rc, "open");
  // A page cache of 256 KiB instead of SQLite's 2 MiB: the minute rows (one per object and
  // minute, kept two days) fill any cache, which then stays full for the server's life, while a
  // reading touches a few pages per object and an answer reads its rows once; a page that left
  // the cache is read again from the kernel's. The server's memory then stops growing with the
  // objects seen well before 2 MiB.
  CheckUsage(
      db_,
      sqlite3_exec(db_,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-256;"
                   "CREATE TABLE IF NOT EXISTS usage_minutes ("
                   " app TEXT NOT NULL, class TEXT NOT NULL, object TEXT NOT NULL,"
                   " minute INTEGER NOT NULL,"
                   " http_requests INTEGER NOT NULL DEFAULT 0,"
                   " websocket_messages INTEGER NOT NULL DEFAULT 0,"
                   " alarms INTEGER NOT NULL DEFAULT 0,"
                   " cpu_ns INTEGER NOT NULL DEFAULT 0, wall_ns INTEGER NOT NULL DEFAULT 0,"
                   " outbound_requests INTEGER NOT NULL DEFAULT 0,"
                   " outbound_bytes INTEGER NOT NULL DEFAULT 0,"
                   " PRIMARY KEY (app, class, object, minute)) WITHOUT ROWID;"
                   "CREATE TABLE IF NOT EXISTS storage ("
                   " app TEXT NOT NULL, class TEXT NOT NULL, object TEXT NOT NULL,"
                   " bytes INTEGER NOT NULL, PRIMARY KEY (app, class, object)) WITHOUT ROWID;"
                   // Where each roll-up pass ended: the rows before it are merged already.
                   "CREATE TABLE IF NOT EXISTS usage_rollups ("
                   " unit INTEGER PRIMARY KEY, rolled_until INTEGER NOT NULL);"
                   // Roll-ups read one range of minutes across every object.
                   "CREATE INDEX IF NOT EXISTS usage_minutes_by_minute ON usage_minutes (minute);"
                   "CREATE TABLE IF NOT EXISTS storage_history ("
                   " app TEXT NOT NULL, class TEXT NOT NULL, minute INTEGER NOT NULL,"
                   " bytes INTEGER NOT NULL, PRIMARY KEY (app, class, minute)) WITHOUT ROWID;"
                   "CREATE INDEX IF NOT EXISTS storage_history_by_minute"
                   " ON storage_history (minute);",
                   nullptr, nullptr, nullptr),
      "setup");
  AddMissingColumns(db_);
  // A database from before the history: each class's current size starts it.
  CheckUsage(db_,
             sqlite3_exec(db_,
                          ("INSERT OR IGNORE INTO storage_history (app, class, minute, bytes)"
                           " SELECT app, class, " +
                           std::to_string(WallClockSeconds() / 60) +
                           ", SUM(bytes) FROM storage s WHERE NOT EXISTS (SELECT 1 FROM"
                           " storage_history h WHERE h.app = s.app AND h.class = s.class)"
                           " GROUP BY app, class")
                              .c_str(),
                          nullptr, nullptr, nullptr),
             "migrate");
}

UsageStore::~UsageStore() { sqlite3_close_v2(db_); }

void UsageStore::Record(long long epoch_minute,
                        const std::vector<runtime::ObjectUsageDelta>& deltas) {
  if (rolled_up_hour_.exchange(epoch_minute / 60) != epoch_minute / 60) RollUp(epoch_minute);
  if (deltas.empty()) return;
  CheckUsage(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
  try {
    UsageStatement add(db_,
                       "INSERT INTO usage_minutes (app, class, object, minute, http_requests,"
                       " websocket_messages, alarms, cpu_ns, wall_ns, outbound_requests,"
                       " outbound_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?)" +
                           std::string(kAddToExistingRow));
    UsageStatement size(db_,
                        "INSERT INTO storage (app, class, object, bytes) VALUES (?,?,?,?)"
                        " ON CONFLICT (app, class, object) DO UPDATE SET bytes = excluded.bytes");
    std::map<std::pair<std::string, std::string>, bool> measured;  // classes with a new size
    for (const auto& d : deltas) {
      if (d.storage_bytes >= 0) measured[{d.app, d.class_name}] = true;
      if (d.http_requests || d.websocket_messages || d.alarms || d.cpu_ns || d.wall_ns ||
          d.outbound_requests || d.outbound_bytes) {
        add.Text(1, d.app).Text(2, d.class_name).Text(3, d.instance_name).Int(4, epoch_minute);
        add.Int(5, static_cast<long long>(d.http_requests))
            .Int(6, static_cast<long long>(d.websocket_messages))
            .Int(7, static_cast<long long>(d.alarms))
            .Int(8, static_cast<long long>(d.cpu_ns))
            .Int(9, static_cast<long long>(d.wall_ns))
            .Int(10, static_cast<long long>(d.outbound_requests))
            .Int(11, static_cast<long long>(d.outbound_bytes));
        add.Step();
        add.Reset();
      }
      if (d.storage_bytes >= 0) {
        size.Text(1, d.app).Text(2, d.class_name).Text(3, d.instance_name).Int(4, d.storage_bytes);
        size.Step();
        size.Reset();
      }
    }
    // The class's total now, as its size in this minute (the minute's last reading wins).
    UsageStatement history(db_,
                           "INSERT INTO storage_history (app, class, minute, bytes)"
                           " SELECT ?1, ?2, ?3, COALESCE(SUM(bytes), 0) FROM storage"
                           " WHERE app = ?1 AND class = ?2 ON CONFLICT (app, class, minute)"
                           " DO UPDATE SET bytes = excluded.bytes");
    for (const auto& [key, unused] : measured) {
      history.Text(1, key.first).Text(2, key.second).Int(3, epoch_minute);
      history.Step();
      history.Reset();
    }
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  CheckUsage(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
}

void UsageStore::RollUp(long long now_minute) {
  struct Pass {
    long long unit;  // minutes per merged row: 60 (hours) or 1440 (days)
    long long keep;  // rows this recent are left as they are
  };
  const Pass passes[] = {{60, retention_.minute_rows_minutes},
                         {1440, retention_.hour_rows_minutes}};
  CheckUsage(db_, sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
  try {
    for (const Pass& pass : passes) {
      // Whole units only: a unit is merged once all of its minutes are past the retention.
      const long long until = (now_minute - pass.keep) / pass.unit * pass.unit;
      long long from = 0;
      {
        UsageStatement st(db_, "SELECT rolled_until FROM usage_rollups WHERE unit = ?");
        st.Int(1, pass.unit);
        if (st.Step()) from = st.ColInt(0);
      }
      if (until <= from) continue;
      // The rows of a unit other than its first minute's are added into the first minute's row
      // (created if missing), then deleted. ("WHERE" before "ON CONFLICT": SQLite's rule for
      // an upsert fed by a SELECT.)
      UsageStatement merge(
          db_,
          "INSERT INTO usage_minutes (app, class, object, minute, http_requests,"
          " websocket_messages, alarms, cpu_ns, wall_ns, outbound_requests, outbound_bytes)"
          " SELECT app, class, object, minute / ?1 * ?1, " +
              std::string(kSums) +
              " FROM usage_minutes WHERE minute >= ?2 AND minute < ?3 AND minute % ?1 != 0"
              " GROUP BY app, class, object, minute / ?1" +
              kAddToExistingRow);
      merge.Int(1, pass.unit).Int(2, from).Int(3, until);
      merge.Step();
      UsageStatement drop(db_,
                          "DELETE FROM usage_minutes WHERE minute >= ?2 AND minute < ?3"
                          " AND minute % ?1 != 0");
      drop.Int(1, pass.unit).Int(2, from).Int(3, until);
      drop.Step();
      // A history row of a unit other than its first minute's: the unit's last one is kept, as
      // the first minute's row.
      UsageStatement merge_history(
          db_,
          "INSERT INTO storage_history (app, class, minute, bytes)"
          " SELECT app, class, minute / ?1 * ?1, bytes FROM storage_history h"
          " WHERE minute >= ?2 AND minute < ?3 AND minute % ?1 != 0 AND minute = (SELECT"
          " MAX(minute) FROM storage_history l WHERE l.app = h.app AND l.class = h.class AND"
          " l.minute >= h.minute / ?1 * ?1 AND l.minute < h.minute / ?1 * ?1 + ?1)"
          " ON CONFLICT (app, class, minute) DO UPDATE SET bytes = excluded.bytes");
      merge_history.Int(1, pass.unit).Int(2, from).Int(3, until);
      merge_history.Step();
      UsageStatement drop_history(db_,
                                  "DELETE FROM storage_history WHERE minute >= ?2 AND minute < ?3"
                                  " AND minute % ?1 != 0");
      drop_history.Int(1, pass.unit).Int(2, from).Int(3, until);
      drop_history.Step();
      UsageStatement mark(db_,
                          "INSERT INTO usage_rollups (unit, rolled_until) VALUES (?, ?)"
                          " ON CONFLICT (unit) DO UPDATE SET rolled_until = excluded.rolled_until");
      mark.Int(1, pass.unit).Int(2, until);
      mark.Step();
    }
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  CheckUsage(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit");
}

std::vector<UsageStore::ObjectRow> UsageStore::Query(const std::string& app,
                                                     const std::string& class_name,
                                                     long long since_minute) {
  std::string sql = std::string("SELECT class, object, ") + kSums +
                    " FROM usage_minutes WHERE app = ?1 AND (?2 = '' OR class = ?2)"
                    " AND minute >= ?3 GROUP BY class, object ORDER BY class, object";
  UsageStatement st(db_, sql);
  st.Text(1, app).Text(2, class_name).Int(3, since_minute);
  std::vector<ObjectRow> rows;
  while (st.Step()) rows.push_back(ObjectRow{st.ColText(0), st.ColText(1), TotalsAt(st, 2)});
  return rows;
}

std::vector<UsageStore::SeriesRow> UsageStore::Series(const std::string& app,
                                                      const std::string& class_name,
                                                      long long since_minute,
                                                      long long step_minutes) {
  std::string sql = std::string("SELECT (minute - ?3) / ?4 AS bucket, ") + kSums +
                    " FROM usage_minutes WHERE app = ?1 AND (?2 = '' OR class = ?2)"
                    " AND minute >= ?3 GROUP BY bucket ORDER BY bucket";
  UsageStatement st(db_, sql);
  st.Text(1, app).Text(2, class_name).Int(3, since_minute).Int(4, step_minutes);
  std::vector<SeriesRow> rows;
  while (st.Step()) rows.push_back(SeriesRow{st.ColInt(0), TotalsAt(st, 1)});
  return rows;
}

std::vector<UsageStore::StorageRow> UsageStore::Storage(const std::string& app,
                                                        const std::string& class_name) {
  UsageStatement st(
      db_,
      "SELECT class, object, bytes FROM storage WHERE app = ?1 AND (?2 = '' OR class = ?2)"
      " ORDER BY class, object");
  st.Text(1, app).Text(2, class_name);
  std::vector<StorageRow> rows;
  while (st.Step()) rows.push_back(StorageRow{st.ColText(0), st.ColText(1), st.ColInt(2)});
  return rows;
}

std::map<UsageStore::ClassKey, UsageTotals> UsageStore::ClassTotals() {
  UsageStatement st(
      db_, std::string("SELECT app, class, ") + kSums + " FROM usage_minutes GROUP BY app, class");
  std::map<ClassKey, UsageTotals> out;
  while (st.Step()) out[{st.ColText(0), st.ColText(1)}] = TotalsAt(st, 2);
  return out;
}

std::map<UsageStore::ClassKey, long long> UsageStore::ClassStorage() {
  UsageStatement st(db_, "SELECT app, class, SUM(bytes) FROM storage GROUP BY app, class");
  std::map<ClassKey, long long> out;
  while (st.Step()) out[{st.ColText(0), st.ColText(1)}] = st.ColInt(2);
  return out;
}

void UsageStore::ForgetStorage(const std::string& app, const std::string& class_name) {
  UsageStatement st(db_, "DELETE FROM storage WHERE app = ? AND class = ?");
  st.Text(1, app).Text(2, class_name);
  st.Step();
  UsageStatement history(db_,
                         "INSERT INTO storage_history (app, class, minute, bytes)"
                         " VALUES (?, ?, ?, 0) ON CONFLICT (app, class, minute)"
                         " DO UPDATE SET bytes = 0");
  history.Text(1, app).Text(2, class_name).Int(3, WallClockSeconds() / 60);
  history.Step();
}

std::vector<long long> UsageStore::StorageSeries(const std::string& app,
                                                 const std::string& class_name,
                                                 long long since_minute, long long step_minutes,
                                                 long long points) {
  std::vector<long long> out(static_cast<size_t>(std::max(points, 0LL)), 0);
  if (out.empty() || step_minutes <= 0) return out;
  // Each class's size when the period starts (its last row before it), then its rows in order.
  std::map<std::string, long long> current;
  {
    UsageStatement st(db_,
                      "SELECT class, bytes FROM storage_history h WHERE app = ?1 AND"
                      " (?2 = '' OR class = ?2) AND minute = (SELECT MAX(minute) FROM"
                      " storage_history l WHERE l.app = h.app AND l.class = h.class AND"
                      " l.minute < ?3)");
    st.Text(1, app).Text(2, class_name).Int(3, since_minute);
    while (st.Step()) current[st.ColText(0)] = st.ColInt(1);
  }
  UsageStatement st(db_,
                    "SELECT class, minute, bytes FROM storage_history WHERE app = ?1 AND"
                    " (?2 = '' OR class = ?2) AND minute >= ?3 ORDER BY minute");
  st.Text(1, app).Text(2, class_name).Int(3, since_minute);
  bool more = st.Step();
  for (long long i = 0; i < points; ++i) {
    const long long bucket_end = since_minute + (i + 1) * step_minutes;  // exclusive
    while (more && st.ColInt(1) < bucket_end) {
      current[st.ColText(0)] = st.ColInt(2);
      more = st.Step();
    }
    long long total = 0;
    for (const auto& [name, bytes] : current) total += bytes;
    out[static_cast<size_t>(i)] = total;
  }
  return out;
}

}  // namespace dorm::control
