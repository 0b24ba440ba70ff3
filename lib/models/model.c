/* model.c - model files on disk: a GGUF, or all shards of a split GGUF, mapped and parsed. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "mlgate/mlgate.h"

#define MAX_SHARDS 512

static int is_url(const char *p) { return !strncmp(p, "http://", 7) || !strncmp(p, "https://", 8); }

/* A parsed shard whose tensors reach past the end of the file is truncated. */
static void check_size(mg_gguf_file *s)
{
    if (!s->err && s->g.header_bytes + s->g.data_bytes > s->size) {
        s->err = MG_E_TRUNCATED;
        snprintf(s->msg, sizeof s->msg, "truncated: the tensors need %llu bytes, the file has %llu",
                 (unsigned long long)(s->g.header_bytes + s->g.data_bytes), (unsigned long long)s->size);
    }
}

/* The whole file mapped read-only, its size in *size; MAP_FAILED with *err and msg when it cannot be
 * opened, MAP_FAILED with *err 0 when it is empty or cannot be mapped (the caller says which error). */
static void *map_file(const char *path, uint64_t *size, int *err, char *msg, size_t msglen)
{
    *err = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *err = MG_E_IO;
        snprintf(msg, msglen, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return MAP_FAILED;
    }
    *size = (uint64_t)st.st_size;
    void *m = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    return m;
}

/*
 * A GGUF header over HTTP: the first 4 MiB (one request for nearly every model),
 * then as much more as the parser says it needs, doubling, up to MG_REMOTE_MAX.
 */
static void read_gguf_remote(mg_gguf_file *s, mg_arena *a, mg_fetch_stats *st)
{
    uint64_t want = 4u << 20, total = 0;
    for (;;) {
        uint8_t *buf;
        size_t got;
        s->err = mg_remote_read(s->path, 0, want, &buf, &got, &total, st, s->msg, sizeof s->msg);
        if (s->err)
            return;
        s->size = total;
        uint64_t need = 0;
        s->err = mg_gguf_parse(buf, got, a, &s->g, &need, s->msg, sizeof s->msg);
        free(buf);
        if (s->err != MG_E_TRUNCATED || got < want || want >= MG_REMOTE_MAX)
            break;   /* parsed, broken, or the file itself ends there */
        want = need > want * 2 ? need : want * 2;
        if (want > MG_REMOTE_MAX)
            want = MG_REMOTE_MAX;
    }
    if (s->size)
        check_size(s);
}

static void read_shard(mg_gguf_file *s, mg_arena *a)
{
    void *m = map_file(s->path, &s->size, &s->err, s->msg, sizeof s->msg);
    if (m == MAP_FAILED) {
        if (!s->err) {
            s->err = MG_E_IO;
            snprintf(s->msg, sizeof s->msg, "cannot map (empty file?)");
        }
        return;
    }
    uint64_t need;
    s->err = mg_gguf_parse(m, (size_t)s->size, a, &s->g, &need, s->msg, sizeof s->msg);
    check_size(s);
    munmap(m, (size_t)s->size);
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
    for (size_t i = 0; i < m->nshards; i++) {
        if (is_url(m->shards[i].path))
            read_gguf_remote(&m->shards[i], m->arena, &m->remote);
        else
            read_shard(&m->shards[i], m->arena);
    }
    return m;
}

void mg_llama_cpp_need(const mg_gguf_model *m, mg_llama_need *out)
{
    memset(out, 0, sizeof *out);
    const char *arch = NULL;
    for (size_t i = 0; i < m->nshards && !arch; i++)
        if (!m->shards[i].err)
            arch = mg_gguf_str(&m->shards[i].g, "general.architecture");
    out->build = mg_llama_cpp_since(arch);
    if (!out->build)
        return;
    for (size_t i = 0; i < m->nshards; i++) {
        const mg_gguf *g = &m->shards[i].g;
        for (uint64_t t = 0; !m->shards[i].err && t < g->n_tensors; t++) {
            int b = mg_llama_cpp_type_since(g->tensors[t].type);
            if (b > out->build) {
                out->build = b;
                out->by_type = 1;
                out->type = g->tensors[t].type;
            }
        }
    }
    out->before = mg_llama_cpp_before(out->build);
}

