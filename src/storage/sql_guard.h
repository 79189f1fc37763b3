// What user SQL (ctx.storage.sql.exec) may do in an object's database, enforced by SQLite itself:
// an authorizer (sqlite3_set_authorizer) and lowered limits (sqlite3_limit), as on Cloudflare.
//
// The authorizer is installed once per connection and judges only statements prepared or stepped
// inside a UserSqlScope; Dorm's own statements (the _cf_KV table, BEGIN/COMMIT, savepoints,
// PRAGMAs) run outside one and are always allowed. The limits apply to the whole connection; Dorm's
// own statements stay far below them.
#pragma once

struct sqlite3;

namespace dorm::storage {

// Cloudflare's message for BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE in user SQL.
extern const char kSqlTransactionMessage[];

// Installs the authorizer and the limits on `db`. Call once, right after opening it (installing an
// authorizer expires the connection's prepared statements).
void InstallSqlGuard(sqlite3* db);

// Marks the current thread as running user SQL while it lives. Nests.
class UserSqlScope {
 public:
  UserSqlScope();
  ~UserSqlScope();
  UserSqlScope(const UserSqlScope&) = delete;
  UserSqlScope& operator=(const UserSqlScope&) = delete;
  // Whether the authorizer refused a statement of this scope because it controls transactions
  // (SQLite only reports "not authorized"; the caller replaces it with kSqlTransactionMessage).
  bool transaction_denied() const;
};

// Marks the current thread as running an operator's SQL (the storage browser's `dorm storage sql`)
// while it lives. Every table may be read, Dorm's own included; with `allow_writes` false, nothing
// may be changed (no INSERT, UPDATE, DELETE, DDL or PRAGMA assignment). Never allowed: ATTACH and
// DETACH (other files) and transaction control (the statement runs in the object's own implicit
// transaction). Does not nest with UserSqlScope.
class AdminSqlScope {
 public:
  explicit AdminSqlScope(bool allow_writes);
  ~AdminSqlScope();
  // Whether a statement prepared in this scope was refused because it would write.
  bool write_denied() const;
  AdminSqlScope(const AdminSqlScope&) = delete;
  AdminSqlScope& operator=(const AdminSqlScope&) = delete;
};

// The authorizer's decision for one action (SQLITE_OK or SQLITE_DENY), as if inside a
// UserSqlScope. `args` are the authorizer's four strings (any may be null).
int AuthorizeUserSql(int action, const char* arg1, const char* arg2, const char* database,
                     const char* trigger_or_view);

}  // namespace dorm::storage
