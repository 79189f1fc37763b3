// Fuzzes user SQL (ctx.storage.sql.exec) against the statement guard (storage/sql_guard.h), run
// the way the runtime runs it: SqlCursor::Execute on a real object database, then every row read.
//
// The input is the query text. Besides memory and UB errors, it aborts when the guard's promises
// break:
// - Dorm's own tables (_cf_KV, _cf_METADATA) keep their schema and contents, whatever the query;
// - no other database is attached and no TEMP object exists;
// - the query neither opens nor closes a transaction of its own, and every change it makes joins
//   the database's implicit transaction, so that rolling that back restores the database exactly.
//
// Runaway queries (recursive CTEs, huge joins) are cut off by a progress handler so that one
// input stays well inside libFuzzer's timeout; the runtime bounds them by its CPU limit instead.
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/object_database.h"
#include "storage/sql_cursor.h"
#include "storage/sqlite_setup.h"

namespace {

using dorm::storage::ObjectDatabase;
using dorm::storage::SqlCursor;
using dorm::storage::SqlError;
using dorm::storage::SqlValue;
using dorm::storage::StorageError;

// Progress callbacks (every kOpsPerCallback virtual machine instructions) one input may use.
constexpr int kOpsPerCallback = 1000;
constexpr int kMaxCallbacks = 5000;
// Rows read from the last statement's cursor at most.
constexpr int kMaxRows = 10000;

std::string g_dir;
std::unique_ptr<ObjectDatabase> g_db;
int g_callbacks = 0;
std::string g_protected_before;   // Dorm's tables, as Dump() sees them
std::string g_everything_before;  // the whole database

void Fail(const char* what, const std::string& before, const std::string& after) {
  std::fprintf(stderr, "sql_guard_fuzzer: %s\n--- before\n%s\n--- after\n%s\n", what,
               before.c_str(), after.c_str());
  std::abort();
}

// Runs `sql` as Dorm's own SQL (outside any UserSqlScope: never judged by the guard) and returns
// every row as text, one line per row.
std::string Dump(const char* sql) {
  sqlite3* db = g_db->handle();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "sql_guard_fuzzer: cannot prepare %s: %s\n", sql, sqlite3_errmsg(db));
    std::abort();
  }
  std::string out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      out += text ? std::string(reinterpret_cast<const char*>(text),
                                static_cast<size_t>(sqlite3_column_bytes(stmt, i)))
                  : std::string("NULL");
      out += '|';
    }
    out += '\n';
  }
  if (rc != SQLITE_DONE) {
    std::fprintf(stderr, "sql_guard_fuzzer: %s failed: %s\n", sql, sqlite3_errmsg(db));
    std::abort();
  }
  sqlite3_finalize(stmt);
  return out;
}

std::string ProtectedState() {
  return Dump(
             "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name LIKE '\\_cf\\_%' "
             "ESCAPE '\\' OR tbl_name LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name") +
         Dump("SELECT key, hex(value) FROM _cf_KV ORDER BY key") +
         Dump("SELECT key, hex(value) FROM _cf_METADATA ORDER BY key");
}

std::string WholeState() {
  std::string out = Dump("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name");
  out += Dump("SELECT * FROM players ORDER BY id");
  out += Dump("SELECT * FROM notes ORDER BY rowid");
  out += Dump("SELECT * FROM audit ORDER BY rowid");
  return out;
}

int OnProgress(void*) { return ++g_callbacks > kMaxCallbacks ? 1 : 0; }

// The user's SQL as the runtime runs it; errors are the query's own and expected.
void RunUserSql(std::string_view query) {
  try {
    std::unique_ptr<SqlCursor> cursor = SqlCursor::Execute(g_db.get(), query, {});
    std::vector<SqlValue> row;
    for (int i = 0; i < kMaxRows && cursor->Next(&row); ++i) {
    }
  } catch (const SqlError&) {
  } catch (const StorageError&) {
    // SQLITE_NOMEM and the like: the runtime resets the object, which is allowed.
  }
}

