#include "storage/sql_row_counts.h"

// Debian's libsqlite3 is built with the pre-update hook; its header declares it only when
// SQLITE_ENABLE_PREUPDATE_HOOK is defined, which CMakeLists.txt does for the storage layer (before
// any file of a unity batch includes the header).
#include <sqlite3.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "storage/sql_guard.h"

namespace dorm::storage {

namespace {

// OPFLAG_NCHANGE of SQLite's Insert, IdxInsert and Delete: the row counts as a change.
constexpr int kCountsAsChange = 0x01;
// Statements longer than this are not cached (they are rarely run twice).
constexpr size_t kMaxCachedStatement = 2048;
// Shapes kept per connection, and their ops; past either the cache starts over.
constexpr size_t kMaxCachedShapes = 64;
constexpr size_t kMaxCachedOps = 16384;
// Larger programs get no shape (their counts are SQLite's own counters only), which keeps the
// work of one count bounded: O(ops x loops) to build, O(ops + loops x ops) per count.
constexpr size_t kMaxOps = 2000;
constexpr size_t kMaxLoops = 64;

using Kind = StatementShape::Kind;

bool KindOf(const char* name, Kind* kind) {
  struct Entry {
    const char* name;
    Kind kind;
  };
  static const Entry kEntries[] = {
      {"Rewind", Kind::kPosition},
      {"Last", Kind::kPosition},
      {"SeekGE", Kind::kPosition},
      {"SeekGT", Kind::kPosition},
      {"SeekLE", Kind::kPosition},
      {"SeekLT", Kind::kPosition},
      {"SeekRowid", Kind::kPosition},
      {"NotExists", Kind::kPosition},
      {"Sort", Kind::kPosition},
      {"SorterSort", Kind::kPosition},
      {"SeekEnd", Kind::kSeekEnd},
      {"Next", Kind::kNext},
      {"Prev", Kind::kNext},
      {"SorterNext", Kind::kNext},
      {"Goto", Kind::kGoto},
      {"Count", Kind::kCount},
      {"OpenWrite", Kind::kOpenWrite},
      {"OpenEphemeral", Kind::kOpenScratch},
      {"OpenAutoindex", Kind::kOpenScratch},
      {"SorterOpen", Kind::kOpenScratch},
      {"Insert", Kind::kInsert},
      {"IdxInsert", Kind::kIdxInsert},
      {"SorterInsert", Kind::kSorterInsert},
      {"Destroy", Kind::kDestroy},
      {"IfNot", Kind::kIfNot},
      {"VNext", Kind::kVNext},
      {"InitCoroutine", Kind::kInitCoroutine},
      {"Yield", Kind::kYield},
      {"Filter", Kind::kFilter},
      {"NoConflict", Kind::kNoConflict},
      {"Once", Kind::kOnce},
  };
  for (const Entry& e : kEntries) {
    if (std::strcmp(name, e.name) == 0) {
      *kind = e.kind;
      return true;
    }
  }
  return false;
}

// The shapes of one connection's recent statements, by SQL text. Dropped by SQLite when the
// connection closes (it is the user data of a function registered on it, see CacheFor).
struct ShapeCache {
  sqlite3* db;
  std::unordered_map<std::string, std::shared_ptr<const StatementShape>> shapes;
  size_t cached_ops = 0;
};

std::mutex caches_mutex;
std::unordered_map<sqlite3*, ShapeCache*>& Caches() {
  static auto* caches = new std::unordered_map<sqlite3*, ShapeCache*>();
  return *caches;
}

void DestroyCache(void* data) {
  auto* cache = static_cast<ShapeCache*>(data);
  {
    std::lock_guard<std::mutex> lock(caches_mutex);
    auto it = Caches().find(cache->db);
    if (it != Caches().end() && it->second == cache) Caches().erase(it);
  }
  delete cache;
}

// Never called: the function only carries the cache (user SQL may not call functions it does not
// know, see sql_guard.h).
void Unused(sqlite3_context* context, int, sqlite3_value**) {
  sqlite3_result_error(context, "not a function", -1);
}

// The cache of `db`, created on first use; null if it cannot be attached to the connection.
ShapeCache* CacheFor(sqlite3* db, bool create) {
  {
    std::lock_guard<std::mutex> lock(caches_mutex);
    auto it = Caches().find(db);
    if (it != Caches().end()) return it->second;
  }
  if (!create) return nullptr;
  auto* cache = new ShapeCache{db, {}, 0};
  // SQLite calls DestroyCache when the connection closes, or right away if registering fails.
  int rc = sqlite3_create_function_v2(db, "_cf_row_counts", 0, SQLITE_UTF8, cache, &Unused, nullptr,
                                      nullptr, &DestroyCache);
  if (rc != SQLITE_OK) return nullptr;
  std::lock_guard<std::mutex> lock(caches_mutex);
  Caches()[db] = cache;
  return cache;
}

// Lists the bytecode of `statement` with EXPLAIN; false if that fails.
bool ReadOps(sqlite3* db, std::string_view statement, std::vector<StatementShape::Op>* ops,
             bool* counts_table) {
  const std::string sql = "EXPLAIN " + std::string(statement);
  sqlite3_stmt* explain = nullptr;
  int rc;
  {
    // As user SQL, so that the authorizer judges it as it judged the statement itself.
    UserSqlScope scope;
    rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &explain, nullptr);
  }
  if (rc != SQLITE_OK || explain == nullptr) {
    sqlite3_finalize(explain);
    return false;
  }
  bool in_subprogram = false;
  int previous = -1;
  while ((rc = sqlite3_step(explain)) == SQLITE_ROW) {
    const int addr = sqlite3_column_int(explain, 0);
    // Trigger programs follow the statement's own, each numbered from 0 again.
    if (addr <= previous) in_subprogram = true;
    previous = addr;
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(explain, 1));
    Kind kind;
    if (name == nullptr || !KindOf(name, &kind)) continue;
    StatementShape::Op op{kind,
                          in_subprogram,
                          sqlite3_column_bytes(explain, 5) > 0,
                          addr,
                          sqlite3_column_int(explain, 2),
                          sqlite3_column_int(explain, 3),
                          sqlite3_column_int(explain, 4),
                          sqlite3_column_int(explain, 6)};
    if (kind == Kind::kCount && op.p3 == 0) *counts_table = true;
    ops->push_back(op);
  }
  sqlite3_finalize(explain);
  return rc == SQLITE_DONE;
}

