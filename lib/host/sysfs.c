/* sysfs.c - bounded reads of small /proc and /sys files; every failure is just "unknown". */
#include "host/sysfs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long mg_read_file(const char *root, const char *path, char *buf, size_t n)
{
    char full[1024];
    if (n == 0 || snprintf(full, sizeof full, "%s%s", root ? root : "", path) >= (int)sizeof full)
        return -1;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t r = read(fd, buf + got, n - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    return (long)got;
}

int64_t mg_read_num(const char *root, const char *path)
{
    char buf[64];
    if (mg_read_file(root, path, buf, sizeof buf) <= 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 0);
    if (end == buf || v < 0)
        return -1;
    return (int64_t)v;
}

int mg_field(const char *text, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, kl) != 0)
            continue;
        const char *q = p + kl;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != ':')
            continue;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        size_t l = strcspn(q, "\n");
        if (l >= n)
            l = n - 1;
        memcpy(out, q, l);
        out[l] = 0;
        while (l && isspace((unsigned char)out[l - 1]))
            out[--l] = 0;
        return 0;
    }
    return -1;
}
