#include "control/control_snapshot.h"

#include <charconv>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

#include "control/registry_database.h"

namespace dorm::control {
namespace {

constexpr const char* kSnapshotOwner = "control snapshot";
constexpr std::string_view kSnapshotMagic = "dorm control snapshot v1";

// The tables that hold the control state, each written by the log's changes only. In this order,
// every one of them, in every snapshot.
constexpr const char* kControlTables[] = {
    "classes",  "project_migrations", "service_callers", "class_transfers",
    "env_vars", "app_auth",           "service_keys",
};

// A value's SQLite type, as one byte before its bytes.
constexpr char kSnapshotNull = 'n', kSnapshotInteger = 'i', kSnapshotReal = 'r',
               kSnapshotText = 't', kSnapshotBlob = 'b';

void PutSnapshotField(std::string& out, std::string_view field) {
  uint64_t size = field.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  out.append(field);
}

void PutSnapshotCount(std::string& out, size_t count) {
  PutSnapshotField(out, std::to_string(count));
}

class SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view bytes) : bytes_(bytes) {}

  std::string_view Field() {
    if (bytes_.size() < 8) Fail();
    uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= uint64_t(static_cast<unsigned char>(bytes_[i])) << (8 * i);
    bytes_.remove_prefix(8);
    if (size > bytes_.size()) Fail();
    std::string_view field = bytes_.substr(0, size);
    bytes_.remove_prefix(size);
    return field;
  }
  // A count, at most `limit` (a count can never exceed the bytes left to describe its items).
  size_t Count() {
    std::string_view text = Field();
    size_t count = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (error != std::errc() || end != text.data() + text.size() || count > bytes_.size()) Fail();
    return count;
  }
  bool done() const { return bytes_.empty(); }
  [[noreturn]] static void Fail() {
    throw std::runtime_error("a control snapshot is cut short or damaged");
  }

 private:
  std::string_view bytes_;
};

void ExecSnapshotSql(sqlite3* db, const std::string& sql, const char* what) {
  CheckSqlite(db, sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), kSnapshotOwner, what);
}

// The columns of `table` in this Dorm's schema.
std::set<std::string> SnapshotColumns(sqlite3* db, const std::string& table) {
  SqliteStatement info =
      PrepareSqlite(db, "SELECT name FROM pragma_table_info(?1)", kSnapshotOwner);
  BindSqliteText(info.get(), 1, table);
  std::set<std::string> columns;
  int rc;
  while ((rc = sqlite3_step(info.get())) == SQLITE_ROW) {
    columns.insert(SqliteColumnBytes(info.get(), 0));
  }
  CheckSqlite(db, rc, kSnapshotOwner, "table info");
  return columns;
}

std::string QuotedName(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

void EncodeSnapshotTable(sqlite3* db, const std::string& table, std::string& out) {
  std::string sql = "SELECT rowid, * FROM " + QuotedName(table) + " ORDER BY rowid";
  SqliteStatement rows = PrepareSqlite(db, sql.c_str(), kSnapshotOwner);
  const int columns = sqlite3_column_count(rows.get());
  std::string body;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
    ++count;
    for (int i = 0; i < columns; ++i) {
      switch (sqlite3_column_type(rows.get(), i)) {
        case SQLITE_NULL:
          PutSnapshotField(body, std::string(1, kSnapshotNull));
          PutSnapshotField(body, "");
          break;
        case SQLITE_INTEGER:
          PutSnapshotField(body, std::string(1, kSnapshotInteger));
          PutSnapshotField(body, std::to_string(sqlite3_column_int64(rows.get(), i)));
          break;
        case SQLITE_FLOAT: {
          char text[64];
          auto [end, error] =
              std::to_chars(text, text + sizeof text, sqlite3_column_double(rows.get(), i));
          if (error != std::errc()) throw std::runtime_error("a real cannot be written");
          PutSnapshotField(body, std::string(1, kSnapshotReal));
          PutSnapshotField(body, std::string_view(text, static_cast<size_t>(end - text)));
          break;
        }
        case SQLITE_TEXT:
          PutSnapshotField(body, std::string(1, kSnapshotText));
          PutSnapshotField(body, SqliteColumnBytes(rows.get(), i));
          break;
        default:
          PutSnapshotField(body, std::string(1, kSnapshotBlob));
          PutSnapshotField(body, SqliteColumnBytes(rows.get(), i));
          break;
      }
    }
  }
  CheckSqlite(db, rc, kSnapshotOwner, "read");
  PutSnapshotField(out, table);
  PutSnapshotCount(out, static_cast<size_t>(columns));
  // The first column is the row id (named "rowid" whatever SQLite calls it).
  PutSnapshotField(out, "rowid");
  for (int i = 1; i < columns; ++i) PutSnapshotField(out, sqlite3_column_name(rows.get(), i));
  PutSnapshotCount(out, count);
  out.append(body);
}

