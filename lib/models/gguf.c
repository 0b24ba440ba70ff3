/*
 * gguf.c - GGUF v1-v3 header reader: metadata (every value type, arrays,
 * nested arrays), tensor table, sizes. Every count and length is checked
 * against the bytes that remain, and the entry tables grow as entries are
 * read: a declared count is believed only as far as the bytes hold it, so a
 * tensor count of 2^63, a sparse file of zeros or a string running past the
 * end is an error, not an allocation.
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/arith.h"
#include "core/rd.h"
#include "mlgate/models.h"
#include "models/formats.h"

#define GGUF_MAGIC 0x46554747u      /* "GGUF" */
#define MAX_DEPTH 4                 /* nested arrays: the depth @huggingface/gguf accepts */
#define KEEP_STR 4096               /* longest string value kept (the rest is skipped) */
#define GGML_MAX_NAME 64
/* Caps on the declared counts: real models have under 100 keys and a few thousand tensors. */
#define MAX_KV (1u << 16)
#define MAX_TENSORS (1u << 19)

typedef struct cur {
    const uint8_t *b;
    size_t len, pos;
    int v1;                         /* GGUF v1: 32-bit counts and lengths */
    uint64_t need;                  /* on truncation: bytes the header needs at least */
} cur;

static int have(cur *c, uint64_t n)
{
    if (n > c->len - c->pos) {
        c->need = mg_sat_add(c->pos, n);
        return 0;
    }
    return 1;
}

static int u32(cur *c, uint32_t *v)
{
    if (!have(c, 4))
        return 0;
    *v = rd32(c->b + c->pos);
    c->pos += 4;
    return 1;
}

static int u64(cur *c, uint64_t *v)
{
    if (!have(c, 8))
        return 0;
    *v = rd64(c->b + c->pos);
    c->pos += 8;
    return 1;
}

/* A count or length: u32 in v1, u64 after. */
static int count(cur *c, uint64_t *v)
{
    uint32_t x;
    if (!c->v1)
        return u64(c, v);
    if (!u32(c, &x))
        return 0;
    *v = x;
    return 1;
}

static int string(cur *c, const uint8_t **s, uint64_t *n)
{
    if (!count(c, n) || !have(c, *n))
        return 0;
    *s = c->b + c->pos;
    c->pos += (size_t)*n;
    return 1;
}

