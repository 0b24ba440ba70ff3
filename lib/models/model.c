/* model.c - model files, local or remote: GGUF (all shards of a split one), safetensors (files, indexes, directories with config.json), opened once, summarised. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/arith.h"
#include "core/file.h"
#include "core/jsonscan.h"
#include "models/formats.h"

#define MAX_SHARDS 512
#define ST_FIRST_SHARDS 4   /* a power of two: add_st doubles the shard array from there */


/* A parsed shard whose tensors reach past the end of the file is truncated. */
void mg_gguf_check_size(mg_gguf_file *s)
{
    uint64_t need = mg_sat_add(s->g.header_bytes, s->g.data_bytes);   /* saturated sizes stay too large */
    if (!s->err && need > s->size) {
        s->err = MG_E_TRUNCATED;
        snprintf(s->msg, sizeof s->msg, "truncated: the tensors need %llu bytes, the file has %llu",
                 (unsigned long long)need, (unsigned long long)s->size);
    }
}

/*
 * A GGUF header over HTTP: the first 4 MiB (one request for nearly every model), then the next
 * bytes the parser says it needs, at least doubling what is held, up to MG_REMOTE_MAX. Each request
 * asks only for the bytes not yet held; a server without Range support is read once more from 0,
 * up to MG_REMOTE_MAX.
 */
void mg_gguf_read_remote(mg_gguf_file *s, mg_arena *a, mg_fetch_stats *st, double until, uint64_t first,
                         uint8_t **keep, size_t *kept)
{
    uint64_t want = first ? first : 4u << 20, total = 0;
    uint8_t *held = NULL;
    size_t have = 0;
    int ranges = 1;   /* the server answers ranges; if not, every read starts at 0 */
    for (;;) {
        uint8_t *buf;
        size_t got;
        if (!ranges)
            have = 0;
        s->err = mg_remote_read(s->path, have, want - have, until, &buf, &got, &total, st, s->msg, sizeof s->msg);
        if (s->err == MG_E_UNSUPPORTED && have) {
            ranges = have = 0;
            want = MG_REMOTE_MAX;   /* each read starts at 0 again: one more, as far as mlgate reads */
            s->err = mg_remote_read(s->path, 0, want, until, &buf, &got, &total, st, s->msg, sizeof s->msg);
        }
        if (s->err)
            break;
        uint8_t *more = mg_realloc(held, have + got + 1);
        if (!more) {
            free(buf);
            s->err = MG_E_NOMEM;
            snprintf(s->msg, sizeof s->msg, "out of memory");
            break;
        }
        held = more;
        memcpy(held + have, buf, got);
        free(buf);
        int ended = have + got < want;   /* the file itself ends here */
        have += got;
        s->size = total;
        /* The file's size bounds what the header may declare; unknown, only a short read tells it. */
        uint64_t size = total > have ? total : ended ? have : UINT64_MAX, need = 0;
        s->err = mg_gguf_parse_part(held, have, size, a, &s->g, &need, s->msg, sizeof s->msg);
        if (s->err != MG_E_TRUNCATED || ended || want >= MG_REMOTE_MAX || need > size)
            break;   /* parsed, broken, or the file cannot hold more */
        /* Double, or jump ahead to what the entries read so far say, but never more than 4x a step:
           a header that declares much and holds little costs little. */
        uint64_t next = want * 2, jump = need < want * 4 ? need : want * 4;
        want = jump > next ? jump : next;
        if (want > MG_REMOTE_MAX)
            want = MG_REMOTE_MAX;
    }
    if (keep && !s->err) {   /* the caller keeps the bytes read (the hub's header cache) */
        *keep = held;
        *kept = have;
    } else {
        free(held);
    }
    if (!s->err && s->size)
        mg_gguf_check_size(s);
}

static void read_shard(mg_gguf_file *s, mg_arena *a)
{
    const uint8_t *m;
    if (mg_map_file(s->path, &m, &s->size, s->msg, sizeof s->msg)) {
        s->err = MG_E_IO;
        return;
    }
    uint64_t need;
    s->err = mg_gguf_parse(m, (size_t)s->size, a, &s->g, &need, s->msg, sizeof s->msg);
    mg_gguf_check_size(s);
    mg_unmap_file(m, s->size);
}

/* "x-00002-of-00009.gguf" -> all nine shard names (out NULL: only how many); otherwise just the file. */
static size_t shard_names(const char *path, mg_gguf_file *out, size_t max)
{
    regex_t re;
    regmatch_t m[4];
    size_t n = 0;
    if (regcomp(&re, "^(.*)-([0-9]{5})-of-([0-9]{5})\\.gguf$", REG_EXTENDED) == 0 &&
        regexec(&re, path, 4, m, 0) == 0) {
        int total = atoi(path + m[3].rm_so);
        for (int i = 1; i <= total && n < max; i++, n++)
            if (out)
                snprintf(out[n].path, sizeof out[0].path, "%.*s-%05d-of-%05d.gguf", (int)m[1].rm_eo, path, i, total);
    }
    regfree(&re);
    if (!n && out)
        snprintf(out[0].path, sizeof out[0].path, "%s", path);
    return n ? n : 1;
}

