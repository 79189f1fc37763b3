// rowsRead and rowsWritten of one SQL statement, counted as workerd counts them.
//
// workerd runs a patched SQLite that counts, for each statement, every time a cursor is positioned
// on a row (Rewind, Last, the Seek opcodes, SeekRowid/NotExists, each successful Next/Prev, and
// the entries an OP_Count counts) and every row stored into the database (each Insert and
// IdxInsert into a table or index, each counted Delete, the rows an OP_Clear removes). Stock SQLite
// counts only part of this: the successful Next/Prev steps (split into full-scan steps and the
// rest) and the rows changed. The rest is worked out from the statement's bytecode (EXPLAIN): each
// positioning opcode or uncounted write runs once per pass of the loop around it, and a loop's
// passes come from the counters above, the rows changed, the rows given, the rows of a VALUES
// list, the rows put into the temporary table it reads, or the Bloom filter checks passed. This
// gives workerd's numbers for the statements objects commonly run (schema changes, INSERT with
// VALUES, SELECT, json_each or ON CONFLICT, UPDATE, DELETE, RETURNING, SELECT by key, index or
// scan, joins, ORDER BY, GROUP BY, count(*)); tests/e2e/sql.test.mjs has the side-by-side table
// and the README the known differences.
//
// Threading: the shapes of a connection are kept with it (dropped when it closes) and used only by
// the thread using the connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace dorm::storage {

struct RowCounts {
  int64_t read = 0;
  int64_t written = 0;
};

// What stock SQLite has counted for a statement after some sqlite3_step() calls.
struct StepCounters {
  int64_t other_steps = 0;    // successful Next/Prev/SorterNext that are not full-scan steps
  int64_t scan_steps = 0;     // successful Next/Prev of full table scans
  int64_t steps = 0;          // sqlite3_step() calls so far
  int64_t rows = 0;           // rows that came out so far
  int64_t filter_passes = 0;  // Bloom filter checks that let the join step after them run

  // The counters of `stmt` after its `steps`-th step, when `rows` rows came out.
  static StepCounters Of(sqlite3_stmt* stmt, int64_t steps, int64_t rows);
};

// Rows a write statement inserted, updated (upserts included) and deleted, seen by SQLite's
// pre-update hook while a WriteEventCounter lives.
struct WriteEvents {
  int64_t inserts = 0;
  int64_t updates = 0;
  int64_t deletes = 0;  // including the rows REPLACE removed
};

// Counts the row events of `db` into `events` while it lives (the hook is set on the connection,
// which must have no other pre-update hook). Set it after preparing the statement: a statement
// prepared while the hook is set is compiled differently (no DELETE truncation).
class WriteEventCounter {
 public:
  WriteEventCounter(sqlite3* db, WriteEvents* events);
  ~WriteEventCounter();
  WriteEventCounter(const WriteEventCounter&) = delete;
  WriteEventCounter& operator=(const WriteEventCounter&) = delete;

 private:
  sqlite3* db_;
};

// The opcodes of a statement's bytecode that the counts depend on.
class StatementShape {
 public:
  // The shape of `statement` (one statement, already prepared on `db` as user SQL and not yet
  // stepped), from the connection's cache when it is there. Null when its bytecode cannot be
  // listed; the counts then hold only what stock SQLite counts. Never throws.
  static std::shared_ptr<const StatementShape> Of(sqlite3* db, std::string_view statement);
  // Call after running `statement`, a statement that writes: unless it only changes rows (INSERT,
  // UPDATE, DELETE), it may have changed the schema, which makes the connection's shapes stale.
  static void AfterWrite(sqlite3* db, std::string_view statement);

  // Whether the statement counts a table with OP_Count (SELECT count(*) FROM t), whose count is
  // then the first column of its first row.
  bool counts_table() const { return counts_table_; }
  // The counts after the steps that `counters` describe. `changes`: rows changed by the whole
  // statement (sqlite3_total_changes difference); `table_count`: see counts_table(); `events`:
  // a write's inserts and updates.
  RowCounts Estimate(const StepCounters& counters, int64_t changes, int64_t table_count,
                     bool read_only, const WriteEvents& events) const;

  // One opcode of the bytecode that matters here (the others are left out).
  enum class Kind : uint8_t {
    kPosition,  // Rewind, Last, Seek*, SeekRowid, NotExists, Sort, SorterSort
    kSeekEnd,   // OP_Last's code when its cursor is not yet valid
    kNext,      // Next, Prev, SorterNext: closes a loop
    kVNext,     // closes a loop over a virtual table (json_each...)
    kGoto,      // a backward Goto: closes a loop
    kCount,
    kOpenWrite,
    kOpenScratch,  // OpenEphemeral, OpenAutoindex, SorterOpen
    kInsert,
    kIdxInsert,
    kSorterInsert,
    kDestroy,
    kIfNot,
    kOnce,
    kInitCoroutine,
    kYield,
    kFilter,      // a Bloom filter check that skips the join step after it
    kNoConflict,  // an INSERT's unique-key check: falls through on a conflict
  };
  struct Op {
    Kind kind;
    bool in_subprogram;  // a trigger's program (runs once per firing)
    bool has_p4;
    int addr;
    int p1;
    int p2;
    int p3;
    int p5;
    // Derived by FindStructure().
    int loop = -1;             // index of the innermost loop around the op, if any
    bool once = false;         // guarded by OP_Once
    bool dead = false;         // never runs (see dead_)
    bool filtered = false;     // a positioning op right after the program's only OP_Filter
    bool on_conflict = false;  // runs only for a row whose key exists (the upsert's update)
    bool on_insert = false;    // an index write only for a row whose key did not exist
  };

 private:
  struct Loop {
    int from;    // first address of the loop's body
    int to;      // address of the op that jumps back
    int cls;     // 1: a full-scan Next/Prev, 0: another Next/Prev/SorterNext, 2: a VNext,
                 // -1: a Goto
    int cursor;  // the cursor a Next-type op advances
    // For a Goto loop reading a coroutine that only yields constant rows (INSERT ... VALUES with
    // several rows): how many; -1 otherwise.
    int64_t values_rows = -1;
  };
  struct Range {
    int from;  // inclusive
    int to;    // exclusive
  };
  // The inputs of one Estimate() and the passes of the loops worked out so far (-1: not yet).
  struct Evaluation {
    const StepCounters& counters;
    int64_t changes;
    bool read_only;
    const WriteEvents& events;
    std::vector<int64_t> loop_passes;
  };
  void FindStructure();
  // How many times `op` ran, and how many times the body of loops_[index] ran.
  int64_t Passes(const Op& op, Evaluation* e) const;
  int64_t LoopPasses(size_t index, Evaluation* e) const;

  std::vector<Op> ops_;
  bool counts_table_ = false;
  // Derived from ops_ by FindStructure().
  bool changes_rows_ = false;  // INSERT, UPDATE or DELETE of the user's tables
  std::vector<Loop> loops_;
  int loops_per_class_[2] = {0, 0};
  std::vector<Range> dead_;  // code after an OP_Destroy that runs only when a root page moved
  std::vector<Range> once_;  // code guarded by OP_Once
  std::vector<int> scratch_cursors_;
  std::vector<int> write_cursors_;
};

}  // namespace dorm::storage
