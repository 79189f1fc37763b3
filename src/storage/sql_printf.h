// SQL's printf() and format() for user SQL, with their cost bounded by their output.
//
// SQLite 3.40's printf repeats a `%c` conversion precision times, one step per repetition, even
// after the output passed SQLITE_LIMIT_LENGTH: `printf('%.2147483647c', 'x')` spends about nine
// seconds inside one virtual-machine instruction, where neither the progress handler nor the
// thread's interrupt can stop it, and a format string may hold thousands of such conversions.
// The functions installed here read the format first: when a `%c` conversion asks for more
// repetitions than the length limit allows, the answer is known without running it (SQLite's own
// answer to a result over the limit: NULL); every other call runs SQLite's built-in printf
// unchanged, so results are identical to it.
//
// Threading: the built-in runs on a private in-memory connection of the calling thread, created on
// first use and closed when the thread ends.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace dorm::storage {

// Replaces printf() and format() on `db` (for every statement, Dorm's and the user's). Call once,
// right after opening it.
void InstallBoundedPrintf(sqlite3* db);

// The largest `%c` precision in `format`, reading `*` widths and precisions from `int_args` the
// way SQLite's printf reads its arguments (int_args[i] is argument i+1 of printf as an integer;
// missing arguments read as 0). Conversions after the first one SQLite stops at are not read.
// Pure; exposed for tests.
int64_t LargestCharRepeat(std::string_view format, const std::vector<int64_t>& int_args);

}  // namespace dorm::storage
