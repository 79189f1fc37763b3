#include "storage/object_file_name.h"

#include <cstring>
#include <string_view>

namespace dorm::storage {

namespace {

// Whether `path` is absolute and has no "." or ".." component (so no lexical step would change
// it; repeated slashes are left as they are, which the kernel reads as one).
bool IsPlainAbsolute(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

int ObjectFullPathname(sqlite3_vfs* vfs, const char* name, int out_size, char* out) {
  auto* real = static_cast<sqlite3_vfs*>(vfs->pAppData);
  std::string_view path(name);
  if (!IsPlainAbsolute(path)) return real->xFullPathname(real, name, out_size, out);
  if (out_size <= 0 || path.size() >= static_cast<size_t>(out_size)) return SQLITE_CANTOPEN;
  std::memcpy(out, path.data(), path.size());
  out[path.size()] = '\0';
  return SQLITE_OK;
}

}  // namespace dorm::storage
