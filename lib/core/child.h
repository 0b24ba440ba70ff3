/*
 * child.h - a child process with a deadline: a function or a program, its output read through a pipe,
 * killed when time is up. The caller must not ignore SIGCHLD or reap children itself: then a child's
 * exit status is lost (reported as 0, `lost` set) - it is never signalled after that.
 */
#ifndef MG_CORE_CHILD_H
#define MG_CORE_CHILD_H

#include <stddef.h>
#include <sys/types.h>

typedef struct mg_child {
    pid_t pid;          /* 0: not running */
    int fd;             /* the read end of the child's output */
    int group;          /* it leads its own process group (exec): kill the group */
    int reaped;
    int status;         /* waitpid's status once reaped */
    int timed_out;      /* a read ran out of time */
    int killed;         /* mg_child_end had to kill it */
    int lost;           /* reaped by someone else (the process ignores SIGCHLD): status unknown, reported 0 */
} mg_child;

/*
 * Forks; the child runs fn(fd, arg) with fd the write end of the pipe and exits with its return
 * value. For work that may hang or crash the process (a CUDA driver): nothing of it reaches us
 * but the bytes it writes. MG_E_IO with err when the pipe or the fork fails.
 */
int mg_child_fork(mg_child *c, int (*fn)(int fd, void *arg), void *arg, char *err, size_t errlen);

/*
 * Runs argv (never through a shell) in its own process group, stdout and stderr into the pipe,
 * stdin from /dev/null. A program that cannot be started exits 127 with why on its output.
 */
int mg_child_exec(mg_child *c, const char *const *argv, char *err, size_t errlen);

/*
 * Reads what the child writes, at most n bytes, until `deadline` (mg_now() seconds). Returns the
 * bytes read, 0 at the end of its output (also when the child has exited but something it started
 * still holds the pipe), -1 when the deadline passed (timed_out set).
 */
long mg_child_read(mg_child *c, void *buf, size_t n, double deadline);
/* Reads exactly n bytes (one record): 1, or 0 at the end of output / a short record, -1 at the deadline. */
int mg_child_read_record(mg_child *c, void *buf, size_t n, double deadline);

/* Waits for it to exit until `deadline` (0: not at all), then kills it (an exec'd program with its
 * whole process group), reaps it and closes the pipe. Returns the wait status. Safe to call twice. */
int mg_child_end(mg_child *c, double deadline);

#endif
