/* fuzz.h - what the fuzz targets share: invariant checks that abort, exact-size copies, a scratch directory, JSON read back. */
#ifndef MG_FUZZ_H
#define MG_FUZZ_H

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 128-bit sums and products, to check the library's 64-bit ones without wrapping ourselves (gcc, clang). */
__extension__ typedef unsigned __int128 u128;
/* A sum the library saturates (core/arith.h): v is the exact sum, or UINT64_MAX when that is larger. */
#define FUZZ_SAT_EQ(sum, v) ((sum) > UINT64_MAX ? (v) == UINT64_MAX : (u128)(v) == (sum))

/* An invariant that must hold whatever the input: a violation is a finding (abort, so that libFuzzer
 * keeps the input and the replay test fails). */
#define FUZZ_CHECK(cond, ...)                                                                          \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                              \
            fputc('\n', stderr);                                                                       \
            abort();                                                                                   \
        }                                                                                              \
    } while (0)

/*
 * Findings already reported can be stepped over for a long run: MLGATE_FUZZ_KNOWN="tag,tag" names
 * them (tests/fuzz/crashes/README.md lists the tags). Unset (the replay tests), every check aborts.
 */
static inline int fuzz_known(const char *tag)
{
    const char *k = getenv("MLGATE_FUZZ_KNOWN");
    size_t n = strlen(tag);
    for (const char *p = k; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && !strncmp(p, tag, n))
            return 1;
        p += l + (p[l] == ',');
    }
    return 0;
}

/* FUZZ_CHECK for a finding known by its tag: stepped over when MLGATE_FUZZ_KNOWN names it. */
#define FUZZ_CHECK_KNOWN(tag, cond, ...)                                                               \
    do {                                                                                               \
        if (!(cond) && !fuzz_known(tag))                                                               \
            FUZZ_CHECK(cond, __VA_ARGS__);                                                             \
    } while (0)

/* A private copy of exactly n bytes (ASan catches a read past the end); free it. */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (b && n)
        memcpy(b, data, n);
    return b;
}

/* The same, NUL-terminated (text the library gets from a file reader that terminates it). */
static inline char *fuzz_text(const uint8_t *data, size_t n)
{
    char *t = malloc(n + 1);
    if (t) {
        if (n)
            memcpy(t, data, n);
        t[n] = 0;
    }
    return t;
}

/* A saturating sum, to compare with the library's sums without wrapping ourselves. */
static inline uint64_t fuzz_sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* This process's scratch directory (tmpfs where there is one), made on first use and removed at exit
 * with what the targets put in it (flat: the targets write files and at most one level of directories). */
static char fuzz_dir_path[256];