static const uint8_t scalar_size[MG_GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

typedef struct ctx {
    cur c;
    mg_arena *a;
    mg_gguf *g;
    char *err;
    size_t errlen;
    int nested_seen;
    uint64_t kv_read, tensors_read;   /* entries read whole so far: all a failed parse keeps */
} ctx;

static void issue(ctx *x, const char *text)
{
    char *kept = x->g->nissues < MG_GGUF_MAX_ISSUES ? mg_arena_strdup(x->a, text) : NULL;
    if (kept)   /* out of memory loses the remark, not the parse */
        x->g->issues[x->g->nissues++] = kept;
}

static int nomem(ctx *x)
{
    snprintf(x->err, x->errlen, "out of memory");
    return MG_E_NOMEM;
}

/* Skips (or reads into kv) one value of type t. Returns MG_OK or an error. */
static int value(ctx *x, uint32_t t, int depth, mg_gguf_kv *kv)
{
    cur *c = &x->c;
    if (t >= MG_GGUF_NTYPES) {
        snprintf(x->err, x->errlen, "metadata value of unknown type %u at offset %zu", t, c->pos);
        return MG_E_FORMAT;
    }
    if (t == MG_GGUF_STRING) {
        const uint8_t *s;
        uint64_t n;
        if (!string(c, &s, &n))
            return MG_E_TRUNCATED;
        if (kv && !kv->str &&
            !(kv->str = mg_arena_strndup(x->a, (const char *)s, n < KEEP_STR ? (size_t)n : KEEP_STR)))
            return nomem(x);
        return MG_OK;
    }
    if (t == MG_GGUF_ARRAY) {
        uint32_t et;
        uint64_t n;
        if (!u32(c, &et) || !count(c, &n))
            return MG_E_TRUNCATED;
        if (et >= MG_GGUF_NTYPES) {
            snprintf(x->err, x->errlen, "array of unknown element type %u at offset %zu", et, c->pos);
            return MG_E_FORMAT;
        }
        if (kv && depth == 0) {
            kv->arr_type = et;
            kv->arr_count = n;
        }
        if (et == MG_GGUF_ARRAY) {
            if (!x->nested_seen++)
                issue(x, "nested arrays: llama.cpp's reader rejects them");
            if (depth + 1 >= MAX_DEPTH) {
                snprintf(x->err, x->errlen, "arrays nested more than %d deep", MAX_DEPTH);
                return MG_E_LIMIT;
            }
        }
        if (scalar_size[et]) {
            if (n > (c->len - c->pos) / scalar_size[et]) {
                c->need = mg_sat_add(c->pos, mg_sat_mul(n, scalar_size[et]));
                return MG_E_TRUNCATED;
            }
            /* Small integer arrays (per-layer head counts, SWA patterns) are kept. */
            if (kv && depth == 0 && n <= 4096 && et != MG_GGUF_F32 && et != MG_GGUF_F64) {
                if (!(kv->arr_values = mg_arena_array(x->a, n ? (size_t)n : 1, sizeof *kv->arr_values)))
                    return nomem(x);
                mg_gguf_kv tmp;
                size_t at = c->pos;
                for (uint64_t i = 0; i < n; i++) {
                    memset(&tmp, 0, sizeof tmp);
                    value(x, et, depth + 1, &tmp);
                    kv->arr_values[i] = tmp.v.u;
                }
                c->pos = at;
            }
            c->pos += (size_t)(n * scalar_size[et]);
            return MG_OK;
        }
        /* Strings and arrays: each element takes at least 8 bytes, so the loop is bounded by the data. */
        for (uint64_t i = 0; i < n; i++) {
            int rc = value(x, et, depth + 1, i == 0 && depth == 0 && kv ? kv : NULL);
            if (rc)
                return rc;
        }
        return MG_OK;
    }
    if (!have(c, scalar_size[t]))
        return MG_E_TRUNCATED;
    const uint8_t *p = c->b + c->pos;
    if (kv) {
        switch (t) {
        case MG_GGUF_U8: kv->v.u = p[0]; break;
        case MG_GGUF_I8: kv->v.i = (int8_t)p[0]; break;
        case MG_GGUF_U16: kv->v.u = rd16(p); break;
        case MG_GGUF_I16: kv->v.i = (int16_t)rd16(p); break;
        case MG_GGUF_U32: kv->v.u = rd32(p); break;
        case MG_GGUF_I32: kv->v.i = (int32_t)rd32(p); break;
        case MG_GGUF_F32: { uint32_t b = rd32(p); float f; memcpy(&f, &b, 4); kv->v.f = f; break; }
        case MG_GGUF_BOOL: kv->v.u = p[0]; break;
        case MG_GGUF_U64: kv->v.u = rd64(p); break;
        case MG_GGUF_I64: kv->v.i = (int64_t)rd64(p); break;
        case MG_GGUF_F64: { uint64_t b = rd64(p); memcpy(&kv->v.f, &b, 8); break; }
        default: break;
        }
    }
    c->pos += scalar_size[t];
    return MG_OK;
}

const mg_gguf_kv *mg_gguf_find(const mg_gguf *g, const char *key)
{
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && !strcmp(g->kv[i].key, key))
            return &g->kv[i];
    return NULL;
}

uint64_t mg_gguf_u64(const mg_gguf *g, const char *key, uint64_t def)
{
    const mg_gguf_kv *kv = mg_gguf_find(g, key);
    if (!kv)
        return def;
    switch (kv->type) {
    case MG_GGUF_U8: case MG_GGUF_U16: case MG_GGUF_U32: case MG_GGUF_U64: case MG_GGUF_BOOL: return kv->v.u;
    case MG_GGUF_I8: case MG_GGUF_I16: case MG_GGUF_I32: case MG_GGUF_I64: return kv->v.i < 0 ? def : (uint64_t)kv->v.i;
    default: return def;
    }
}

const char *mg_gguf_str(const mg_gguf *g, const char *key)
{
    const mg_gguf_kv *kv = mg_gguf_find(g, key);
    return kv && kv->type == MG_GGUF_STRING ? kv->str : NULL;
}

/*
 * Room for entry `used` of a table declared to hold `declared`: the table doubles as entries are
 * read (a declared count is not believed until the bytes show it). NULL when out of memory.
 */
static void *grow(mg_arena *a, void *table, size_t *cap, size_t used, uint64_t declared, size_t size)
{
    if (used < *cap)
        return table;
    size_t n = *cap ? *cap * 2 : 64;
    if (n > declared)
        n = (size_t)declared;
    void *p = mg_arena_array(a, n, size);
    if (p && used)
        memcpy(p, table, used * size);
    *cap = n;
    return p;
}

