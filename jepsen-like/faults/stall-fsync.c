/*
 * The `fsync-stall` fault's mechanism, inside the member: an LD_PRELOAD shim the harness compiles into the run's
 * directory (fsync-stall.ts) and gives member processes. It interposes the calls that wait for the disk -- fsync,
 * fdatasync, syncfs, sync_file_range, msync -- and, while the file named by JEPSEN_FSYNC_STALL_FILE exists, holds
 * each one (sleeping JEPSEN_FSYNC_STALL_POLL_MS at a time) until the file is removed, then lets it through to
 * libc. A disk that takes seconds to acknowledge a flush, as a saturated or failing one does.
 *
 * LevelDB (classic-level's native binding) and libuv (node's fs.fsync, fs.fdatasync) both call these through libc,
 * on libuv's thread pool, so a held call stalls the member's writes but not its event loop.
 *
 * The first call held during a stall creates JEPSEN_FSYNC_STALL_FILE.held, so that the harness can tell the
 * stall really held a sync.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void hold_while_stalled(void) {
  const char *control = getenv("JEPSEN_FSYNC_STALL_FILE");
  if (control == NULL || control[0] == '\0' || access(control, F_OK) != 0) return;
  char held[4096];
  size_t length = strlen(control);
  if (length + sizeof(".held") <= sizeof(held)) {
    memcpy(held, control, length);
    memcpy(held + length, ".held", sizeof(".held"));
    int fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  const char *poll = getenv("JEPSEN_FSYNC_STALL_POLL_MS");
  long poll_ms = poll == NULL ? 10 : atol(poll);
  if (poll_ms <= 0) poll_ms = 10;
  struct timespec pause = {poll_ms / 1000, (poll_ms % 1000) * 1000000L};
  while (access(control, F_OK) == 0) nanosleep(&pause, NULL);
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int fsync(int fd) {
  hold_while_stalled();
  return REAL(fsync)(fd);
}

int fdatasync(int fd) {
  hold_while_stalled();
  return REAL(fdatasync)(fd);
}

int syncfs(int fd) {
  hold_while_stalled();
  return REAL(syncfs)(fd);
}

int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags) {
  hold_while_stalled();
  return REAL(sync_file_range)(fd, offset, nbytes, flags);
}

int msync(void *addr, size_t length, int flags) {
  /* Only a synchronous msync waits for the disk. */
  if (flags & MS_SYNC) hold_while_stalled();
  return REAL(msync)(addr, length, flags);
}
