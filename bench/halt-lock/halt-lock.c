/*
 * halt-lock: holds LiteFS's halt lock for the benchmark (bench/halt-lock.ts), driven one line at a time.
 *
 * LiteFS's own write forwarding: on a replica, an OFD write lock on byte 72 of `<db>-lock` in the FUSE mount
 * borrows the primary's write lock (LiteFS v0.5.14, fuse/lock_node.go, LockTypeHalt). Node cannot take OFD locks
 * without a native addon, so this process holds the lock and the bench writes with its own connection meanwhile.
 *
 *   usage: halt-lock <mount>/<db>-lock
 *   stdin:  "lock\n" | "unlock\n"          (EOF: close the file, which also releases the lock, and exit 0)
 *   stdout: "ready\n" once the file is open, then per command
 *           "locked <µs>\n" | "unlocked <µs>\n"  (<µs>: time spent in fcntl)
 *           "error <command> <errno> <message>\n"
 *
 * One open file description per process: an OFD lock belongs to it, and LiteFS keeps one halt lock per handle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* LiteFS's halt byte (litefs.go, LockTypeHalt = 72). */
#define HALT_BYTE 72

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* F_OFD_SETLKW waits; LiteFS answers once the primary has halted and this replica has caught up to it. */
static int set_halt_lock(int fd, short type) {
  struct flock lock;
  memset(&lock, 0, sizeof lock);
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = HALT_BYTE;
  lock.l_len = 1;
  lock.l_pid = 0; /* must be 0 for OFD locks */
  for (;;) {
    if (fcntl(fd, F_OFD_SETLKW, &lock) == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <mount>/<db>-lock\n", argv[0]);
    return 2;
  }
  /* Never outlive the bench process that drives it, even one killed with SIGKILL: an orphan would keep a file in
   * the mount open. (getppid() == 1: the parent was already gone before prctl.) */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1) return 1;
  int fd = open(argv[1], O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    printf("error open %d %s\n", errno, strerror(errno));
    fflush(stdout);
    return 1;
  }
  /* Line-buffered both ways: the driver waits for each answer before its next command. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");

  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    short type;
    const char *answer;
    if (strcmp(line, "lock") == 0) {
      type = F_WRLCK;
      answer = "locked";
    } else if (strcmp(line, "unlock") == 0) {
      type = F_UNLCK;
      answer = "unlocked";
    } else {
      printf("error %s %d unknown command\n", line, EINVAL);
      continue;
    }
    double started = now_us();
    if (set_halt_lock(fd, type) != 0) {
      printf("error %s %d %s\n", line, errno, strerror(errno));
      continue;
    }
    printf("%s %.1f\n", answer, now_us() - started);
  }
  /* Closing flushes the handle, and LiteFS releases a halt lock still held. */
  close(fd);
  return 0;
}