static int tensors(ctx *x)
{
    cur *c = &x->c;
    mg_gguf *g = x->g;
    char buf[200];
    size_t cap = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if (!(g->tensors = grow(x->a, g->tensors, &cap, (size_t)i, g->n_tensors, sizeof *g->tensors)))
            return nomem(x);
        x->tensors_read = i;
        mg_gguf_tensor *t = &g->tensors[i];
        memset(t, 0, sizeof *t);
        const uint8_t *name;
        uint64_t nl;
        uint32_t nd;
        if (!string(c, &name, &nl) || !u32(c, &nd))
            return MG_E_TRUNCATED;
        if (!(t->name = mg_arena_strndup(x->a, (const char *)name, nl < 256 ? (size_t)nl : 256)))
            return nomem(x);
        if (nl >= GGML_MAX_NAME && g->nissues < MG_GGUF_MAX_ISSUES) {
            snprintf(buf, sizeof buf, "tensor name of %llu bytes: llama.cpp allows at most 63", (unsigned long long)nl);
            issue(x, buf);
        }
        if (nd == 0 || nd > 4) {
            snprintf(x->err, x->errlen, "tensor '%.64s' has %u dimensions (1 to 4 allowed)", t->name, nd);
            return MG_E_FORMAT;
        }
        t->n_dims = nd;
        uint64_t elems = 1;
        for (uint32_t d = 0; d < 4; d++) {
            uint64_t ne = 1;
            if (d < nd) {
                if (c->v1) {
                    uint32_t v;
                    if (!u32(c, &v))
                        return MG_E_TRUNCATED;
                    ne = v;
                } else if (!u64(c, &ne)) {
                    return MG_E_TRUNCATED;
                }
            }
            t->ne[d] = ne;
            if (ne && elems > INT64_MAX / ne) {
                snprintf(x->err, x->errlen, "tensor '%.64s' has more than 2^63 elements", t->name);
                return MG_E_FORMAT;
            }
            elems *= ne;
        }
        if (!u32(c, &t->type) || !u64(c, &t->offset))
            return MG_E_TRUNCATED;
        const mg_ggml_type *ty = mg_ggml_type_get(t->type);
        if (!ty) {
            g->unknown_types++;
            snprintf(buf, sizeof buf, "tensor '%.64s' has ggml type %u, unknown to mlgate (newer than its table?)",
                     t->name, t->type);
            issue(x, buf);
        } else if (t->ne[0] % ty->blck) {
            snprintf(buf, sizeof buf, "tensor '%.64s': %llu elements per row is not a multiple of %s's block of %u",
                     t->name, (unsigned long long)t->ne[0], ty->name, ty->blck);
            issue(x, buf);
        } else {
            /* ggml_nbytes: (ne0 / blck) * bytes * ne1 * ne2 * ne3, without overflow */
            uint64_t rows = elems / (t->ne[0] ? t->ne[0] : 1);
            t->nbytes = mg_sat_mul(mg_sat_mul(t->ne[0] / ty->blck, ty->bytes), rows);
            if (t->ne[0] == 0)
                t->nbytes = 0;
        }
        g->params = mg_sat_add(g->params, elems);
        if (t->type < 64) {
            g->bytes_by_type[t->type] = mg_sat_add(g->bytes_by_type[t->type], t->nbytes);
            g->params_by_type[t->type] = mg_sat_add(g->params_by_type[t->type], elems);
        }
    }
    x->tensors_read = g->n_tensors;
    return MG_OK;
}

