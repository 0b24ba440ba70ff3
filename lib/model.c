/* model.c - model files on disk: a GGUF, or all shards of a split GGUF, mapped and parsed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "mlgate/mlgate.h"

#define MAX_SHARDS 512

static void read_shard(mg_gguf_file *s, mg_arena *a)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        s->err = MG_E_IO;
        snprintf(s->msg, sizeof s->msg, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    s->size = (uint64_t)st.st_size;
    void *m = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) {
        s->err = MG_E_IO;
        snprintf(s->msg, sizeof s->msg, "cannot map (empty file?)");
        return;
    }
    uint64_t need;
    s->err = mg_gguf_parse(m, (size_t)st.st_size, a, &s->g, &need, s->msg, sizeof s->msg);
    if (!s->err && s->g.header_bytes + s->g.data_bytes > s->size) {
        s->err = MG_E_TRUNCATED;
        snprintf(s->msg, sizeof s->msg, "truncated: the tensors need %llu bytes, the file has %llu",
                 (unsigned long long)(s->g.header_bytes + s->g.data_bytes), (unsigned long long)s->size);
    }
    munmap(m, (size_t)st.st_size);
}

/* "x-00002-of-00009.gguf" -> all nine shard names; otherwise just the file. */
static size_t shard_names(const char *path, mg_gguf_file *out, size_t max)
{
    regex_t re;
    regmatch_t m[4];
    size_t n = 0;
    if (regcomp(&re, "^(.*)-([0-9]{5})-of-([0-9]{5})\\.gguf$", REG_EXTENDED) == 0 &&
        regexec(&re, path, 4, m, 0) == 0) {
        int total = atoi(path + m[3].rm_so);
        for (int i = 1; i <= total && n < max; i++)
            snprintf(out[n++].path, sizeof out[0].path, "%.*s-%05d-of-%05d.gguf", (int)m[1].rm_eo, path, i, total);
    }
    regfree(&re);
    if (!n)
        snprintf(out[n++].path, sizeof out[0].path, "%s", path);
    return n;
}

mg_gguf_model *mg_gguf_model_open(const char *path)
{
    mg_gguf_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->arena = mg_arena_new();
    m->shards = calloc(MAX_SHARDS, sizeof *m->shards);
    if (!m->arena || !m->shards) {
        mg_gguf_model_free(m);
        return NULL;
    }
    m->nshards = shard_names(path, m->shards, MAX_SHARDS);
    for (size_t i = 0; i < m->nshards; i++)
        read_shard(&m->shards[i], m->arena);
    return m;
}

void mg_gguf_model_free(mg_gguf_model *m)
{
    if (!m)
        return;
    mg_arena_free(m->arena);
    free(m->shards);
    free(m);
}
