/* file.c - bounded reads, read-only maps and atomic writes: every file mlgate reads or publishes goes through here. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/file.h"
#include "mlgate/core.h"

/* "dir/name" -> "dir" ("/" for "/name", "." for "name") into dir, "name" into base. */
static void split_path(const char *path, char *dir, size_t n, const char **base)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    *base = slash ? path + (slash - dir) + 1 : path;
    if (!slash)
        snprintf(dir, n, ".");
    else
        *(slash == dir ? slash + 1 : slash) = 0;
}

static int ours(uid_t uid) { return uid == 0 || uid == geteuid(); }

/*
 * The directory a file is published in, opened, after checking that nobody else can swap what we
 * write: it exists; if it is a symlink, root or we own that link; unless MG_FILE_SHARED_OK, it is ours
 * (or root's) and not writable by others. -1 with err otherwise.
 */
static int open_dir(const char *path, int flags, const char **base, char *err, size_t errlen)
{
    char dir[4096];
    struct stat ln, st;
    split_path(path, dir, sizeof dir, base);
    if (!**base) {
        snprintf(err, errlen, "%s: a directory, not a file", path);
        return -1;
    }
    if (lstat(dir, &ln) != 0) {
        snprintf(err, errlen, "%s: the directory %s does not exist", path, dir);
        return -1;
    }
    if (S_ISLNK(ln.st_mode) && !ours(ln.st_uid)) {
        snprintf(err, errlen, "%s: %s is a symlink of another user's", path, dir);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fstat(dfd, &st) != 0) {
        snprintf(err, errlen, "%s: the directory %s %s", path, dir, errno == ENOTDIR ? "is not a directory"
                 : strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    if (!(flags & MG_FILE_SHARED_OK) && ((st.st_mode & S_IWOTH) || !ours(st.st_uid))) {
        snprintf(err, errlen, "%s: %s is %s: another user could swap the file (--allow-shared-dir to write there "
                 "anyway)", path, dir, st.st_mode & S_IWOTH ? "writable by every user" : "another user's");
        close(dfd);
        return -1;
    }
    return dfd;
}

/* What is at the target now must be a regular file, or nothing. */
static int target_ok(int dfd, const char *path, const char *base, char *err, size_t errlen)
{
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: exists and is not a regular file%s", path, S_ISLNK(st.st_mode) ? " (a symlink)" : "");
        return -1;
    }
    return 0;
}

/* Removes temp files of ours that a killed run left: ".BASE.tmp.PID.*" (or, from older versions,
 * "BASE.tmp.PID.*") of a process that is gone. */
static void clean_stale(int dfd, const char *base)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t bl = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name + (e->d_name[0] == '.');   /* ours, then an older version's */
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5))
            n = e->d_name;
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5))
            continue;
        char *end;
        long pid = strtol(n + bl + 5, &end, 10);
        struct stat st;
        if (pid <= 0 || *end != '.' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH) ||
            fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

int mg_write_atomic(const char *path, const void *data, size_t len, int flags, char *err, size_t errlen)
{
    const char *base;
    int dfd = open_dir(path, flags, &base, err, errlen);
    if (dfd < 0)
        return MG_E_IO;
    if (target_ok(dfd, path, base, err, errlen)) {
        close(dfd);
        return MG_E_IO;
    }
    clean_stale(dfd, base);
    char tmp[600];
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 16; attempt++) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        /* hidden: readers of a directory (NFD's features.d, a glob of *.json) never see a half file */
        snprintf(tmp, sizeof tmp, ".%.500s.tmp.%ld.%lx", base, (long)getpid(),
                 (unsigned long)(t.tv_nsec ^ (long)attempt * 7919));
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a file beside it: %s", path, strerror(errno));
        close(dfd);
        return MG_E_IO;
    }
    fchmod(fd, 0644);   /* whatever the umask: readers of what we publish are other processes */
    const char *p = data;
    size_t off = 0;
    int rc = MG_OK;
    while (off < len && rc == MG_OK) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "%s: %s; the old file is kept", path, w < 0 ? strerror(errno) : "short write");
            rc = MG_E_IO;
        }
        off += w > 0 ? (size_t)w : 0;
    }
    int synced = rc == MG_OK && fsync(fd) == 0, closed = close(fd) == 0;
    if (rc == MG_OK && (!synced || !closed || renameat(dfd, tmp, dfd, base))) {
        snprintf(err, errlen, "%s: %s; the old file is kept", path, strerror(errno));
        rc = MG_E_IO;
    }
    if (rc)
        unlinkat(dfd, tmp, 0);
    else
        fsync(dfd);   /* the rename itself reaches the disk with the directory */
    close(dfd);
    return rc;
}