int mg_gguf_parse_part(const uint8_t *buf, size_t len, uint64_t file_size, mg_arena *a, mg_gguf *g, uint64_t *need,
                       char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    ctx x = {{buf, len, 0, 0, 0}, a, g, err, errlen, 0, 0, 0};
    cur *c = &x.c;
    uint32_t magic;
    int rc = MG_E_TRUNCATED;
    if (need)
        *need = 0;
    if (!u32(c, &magic) || !u32(c, &g->version))
        goto truncated;
    if (magic != GGUF_MAGIC) {
        snprintf(err, errlen, "not a GGUF file (no 'GGUF' magic)");
        return MG_E_FORMAT;
    }
    if ((g->version & 0xffff) == 0) {
        snprintf(err, errlen, "GGUF version 0x%08x: a big-endian file (unsupported)", g->version);
        return MG_E_UNSUPPORTED;
    }
    if (g->version < 1 || g->version > 3) {
        snprintf(err, errlen, "GGUF version %u (mlgate reads 1 to 3)", g->version);
        return MG_E_UNSUPPORTED;
    }
    c->v1 = g->version == 1;
    if (c->v1)
        issue(&x, "GGUF v1: llama.cpp no longer loads it");
    if (!count(c, &g->n_tensors) || !count(c, &g->n_kv))
        goto truncated;
    uint64_t declared_kv = g->n_kv, declared_tensors = g->n_tensors;
    g->n_kv = g->n_tensors = 0;   /* until read: a failed parse keeps only whole entries */
    /* Caps before reading on: a header cannot declare more than any real model has. */
    if (declared_kv > MAX_KV || declared_tensors > MAX_TENSORS) {
        snprintf(err, errlen, "GGUF declares %llu tensors and %llu metadata keys: more than any real model",
                 (unsigned long long)declared_tensors, (unsigned long long)declared_kv);
        return MG_E_LIMIT;
    }
    /* The smallest a metadata pair can be (an empty key, a u8 value) and a tensor info (one
       dimension): v1 has 32-bit lengths. A file too small for what it declares is cut short. */
    uint64_t floor_bytes = declared_kv * (c->v1 ? 4 + 4 + 1 : 8 + 4 + 1) + declared_tensors * (c->v1 ? 24 : 32);
    if (floor_bytes > file_size - c->pos) {
        c->need = c->pos + floor_bytes;
        goto truncated;
    }
    size_t cap = 0;
    for (uint64_t i = 0; i < declared_kv; i++) {
        if (!(g->kv = grow(a, g->kv, &cap, (size_t)i, declared_kv, sizeof *g->kv)))
            return nomem(&x);
        const uint8_t *k;
        uint64_t kl;
        uint32_t t;
        if (!string(c, &k, &kl) || !u32(c, &t))
            goto truncated;
        mg_gguf_kv *kv = &g->kv[i];
        memset(kv, 0, sizeof *kv);
        if (!(kv->key = mg_arena_strndup(a, (const char *)k, kl < 256 ? (size_t)kl : 256)))
            return nomem(&x);
        kv->type = t;
        if ((rc = value(&x, t, 0, kv)) != MG_OK) {
            if (rc == MG_E_TRUNCATED)
                goto truncated;
            return rc;
        }
        g->n_kv = x.kv_read = i + 1;
    }
    g->alignment = 32;
    const mg_gguf_kv *al = mg_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != MG_GGUF_U32 || al->v.u == 0 || (al->v.u & (al->v.u - 1)) || al->v.u > (1u << 20))
            issue(&x, "general.alignment is not a u32 power of two: llama.cpp rejects the file");
        else
            g->alignment = (uint32_t)al->v.u;
    }
    g->n_tensors = declared_tensors;
    rc = tensors(&x);
    g->n_tensors = x.tensors_read;
    if (rc != MG_OK) {
        if (rc == MG_E_TRUNCATED)
            goto truncated;
        return rc;
    }
    g->header_bytes = g->n_tensors ? align_up(c->pos, g->alignment) : c->pos;
    /* llama.cpp wants offsets dense and in order: each tensor where the previous one ends (padded). */
    uint64_t running = 0;
    int order_reported = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        mg_gguf_tensor *t = &g->tensors[i];
        if (t->offset != running && !order_reported++) {
            char b[200];
            snprintf(b, sizeof b, "tensor '%.64s' has offset %llu, llama.cpp expects %llu", t->name,
                     (unsigned long long)t->offset, (unsigned long long)running);
            issue(&x, b);
        }
        uint64_t padded = t->nbytes > UINT64_MAX - g->alignment ? UINT64_MAX : align_up(t->nbytes, g->alignment);
        running = mg_sat_add(running, padded);
    }
    g->data_bytes = running;
    return MG_OK;
truncated:
    if (need)
        *need = c->need;
    snprintf(err, errlen, "GGUF header ends early (needs at least %llu bytes, have %zu)",
             (unsigned long long)c->need, len);
    return MG_E_TRUNCATED;
}

int mg_gguf_parse(const uint8_t *buf, size_t len, mg_arena *a, mg_gguf *g, uint64_t *need, char *err, size_t errlen)
{
    return mg_gguf_parse_part(buf, len, len, a, g, need, err, errlen);
}
