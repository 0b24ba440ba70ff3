/* child.c - one way to run work in a child process under a deadline: the driver load check, the libcuda probe, exec probes. */
#define _GNU_SOURCE   /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/child.h"
#include "mlgate/core.h"

#define SLICE_MS 100   /* how often a silent child is checked for having exited */

/* fd moved above stderr: a process started with 0-2 closed gets its pipe there, and the child's dup2
 * onto 1 and 2 would then close or keep the wrong one. */
static int above_stderr(int fd)
{
    if (fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

static int start(mg_child *c, int p[2], char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    /* CLOEXEC: a child forked meanwhile by another thread must not keep our pipe open */
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return MG_E_IO;
    }
    p[0] = above_stderr(p[0]);
    p[1] = above_stderr(p[1]);
    if (p[0] < 0 || p[1] < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        if (p[0] >= 0)
            close(p[0]);
        if (p[1] >= 0)
            close(p[1]);
        return MG_E_IO;
    }
    fflush(NULL);   /* nothing buffered is written twice */
    c->pid = fork();
    if (c->pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        c->pid = 0;
        return MG_E_IO;
    }
    return MG_OK;
}

int mg_child_fork(mg_child *c, int (*fn)(int fd, void *arg), void *arg, char *err, size_t errlen)
{
    int p[2];
    int rc = start(c, p, err, errlen);
    if (rc)
        return rc;
    if (c->pid == 0) {
        close(p[0]);
        signal(SIGPIPE, SIG_DFL);
        _exit(fn(p[1], arg));
    }
    close(p[1]);
    c->fd = p[0];
    return MG_OK;
}

int mg_child_exec(mg_child *c, const char *const *argv, char *err, size_t errlen)
{
    int p[2];
    int rc = start(c, p, err, errlen);
    if (rc)
        return rc;
    if (c->pid == 0) {
        /* a program starts as from a shell: no signal blocked or ignored (a daemon blocks and ignores some) */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        int dn = open("/dev/null", O_RDONLY);
        if (dn > 0) {
            dup2(dn, 0);
            close(dn);
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "mlgate: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(c->pid, c->pid);   /* both sides: no race with the child's own call */
    close(p[1]);
    c->fd = p[0];
    c->group = 1;
    return MG_OK;
}

/* The child has exited. It stays a zombie until mg_child_end reaps it, so that its pid (and the process
 * group it leads) cannot be reused while we may still signal them. */
static int exited(mg_child *c)
{
    if (c->reaped)
        return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (c->pid > 0 && waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
        return si.si_pid == c->pid;
    if (errno == ECHILD) {   /* reaped by someone else (SIGCHLD ignored): gone, its status unknown */
        c->reaped = c->lost = 1;
        return 1;
    }
    return 0;
}

long mg_child_read(mg_child *c, void *buf, size_t n, double deadline)
{
    for (;;) {
        double rest = deadline - mg_now();
        if (rest <= 0) {
            c->timed_out = 1;
            return -1;
        }
        int ms = rest * 1000 < SLICE_MS ? (int)(rest * 1000) + 1 : SLICE_MS;
        struct pollfd p = {c->fd, POLLIN, 0};
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno != EINTR)
            return 0;
        if (pr > 0) {
            ssize_t got = read(c->fd, buf, n);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            return got > 0 ? (long)got : 0;
        }
        /* Silent: done if the child has exited and nothing is left to read (a background process it
         * started may hold the pipe open forever). */
        if (pr == 0 && exited(c)) {
            struct pollfd q = {c->fd, POLLIN, 0};
            if (poll(&q, 1, 0) <= 0)
                return 0;
        }
    }
}

int mg_child_read_record(mg_child *c, void *buf, size_t n, double deadline)
{
    size_t got = 0;
    while (got < n) {
        long r = mg_child_read(c, (char *)buf + got, n - got, deadline);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

int mg_child_end(mg_child *c, double deadline)
{
    /* Let it finish until the deadline (it usually is exiting: its output just ended), then kill. */
    for (long ns = 1000000; c->pid > 0 && !exited(c) && mg_now() < deadline; ns = ns < 50000000 ? ns * 2 : ns) {
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
    }
    if (c->pid > 0 && !c->reaped) {
        if (!exited(c)) {
            kill(c->pid, SIGKILL);
            c->killed = 1;
        }
        if (c->group && !c->reaped)
            kill(-c->pid, SIGKILL);   /* and whatever it left running in its group (its pid is not reaped yet) */
        while (!c->reaped) {
            if (waitpid(c->pid, &c->status, 0) == c->pid)
                c->reaped = 1;
            else if (errno != EINTR)   /* someone else reaped it */
                c->reaped = c->lost = 1, c->status = 0;
        }
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return c->status;
}
