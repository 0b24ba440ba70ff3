/* file.c - bounded reads, read-only maps and atomic writes: every file mlgate reads or publishes goes through here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/file.h"
#include "mlgate/core.h"

/* "dir/name" -> "dir" ("/" for "/name", "." for "name"), into buf. */
static const char *dir_of(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else
        *(slash == buf ? slash + 1 : slash) = 0;
    return buf;
}

int mg_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char tmp[4200];
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 16; attempt++) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        snprintf(tmp, sizeof tmp, "%.4000s.tmp.%ld.%lx", path, (long)getpid(),
                 (unsigned long)(t.tv_nsec ^ (long)attempt * 7919));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return MG_E_IO;
    }
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "%s: %s", tmp, w < 0 ? strerror(errno) : "short write");
            close(fd);
            unlink(tmp);
            return MG_E_IO;
        }
        off += (size_t)w;
    }
    int synced = fsync(fd) == 0, closed = close(fd) == 0;
    if (!synced || !closed || rename(tmp, path)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return MG_E_IO;
    }
    /* the rename itself reaches the disk with the directory */
    char dir[4200];
    int dfd = open(dir_of(path, dir, sizeof dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return MG_OK;
}

int mg_check_writable(const char *path, char *err, size_t errlen)
{
    char dir[4200];
    struct stat st;
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: the directory %s does not exist", path, dir);
        return MG_E_IO;
    }
    /* Try it: permissions, a read-only filesystem, /proc - a file there is created and removed. */
    char probe[4300];
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(probe, sizeof probe, "%s/.mlgate-probe.%ld.%lx", dir, (long)getpid(), (unsigned long)t.tv_nsec);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write in %s: %s", path, dir, strerror(errno));
        return MG_E_IO;
    }
    close(fd);
    unlink(probe);
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: exists and is not a regular file", path);
        return MG_E_IO;
    }
    return MG_OK;
}

/* Opens a regular file for reading; a FIFO or device is refused, never waited on. */
static int open_regular(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s", S_ISDIR(st.st_mode) ? "a directory, not a file" : "not a regular file");
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int mg_read_all(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    int fd = open_regular(path, err, errlen);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0) {
            snprintf(err, errlen, "cannot open: %s", strerror(errno));
            close(fd);
        }
        return MG_E_IO;
    }
    char *buf = mg_malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    if (bad || n > max) {
        if (bad)
            snprintf(err, errlen, "read error");
        else
            snprintf(err, errlen, "larger than %zu bytes", max);
        free(buf);
        return bad ? MG_E_IO : MG_E_LIMIT;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return MG_OK;
}

int mg_map_file(const char *path, const uint8_t **map, uint64_t *size, char *err, size_t errlen)
{
    *map = NULL;
    *size = 0;
    struct stat st;
    int fd = open_regular(path, err, errlen);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return MG_E_IO;
    }
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