bool StartsWithWord(std::string_view text, const char* word) {
  const size_t n = std::strlen(word);
  return text.size() >= n && strncasecmp(text.data(), word, n) == 0 &&
         (text.size() == n || !std::isalnum(static_cast<unsigned char>(text[n])));
}

void CountWriteEvent(void* data, sqlite3*, int op, const char*, const char*, sqlite3_int64,
                     sqlite3_int64) {
  auto* events = static_cast<WriteEvents*>(data);
  if (op == SQLITE_INSERT) ++events->inserts;
  if (op == SQLITE_UPDATE) ++events->updates;
  if (op == SQLITE_DELETE) ++events->deletes;
}

}  // namespace

WriteEventCounter::WriteEventCounter(sqlite3* db, WriteEvents* events) : db_(db) {
  sqlite3_preupdate_hook(db, &CountWriteEvent, events);
}

WriteEventCounter::~WriteEventCounter() { sqlite3_preupdate_hook(db_, nullptr, nullptr); }

StepCounters StepCounters::Of(sqlite3_stmt* stmt, int64_t steps, int64_t rows) {
  StepCounters c;
  // aCounter[0] of stock SQLite counts the successful Next/Prev/SorterNext steps whose opcode has
  // no counter of its own (every loop but full scans and automatic-index builds). It is not
  // documented, but sqlite3_stmt_status() reads any counter index below its array's size; a unit
  // test (sql_row_counts_test) checks that it still counts.
  c.other_steps =
      sqlite3_stmt_status(stmt, 0, 0) + sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_AUTOINDEX, 0);
  c.scan_steps = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
  c.steps = steps;
  c.rows = rows;
  // SQLite calls a check that lets the step run a filter "miss".
  c.filter_passes = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FILTER_MISS, 0);
  return c;
}

