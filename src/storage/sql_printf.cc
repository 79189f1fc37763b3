#include "storage/sql_printf.h"

#include <cstring>
#include <memory>
#include <string>

namespace dorm::storage {
namespace {

// SQLite's conversions that read one argument, and those that read none; SQLite stops formatting
// at any other character (and at its internal-only conversions, T and S).
constexpr std::string_view kConversionsWithArgument = "dsgzqQwcouxXipfeEGr";
constexpr std::string_view kConversionsWithoutArgument = "n%";
constexpr std::string_view kFlags = "-+ #!0,";

// SQLite reads `*` values as a C int (the 64-bit argument truncated) and a negative precision as
// its magnitude.
int64_t StarPrecision(int64_t argument) {
  auto value = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(argument)));
  if (value >= 0) return value;
  return value >= -2147483647 ? -static_cast<int64_t>(value) : -1;
}

}  // namespace

int64_t LargestCharRepeat(std::string_view format, const std::vector<int64_t>& int_args) {
  size_t next_arg = 0;
  auto take_int = [&]() -> int64_t {
    return next_arg < int_args.size() ? int_args[next_arg++] : 0;
  };
  int64_t largest = -1;
  size_t i = 0;
  auto at = [&](size_t k) -> char { return k < format.size() ? format[k] : '\0'; };
  while (i < format.size()) {
    if (format[i] != '%') {
      ++i;
      continue;
    }
    ++i;  // past '%'
    if (at(i) == '\0') break;
    while (at(i) != '\0' && kFlags.find(at(i)) != std::string_view::npos) ++i;
    if (at(i) == '*') {
      take_int();
      ++i;
    } else {
      while (at(i) >= '0' && at(i) <= '9') ++i;
    }
    int64_t precision = -1;
    if (at(i) == '.') {
      ++i;
      if (at(i) == '*') {
        precision = StarPrecision(take_int());
        ++i;
      } else {
        uint32_t digits = 0;  // wraps as SQLite's unsigned accumulator does
        while (at(i) >= '0' && at(i) <= '9') {
          digits = digits * 10 + static_cast<uint32_t>(at(i) - '0');
          ++i;
        }
        precision = digits & 0x7fffffff;
      }
    }
    if (at(i) == 'l') {
      ++i;
      if (at(i) == 'l') ++i;
    }
    char conversion = at(i);
    if (conversion == '\0') break;
    ++i;
    if (kConversionsWithArgument.find(conversion) != std::string_view::npos) {
      if (conversion == 'c' && precision > largest) largest = precision;
      take_int();
    } else if (kConversionsWithoutArgument.find(conversion) == std::string_view::npos) {
      break;  // SQLite stops here
    }
  }
  return largest;
}

namespace {

// A private connection of one thread that runs the built-in printf, with one statement per
// argument count, prepared on first use.
class BuiltinPrintf {
 public:
  BuiltinPrintf() {
    if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr) !=
        SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
    }
  }
  ~BuiltinPrintf() {
    for (sqlite3_stmt* statement : statements_) sqlite3_finalize(statement);
    sqlite3_close(db_);
  }
  BuiltinPrintf(const BuiltinPrintf&) = delete;
  BuiltinPrintf& operator=(const BuiltinPrintf&) = delete;

  // Runs printf(argv...) with `length_limit` as SQLITE_LIMIT_LENGTH and sets the result on
  // `context`.
  void Run(sqlite3_context* context, int argc, sqlite3_value** argv, int length_limit) {
    sqlite3_stmt* statement = StatementFor(argc);
    if (!statement) {
      sqlite3_result_error_nomem(context);
      return;
    }
    sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, length_limit);
    for (int k = 0; k < argc; ++k) sqlite3_bind_value(statement, k + 1, argv[k]);
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      sqlite3_result_value(context, sqlite3_column_value(statement, 0));
    } else if (rc == SQLITE_NOMEM) {
      sqlite3_result_error_nomem(context);
    } else if (rc == SQLITE_TOOBIG) {
      sqlite3_result_error_toobig(context);
    } else {
      sqlite3_result_error(context, sqlite3_errmsg(db_), -1);
    }
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
  }

 private:
  sqlite3_stmt* StatementFor(int argc) {
    if (!db_ || argc < 1) return nullptr;
    if (statements_.size() < static_cast<size_t>(argc)) statements_.resize(argc, nullptr);
    sqlite3_stmt*& statement = statements_[argc - 1];
    if (!statement) {
      std::string sql = "SELECT printf(?1";
      for (int k = 2; k <= argc; ++k) sql += ",?" + std::to_string(k);
      sql += ")";
      sqlite3_limit(db_, SQLITE_LIMIT_FUNCTION_ARG, 1000);
      sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, 1000);
      if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
        statement = nullptr;
      }
    }
    return statement;
  }

  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

void BoundedPrintf(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (argc < 1) return;  // printf() with no argument is NULL
  const unsigned char* format_text = sqlite3_value_text(argv[0]);
  if (!format_text) {
    if (sqlite3_errcode(sqlite3_context_db_handle(context)) == SQLITE_NOMEM) {
      sqlite3_result_error_nomem(context);
    }
    return;  // a NULL format gives NULL
  }
  sqlite3* db = sqlite3_context_db_handle(context);
  int length_limit = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1);
  std::vector<int64_t> int_args;
  int_args.reserve(static_cast<size_t>(argc - 1));
  for (int k = 1; k < argc; ++k) int_args.push_back(sqlite3_value_int64(argv[k]));
  std::string_view format(reinterpret_cast<const char*>(format_text));
  // Every repetition is at least one byte, so the result would pass the limit: SQLite's printf
  // answers NULL for a result too long, without an error.
  if (LargestCharRepeat(format, int_args) > length_limit) return;
  thread_local std::unique_ptr<BuiltinPrintf> builtin;
  if (!builtin) builtin = std::make_unique<BuiltinPrintf>();
  builtin->Run(context, argc, argv, length_limit);
}

}  // namespace

void InstallBoundedPrintf(sqlite3* db) {
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  for (const char* name : {"printf", "format"}) {
    sqlite3_create_function_v2(db, name, -1, kFlags, nullptr, &BoundedPrintf, nullptr, nullptr,
                               nullptr);
  }
}

}  // namespace dorm::storage
