#include "storage/sql_guard.h"

#include <sqlite3.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

namespace dorm::storage {

const char kSqlTransactionMessage[] =
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic write "
    "coalescing.";

namespace {

// Depth of UserSqlScopes on this thread; a connection is used by one thread at a time.
thread_local int user_sql_depth = 0;
thread_local bool transaction_denied_flag = false;
// 0: no AdminSqlScope; 1: read-only; 2: writes allowed.
thread_local int admin_sql_mode = 0;
thread_local bool admin_write_denied = false;

// Functions user SQL may call: SQLite's core scalar, date and time, aggregate, window, math and
// JSON functions, FTS5's auxiliary functions and the helpers ALTER TABLE calls. Left out: those
// that reveal the build (sqlite_version, sqlite_source_id, sqlite_compileoption_*) or the file
// layout (sqlite_offset). load_extension is allowed because extension loading is disabled on the
// connection, so it fails with its own error.
constexpr const char* kAllowedFunctions[] = {
    // Core scalar functions.
    "abs",
    "changes",
    "char",
    "coalesce",
    "concat",
    "concat_ws",
    "format",
    "glob",
    "hex",
    "ifnull",
    "iif",
    "instr",
    "last_insert_rowid",
    "length",
    "like",
    "likelihood",
    "likely",
    "load_extension",
    "lower",
    "ltrim",
    "max",
    "min",
    "nullif",
    "octet_length",
    "printf",
    "quote",
    "random",
    "randomblob",
    "replace",
    "round",
    "rtrim",
    "sign",
    "soundex",
    "substr",
    "substring",
    "total_changes",
    "trim",
    "typeof",
    "unhex",
    "unicode",
    "unlikely",
    "upper",
    "zeroblob",
    // Date and time.
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    "timediff",
    "current_date",
    "current_time",
    "current_timestamp",
    // Aggregates.
    "avg",
    "count",
    "group_concat",
    "string_agg",
    "sum",
    "total",
    // Window functions.
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // Math.
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "ceil",
    "ceiling",
    "cos",
    "cosh",
    "degrees",
    "exp",
    "floor",
    "ln",
    "log",
    "log10",
    "log2",
    "mod",
    "pi",
    "pow",
    "power",
    "radians",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
    "trunc",
    // JSON.
    "json",
    "jsonb",
    "json_array",
    "jsonb_array",
    "json_array_length",
    "json_error_position",
    "json_extract",
    "jsonb_extract",
    "json_insert",
    "jsonb_insert",
    "json_object",
    "jsonb_object",
    "json_patch",
    "jsonb_patch",
    "json_pretty",
    "json_remove",
    "jsonb_remove",
    "json_replace",
    "jsonb_replace",
    "json_set",
    "jsonb_set",
    "json_type",
    "json_valid",
    "json_quote",
    "json_group_array",
    "jsonb_group_array",
    "json_group_object",
    "jsonb_group_object",
    "->",
    "->>",
    // FTS5 and R*Tree.
    "match",
    "highlight",
    "bm25",
    "snippet",
    "fts5",
    "rtreecheck",
    // Called by ALTER TABLE's own statements.
    "sqlite_rename_column",
    "sqlite_rename_table",
    "sqlite_rename_test",
    "sqlite_drop_column",
    "sqlite_rename_quotefix",
};

constexpr const char* kVirtualTableModules[] = {"fts5", "fts5vocab", "rtree", "rtree_i32"};

bool Equal(const char* a, const char* b) { return a && b && strcasecmp(a, b) == 0; }

// Names starting with _cf_ (any case) are Dorm's own.
bool Reserved(const char* name) { return name && strncasecmp(name, "_cf_", 4) == 0; }

bool InList(const char* name, const char* const* begin, const char* const* end) {
  return name && std::any_of(begin, end, [&](const char* item) { return Equal(name, item); });
}

// A boolean PRAGMA value as SQLite reads it, optionally quoted.
bool IsBooleanLiteral(const char* value) {
  std::string v(value);
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  static const char* const kWords[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
  return InList(v.c_str(), std::begin(kWords), std::end(kWords));
}

int AuthorizePragma(const char* name, const char* arg) {
  static const char* const kBooleans[] = {"case_sensitive_like",      "foreign_keys",
                                          "defer_foreign_keys",       "ignore_check_constraints",
                                          "legacy_alter_table",       "recursive_triggers",
                                          "reverse_unordered_selects"};
  // PRAGMAs that name a table or index: never one of Dorm's own.
  static const char* const kObjectPragmas[] = {
      "table_info", "table_xinfo", "foreign_key_check", "foreign_key_list",
      "index_info", "index_list",  "index_xinfo",       "quick_check"};
  if (Equal(name, "table_list") || Equal(name, "optimize")) return SQLITE_OK;
  if (Equal(name, "data_version") || Equal(name, "page_size")) {
    return arg == nullptr ? SQLITE_OK : SQLITE_DENY;
  }
  if (InList(name, std::begin(kBooleans), std::end(kBooleans))) {
    return arg == nullptr || IsBooleanLiteral(arg) ? SQLITE_OK : SQLITE_DENY;
  }
  if (InList(name, std::begin(kObjectPragmas), std::end(kObjectPragmas))) {
    return Reserved(arg) ? SQLITE_DENY : SQLITE_OK;
  }
  return SQLITE_DENY;
}

// An operator's SQL (AdminSqlScope): reads anything; writes only when allowed; never other files
// or transaction control.
int AuthorizeAdminSql(int action, const char* arg1) {
  switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return SQLITE_DENY;
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
    case SQLITE_FUNCTION:
      return SQLITE_OK;
    case SQLITE_PRAGMA: {
      // Only the PRAGMAs that describe tables, on any table: the others change the connection.
      static const char* const kObjectPragmas[] = {"table_list",      "table_info", "table_xinfo",
                                                   "index_info",      "index_list", "index_xinfo",
                                                   "foreign_key_list"};
      if (InList(arg1, std::begin(kObjectPragmas), std::end(kObjectPragmas))) return SQLITE_OK;
      return SQLITE_DENY;
    }
    default:
      if (admin_sql_mode == 2) return SQLITE_OK;
      admin_write_denied = true;
      return SQLITE_DENY;
  }
}

int Authorizer(void*, int action, const char* arg1, const char* arg2, const char* database,
               const char* trigger_or_view) {
  if (admin_sql_mode != 0) return AuthorizeAdminSql(action, arg1);
  if (user_sql_depth == 0) return SQLITE_OK;
  if (action == SQLITE_TRANSACTION || action == SQLITE_SAVEPOINT) transaction_denied_flag = true;
  return AuthorizeUserSql(action, arg1, arg2, database, trigger_or_view);
}

}  // namespace

int AuthorizeUserSql(int action, const char* arg1, const char* arg2, const char* database,
                     const char*) {
  const bool temp = Equal(database, "temp");
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ:
      // The temp database holds only SQLite's own temporary b-trees (TEMP objects are refused).
      return Reserved(arg1) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_UPDATE:
      return Reserved(arg1) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_DELETE:
      return temp || Reserved(arg1) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_REINDEX:
      return temp || Reserved(arg1) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TRIGGER:
      return temp || Reserved(arg1) || Reserved(arg2) ? SQLITE_DENY : SQLITE_OK;
    case SQLITE_ALTER_TABLE:  // arg1: database, arg2: table
      return Equal(arg1, "main") && !Reserved(arg2) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_ANALYZE:
      return SQLITE_OK;
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      return !temp && !Reserved(arg1) &&
                     InList(arg2, std::begin(kVirtualTableModules), std::end(kVirtualTableModules))
                 ? SQLITE_OK
                 : SQLITE_DENY;
    case SQLITE_FUNCTION:
      return InList(arg2, std::begin(kAllowedFunctions), std::end(kAllowedFunctions)) ? SQLITE_OK
                                                                                      : SQLITE_DENY;
    case SQLITE_PRAGMA:
      return AuthorizePragma(arg1, arg2);
    default:
      // Transactions and savepoints, ATTACH/DETACH, every TEMP object, COPY, and anything newer.
      return SQLITE_DENY;
  }
}

UserSqlScope::UserSqlScope() {
  if (user_sql_depth++ == 0) transaction_denied_flag = false;
}

UserSqlScope::~UserSqlScope() { --user_sql_depth; }

AdminSqlScope::AdminSqlScope(bool allow_writes) {
  admin_sql_mode = allow_writes ? 2 : 1;
  admin_write_denied = false;
}

bool AdminSqlScope::write_denied() const { return admin_write_denied; }

AdminSqlScope::~AdminSqlScope() { admin_sql_mode = 0; }

bool UserSqlScope::transaction_denied() const { return transaction_denied_flag; }

void InstallSqlGuard(sqlite3* db) {
  sqlite3_set_authorizer(db, &Authorizer, nullptr);
  sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 100000);
  sqlite3_limit(db, SQLITE_LIMIT_COLUMN, 100);
  sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, 100);
  sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, 5);
  sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, 25000);
  sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, 127);
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50);
  sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 100);
  sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 10);
  sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);
}

}  // namespace dorm::storage