void BindSnapshotValue(sqlite3* db, sqlite3_stmt* insert, int index, char type,
                       std::string_view bytes) {
  int rc = SQLITE_OK;
  switch (type) {
    case kSnapshotNull:
      rc = sqlite3_bind_null(insert, index);
      break;
    case kSnapshotInteger: {
      int64_t value = 0;
      auto [end, error] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), value);
      if (error != std::errc() || end != bytes.data() + bytes.size()) SnapshotReader::Fail();
      rc = sqlite3_bind_int64(insert, index, value);
      break;
    }
    case kSnapshotReal: {
      double value = 0;
      auto [end, error] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), value);
      if (error != std::errc() || end != bytes.data() + bytes.size()) SnapshotReader::Fail();
      rc = sqlite3_bind_double(insert, index, value);
      break;
    }
    case kSnapshotText:
      rc = sqlite3_bind_text(insert, index, bytes.data(), static_cast<int>(bytes.size()),
                             SQLITE_TRANSIENT);
      break;
    case kSnapshotBlob:
      rc = sqlite3_bind_blob(insert, index, bytes.data(), static_cast<int>(bytes.size()),
                             SQLITE_TRANSIENT);
      break;
    default:
      SnapshotReader::Fail();
  }
  CheckSqlite(db, rc, kSnapshotOwner, "bind");
}

void LoadSnapshotTable(sqlite3* db, SnapshotReader& reader, const std::string& table) {
  const std::set<std::string> known = SnapshotColumns(db, table);
  const size_t columns = reader.Count();
  if (columns < 1) SnapshotReader::Fail();
  std::vector<std::string> names;
  for (size_t i = 0; i < columns; ++i) {
    std::string name(reader.Field());
    if (i == 0 ? name != "rowid" : known.count(name) == 0) {
      throw std::runtime_error("a control snapshot holds column '" + name + "' of table " + table +
                               ", which this Dorm does not know: upgrade this node");
    }
    names.push_back(std::move(name));
  }
  std::string sql = "INSERT INTO " + QuotedName(table) + " (";
  for (size_t i = 0; i < names.size(); ++i) sql += (i ? ", " : "") + QuotedName(names[i]);
  sql += ") VALUES (";
  for (size_t i = 0; i < names.size(); ++i) sql += i ? ", ?" : "?";
  sql += ")";
  SqliteStatement insert = PrepareSqlite(db, sql.c_str(), kSnapshotOwner);
  const size_t rows = reader.Count();
  for (size_t row = 0; row < rows; ++row) {
    sqlite3_reset(insert.get());
    for (size_t i = 0; i < columns; ++i) {
      std::string_view type = reader.Field();
      if (type.size() != 1) SnapshotReader::Fail();
      BindSnapshotValue(db, insert.get(), static_cast<int>(i + 1), type[0], reader.Field());
    }
    CheckSqlite(db, sqlite3_step(insert.get()), kSnapshotOwner, "insert");
  }
}

}  // namespace

std::string EncodeControlSnapshot(sqlite3* db) {
  std::string out;
  PutSnapshotField(out, kSnapshotMagic);
  ExecSnapshotSql(db, "BEGIN", "begin");
  try {
    PutSnapshotCount(out, std::size(kControlTables));
    for (const char* table : kControlTables) EncodeSnapshotTable(db, table, out);
    ExecSnapshotSql(db, "COMMIT", "commit");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return out;
}

void LoadControlSnapshot(sqlite3* db, std::string_view snapshot) {
  SnapshotReader reader(snapshot);
  if (reader.Field() != kSnapshotMagic) {
    throw std::runtime_error("a control snapshot is not of a format this Dorm knows");
  }
  if (reader.Count() != std::size(kControlTables)) SnapshotReader::Fail();
  ExecSnapshotSql(db, "BEGIN IMMEDIATE", "begin");
  try {
    for (const char* table : kControlTables) {
      if (reader.Field() != table) SnapshotReader::Fail();
      ExecSnapshotSql(db, std::string("DELETE FROM ") + QuotedName(table), "clear");
      LoadSnapshotTable(db, reader, table);
    }
    if (!reader.done()) SnapshotReader::Fail();
    ExecSnapshotSql(db, "COMMIT", "commit");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace dorm::control
