// Stops SQL that runs too long. A statement (a recursive CTE that never ends, a huge join) runs
// inside SQLite, where the JavaScript engine's termination cannot reach it; each connection
// installed here polls a flag of the thread that runs the statement and aborts the statement
// (SQLITE_INTERRUPT) once the flag is set.
//
// Threading: SetThreadInterruptFlag() is per thread; the flag may be set from any thread.
#pragma once

#include <sqlite3.h>

#include <atomic>

namespace dorm::storage {

// From now on, statements run on the calling thread are interrupted while `*flag` is true.
// `flag` must outlive every statement the thread runs; nullptr turns the check off.
void SetThreadInterruptFlag(const std::atomic<bool>* flag);

// Makes `db`'s statements poll the running thread's flag every few thousand virtual-machine
// steps (cheap: a thread-local read and an atomic load).
void InstallInterruptCheck(sqlite3* db);

}  // namespace dorm::storage
