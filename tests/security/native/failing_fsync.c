/* Preloaded into a Dorm server by tests/security/flush_failure.test.mjs: while the file named by
 * DORM_TEST_FAIL_FSYNC exists, fsync(), fdatasync() and syncfs() fail with EIO, as they do on a
 * failing disk. Nothing else changes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int failing(void) {
  const char* flag = getenv("DORM_TEST_FAIL_FSYNC");
  return flag != NULL && access(flag, F_OK) == 0;
}

int fsync(int fd) {
  static int (*real)(int);
  if (failing()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (failing()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real(fd);
}

int syncfs(int fd) {
  static int (*real)(int);
  if (failing()) {
    errno = EIO;
    return -1;
  }
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
  return real(fd);
}
