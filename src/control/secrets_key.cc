#include "control/secrets_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/aes_gcm.h"
#include "util/crypto.h"

namespace dorm::control {
namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// Writes the key to a temporary file and renames it into place, so that a crash never leaves a
// short key file behind.
void CreateKeyFile(const std::string& data_dir, const std::string& path) {
  std::string temporary = path + ".tmp";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) Fail("cannot create", temporary);
  std::string key = RandomBytes(kAes256GcmKeyBytes);
  bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                 ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  int saved_errno = errno;
  ::close(fd);
  errno = saved_errno;
  if (!written) Fail("cannot write", temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) Fail("cannot create", path);
  int dir = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

std::string SecretsKeyPath(const std::string& data_dir) { return data_dir + "/secrets.key"; }

bool SecretsKeyExists(const std::string& data_dir) {
  struct stat st;
  return ::stat(SecretsKeyPath(data_dir).c_str(), &st) == 0;
}

std::string LoadOrCreateSecretsKey(const std::string& data_dir) {
  std::string path = SecretsKeyPath(data_dir);
  if (!SecretsKeyExists(data_dir)) CreateKeyFile(data_dir, path);
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read", path);
  std::ostringstream content;
  content << in.rdbuf();
  std::string key = content.str();
  if (key.size() != kAes256GcmKeyBytes) {
    throw std::runtime_error(path + " is damaged: it must hold exactly 32 bytes, it holds " +
                             std::to_string(key.size()));
  }
  return key;
}

}  // namespace dorm::control
