// Replacing one of the system calls SQLite's unix VFSes make (their shared table, changed through
// the "unix" VFS's xSetSystemCall), to wrap it.
//
// Threading: call during start-up, before any database is opened; the table is read without a
// lock by every open file.
#pragma once

#include <sqlite3.h>

namespace dorm::storage {

// Stores the system call SQLite names `name` ("open", "fchown", ...) in `*previous`, for the
// replacement to call, and then puts `replacement` in its place. Returns false, changing nothing,
// when SQLite has no "unix" VFS, no such call, or no way to replace it. Never throws.
bool ReplaceUnixSystemCall(const char* name, sqlite3_syscall_ptr replacement,
                           sqlite3_syscall_ptr* previous);

}  // namespace dorm::storage