void Setup(const char* sql) {
  try {
    std::unique_ptr<SqlCursor> cursor = SqlCursor::Execute(g_db.get(), sql, {});
    std::vector<SqlValue> row;
    while (cursor->Next(&row)) {
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sql_guard_fuzzer: set-up statement failed: %s: %s\n", sql, e.what());
    std::abort();
  }
}

void RemoveDatabase() {
  g_db.reset();
  if (!g_dir.empty()) std::filesystem::remove_all(g_dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dorm::storage::ConfigureSqliteForManyDatabases();
  char tmpl[] = "/tmp/dorm-sql-fuzz-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    std::abort();
  }
  g_dir = tmpl;
  g_db = ObjectDatabase::Open(g_dir + "/object.sqlite", true);
  std::atexit(RemoveDatabase);
  // What an object typically holds: key-value entries, an alarm, and tables of its own with an
  // index, a view and a trigger, so that queries have something to read, join and change.
  g_db->Put("counter", std::string("\xff\x0d\x22\x02", 4));
  g_db->Put("user:1", "{\"name\":\"ada\"}");
  g_db->SetAlarm(1'800'000'000'000);
  Setup("CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL)");
  Setup("CREATE TABLE notes (player INTEGER REFERENCES players(id), body BLOB)");
  Setup("CREATE TABLE audit (what TEXT)");
  Setup("CREATE INDEX notes_player ON notes(player)");
  Setup("CREATE VIEW leaders AS SELECT name, score FROM players ORDER BY score DESC");
  Setup(
      "CREATE TRIGGER players_audit AFTER UPDATE ON players BEGIN INSERT INTO audit "
      "VALUES ('update ' || new.name); END");
  Setup("INSERT INTO players VALUES (1, 'ada', 9.5), (2, 'bob', 7), (3, NULL, -1)");
  Setup("INSERT INTO notes VALUES (1, x'00ff'), (2, 'hello'), (NULL, NULL)");
  g_db->Commit();
  g_protected_before = ProtectedState();
  g_everything_before = WholeState();
  sqlite3_progress_handler(g_db->handle(), kOpsPerCallback, &OnProgress, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sqlite3* db = g_db->handle();
  g_callbacks = 0;
  RunUserSql(std::string_view(reinterpret_cast<const char*>(data), size));
  g_callbacks = -1'000'000'000;  // the checks below run to completion

  std::string protected_after = ProtectedState();
  if (protected_after != g_protected_before) {
    Fail("user SQL changed Dorm's own tables", g_protected_before, protected_after);
  }
  // SQLite lists "temp" once it has used its temporary database; anything else was attached.
  std::string databases =
      Dump("SELECT name FROM pragma_database_list WHERE name <> 'temp' ORDER BY seq");
  if (databases != "main|\n") Fail("a database was attached", "main|\n", databases);
  std::string temp = Dump("SELECT type, name FROM temp.sqlite_schema");
  if (!temp.empty()) Fail("user SQL created a TEMP object", "", temp);
  if ((sqlite3_get_autocommit(db) != 0) == g_db->in_transaction()) {
    Fail("user SQL opened or ended a transaction", g_db->in_transaction() ? "open" : "none",
         sqlite3_get_autocommit(db) ? "none" : "open");
  }

  // What the end of a failed turn does: nothing of the query may survive it. The connection's
  // PRAGMA settings that user SQL may change are put back first, since they outlive rollbacks.
  g_db->Rollback();
  for (const char* reset :
       {"PRAGMA foreign_keys=ON", "PRAGMA case_sensitive_like=OFF", "PRAGMA defer_foreign_keys=OFF",
        "PRAGMA ignore_check_constraints=OFF", "PRAGMA legacy_alter_table=OFF",
        "PRAGMA recursive_triggers=OFF", "PRAGMA reverse_unordered_selects=OFF"}) {
    Dump(reset);
  }
  std::string everything_after = WholeState();
  if (everything_after != g_everything_before) {
    Fail("a change of user SQL escaped the implicit transaction", g_everything_before,
         everything_after);
  }
  g_callbacks = 0;
  return 0;
}