std::shared_ptr<const StatementShape> StatementShape::Of(sqlite3* db, std::string_view statement) {
  const bool cacheable = statement.size() <= kMaxCachedStatement;
  ShapeCache* cache = cacheable ? CacheFor(db, true) : nullptr;
  if (cache) {
    auto it = cache->shapes.find(std::string(statement));
    if (it != cache->shapes.end()) return it->second;
  }
  auto shape = std::make_shared<StatementShape>();
  if (!ReadOps(db, statement, &shape->ops_, &shape->counts_table_)) return nullptr;
  if (shape->ops_.size() > kMaxOps) return nullptr;
  shape->FindStructure();
  if (shape->loops_.size() > kMaxLoops) return nullptr;
  if (cache) {
    if (cache->shapes.size() >= kMaxCachedShapes ||
        cache->cached_ops + shape->ops_.size() > kMaxCachedOps) {
      cache->shapes.clear();
      cache->cached_ops = 0;
    }
    cache->shapes.emplace(std::string(statement), shape);
    cache->cached_ops += shape->ops_.size();
  }
  return shape;
}

void StatementShape::AfterWrite(sqlite3* db, std::string_view statement) {
  size_t start = 0;
  while (start < statement.size() && std::isspace(static_cast<unsigned char>(statement[start]))) {
    ++start;
  }
  const std::string_view text = statement.substr(start);
  for (const char* word : {"INSERT", "UPDATE", "DELETE", "REPLACE"}) {
    if (StartsWithWord(text, word)) return;
  }
  // Anything else that writes (CREATE, DROP, ALTER, ANALYZE, PRAGMA, or a statement starting with
  // a comment) may have changed what the query planner does.
  if (ShapeCache* cache = CacheFor(db, false)) {
    cache->shapes.clear();
    cache->cached_ops = 0;
  }
}

void StatementShape::FindStructure() {
  std::vector<int> moved_root_registers;
  for (const Op& op : ops_) {
    if (op.in_subprogram) continue;
    switch (op.kind) {
      case Kind::kNext:
        if (op.p2 <= op.addr) {
          const int cls = op.p5 == SQLITE_STMTSTATUS_FULLSCAN_STEP ? 1 : 0;
          loops_.push_back({op.p2, op.addr, cls, op.p1});
          ++loops_per_class_[cls];
        }
        break;
      case Kind::kVNext:
        if (op.p2 <= op.addr) loops_.push_back({op.p2, op.addr, 2, op.p1});
        break;
      case Kind::kGoto:
        // The jump from the end of the program back to its start (after OP_Transaction) is not
        // a loop.
        if (op.p2 < op.addr && op.p2 > 1) loops_.push_back({op.p2, op.addr, -1, -1});
        break;
      case Kind::kDestroy:
        moved_root_registers.push_back(op.p2);
        break;
      case Kind::kIfNot:
        // DROP moves another table's root page into the freed one only in auto-vacuum databases;
        // otherwise the register OP_Destroy set is 0 and this code is skipped.
        if (op.p2 > op.addr && std::find(moved_root_registers.begin(), moved_root_registers.end(),
                                         op.p1) != moved_root_registers.end()) {
          dead_.push_back({op.addr + 1, op.p2});
        }
        break;
      case Kind::kOnce:
        if (op.p2 > op.addr) once_.push_back({op.addr + 1, op.p2});
        break;
      case Kind::kOpenScratch:
        scratch_cursors_.push_back(op.p1);
        break;
      case Kind::kOpenWrite:
        write_cursors_.push_back(op.p1);
        break;
      case Kind::kInsert:
        if (op.has_p4) changes_rows_ = true;
        break;
      default:
        break;
    }
  }
  // Goto loops over a coroutine of constant rows (multi-row VALUES): one pass per row, whether
  // or not the row was written.
  for (Loop& loop : loops_) {
    if (loop.cls != -1) continue;
    for (const Op& yield : ops_) {
      if (yield.in_subprogram || yield.kind != Kind::kYield || yield.addr < loop.from ||
          yield.addr > loop.to) {
        continue;
      }
      for (const Op& init : ops_) {
        if (init.in_subprogram || init.kind != Kind::kInitCoroutine || init.p1 != yield.p1) {
          continue;
        }
        const int body_from = init.p3;
        const int body_to = init.p2;
        const bool loops_inside = std::any_of(loops_.begin(), loops_.end(), [&](const Loop& l) {
          return l.from >= body_from && l.from < body_to;
        });
        if (loops_inside) continue;
        const int64_t rows = std::count_if(ops_.begin(), ops_.end(), [&](const Op& o) {
          return !o.in_subprogram && o.kind == Kind::kYield && o.p1 == init.p1 &&
                 o.addr >= body_from && o.addr < body_to;
        });
        if (rows > 0) loop.values_rows = rows;
      }
      break;
    }
  }
  // With a single Bloom filter, the seek right after it runs once per check it passes.
  const Op* only_filter = nullptr;
  int filters = 0;
  for (const Op& op : ops_) {
    if (op.in_subprogram || op.kind != Kind::kFilter) continue;
    only_filter = &op;
    ++filters;
  }
  if (filters == 1) {
    for (size_t i = 0; i + 1 < ops_.size(); ++i) {
      Op& next = ops_[i + 1];
      if (&ops_[i] == only_filter && next.kind == Kind::kPosition && !next.in_subprogram &&
          only_filter->p2 > next.addr) {
        next.filtered = true;
      }
    }
  }
  // An INSERT's unique-key check falls through to the code for a row whose key exists (an
  // upsert's update, DO NOTHING's skip) and jumps to the code inserting a new row.
  for (const Op& check : ops_) {
    if (check.in_subprogram || check.kind != Kind::kNoConflict || check.p2 <= check.addr) continue;
    for (Op& op : ops_) {
      if (op.in_subprogram) continue;
      if (op.addr > check.addr && op.addr < check.p2) op.on_conflict = true;
      if (op.addr >= check.p2 && op.kind == Kind::kIdxInsert) op.on_insert = true;
    }
  }
  // Each op's innermost loop, and whether it is skipped or runs once whatever the loops.
  for (Op& op : ops_) {
    if (op.in_subprogram) continue;
    for (const Range& r : dead_) op.dead = op.dead || (op.addr >= r.from && op.addr < r.to);
    for (const Range& r : once_) op.once = op.once || (op.addr >= r.from && op.addr < r.to);
    for (size_t i = 0; i < loops_.size(); ++i) {
      const Loop& loop = loops_[i];
      if (op.addr >= loop.from && op.addr <= loop.to &&
          (op.loop < 0 || loop.from >= loops_[static_cast<size_t>(op.loop)].from)) {
        op.loop = static_cast<int>(i);
      }
    }
  }
}