static void fuzz_dir_cleanup(void)
{
    char cmd[600];
    /* a fixed path of this process's own making (no quote in it): a plain rm -r is enough */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (fuzz_dir_path[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_path);
}

static inline const char *fuzz_dir(void)
{
    if (fuzz_dir_path[0])
        return fuzz_dir_path;
    const char *bases[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (!bases[i] || !bases[i][0])
            continue;
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/mlgate-fuzz-%ld", bases[i], (long)getpid());
        if (mkdir(fuzz_dir_path, 0700) == 0 || errno == EEXIST) {
            atexit(fuzz_dir_cleanup);
            return fuzz_dir_path;
        }
    }
    fprintf(stderr, "fuzz: no scratch directory\n");
    abort();
}

/* dir/name in the scratch directory, into buf. */
static inline const char *fuzz_path(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Makes dir/name (a directory; fine if it is there). */
static inline void fuzz_mkdir(const char *name)
{
    char path[512];
    if (mkdir(fuzz_path(name, path, sizeof path), 0700) && errno != EEXIST) {
        fprintf(stderr, "fuzz: cannot make %s: %s\n", path, strerror(errno));
        abort();
    }
}

/* Writes n bytes to dir/name (replacing it). */
static inline void fuzz_write(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
}

/* Runs a JSON writer into memory and checks that what it wrote is one valid JSON document. */
#define FUZZ_JSON_VALID(call_with_f)                                                                   \
    do {                                                                                               \
        char *buf_ = NULL;                                                                             \
        size_t len_ = 0;                                                                               \
        FILE *f = open_memstream(&buf_, &len_);                                                        \
        if (f) {                                                                                       \
            call_with_f;                                                                               \
            fclose(f);                                                                                 \
            cJSON *j_ = cJSON_ParseWithLength(buf_, len_);                                             \
            FUZZ_CHECK(j_ != NULL, "the JSON written does not parse: %.300s", buf_);                   \
            cJSON_Delete(j_);                                                                          \
            free(buf_);                                                                                \
        }                                                                                              \
    } while (0)

/* ---- small valid model files, for the targets that fuzz what sits beside them ---- */

typedef struct fuzz_buf {
    uint8_t *p;
    size_t n, cap;
} fuzz_buf;

static inline void fb_put(fuzz_buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        if (!(b->p = realloc(b->p, b->cap)))
            abort();
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void fb_u32(fuzz_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fb_put(b, x, 4);
}

static inline void fb_u64(fuzz_buf *b, uint64_t v)
{
    fb_u32(b, (uint32_t)v);
    fb_u32(b, (uint32_t)(v >> 32));
}

static inline void fb_str(fuzz_buf *b, const char *s)
{
    fb_u64(b, strlen(s));
    fb_put(b, s, strlen(s));
}

/* A GGUF v3 llama with 2 blocks (one of MoE experts), tied embeddings, a 3-token vocabulary. */
static inline fuzz_buf fuzz_tiny_gguf(void)
{
    fuzz_buf b = {0};
    static const struct { const char *name; uint32_t type; uint64_t ne0, ne1, ne2, bytes; } t[] = {
        {"token_embd.weight", 0, 64, 3, 1, 64 * 3 * 4},
        {"blk.0.attn_q.weight", 1, 64, 64, 1, 64 * 64 * 2},
        {"blk.1.ffn_up_exps.weight", 8, 64, 32, 4, 2 * 34 * 32 * 4},
    };
    fb_put(&b, "GGUF", 4);
    fb_u32(&b, 3);
    fb_u64(&b, 3);   /* tensors */
    fb_u64(&b, 7);   /* metadata */
    fb_str(&b, "general.architecture"), fb_u32(&b, 8), fb_str(&b, "llama");
    fb_str(&b, "llama.block_count"), fb_u32(&b, 4), fb_u32(&b, 2);
    fb_str(&b, "llama.embedding_length"), fb_u32(&b, 4), fb_u32(&b, 64);
    fb_str(&b, "llama.attention.head_count"), fb_u32(&b, 4), fb_u32(&b, 4);
    fb_str(&b, "llama.attention.head_count_kv"), fb_u32(&b, 4), fb_u32(&b, 2);
    fb_str(&b, "llama.context_length"), fb_u32(&b, 4), fb_u32(&b, 2048);
    fb_str(&b, "tokenizer.ggml.tokens"), fb_u32(&b, 9), fb_u32(&b, 8), fb_u64(&b, 3);
    fb_str(&b, "a"), fb_str(&b, "b"), fb_str(&b, "c");
    uint64_t off = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        fb_str(&b, t[i].name);
        fb_u32(&b, t[i].ne2 > 1 ? 3 : 2);
        fb_u64(&b, t[i].ne0), fb_u64(&b, t[i].ne1);
        if (t[i].ne2 > 1)
            fb_u64(&b, t[i].ne2);
        fb_u32(&b, t[i].type), fb_u64(&b, off);
        off += (t[i].bytes + 31) / 32 * 32;
    }
    static const uint8_t zero[32];
    while (b.n % 32)
        fb_put(&b, zero, 1);
    for (uint64_t i = 0; i < off; i += 32)
        fb_put(&b, zero, 32);
    return b;
}

/* A safetensors file of one F32 tensor of two elements (name `w`). */
static inline fuzz_buf fuzz_tiny_safetensors(const char *name)
{
    fuzz_buf b = {0};
    char h[256];
    int n = snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", name);
    while (n % 8)
        h[n++] = ' ';
    fb_u64(&b, (uint64_t)n);
    fb_put(&b, h, (size_t)n);
    fb_put(&b, "\0\0\x80\x3f\0\0\x80\x3f", 8);
    return b;
}

#endif