int mg_check_writable(const char *path, int flags, char *err, size_t errlen)
{
    const char *base;
    int dfd = open_dir(path, flags, &base, err, errlen);
    if (dfd < 0)
        return MG_E_IO;
    /* Try it: permissions, a read-only filesystem, /proc - a file there is created and removed. */
    char probe[64];
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(probe, sizeof probe, ".mlgate-probe.%ld.%lx", (long)getpid(), (unsigned long)t.tv_nsec);
    int fd = openat(dfd, probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = MG_OK;
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write in its directory: %s", path, strerror(errno));
        rc = MG_E_IO;
    } else {
        close(fd);
        unlinkat(dfd, probe, 0);
        if (target_ok(dfd, path, base, err, errlen))
            rc = MG_E_IO;
    }
    close(dfd);
    return rc;
}

const char *mg_pseudo_fs(int fd)
{
    static const struct {
        unsigned long magic;
        const char *name;
    } pseudo[] = {
        {0x9fa0, "/proc"},           {0x62656572, "sysfs"},    {0x64626720, "debugfs"},
        {0x74726163, "tracefs"},     {0x73636673, "securityfs"}, {0xde5e81e4, "efivarfs"},
        {0x62656570, "configfs"},    {0xcafe4a11, "bpf"},      {0x27e0eb, "cgroup"},
        {0x63677270, "cgroup2"},
    };
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++)
        if ((unsigned long)sf.f_type == pseudo[i].magic)
            return pseudo[i].name;
    return NULL;
}

/* Opens a regular file for reading; a FIFO, socket or device is refused, never waited on, and so is
 * a file of /proc or /sys (their sizes say nothing, and some block). */
static int open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0 || fstat(fd, st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char *pseudo = S_ISREG(st->st_mode) ? mg_pseudo_fs(fd) : NULL;
    if (!S_ISREG(st->st_mode) || pseudo) {
        if (pseudo)
            snprintf(err, errlen, "a file of %s, not a file with data", pseudo);
        else
            snprintf(err, errlen, "%s", S_ISDIR(st->st_mode) ? "a directory, not a file" : "not a regular file");
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* read() until n bytes or the end: short reads and EINTR are not the end. -1 on error. */
static ssize_t read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int mg_read_all(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    struct stat st;
    int fd = open_regular(path, &st, err, errlen);
    if (fd < 0)
        return MG_E_IO;
    if ((uint64_t)st.st_size > max) {
        close(fd);
        snprintf(err, errlen, "larger than %zu bytes", max);
        return MG_E_LIMIT;
    }
    /* Its size and one byte more: a file that grew while being read is seen to be larger. */
    size_t want = (size_t)st.st_size + 1;
    char *buf = mg_malloc(want + 1);
    ssize_t n = buf ? read_full(fd, buf, want) : 0;
    int rerr = errno;
    close(fd);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    if (n < 0 || (size_t)n == want) {
        if (n < 0)
            snprintf(err, errlen, "read error: %s", strerror(rerr));
        else
            snprintf(err, errlen, "changed while being read");
        free(buf);
        return MG_E_IO;
    }
    buf[n] = 0;
    *out = buf;
    *len = (size_t)n;
    return MG_OK;
}

int mg_map_file(const char *path, const uint8_t **map, uint64_t *size, char *err, size_t errlen)
{
    *map = NULL;
    *size = 0;
    struct stat st;
    int fd = open_regular(path, &st, err, errlen);
    if (fd < 0)
        return MG_E_IO;
    *size = (uint64_t)st.st_size;
    void *m = st.st_size > 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, st.st_size > 0 ? "cannot map: %s" : "empty file", strerror(errno));
        return MG_E_FORMAT;
    }
    *map = m;
    return MG_OK;
}

void mg_unmap_file(const uint8_t *map, uint64_t size)
{
    if (map)
        munmap((void *)map, (size_t)size);
}

const char *mg_lib_path(const char *given, const char *env, const char *dflt)
{
    const char *v = given ? NULL : getenv(env);
    return given ? given : v && *v ? v : dflt;
}
