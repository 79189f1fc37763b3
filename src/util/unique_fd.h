// An owned file descriptor, closed when the owner goes (on every path out, exceptions
// included). Not copyable. A negative value (a failed open) owns nothing.
#pragma once

#include <unistd.h>

namespace dorm {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace dorm
