// How object databases' file names become SQLite's full path names, without a system call.
//
// SQLite asks its VFS for the full path name of every database it opens (the log's and the
// journal's names are made from it). The unix VFS answers by resolving symbolic links: one
// lstat() per component of the path, each walking the path from the root again, which on this
// project's data layout is ten path walks per open. Object databases are opened again each time
// their connection was closed (idle, or under the open-connection limit), so in a burst of alarms
// or writes spread over more objects than stay open, those walks were a large part of the
// kernel's time.
//
// An object database's path is absolute and made by Dorm: the data folder, then folders and a
// file name of Dorm's own, never a symbolic link (SQLite opens the database and its log with
// O_NOFOLLOW). Linked folders in the data folder's path need no resolving: the log is named after
// the database in the same folder, which the kernel finds through the same links. So such a path
// is its own full path name. Any other (relative, or with "." or ".." components) is left to the
// wrapped VFS.
//
// Thread-safe (no state).
#pragma once

#include <sqlite3.h>

namespace dorm::storage {

// An xFullPathname for a VFS wrapper whose pAppData is the wrapped VFS: copies an absolute path
// without "." or ".." components into `out` (`out_size` bytes with the terminating NUL; a longer
// path is SQLITE_CANTOPEN, as in the unix VFS); hands any other path to the wrapped VFS.
int ObjectFullPathname(sqlite3_vfs* vfs, const char* name, int out_size, char* out);

}  // namespace dorm::storage
