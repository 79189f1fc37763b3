// printf()/format() of user SQL (storage/sql_printf.h): the same results as SQLite's built-in, and
// an immediate answer where the built-in would spend seconds inside one instruction.
#include "storage/sql_printf.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <random>
#include <string>
#include <vector>

namespace dorm::storage {
namespace {

constexpr int kLengthLimit = 4 << 20;  // as ObjectDatabase sets it

// A connection with the length limit of an object database, optionally with the bounded printf.
class Connection {
 public:
  explicit Connection(bool bounded) {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, kLengthLimit);
    if (bounded) InstallBoundedPrintf(db_);
  }
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // "type:value" of the single result of `sql` with `args` bound as integers or text, or
  // "error:message".
  std::string Eval(const std::string& sql, const std::vector<std::string>& args = {}) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      return std::string("error:") + sqlite3_errmsg(db_);
    }
    for (size_t k = 0; k < args.size(); ++k) {
      const std::string& arg = args[k];
      if (!arg.empty() && arg[0] == '#') {
        sqlite3_bind_int64(statement, static_cast<int>(k + 1), std::stoll(arg.substr(1)));
      } else {
        sqlite3_bind_text(statement, static_cast<int>(k + 1), arg.data(),
                          static_cast<int>(arg.size()), SQLITE_TRANSIENT);
      }
    }
    std::string out;
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      int type = sqlite3_column_type(statement, 0);
      out = std::to_string(type) + ":";
      if (type != SQLITE_NULL) {
        const unsigned char* text = sqlite3_column_text(statement, 0);
        out.append(reinterpret_cast<const char*>(text),
                   static_cast<size_t>(sqlite3_column_bytes(statement, 0)));
      }
    } else {
      out = std::string("error:") + sqlite3_errmsg(db_);
    }
    sqlite3_finalize(statement);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqlPrintfTest, LargestCharRepeatReadsFormatsAsSqliteDoes) {
  EXPECT_EQ(LargestCharRepeat("plain", {}), -1);
  EXPECT_EQ(LargestCharRepeat("%c", {}), -1);
  EXPECT_EQ(LargestCharRepeat("%.5c", {}), 5);
  EXPECT_EQ(LargestCharRepeat("%-07.12c %.3c", {}), 12);
  EXPECT_EQ(LargestCharRepeat("%.*c", {700}), 700);
  EXPECT_EQ(LargestCharRepeat("%.*c", {-700}), 700);  // a negative precision counts as positive
  EXPECT_EQ(LargestCharRepeat("%.*c", {4294967299LL}), 3);         // read as a C int
  EXPECT_EQ(LargestCharRepeat("%*.*c", {1000, 9}), 9);             // the width comes first
  EXPECT_EQ(LargestCharRepeat("%d%s%.*c", {1, 2, 44}), 44);        // arguments are read in order
  EXPECT_EQ(LargestCharRepeat("%%%n%.*c", {8}), 8);                // %% and %n read none
  EXPECT_EQ(LargestCharRepeat("%.99999999999c", {}), 1215752191);  // wraps as SQLite's does
  EXPECT_EQ(LargestCharRepeat("%lld%.3lc", {1}), 3);
  // SQLite stops at an unknown conversion or at one it keeps for itself.
  EXPECT_EQ(LargestCharRepeat("%5-c%.9c", {}), -1);
  EXPECT_EQ(LargestCharRepeat("%T%.9c", {}), -1);
  EXPECT_EQ(LargestCharRepeat("%.9", {}), -1);
}

TEST(SqlPrintfTest, HugeCharRepeatsAnswerNullAtOnce) {
  Connection bounded(true);
  // Each of these keeps SQLite 3.40's printf busy for seconds inside one instruction.
  EXPECT_EQ(bounded.Eval("SELECT printf('%.2147483647c', 'x')"), "5:");
  EXPECT_EQ(bounded.Eval("SELECT format('%.*c', -2147483647, '')"), "5:");
  std::string many = "SELECT printf('";
  for (int k = 0; k < 2000; ++k) many += "%.2000000000c";
  many += "', 'x')";
  EXPECT_EQ(bounded.Eval(many), "5:");
  // Within the limit, the repetition is made.
  EXPECT_EQ(bounded.Eval("SELECT length(printf('%.*c', 4000000, 'x'))"), "1:4000000");
}

TEST(SqlPrintfTest, SameResultsAsTheBuiltin) {
  Connection bounded(true);
  Connection builtin(false);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"SELECT printf('%d items, %5.2f%%, %-6s|, %q, %Q, %w', ?1, 3.14159, 'ab', 'it''s', NULL, "
       "'a\"b')",
       {"#42"}},
      {"SELECT printf('%.*c|%*c|%!.3s|%,d', 4, 'é', -3, 'y', 'ééééé', 1234567)", {}},
      {"SELECT printf()", {}},
      {"SELECT printf(NULL, 1)", {}},
      {"SELECT printf(?1)", {"#12"}},
      {"SELECT format('%s and %s', 'one')", {}},
      {"SELECT printf('%c', '')", {}},
      {"SELECT printf('%.3c', NULL)", {}},
      {"SELECT printf('%5-c%d', 'x', 3)", {}},
      {"SELECT printf('trailing %')", {}},
      {"SELECT printf(x'256400', 7)", {}},
      {"SELECT printf('%.4194305c', 'x')", {}},  // one over the limit: NULL, quickly, from both
      {"SELECT printf('%.*c', 4194305, 'x')", {}},
      {"SELECT printf('%4194305d', 1)", {}},
      {"SELECT typeof(printf('%d', 1)), printf('%lld %llx %o %X %e %G %r %p', 1, 255, 8, 255, "
       "1e10, 0.5, 22, 1)",
       {}},
  };
  for (const auto& [sql, args] : cases) {
    EXPECT_EQ(bounded.Eval(sql, args), builtin.Eval(sql, args)) << sql;
  }
}

// Random formats over the conversions, flags, widths and precisions SQLite reads, with random
// arguments: the two give the same result every time.
TEST(SqlPrintfTest, RandomFormatsMatchTheBuiltin) {
  Connection bounded(true);
  Connection builtin(false);
  std::mt19937 random(20261203);
  const std::string pieces[] = {"%", "%%", "c", "d", "s",  "q", "x", "n", ".", "*", "-",  "0",
                                "!", ",",  "l", "5", "12", "T", "a", " ", "é", "3", "%.", "%*"};
  for (int round = 0; round < 3000; ++round) {
    std::string format;
    int length = 1 + static_cast<int>(random() % 12);
    for (int k = 0; k < length; ++k) format += pieces[random() % std::size(pieces)];
    std::vector<std::string> args = {format};
    std::string sql = "SELECT printf(?1";
    int argc = static_cast<int>(random() % 5);
    for (int k = 0; k < argc; ++k) {
      switch (random() % 3) {
        case 0:
          args.push_back("#" + std::to_string(static_cast<int>(random() % 2001) - 1000));
          break;
        case 1:  // read as a C int: only the low 32 bits count
          args.push_back("#" + std::to_string((static_cast<int64_t>(random() % 5) << 32) +
                                              static_cast<int>(random() % 3001) - 1500));
          break;
        default:
          args.push_back(random() % 2 ? "zé" : "");
          break;
      }
      sql += ",?" + std::to_string(k + 2);
    }
    sql += ")";
    std::string expected = builtin.Eval(sql, args);
    ASSERT_EQ(bounded.Eval(sql, args), expected) << "format " << format;
  }
}

}  // namespace
}  // namespace dorm::storage