void mg_gguf_model_free(mg_gguf_model *m)
{
    if (!m)
        return;
    mg_arena_free(m->arena);
    free(m->shards);
    free(m);
}

/* ---- safetensors: one file, an index of shards, or a directory --------- */

static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(max + 1);
    size_t n = b ? fread(b, 1, max, f) : 0;
    fclose(f);
    if (!b)
        return NULL;
    b[n] = 0;
    *len = n;
    return b;
}

static void read_st(mg_st_file *s, mg_arena *a)
{
    void *m = map_file(s->path, &s->size, &s->err, s->msg, sizeof s->msg);
    if (m == MAP_FAILED) {
        if (!s->err) {
            s->err = MG_E_FORMAT;
            snprintf(s->msg, sizeof s->msg, "empty or unmappable file");
        }
        return;
    }
    uint64_t need;
    s->err = mg_safetensors_parse(m, (size_t)s->size, s->size, a, &s->st, &need, s->msg, sizeof s->msg);
    munmap(m, (size_t)s->size);
}

/* A whole small remote file (an index or config.json), NUL-terminated; NULL if absent. */
static char *fetch_text(const char *url, size_t max, size_t *len, mg_fetch_stats *st)
{
    uint8_t *buf;
    size_t got;
    uint64_t total;
    char err[256];
    if (mg_remote_read(url, 0, max, &buf, &got, &total, st, err, sizeof err))
        return NULL;
    char *t = realloc(buf, got + 1);
    if (!t) {
        free(buf);
        return NULL;
    }
    t[got] = 0;
    *len = got;
    return t;
}

static void read_st_remote(mg_st_file *s, mg_arena *a, mg_fetch_stats *st)
{
    uint64_t want = 1u << 20, total = 0;
    for (int round = 0; round < 2; round++) {
        uint8_t *buf;
        size_t got;
        s->err = mg_remote_read(s->path, 0, want, &buf, &got, &total, st, s->msg, sizeof s->msg);
        if (s->err)
            return;
        s->size = total;
        uint64_t need = 0;
        s->err = mg_safetensors_parse(buf, got, s->size, a, &s->st, &need, s->msg, sizeof s->msg);
        free(buf);
        if (s->err != MG_E_TRUNCATED || !need || need <= want || need > MG_REMOTE_MAX)
            return;
        want = need;   /* the header is longer than 1 MiB: one more request for exactly it */
    }
}

static void read_config(mg_st_model *m, const char *dir)
{
    char path[1100];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *txt = is_url(dir) ? fetch_text(path, 4u << 20, &len, &m->remote) : slurp(path, 4u << 20, &len);
    if (!txt)
        return;
    cJSON *c = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (!c)
        return;
    m->has_config = 1;
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(c, "architectures");
    if (cJSON_IsArray(arch) && cJSON_IsString(arch->child))
        snprintf(m->architecture, sizeof m->architecture, "%s", arch->child->valuestring);
    /* Multimodal configs keep the language model's shape in text_config. */
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(c, "text_config");
    const cJSON *src = cJSON_IsObject(tc) ? tc : c;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    if (cJSON_IsString(mt))
        snprintf(m->model_type, sizeof m->model_type, "%s", mt->valuestring);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(c, "torch_dtype");
    if (!cJSON_IsString(dt))
        dt = cJSON_GetObjectItemCaseSensitive(c, "dtype");
    if (cJSON_IsString(dt))
        snprintf(m->torch_dtype, sizeof m->torch_dtype, "%s", dt->valuestring);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(c, "quantization_config");
    const cJSON *qm = cJSON_IsObject(q) ? cJSON_GetObjectItemCaseSensitive(q, "quant_method") : NULL;
    if (cJSON_IsString(qm))
        snprintf(m->quant_method, sizeof m->quant_method, "%s", qm->valuestring);
    struct { const char *key; uint64_t *out; } nums[] = {
        {"hidden_size", &m->hidden_size}, {"num_hidden_layers", &m->layers}, {"num_attention_heads", &m->heads},
        {"num_key_value_heads", &m->kv_heads}, {"max_position_embeddings", &m->context}, {"vocab_size", &m->vocab},
        {"head_dim", &m->head_dim}, {"intermediate_size", &m->intermediate},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, nums[i].key);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15)
            *nums[i].out = (uint64_t)v->valuedouble;
    }
    cJSON_Delete(c);
}