static mg_gguf_model *gguf_open(const char *path, double until)
{
    mg_gguf_model *m = mg_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t n = shard_names(path, NULL, MAX_SHARDS);   /* as many shard records as its name says, no more */
    m->arena = mg_arena_new();
    m->shards = mg_calloc(n, sizeof *m->shards);
    if (!m->arena || !m->shards) {
        mg_gguf_model_free(m);
        return NULL;
    }
    m->nshards = shard_names(path, m->shards, n);
    for (size_t i = 0; i < m->nshards; i++) {
        if (mg_is_url(m->shards[i].path))
            mg_gguf_read_remote(&m->shards[i], m->arena, &m->remote, until, i ? MG_SHARD_FIRST_READ : 0, NULL, NULL);
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

int mg_llama_cpp_refuses(const mg_gguf_model *m)
{
    if (!m->nshards || m->shards[0].err)
        return 0;   /* unread: the read error says it */
    const char *arch = mg_gguf_str(&m->shards[0].g, "general.architecture");
    const char *type = mg_gguf_str(&m->shards[0].g, "general.type");
    if ((arch && !strcmp(arch, "clip")) || (type && !strcmp(type, "adapter")))
        return 0;   /* a projector or an adapter: loaded beside a model, by other rules */
    mg_llama_need need;
    mg_llama_cpp_need(m, &need);
    return need.build == 0;
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

/* A whole small local file (an index or config.json), NUL-terminated; NULL if absent or too large. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    char *t, err[256];
    return mg_read_all(path, max, &t, len, err, sizeof err) == MG_OK ? t : NULL;
}

static void read_st(mg_st_file *s, mg_arena *a)
{
    const uint8_t *m;
    int rc = mg_map_file(s->path, &m, &s->size, s->msg, sizeof s->msg);
    if (rc) {
        s->err = rc;
        return;
    }
    s->err = mg_safetensors_parse_mapped(m, (size_t)s->size, a, &s->st, s->msg, sizeof s->msg);
    mg_unmap_file(m, s->size);
}

/* A whole small remote file (an index or config.json), NUL-terminated; NULL if absent. */
static char *fetch_text(const char *url, size_t max, size_t *len, mg_fetch_stats *st, double until)
{
    uint8_t *buf;
    size_t got;
    uint64_t total;
    char err[256];
    if (mg_remote_read(url, 0, max, until, &buf, &got, &total, st, err, sizeof err))
        return NULL;
    char *t = mg_realloc(buf, got + 1);
    if (!t) {
        free(buf);
        return NULL;
    }
    t[got] = 0;
    *len = got;
    return t;
}

static void read_st_remote(mg_st_file *s, mg_arena *a, mg_fetch_stats *st, double until)
{
    uint64_t want = 1u << 20, total = 0;
    for (int round = 0; round < 2; round++) {
        uint8_t *buf;
        size_t got;
        s->err = mg_remote_read(s->path, 0, want, until, &buf, &got, &total, st, s->msg, sizeof s->msg);
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

/* config.json and the index, read with the tokenizer (no tree): as deep as cJSON read them before. */
#define JSON_DEPTH 1000

/* A JSON text as cJSON read it before: a UTF-8 byte-order mark before it skipped. */
static void scan_text(mg_json_scanner *s, const char *txt, size_t len)
{
    if (len >= 3 && !memcmp(txt, "\xEF\xBB\xBF", 3))
        txt += 3, len -= 3;
    mg_json_init(s, (const uint8_t *)txt, len, JSON_DEPTH);
}

/* Past the rest of the container whose BEGIN had depth d. 0, or -1 when the text is not JSON. */
static int skip_rest(mg_json_scanner *s, unsigned d)
{
    mg_json_token t;
    for (;;) {
        mg_json_type k = mg_json_next(s, &t);
        if (k == MG_JSON_FAIL || k == MG_JSON_END)
            return -1;
        if ((k == MG_JSON_OBJECT_END || k == MG_JSON_ARRAY_END) && t.depth == d)
            return 0;
    }
}

/* config.json's shape numbers, the first of each name in one object (as a lookup finds it). */
static const char *const config_nums[] = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                          "num_key_value_heads", "max_position_embeddings", "vocab_size",
                                          "head_dim", "intermediate_size",
                                          /* MLA */
                                          "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
                                          /* T5 and diffusers components */
                                          "d_model", "d_ff", "num_layers", "num_heads", "attention_head_dim",
                                          "in_channels", "patch_size", "latent_channels", "sample_size"};
enum { N_HIDDEN, N_LAYERS, N_HEADS, N_KV_HEADS, N_CONTEXT, N_VOCAB, N_HEAD_DIM, N_INTER, N_KV_LORA, N_ROPE, N_NOPE,
       N_V_HEAD, N_D_MODEL, N_D_FF, N_NUM_LAYERS, N_NUM_HEADS, N_ATTN_HEAD_DIM, N_IN_CH, N_PATCH, N_LATENT, N_SAMPLE };
#define NCONFIG_NUMS (sizeof config_nums / sizeof config_nums[0])

typedef struct shape_nums {
    uint64_t v[NCONFIG_NUMS];
    unsigned seen, ok;          /* bit i: config_nums[i] met; and it was an integer below 10^15 */
} shape_nums;

/* Takes v when k names a shape number met here for the first time. */
static void take_num(shape_nums *n, const mg_json_token *k, const mg_json_token *v)
{
    for (size_t i = 0; i < NCONFIG_NUMS; i++) {
        if (!mg_json_eq(k, config_nums[i]))
            continue;
        uint64_t x;
        if (!(n->seen >> i & 1) && mg_json_u64(v, &x) == MG_JSON_OK && x < 1000000000000000ull) {
            n->v[i] = x;
            n->ok |= 1u << i;
        }
        n->seen |= 1u << i;
        return;
    }
}

/* The members of the object that `begin` opened: shape numbers into n (NULL: none kept), or its
 * quant_method into qm. 0, or -1 when the text is not JSON. */
static int read_members(mg_json_scanner *s, const mg_json_token *begin, shape_nums *n, char *qm, size_t qmlen)
{
    mg_json_token k, v;
    int qm_seen = 0;
    for (;;) {
        mg_json_type ty = mg_json_next(s, &k);
        if (ty == MG_JSON_FAIL)
            return -1;
        if (ty == MG_JSON_OBJECT_END && k.depth == begin->depth)
            return 0;
        if (mg_json_next(s, &v) == MG_JSON_FAIL)
            return -1;
        if (n)
            take_num(n, &k, &v);
        if (qm && !qm_seen && mg_json_eq(&k, "quant_method")) {
            qm_seen = 1;
            if (v.type == MG_JSON_STRING)
                mg_json_copy(&v, qm, qmlen, NULL);
        }
        if (mg_json_skip(s, &v))
            return -1;
    }
}

/* What config.json says, kept only when the whole text is JSON (it was one cJSON parse). */
typedef struct config {
    char architecture[96], model_type[64], torch_dtype[32], dtype[32], quant_method[32];
    unsigned seen;              /* C_*: root keys met (the first of each is the one read) */
    unsigned strings;           /* C_*: and that first one was a string */
    int text_object;            /* text_config is an object: the shape is read from it */
    shape_nums root, text;
    uint64_t block_out[8];      /* block_out_channels (diffusers VAE/UNet): its first 8 integers */
    unsigned n_block_out;
} config;

enum { C_ARCH = 1, C_TEXT = 2, C_MODEL_TYPE = 4, C_TORCH_DTYPE = 8, C_DTYPE = 16, C_QUANT = 32, C_BLOCKS = 64 };

static int parse_config(const char *txt, size_t len, config *c)
{
    mg_json_scanner s;
    mg_json_token k, v;
    scan_text(&s, txt, len);
    mg_json_type ty = mg_json_next(&s, &v);
    if (ty != MG_JSON_OBJECT_BEGIN)   /* another value: nothing to read, valid or not */
        return ty == MG_JSON_FAIL || mg_json_skip(&s, &v) || mg_json_next(&s, &v) != MG_JSON_END ? -1 : 0;
    for (;;) {
        ty = mg_json_next(&s, &k);
        if (ty == MG_JSON_FAIL)
            return -1;
        if (ty == MG_JSON_OBJECT_END)
            break;
        if (mg_json_next(&s, &v) == MG_JSON_FAIL)
            return -1;
        struct { const char *key; unsigned bit; char *str; size_t cap; } strs[] = {
            {"model_type", C_MODEL_TYPE, c->model_type, sizeof c->model_type},
            {"torch_dtype", C_TORCH_DTYPE, c->torch_dtype, sizeof c->torch_dtype},
            {"dtype", C_DTYPE, c->dtype, sizeof c->dtype},
        };
        size_t i = 0;
        while (i < 3 && !mg_json_eq(&k, strs[i].key))
            i++;
        if (i < 3) {
            if (!(c->seen & strs[i].bit) && v.type == MG_JSON_STRING) {
                mg_json_copy(&v, strs[i].str, strs[i].cap, NULL);
                c->strings |= strs[i].bit;
            }
            c->seen |= strs[i].bit;
        } else if (!(c->seen & C_ARCH) && mg_json_eq(&k, "architectures")) {
            c->seen |= C_ARCH;
            if (v.type == MG_JSON_ARRAY_BEGIN) {   /* its first element, when a string */
                mg_json_token e;
                ty = mg_json_next(&s, &e);
                if (ty == MG_JSON_STRING)
                    mg_json_copy(&e, c->architecture, sizeof c->architecture, NULL);
                if (ty == MG_JSON_FAIL || (ty != MG_JSON_ARRAY_END && (mg_json_skip(&s, &e) || skip_rest(&s, v.depth))))
                    return -1;
                continue;
            }
        } else if (!(c->seen & C_BLOCKS) && mg_json_eq(&k, "block_out_channels")) {
            c->seen |= C_BLOCKS;
            if (v.type == MG_JSON_ARRAY_BEGIN) {   /* integers below 2^20 (channels), the rest skipped */
                mg_json_token e;
                for (;;) {
                    ty = mg_json_next(&s, &e);
                    if (ty == MG_JSON_FAIL)
                        return -1;
                    if (ty == MG_JSON_ARRAY_END && e.depth == v.depth)
                        break;
                    uint64_t x;
                    if (mg_json_u64(&e, &x) == MG_JSON_OK && x && x < (1u << 20) && c->n_block_out < 8)
                        c->block_out[c->n_block_out++] = x;
                    if (mg_json_skip(&s, &e))
                        return -1;
                }
                continue;
            }
        } else if (!(c->seen & C_TEXT) && mg_json_eq(&k, "text_config")) {
            c->seen |= C_TEXT;
            if (v.type == MG_JSON_OBJECT_BEGIN) {
                c->text_object = 1;
                if (read_members(&s, &v, &c->text, NULL, 0))
                    return -1;
                continue;
            }
        } else if (!(c->seen & C_QUANT) && mg_json_eq(&k, "quantization_config")) {
            c->seen |= C_QUANT;
            if (v.type == MG_JSON_OBJECT_BEGIN) {
                if (read_members(&s, &v, NULL, c->quant_method, sizeof c->quant_method))
                    return -1;
                continue;
            }
        } else {
            take_num(&c->root, &k, &v);
        }
        if (mg_json_skip(&s, &v))
            return -1;
    }
    return mg_json_next(&s, &v) == MG_JSON_END ? 0 : -1;
}

/* dir/config.json parsed into a new config (free it), or NULL when absent, too large or not JSON. */
static config *load_config(const char *dir, mg_fetch_stats *st, double until)
{
    char path[1100];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *txt = mg_is_url(dir) ? fetch_text(path, 4u << 20, &len, st, until) : slurp(path, 4u << 20, &len);
    if (!txt)
        return NULL;
    config *c = mg_calloc(1, sizeof *c);
    int rc = c ? parse_config(txt, len, c) : -1;
    free(txt);
    if (rc) {
        free(c);
        return NULL;
    }
    return c;
}

static void read_config(mg_st_model *m, const char *dir, double until)
{
    config *c = load_config(dir, &m->remote, until);
    if (!c)
        return;
    m->has_config = 1;
    /* Multimodal configs keep the language model's shape in text_config. */
    memcpy(m->architecture, c->architecture, sizeof m->architecture);
    memcpy(m->model_type, c->model_type, sizeof m->model_type);
    memcpy(m->torch_dtype, c->strings & C_TORCH_DTYPE ? c->torch_dtype : c->dtype, sizeof m->torch_dtype);
    memcpy(m->quant_method, c->quant_method, sizeof m->quant_method);
    uint64_t *out[NCONFIG_NUMS] = {&m->hidden_size, &m->layers, &m->heads, &m->kv_heads, &m->context, &m->vocab,
                                   &m->head_dim, &m->intermediate, &m->kv_lora_rank, &m->qk_rope_head_dim,
                                   &m->qk_nope_head_dim, &m->v_head_dim};
    const shape_nums *src = c->text_object ? &c->text : &c->root;
    for (size_t i = 0; i < NCONFIG_NUMS; i++)
        if (out[i] && src->ok >> i & 1)
            *out[i] = src->v[i];
    free(c);
}

/* A pipeline component's config.json: its shape, its dtype. */
static void read_component_config(mg_st_model *m, mg_st_component *k, const char *dir)
{
    config *c = load_config(dir, &m->remote, 0);
    if (!c)
        return;
    k->has_config = 1;
    memcpy(k->torch_dtype, c->strings & C_TORCH_DTYPE ? c->torch_dtype : c->dtype, sizeof k->torch_dtype);
    uint64_t *out[NCONFIG_NUMS] = {[N_HIDDEN] = &k->hidden_size, [N_LAYERS] = &k->layers, [N_HEADS] = &k->heads,
                                   [N_INTER] = &k->intermediate, [N_D_MODEL] = &k->d_model, [N_D_FF] = &k->d_ff,
                                   [N_NUM_LAYERS] = &k->num_layers, [N_NUM_HEADS] = &k->num_heads,
                                   [N_ATTN_HEAD_DIM] = &k->attention_head_dim, [N_IN_CH] = &k->in_channels,
                                   [N_PATCH] = &k->patch_size, [N_LATENT] = &k->latent_channels,
                                   [N_SAMPLE] = &k->sample_size};
    const shape_nums *src = c->text_object ? &c->text : &c->root;
    for (size_t i = 0; i < NCONFIG_NUMS; i++)
        if (out[i] && src->ok >> i & 1)
            *out[i] = src->v[i];
    memcpy(k->block_out, c->block_out, sizeof k->block_out);
    k->n_block_out = c->n_block_out;
    free(c);
}

/* The shards an index has named, by their paths' hashes (open addressing: MAX_SHARDS in twice the slots),
 * so that a weight_map of thousands of entries costs one lookup each, not a walk over every shard. */
typedef struct shard_set {
    uint16_t slot[2 * MAX_SHARDS];   /* shard index + 1; 0: empty */
} shard_set;

/* Adds the shard at path unless it is there already (seen: the index's set, or NULL to look at each). */
static int add_st(mg_st_model *m, const char *path, shard_set *seen)
{
    if (m->nshards && !strcmp(m->shards[m->nshards - 1].path, path))
        return 0;   /* a weight_map names the same shard many times in a row */
    size_t h = seen ? mg_fnv1a(path, strlen(path)) % (2 * MAX_SHARDS) : 0;
    for (; seen && seen->slot[h]; h = (h + 1) % (2 * MAX_SHARDS))
        if (!strcmp(m->shards[seen->slot[h] - 1].path, path))
            return 0;
    for (size_t i = 0; !seen && i < m->nshards; i++)
        if (!strcmp(m->shards[i].path, path))
            return 0;
    if (m->nshards >= MAX_SHARDS)
        return -1;
    size_t n = m->nshards;
    if (n >= ST_FIRST_SHARDS && !(n & (n - 1))) {   /* full (it doubles at each power of two): twice the room */
        mg_st_file *more = mg_realloc(m->shards, 2 * n * sizeof *more);
        if (!more)
            return -1;
        memset(more + n, 0, n * sizeof *more);
        m->shards = more;
    }
    snprintf(m->shards[m->nshards++].path, sizeof m->shards[0].path, "%s", path);
    if (seen)
        seen->slot[h] = (uint16_t)m->nshards;
    return 0;
}

/*
 * An index (model.safetensors.index.json): each shard its weight_map names (in order, once; names
 * with a '/' are not followed), and metadata.total_size. 0 when the whole text is JSON with a
 * weight_map object; else -1 and no shard added.
 */
static int read_index(mg_st_model *m, const char *dir, const char *txt, size_t len)
{
    size_t base = m->nshards;
    uint64_t total = 0;
    shard_set seen = {{0}};
    int have_map = 0, seen_map = 0, seen_meta = 0, have_total = 0;
    mg_json_scanner s;
    mg_json_token k, v;
    scan_text(&s, txt, len);
    if (mg_json_next(&s, &v) != MG_JSON_OBJECT_BEGIN)
        return -1;
    for (;;) {
        mg_json_type ty = mg_json_next(&s, &k);
        if (ty == MG_JSON_FAIL)
            goto bad;
        if (ty == MG_JSON_OBJECT_END)
            break;
        if (mg_json_next(&s, &v) == MG_JSON_FAIL)
            goto bad;
        if (!seen_map && mg_json_eq(&k, "weight_map")) {
            seen_map = 1;
            if (v.type == MG_JSON_OBJECT_BEGIN) {
                have_map = 1;
                for (;;) {
                    mg_json_token e, f;
                    if ((ty = mg_json_next(&s, &e)) == MG_JSON_FAIL)
                        goto bad;
                    if (ty == MG_JSON_OBJECT_END)
                        break;
                    if (mg_json_next(&s, &f) == MG_JSON_FAIL || mg_json_skip(&s, &f))
                        goto bad;
                    char name[1100], p[1100];
                    int rc = mg_json_copy(&f, name, sizeof name, NULL);   /* E_NUL: what comes before it */
                    if (f.type == MG_JSON_STRING && rc != MG_JSON_E_LONG && !strchr(name, '/') &&
                        snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p)   /* else no path can name it */
                        add_st(m, p, &seen);
                }
                continue;
            }
        } else if (!seen_meta && mg_json_eq(&k, "metadata")) {
            seen_meta = 1;
            if (v.type == MG_JSON_OBJECT_BEGIN) {
                int seen_total = 0;
                for (;;) {
                    mg_json_token e, f;
                    if ((ty = mg_json_next(&s, &e)) == MG_JSON_FAIL)
                        goto bad;
                    if (ty == MG_JSON_OBJECT_END)
                        break;
                    if (mg_json_next(&s, &f) == MG_JSON_FAIL)
                        goto bad;
                    if (!seen_total && mg_json_eq(&e, "total_size")) {
                        seen_total = 1;
                        have_total = mg_json_u64(&f, &total) == MG_JSON_OK;   /* the file's word, as an integer */
                    }
                    if (mg_json_skip(&s, &f))
                        goto bad;
                }
                continue;
            }
        }
        if (mg_json_skip(&s, &v))
            goto bad;
    }
    if (mg_json_next(&s, &v) != MG_JSON_END || !have_map)
        goto bad;
    if (have_total)
        m->index_total_size = total;
    return 0;
bad:
    memset(m->shards + base, 0, (m->nshards - base) * sizeof *m->shards);
    m->nshards = base;
    return -1;
}

/* ---- diffusers pipelines: model_index.json and a folder per component ---- */

/* The variant of a weights file name: "fp16" of base.fp16.safetensors or base.safetensors.index.fp16.json
 * (diffusers' and transformers' _add_variant), into v; 0, or -1 when the name is not one. */
static int variant_of(const char *name, const char *base, char *v, size_t cap)
{
    size_t bl = strlen(base), n = strlen(name);
    if (strncmp(name, base, bl) || name[bl] != '.')
        return -1;
    const char *rest = name + bl + 1, *end;
    size_t rl = n - bl - 1;
    if (rl > 12 && !strncmp(rest, "safetensors.index.", 18) && n > 5 && !strcmp(name + n - 5, ".json"))
        rest += 18, end = name + n - 5;   /* base.safetensors.index.V.json */
    else if (rl > 12 && !strcmp(name + n - 12, ".safetensors"))
        end = name + n - 12;              /* base.V.safetensors */
    else
        return -1;
    size_t vl = end > rest ? (size_t)(end - rest) : 0;
    if (!vl || vl >= cap || memchr(rest, '.', vl) || memchr(rest, '-', vl))
        return -1;   /* base.safetensors itself, a shard (base.V-00001-of-00002), or another name */
    memcpy(v, rest, vl);
    v[vl] = 0;
    return 0;
}

/* The weights of one component in dir, as diffusers loads them without variant=: an index, else one
 * file, by diffusers' name then transformers'; without those, the alphabetically first variant. */
static void component_shards(mg_st_model *m, mg_st_component *k, const char *dir)
{
    static const char *const bases[] = {"diffusion_pytorch_model", "model"};
    char v[24] = "";
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {   /* no plain file: which variants are there */
            DIR *d = opendir(dir);
            struct dirent *e;
            char best[24] = "", cand[24];
            while (d && (e = readdir(d)))
                for (size_t b = 0; b < 2; b++)
                    if (!variant_of(e->d_name, bases[b], cand, sizeof cand) && (!best[0] || strcmp(cand, best) < 0))
                        memcpy(best, cand, sizeof best);
            if (d)
                closedir(d);
            if (!best[0])
                return;
            memcpy(v, best, sizeof v);
        }
        const char *dot = v[0] ? "." : "";
        for (size_t b = 0; b < 2; b++) {
            char p[1100];
            size_t len;
            int n = snprintf(p, sizeof p, "%s/%s.safetensors.index%s%s.json", dir, bases[b], dot, v);
            if (n < 0 || (size_t)n >= sizeof p)
                continue;   /* a path this long names no file we could open whole */
            char *txt = slurp(p, 512u << 20, &len);
            int ok = txt && read_index(m, dir, txt, len) == 0;
            free(txt);
            if (!ok) {
                n = snprintf(p, sizeof p, "%s/%s%s%s.safetensors", dir, bases[b], dot, v);
                ok = n > 0 && (size_t)n < sizeof p && access(p, F_OK) == 0 && add_st(m, p, NULL) == 0;
            }
            if (ok) {
                memcpy(k->variant, v, sizeof k->variant);
                return;
            }
        }
    }
}

/* A component's folder name as model_index.json gives it: a plain name, never a path. */
static int plain_name(const char *n)
{
    if (!n[0] || n[0] == '.')
        return 0;
    for (const char *c = n; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-' || *c == '.'))
            return 0;
    return 1;
}

/* model_index.json in dir: its _class_name and each ["library", "Class"] component whose folder holds
 * safetensors weights. 0 when it is JSON with at least one such component. */
static int read_pipeline(mg_st_model *m, const char *dir)
{
    char p[1100];
    size_t len;
    snprintf(p, sizeof p, "%s/model_index.json", dir);
    char *txt = slurp(p, 1u << 20, &len);
    if (!txt)
        return -1;
    mg_json_scanner s;
    mg_json_token k, v, e;
    scan_text(&s, txt, len);
    int bad = mg_json_next(&s, &v) != MG_JSON_OBJECT_BEGIN;
    while (!bad) {
        mg_json_type ty = mg_json_next(&s, &k);
        if (ty == MG_JSON_FAIL || ty == MG_JSON_OBJECT_END) {
            bad = ty == MG_JSON_FAIL;
            break;
        }
        if (mg_json_next(&s, &v) == MG_JSON_FAIL) {
            bad = 1;
            break;
        }
        char name[48] = "";
        int nrc = k.type == MG_JSON_KEY ? mg_json_copy(&k, name, sizeof name, NULL) : -1;
        if (!nrc && !strcmp(name, "_class_name") && v.type == MG_JSON_STRING && !m->pipeline_class[0]) {
            mg_json_copy(&v, m->pipeline_class, sizeof m->pipeline_class, NULL);
        } else if (!nrc && plain_name(name) && v.type == MG_JSON_ARRAY_BEGIN) {
            char lib[32] = "", cls[64] = "";
            int i = 0;
            for (;;) {   /* ["diffusers", "AutoencoderKL"]: two strings, else no weights (null, null) */
                ty = mg_json_next(&s, &e);
                if (ty == MG_JSON_FAIL || (ty == MG_JSON_ARRAY_END && e.depth == v.depth))
                    break;
                if (e.type == MG_JSON_STRING && i < 2)
                    mg_json_copy(&e, i ? cls : lib, i ? sizeof cls : sizeof lib, NULL);
                i++;
                if (mg_json_skip(&s, &e)) {
                    ty = MG_JSON_FAIL;
                    break;
                }
            }
            if (ty == MG_JSON_FAIL) {
                bad = 1;
                break;
            }
            if (lib[0] && cls[0] && name[0] != '_' && m->ncomp < MG_ST_MAX_COMPONENTS) {
                mg_st_component *c = &m->comp[m->ncomp];
                memset(c, 0, sizeof *c);
                snprintf(c->name, sizeof c->name, "%s", name);
                snprintf(c->library, sizeof c->library, "%s", lib);
                snprintf(c->class_name, sizeof c->class_name, "%s", cls);
                char cd[1100];
                snprintf(cd, sizeof cd, "%.900s/%s", dir, name);
                c->first = m->nshards;
                component_shards(m, c, cd);
                c->nshards = m->nshards - c->first;
                if (c->nshards) {   /* schedulers, tokenizers: no weights, not counted */
                    read_component_config(m, c, cd);
                    m->ncomp++;
                }
            }
            continue;
        }
        if (mg_json_skip(&s, &v)) {
            bad = 1;
            break;
        }
    }
    free(txt);
    if (bad || !m->ncomp) {   /* not a pipeline after all: as a plain directory */
        memset(m->shards, 0, m->nshards * sizeof *m->shards);
        m->nshards = m->ncomp = 0;
        m->pipeline_class[0] = 0;
        return -1;
    }
    m->pipeline = 1;
    if (!m->architecture[0])
        snprintf(m->architecture, sizeof m->architecture, "%s", m->pipeline_class);
    return 0;
}

static mg_st_model *st_open(const char *path, double until)
{
    mg_st_model *m = mg_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->arena = mg_arena_new();
    m->shards = mg_calloc(ST_FIRST_SHARDS, sizeof *m->shards);   /* add_st grows it */
    if (!m->arena || !m->shards) {
        mg_st_model_free(m);
        return NULL;
    }
    char dir[1024], index[1100];
    struct stat st;
    snprintf(dir, sizeof dir, "%s", path);
    int remote = mg_is_url(path);
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
    int pipeline = is_dir && read_pipeline(m, path) == 0;
    m->index_total_size = 0;   /* a component's index is its own, not the checkpoint's (nor one read in vain) */
    if (pipeline) {   /* a diffusers pipeline: every component, each its shards */
        for (size_t i = 0; i < m->nshards; i++)
            read_st(&m->shards[i], m->arena);
        for (size_t c = 0; c < m->ncomp; c++)
            for (size_t i = m->comp[c].first; i < m->comp[c].first + m->comp[c].nshards && i < m->nshards; i++)
                m->comp[c].bytes = mg_sat_add(m->comp[c].bytes, m->shards[i].st.data_bytes);
        return m;
    }
    read_config(m, dir, until);
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
                    : remote ? fetch_text(index, MG_REMOTE_MAX, &len, &m->remote, until) : slurp(index, 512u << 20, &len);
        if (!txt)
            continue;
        have_index = read_index(m, dir, txt, len) == 0;
        free(txt);
    }
    if (!have_index) {
        if (!is_dir) {
            add_st(m, path, NULL);
        } else {
            const char *names[] = {"model.safetensors", "diffusion_pytorch_model.safetensors"};
            for (size_t k = 0; k < 2; k++) {
                char p[1100];
                snprintf(p, sizeof p, "%s/%s", dir, names[k]);
                if (access(p, F_OK) == 0)
                    add_st(m, p, NULL);
            }
        }
    }
    for (size_t i = 0; i < m->nshards; i++) {
        if (remote)
            read_st_remote(&m->shards[i], m->arena, &m->remote, until);
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

/* ---- one model, whatever its format ------------------------------------- */

/* A GGUF by its name (no need to open it twice), else by its magic; a directory is a safetensors checkpoint. */
static mg_format format_of(const char *path)
{
    size_t n = strlen(path);
    struct stat st;
    if ((n > 5 && !strcmp(path + n - 5, ".gguf")) || mg_is_url(path) || stat(path, &st) != 0)
        return strstr(path, ".gguf") ? MG_FORMAT_GGUF : MG_FORMAT_SAFETENSORS;
    if (!S_ISREG(st.st_mode))
        return MG_FORMAT_SAFETENSORS;
    char m[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    ssize_t got = fd >= 0 ? read(fd, m, 4) : 0;
    if (fd >= 0)
        close(fd);
    return got == 4 && !memcmp(m, "GGUF", 4) ? MG_FORMAT_GGUF : MG_FORMAT_SAFETENSORS;
}

/* The first shard that could not be read, as "path: why". */
static char *first_error(const mg_model *m)
{
    const char *path = NULL, *msg = NULL;
    if (m->gguf) {
        for (size_t i = 0; i < m->gguf->nshards && !msg; i++)
            if (m->gguf->shards[i].err)
                path = m->gguf->shards[i].path, msg = m->gguf->shards[i].msg;
        if (!m->gguf->nshards)
            path = m->path, msg = "no GGUF here";
    } else {
        for (size_t i = 0; i < m->st->nshards && !msg; i++)
            if (m->st->shards[i].err)
                path = m->st->shards[i].path, msg = m->st->shards[i].msg;
        if (!m->st->nshards)
            path = m->path, msg = "no safetensors or GGUF model found here";
    }
    char *e = NULL;
    if (msg && asprintf(&e, "%s: %s", path, msg) < 0)
        e = NULL;
    return e;
}

mg_gguf_model *mg_gguf_model_open(const char *path) { return gguf_open(path, 0); }
mg_st_model *mg_st_model_open(const char *path) { return st_open(path, 0); }
mg_model *mg_model_open(const char *path) { return mg_model_open_with(path, NULL); }

mg_model *mg_model_open_with(const char *path, const mg_open_opts *o)
{
    double until = o ? o->deadline_at : 0;
    mg_model *m = mg_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->format = format_of(path);
    if (!(m->path = mg_strdup(path))) {
        free(m);
        return NULL;
    }
    if (m->format == MG_FORMAT_GGUF)
        m->gguf = gguf_open(path, until);
    else
        m->st = st_open(path, until);
    if (!m->gguf && !m->st) {
        mg_model_free(m);
        return NULL;
    }
    m->error = first_error(m);
    return m;
}

void mg_model_free(mg_model *m)
{
    if (!m)
        return;
    mg_gguf_model_free(m->gguf);
    mg_st_model_free(m->st);
    free(m->error);
    free(m->path);
    free(m);
}

const char *mg_model_error(const mg_model *m) { return m->error; }

const char *mg_model_architecture(const mg_model *m)
{
    if (m->gguf) {
        for (size_t i = 0; i < m->gguf->nshards; i++)
            if (!m->gguf->shards[i].err)
                return mg_gguf_str(&m->gguf->shards[i].g, "general.architecture");
        return NULL;
    }
    return m->st->architecture[0] ? m->st->architecture : NULL;
}

const mg_fetch_stats *mg_model_remote(const mg_model *m) { return m->gguf ? &m->gguf->remote : &m->st->remote; }

/* A per-architecture key: "{arch}.context_length". */
static uint64_t arch_u64(const mg_gguf *g, const char *arch, const char *key)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch ? arch : "", key);
    return mg_gguf_u64(g, k, 0);
}

static void summarize_gguf(const mg_gguf_model *md, mg_model_summary *s)
{
    for (size_t i = 0; i < md->nshards; i++) {
        const mg_gguf_file *f = &md->shards[i];
        if (f->err) {
            s->partial = 1;
            continue;
        }
        s->params = mg_sat_add(s->params, f->g.params);
        s->tensors = mg_sat_add(s->tensors, f->g.n_tensors);
        for (uint64_t t = 0; t < f->g.n_tensors; t++) {
            const mg_gguf_tensor *x = &f->g.tensors[t];
            s->bytes = mg_sat_add(s->bytes, x->nbytes);
            if (x->type < 64) {
                s->type_count[x->type]++;
                s->type_bytes[x->type] = mg_sat_add(s->type_bytes[x->type], x->nbytes);
            }
        }
        for (uint32_t t = 0; t < 64; t++)
            s->type_params[t] = mg_sat_add(s->type_params[t], f->g.params_by_type[t]);
    }
    if (!md->nshards || md->shards[0].err)
        return;
    const mg_gguf *g = &md->shards[0].g;
    s->arch = mg_gguf_str(g, "general.architecture");
    s->name = mg_gguf_str(g, "general.name");
    s->context = arch_u64(g, s->arch, "context_length");
    s->layers = arch_u64(g, s->arch, "block_count");
    s->embedding = arch_u64(g, s->arch, "embedding_length");
    s->heads = arch_u64(g, s->arch, "attention.head_count");
    s->heads_kv = arch_u64(g, s->arch, "attention.head_count_kv");
    const mg_gguf_kv *tok = mg_gguf_find(g, "tokenizer.ggml.tokens");
    s->vocab = tok ? tok->arr_count : 0;
    mg_kv_model *kvm = mg_malloc(sizeof *kvm);
    if (kvm && mg_kv_from_gguf(g, kvm) == MG_OK) {
        mg_kv_opts o = {8192, 1, 1, 1, 512, 0, 0};
        s->has_kv = 1;
        s->kv_8k = mg_kv_bytes(kvm, &o);
        o.n_ctx = 32768;
        s->kv_32k = mg_kv_bytes(kvm, &o);
        o.n_ctx = 131072;
        s->kv_128k = mg_kv_bytes(kvm, &o);
        o.n_ctx = s->context;
        s->kv_at_context = s->context ? mg_kv_bytes(kvm, &o) : 0;
        s->mla = kvm->mla;
        s->swa = kvm->n_swa != 0;
    }
    free(kvm);
}

static void summarize_st(const mg_st_model *m, mg_model_summary *s)
{
    for (size_t i = 0; i < m->nshards; i++) {
        const mg_st_file *f = &m->shards[i];
        if (f->err) {
            s->partial = 1;
            continue;
        }
        s->params = mg_sat_add(s->params, f->st.params);
        s->bytes = mg_sat_add(s->bytes, f->st.data_bytes);
        s->tensors += f->st.n;
        for (size_t t = 0; t < f->st.n; t++)
            s->aux += f->st.tensors[t].aux;
        for (unsigned d = 0; d < MG_DTYPE_COUNT; d++) {
            s->type_params[d] = mg_sat_add(s->type_params[d], f->st.params_by_dtype[d]);
            s->type_bytes[d] = mg_sat_add(s->type_bytes[d], f->st.bytes_by_dtype[d]);
        }
    }
    s->arch = m->architecture[0] ? m->architecture : NULL;
}

void mg_model_summarize(const mg_model *m, mg_model_summary *s)
{
    memset(s, 0, sizeof *s);
    if (m->gguf)
        summarize_gguf(m->gguf, s);
    else
        summarize_st(m->st, s);
    s->bpw = s->params ? 8.0 * (double)s->bytes / (double)s->params : 0.0;
}

int mg_model_memory_at(const mg_model *m, uint64_t ctx, mg_model_memory *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (m->gguf) {
        mg_fit_model *fm = mg_malloc(sizeof *fm);
        int rc = !fm ? MG_E_NOMEM : !m->gguf->nshards || m->gguf->shards[0].err ? MG_E_IO : mg_fit_model_from(m->gguf, fm);
        if (rc) {
            snprintf(err, errlen, "cannot read %.300s: %s%s%.150s", m->path, mg_strerror((mg_err)rc),
                     m->gguf->nshards && m->gguf->shards[0].err ? ": " : "",
                     m->gguf->nshards ? m->gguf->shards[0].msg : "");
            free(fm);
            return rc;
        }
        /* every layer on one GPU large enough: what it needs there */
        mg_target big = {"plan", 1ull << 50, 1ull << 50, 0, {0, 0, 0}, 0, 0, -1, ""};
        mg_fit_opts o = {.n_ctx = ctx, .type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .n_cpu_moe = 0};
        mg_fit_plan p;
        if ((rc = mg_fit_evaluate(fm, &big, 1, &o, (int)fm->kv.n_layer + 1, ctx, &p))) {
            snprintf(err, errlen, "%.300s: %s", m->path, mg_strerror((mg_err)rc));
            free(fm);
            return rc;
        }
        out->need = p.need[0];
        out->ram = p.ram_need;
        out->weights = fm->total_bytes;
        uint64_t params = 0;
        for (size_t i = 0; i < m->gguf->nshards; i++)
            params = mg_sat_add(params, m->gguf->shards[i].g.params);
        out->bpw = params ? 8.0 * (double)fm->total_bytes / (double)params : 0;
        free(fm);
        return MG_OK;
    }
    mg_fit_st f;
    int bad = !m->st->nshards || m->st->shards[0].err;
    if (bad || mg_fit_safetensors(m->st, ctx, 1, 1, &f) != MG_OK) {
        snprintf(err, errlen, "cannot read %.300s%s%.150s", m->path, m->st->nshards ? ": " : "",
                 m->st->nshards ? m->st->shards[0].msg : "");
        return MG_E_IO;
    }
    out->need = f.need;
    out->ram = f.weights;   /* loaders that materialise the checkpoint in RAM */
    out->weights = f.weights;
    return MG_OK;
}