int64_t StatementShape::Passes(const Op& op, Evaluation* e) const {
  if (op.in_subprogram || op.once || op.loop < 0) return 1;
  return LoopPasses(static_cast<size_t>(op.loop), e);
}

int64_t StatementShape::LoopPasses(size_t index, Evaluation* e) const {
  if (e->loop_passes[index] >= 0) return e->loop_passes[index];
  // Provisional, for a temporary table filled inside a loop that reads it: each loop is worked
  // out once.
  e->loop_passes[index] = 1;
  const Loop& loop = loops_[index];
  const StepCounters& c = e->counters;
  const bool produced = c.rows > 0 || e->changes > 0;
  int64_t passes;
  if (loop.cls == 2) {
    // A virtual table (json_each...) has no counter: a query passes once per row it gave, a
    // write once per row it changed.
    passes = !e->read_only && e->changes > 0 ? e->changes : c.rows;
  } else if (loop.cls >= 0) {
    const int64_t steps = loop.cls == 1 ? c.scan_steps : c.other_steps;
    const bool only_of_class = loops_per_class_[loop.cls] == 1;
    const bool scratch = std::find(scratch_cursors_.begin(), scratch_cursors_.end(), loop.cursor) !=
                         scratch_cursors_.end();
    // The rows put into a temporary table the loop reads, and whether each of them is put there
    // by code that runs once (an IN (...) list) rather than in another loop.
    bool filled = false;
    bool filled_once = true;
    int64_t rows = 0;
    if (scratch && !(e->read_only && only_of_class)) {
      for (const Op& op : ops_) {
        if (op.in_subprogram || op.p1 != loop.cursor) continue;
        if (op.kind != Kind::kInsert && op.kind != Kind::kIdxInsert &&
            op.kind != Kind::kSorterInsert) {
          continue;
        }
        filled = true;
        if (op.dead) continue;
        if (!op.once && op.loop >= 0) filled_once = false;
        rows += Passes(op, e);
      }
    }
    if (e->read_only && only_of_class) {
      // A query's only loop of its kind: its first row plus each successful step, as they run.
      passes = 1 + steps;
    } else if (filled && filled_once) {
      passes = rows;
    } else if (e->changes > 0) {
      // A write's loops run once per row it changes.
      passes = e->changes;
    } else if (filled) {
      // A loop over a temporary table runs once per row put into it.
      passes = rows;
    } else if (only_of_class) {
      passes = 1 + steps;
    } else {
      // Several loops share the counter: assume they stepped alike.
      const int64_t share = steps / loops_per_class_[loop.cls];
      passes = share > 0 ? 1 + share : (produced ? 1 : 0);
    }
  } else if (loop.values_rows >= 0) {
    passes = loop.values_rows;
  } else if (e->changes > 0) {
    passes = e->changes;
  } else if (loops_per_class_[0] + loops_per_class_[1] == 1) {
    const int64_t steps = loops_per_class_[1] ? c.scan_steps : c.other_steps;
    passes = steps > 0 ? 1 + steps : (produced ? 1 : 0);
  } else {
    // A query looping without a cursor (a recursive common table expression): once per step.
    passes = c.steps;
  }
  e->loop_passes[index] = passes;
  return passes;
}

