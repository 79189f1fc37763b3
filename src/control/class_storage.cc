#include "control/class_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "runtime/object_address.h"
#include "util/crypto.h"
#include "util/log.h"

namespace dorm::control {
namespace {

std::string TrashPath(const std::string& data_dir) { return data_dir + "/objects/.trash"; }

// Makes a rename or creation in `folder` durable.
void FlushFolder(const std::string& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + folder + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot flush " + folder + ": " + std::strerror(saved));
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) Log(LogLevel::kError, "cannot remove " + path + ": " + ec.message());
}

}  // namespace

void RemoveClassStorage(const std::string& data_dir, const std::string& app,
                        const std::string& class_name) {
  const std::string folder = runtime::ClassStoragePath(data_dir, app, class_name);
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) return;
  const std::string trash = TrashPath(data_dir);
  std::filesystem::create_directories(trash, ec);
  if (ec) throw std::runtime_error("cannot create " + trash + ": " + ec.message());
  // Names in the trash are unique, so that a class deleted twice (deployed again in between)
  // never meets the leftovers of its first deletion.
  const std::string target = trash + "/" + app + "." + class_name + "." + ToHex(RandomBytes(8));
  if (std::rename(folder.c_str(), target.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error("cannot move " + folder + " to " + target + ": " +
                             std::strerror(errno));
  }
  FlushFolder(trash);
  FlushFolder(std::filesystem::path(folder).parent_path().string());
  RemoveTree(target);
}

void MoveClassStorage(const std::string& data_dir, const std::string& from_app,
                      const std::string& from_storage, const std::string& to_app,
                      const std::string& to_storage) {
  const std::string from = runtime::ClassStoragePath(data_dir, from_app, from_storage);
  const std::string to = runtime::ClassStoragePath(data_dir, to_app, to_storage);
  std::error_code ec;
  if (!std::filesystem::exists(from, ec)) return;
  if (std::filesystem::exists(to, ec)) {
    throw std::runtime_error("cannot move " + from + " to " + to + ": the target exists");
  }
  const std::string to_parent = std::filesystem::path(to).parent_path().string();
  std::filesystem::create_directories(to_parent, ec);
  if (ec) throw std::runtime_error("cannot create " + to_parent + ": " + ec.message());
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    throw std::runtime_error("cannot move " + from + " to " + to + ": " + std::strerror(errno));
  }
  FlushFolder(to_parent);
  FlushFolder(std::filesystem::path(to_parent).parent_path().string());  // if to_parent is new
  FlushFolder(std::filesystem::path(from).parent_path().string());
}

void EmptyStorageTrash(const std::string& data_dir) {
  const std::string trash = TrashPath(data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(trash, ec)) return;
  for (std::filesystem::directory_iterator it(trash, ec), end; !ec && it != end; it.increment(ec)) {
    Log(LogLevel::kInfo, "removing " + it->path().string() + " (left by an interrupted deletion)");
    RemoveTree(it->path().string());
  }
  if (ec) Log(LogLevel::kError, "cannot list " + trash + ": " + ec.message());
}

}  // namespace dorm::control
