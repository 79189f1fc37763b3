#include "storage/unix_system_call.h"

namespace dorm::storage {

bool ReplaceUnixSystemCall(const char* name, sqlite3_syscall_ptr replacement,
                           sqlite3_syscall_ptr* previous) {
  sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
  if (!unix_vfs || unix_vfs->iVersion < 3 || !unix_vfs->xGetSystemCall ||
      !unix_vfs->xSetSystemCall) {
    return false;
  }
  sqlite3_syscall_ptr current = unix_vfs->xGetSystemCall(unix_vfs, name);
  if (!current) return false;
  *previous = current;
  return unix_vfs->xSetSystemCall(unix_vfs, name, replacement) == SQLITE_OK;
}

}  // namespace dorm::storage