RowCounts StatementShape::Estimate(const StepCounters& c, int64_t changes, int64_t table_count,
                                   bool read_only, const WriteEvents& events) const {
  Evaluation e{c, changes, read_only, events, std::vector<int64_t>(loops_.size(), -1)};
  RowCounts counts;
  counts.read = c.other_steps + c.scan_steps;
  counts.written = changes;
  std::vector<int> index_cursors;
  for (const Op& op : ops_) {
    if (op.dead) continue;
    const bool writes_database =
        !op.in_subprogram && !(op.p5 & kCountsAsChange) &&
        std::find(write_cursors_.begin(), write_cursors_.end(), op.p1) != write_cursors_.end();
    switch (op.kind) {
      case Kind::kPosition:
        if (op.filtered) {
          counts.read += std::min(Passes(op, &e), c.filter_passes);
        } else if (op.on_conflict && !read_only) {
          // Once per existing key: updated by an upsert or removed by REPLACE.
          counts.read += std::min(Passes(op, &e), events.updates + events.deletes);
        } else {
          counts.read += Passes(op, &e);
        }
        break;
      case Kind::kSeekEnd:
        // Positions the cursor only while it is not valid: at the first insert and, once the
        // b-tree's root splits, the second.
        counts.read += std::min<int64_t>(Passes(op, &e), 2);
        break;
      case Kind::kCount:
        if (op.p3 == 0) counts.read += table_count;
        break;
      case Kind::kVNext:
        // Ends each pass over a virtual table's rows; a query's has not ended the pass of the row
        // the caller is at.
        if (op.in_subprogram || op.loop < 0) {
          counts.read += 1;
        } else {
          const int64_t passes = LoopPasses(static_cast<size_t>(op.loop), &e);
          counts.read += read_only ? std::max<int64_t>(0, std::min(passes, c.steps - 1)) : passes;
        }
        break;
      case Kind::kInsert:
        // Rows of the statement's own tables count as changes; this is the schema table,
        // sqlite_sequence and tables being filled by CREATE TABLE ... AS.
        if (writes_database && !op.has_p4) counts.written += Passes(op, &e);
        break;
      case Kind::kIdxInsert:
        // One entry per index and row, whichever of its code paths (insert, upsert) runs, and
        // only for rows that were written (not those ON CONFLICT DO NOTHING skipped).
        if (writes_database &&
            std::find(index_cursors.begin(), index_cursors.end(), op.p1) == index_cursors.end()) {
          index_cursors.push_back(op.p1);
          const int64_t passes = Passes(op, &e);
          int64_t cap = changes_rows_ ? changes : passes;
          if (op.on_insert) cap = std::min(cap, events.inserts);
          counts.written += std::min(passes, cap);
        }
        break;
      default:
        break;
    }
  }
  return counts;
}

}  // namespace dorm::storage