static int add_st(mg_st_model *m, const char *path)
{
    for (size_t i = 0; i < m->nshards; i++)
        if (!strcmp(m->shards[i].path, path))
            return 0;
    if (m->nshards >= MAX_SHARDS)
        return -1;
    snprintf(m->shards[m->nshards++].path, sizeof m->shards[0].path, "%s", path);
    return 0;
}

mg_st_model *mg_st_model_open(const char *path)
{
    mg_st_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->arena = mg_arena_new();
    m->shards = calloc(MAX_SHARDS, sizeof *m->shards);
    if (!m->arena || !m->shards) {
        mg_st_model_free(m);
        return NULL;
    }
    char dir[1024], index[1100];
    struct stat st;
    snprintf(dir, sizeof dir, "%s", path);
    int remote = is_url(path);
    int is_dir = !remote && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!is_dir) {
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
    } else {
        /* A diffusers layout keeps the weights of the main model in transformer/ or unet/. */
        const char *sub[] = {"", "/transformer", "/unet"};
        for (size_t i = 0; i < 3; i++) {
            char d[1024];
            snprintf(d, sizeof d, "%.900s%s", path, sub[i]);
            snprintf(index, sizeof index, "%s/model.safetensors.index.json", d);
            char single[1100];
            snprintf(single, sizeof single, "%s/model.safetensors", d);
            char diff[1100];
            snprintf(diff, sizeof diff, "%s/diffusion_pytorch_model.safetensors", d);
            if (access(index, F_OK) == 0 || access(single, F_OK) == 0 || access(diff, F_OK) == 0 ||
                (snprintf(diff, sizeof diff, "%s/diffusion_pytorch_model.safetensors.index.json", d), access(diff, F_OK) == 0)) {
                snprintf(dir, sizeof dir, "%s", d);
                break;
            }
        }
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    read_config(m, dir);
    /* Which shards: the index's weight_map, a single file, or every .safetensors in the directory. */
    const char *idx_names[] = {"model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json"};
    int have_index = 0;
    for (size_t k = 0; k < 2 && !have_index; k++) {
        if (!is_dir && strstr(path, ".index.json"))
            snprintf(index, sizeof index, "%s", path);
        else
            snprintf(index, sizeof index, "%s/%s", dir, idx_names[k]);
        size_t len;
        char *txt = !(is_dir || strstr(path, ".index.json")) ? NULL
                    : remote ? fetch_text(index, MG_REMOTE_MAX, &len, &m->remote) : slurp(index, 512u << 20, &len);
        if (!txt)
            continue;
        cJSON *j = cJSON_ParseWithLength(txt, len);
        free(txt);
        const cJSON *wm = j ? cJSON_GetObjectItemCaseSensitive(j, "weight_map") : NULL;
        if (cJSON_IsObject(wm)) {
            have_index = 1;
            for (const cJSON *e = wm->child; e; e = e->next)
                if (cJSON_IsString(e) && !strchr(e->valuestring, '/')) {
                    char p[1100];
                    snprintf(p, sizeof p, "%s/%s", dir, e->valuestring);
                    add_st(m, p);
                }
            const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
            const cJSON *ts = md ? cJSON_GetObjectItemCaseSensitive(md, "total_size") : NULL;
            if (cJSON_IsNumber(ts))
                m->index_total_size = (uint64_t)ts->valuedouble;
        }
        cJSON_Delete(j);
    }
    if (!have_index) {
        if (!is_dir) {
            add_st(m, path);
        } else {
            const char *names[] = {"model.safetensors", "diffusion_pytorch_model.safetensors"};
            for (size_t k = 0; k < 2; k++) {
                char p[1100];
                snprintf(p, sizeof p, "%s/%s", dir, names[k]);
                if (access(p, F_OK) == 0)
                    add_st(m, p);
            }
        }
    }
    for (size_t i = 0; i < m->nshards; i++) {
        if (remote)
            read_st_remote(&m->shards[i], m->arena, &m->remote);
        else
            read_st(&m->shards[i], m->arena);
    }
    return m;
}

void mg_st_model_free(mg_st_model *m)
{
    if (!m)
        return;
    mg_arena_free(m->arena);
    free(m->shards);
    free(m);
}
