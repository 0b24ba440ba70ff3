/*
 * safetensors.c - safetensors header reader, validated like the reference
 * implementation: header size cap, strict JSON object, known dtypes, byte length
 * equal to shape x dtype, offsets contiguous with no gaps or overlaps, file length,
 * no name or field given twice. Two passes of the tokenizer (core/jsonscan.h), no tree.
 */
#define _DEFAULT_SOURCE   /* madvise */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/arith.h"
#include "core/jsonscan.h"
#include "core/rd.h"
#include "mlgate/models.h"
#include "models/formats.h"

#define MAX_HEADER 100000000ull     /* the reference's MAX_HEADER_SIZE */

/* dtype name -> bits; one table (aliases included). */
static const struct { const char *name; uint8_t id, bits; } dtypes[] = {
    {"BOOL", MG_DTYPE_BOOL, 8},   {"F4", MG_DTYPE_F4, 4},       {"FP4", MG_DTYPE_F4, 4},
    {"F6_E2M3", MG_DTYPE_F6_E2M3, 6}, {"F6_E3M2", MG_DTYPE_F6_E3M2, 6},
    {"U8", MG_DTYPE_U8, 8},       {"I8", MG_DTYPE_I8, 8},       {"F8_E5M2", MG_DTYPE_F8_E5M2, 8},
    {"F8_E4M3", MG_DTYPE_F8_E4M3, 8}, {"F8_E8M0", MG_DTYPE_F8_E8M0, 8}, {"E8M0", MG_DTYPE_F8_E8M0, 8},
    {"UE8", MG_DTYPE_F8_E8M0, 8}, {"F8_E4M3FNUZ", MG_DTYPE_F8_E4M3FNUZ, 8}, {"F8_E5M2FNUZ", MG_DTYPE_F8_E5M2FNUZ, 8},
    {"I16", MG_DTYPE_I16, 16},    {"U16", MG_DTYPE_U16, 16},    {"F16", MG_DTYPE_F16, 16},    {"BF16", MG_DTYPE_BF16, 16},
    {"I32", MG_DTYPE_I32, 32},    {"U32", MG_DTYPE_U32, 32},    {"F32", MG_DTYPE_F32, 32},    {"C64", MG_DTYPE_C64, 64},
    {"F64", MG_DTYPE_F64, 64},    {"I64", MG_DTYPE_I64, 64},    {"U64", MG_DTYPE_U64, 64},
};

const char *mg_st_dtype_name(uint8_t id)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].id == id)
            return dtypes[i].name;
    return "?";
}

unsigned mg_st_dtype_bits(uint8_t id)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].id == id)
            return dtypes[i].bits;
    return 0;
}

/* Tensors that are bookkeeping of a quantized checkpoint, not parameters. */
int mg_st_is_aux(const char *name, uint8_t dtype)
{
    static const char *const suffixes[] = {"weight_scale", "weight_scale_inv", "weight_scale_2", "weight_global_scale",
                                           "_zero_point", "input_scale", "weight_shape", "weight_g_idx", "g_idx",
                                           "_scales", ".absmax", ".quant_map", "qzeros", "scales"};
    if (dtype == MG_DTYPE_F8_E8M0)
        return 1;   /* scale-only dtype */
    if (strstr(name, "quant_state.") || strstr(name, ".nested_"))
        return 1;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t l = strlen(suffixes[i]);
        if (n >= l && !strcmp(name + n - l, suffixes[i]))
            return 1;
    }
    return 0;
}

#define NDTYPES (sizeof dtypes / sizeof dtypes[0])
#define MAX_DEPTH 127       /* serde_json's recursion limit: as deep as the reference reader nests */
#define MAX_FORMAT 256      /* a longer __metadata__.format is not kept */
#define RELEASE_STEP (4u << 20)   /* a mapped header's pages are given back every 4 MiB read */
#define RELEASE_ALIGN (2u << 20)  /* up to a 2 MiB boundary: the page cache may map whole 2 MiB folios */

/*
 * Over a read-only private file mapping, the pages behind the scanner are dropped (MADV_DONTNEED):
 * a later read of a token there faults them back in from the page cache, the same bytes, so the
 * resident header stays a few MiB however long it is, one long string included. Always from the
 * mapping's start, to a 2 MiB boundary: a fault may map a whole 2 MiB folio, part of it given back once.
 */
static void give_back(void *map, const uint8_t *upto)
{
    uintptr_t from = (uintptr_t)map, to = (uintptr_t)upto & ~(uintptr_t)(RELEASE_ALIGN - 1);
    if (to > from)
        madvise(map, to - from, MADV_DONTNEED);
}

/* What one tensor entry said, field by field, judged once its object is read. */
typedef struct entry {
    mg_json_token name;
    int dtype;                  /* index in dtypes */
    unsigned seen;              /* F_* */
    const char *shape_err;      /* the first complaint about a dimension */
    int offsets_bad;
    uint32_t ndims, noffsets;
    uint64_t shape[8], numel, off[2];
} entry;

enum { F_DTYPE = 1, F_SHAPE = 2, F_OFFSETS = 4 };

/* What the second pass fills. */
typedef struct fill {
    mg_safetensors *st;
    size_t count;               /* tensors the first pass found: st->tensors holds that many */
    char *names;                /* every name, NUL-terminated, one after another */
    size_t names_used, names_cap;
    uint32_t *slots;            /* open addressing over the names: index + 1, 0 empty */
    size_t mask;
    mg_json_token format;       /* the last __metadata__.format (type 0: none) */
} fill;

static const char *name_of(const mg_json_token *t, char buf[65])
{
    mg_json_copy(t, buf, 65, NULL);
    return buf;
}

static int json_fail(const mg_json_scanner *s, char *err, size_t errlen)
{
    snprintf(err, errlen, "header is not valid JSON: %s at byte %zu", s->err, 8 + s->err_off);
    return MG_E_FORMAT;
}

static int invalid(const entry *e, char *err, size_t errlen)
{
    char nb[65];
    snprintf(err, errlen, "tensor '%s': dtype, shape or data_offsets missing or invalid", name_of(&e->name, nb));
    return MG_E_FORMAT;
}

/* The elements of an array of integers (at most max of them, else "invalid"). */
static int read_ints(mg_json_scanner *s, entry *e, int shape, char *err, size_t errlen)
{
    mg_json_token v;
    uint32_t *n = shape ? &e->ndims : &e->noffsets, max = shape ? 8 : 2;
    for (;;) {
        mg_json_type k = mg_json_next(s, &v);
        if (k == MG_JSON_FAIL)
            return json_fail(s, err, errlen);
        if (k == MG_JSON_ARRAY_END)
            return MG_OK;
        if (*n == max)
            return invalid(e, err, errlen);
        uint64_t x = 0;
        int bad = mg_json_u64(&v, &x) != MG_JSON_OK;
        if (bad && mg_json_skip(s, &v))
            return json_fail(s, err, errlen);
        if (!shape) {
            e->offsets_bad |= bad;
            e->off[(*n)++] = x;
            continue;
        }
        e->shape[(*n)++] = x;
        if (e->shape_err)
            continue;
        if (bad)
            e->shape_err = "shape entries must be non-negative integers";
        else if (x && e->numel > UINT64_MAX / x)
            e->shape_err = "element count overflows";
        else
            e->numel *= x;
    }
}

/* A tensor entry: the value after its name. */
static int read_entry(mg_json_scanner *s, entry *e, char *err, size_t errlen)
{
    mg_json_token k, v;
    mg_json_type ty = mg_json_next(s, &v);
    if (ty == MG_JSON_FAIL)
        return json_fail(s, err, errlen);
    if (ty != MG_JSON_OBJECT_BEGIN)
        return invalid(e, err, errlen);
    for (;;) {
        ty = mg_json_next(s, &k);
        if (ty == MG_JSON_FAIL)
            return json_fail(s, err, errlen);
        if (ty == MG_JSON_OBJECT_END)
            break;
        unsigned f = mg_json_eq(&k, "dtype") ? F_DTYPE : mg_json_eq(&k, "shape") ? F_SHAPE
                     : mg_json_eq(&k, "data_offsets") ? F_OFFSETS : 0;
        if (!f) {
            if (mg_json_skip(s, &k))   /* unknown fields are ignored, as the reference does */
                return json_fail(s, err, errlen);
            continue;
        }
        if (e->seen & f) {
            char nb[65];
            snprintf(err, errlen, "tensor '%s': duplicate field `%s`", name_of(&e->name, nb),
                     f == F_DTYPE ? "dtype" : f == F_SHAPE ? "shape" : "data_offsets");
            return MG_E_FORMAT;
        }
        e->seen |= f;
        ty = mg_json_next(s, &v);
        if (ty == MG_JSON_FAIL)
            return json_fail(s, err, errlen);
        if (f == F_DTYPE) {
            size_t d = 0;
            while (d < NDTYPES && !mg_json_eq(&v, dtypes[d].name))
                d++;
            if (ty != MG_JSON_STRING || d == NDTYPES)
                return invalid(e, err, errlen);
            e->dtype = (int)d;
            continue;
        }
        if (ty != MG_JSON_ARRAY_BEGIN)
            return invalid(e, err, errlen);
        int rc = read_ints(s, e, f == F_SHAPE, err, errlen);
        if (rc)
            return rc;
    }
    char nb[65];
    if (e->seen != (F_DTYPE | F_SHAPE | F_OFFSETS) || e->noffsets != 2)
        return invalid(e, err, errlen);
    if (e->shape_err) {
        snprintf(err, errlen, "tensor '%s': %s", name_of(&e->name, nb), e->shape_err);
        return MG_E_FORMAT;
    }
    if (e->offsets_bad || e->off[1] < e->off[0]) {
        snprintf(err, errlen, "tensor '%s': data_offsets must be [begin, end] with end >= begin", name_of(&e->name, nb));
        return MG_E_FORMAT;
    }
    unsigned bits = dtypes[e->dtype].bits;
    if (e->numel > UINT64_MAX / bits) {
        snprintf(err, errlen, "tensor '%s': element count overflows", name_of(&e->name, nb));
        return MG_E_FORMAT;
    }
    uint64_t nbits = e->numel * bits;
    if (nbits % 8 || e->off[1] - e->off[0] != nbits / 8) {
        snprintf(err, errlen, "tensor '%s': %llu bytes for %llu x %s (%llu expected)", name_of(&e->name, nb),
                 (unsigned long long)(e->off[1] - e->off[0]), (unsigned long long)e->numel, dtypes[e->dtype].name,
                 (unsigned long long)(nbits / 8));
        return MG_E_FORMAT;
    }
    return MG_OK;
}

/* __metadata__: null, or an object of strings (the reference refuses anything else). */
static int read_meta(mg_json_scanner *s, fill *f, char *err, size_t errlen)
{
    mg_json_token k, v;
    mg_json_type ty = mg_json_next(s, &v);
    if (ty == MG_JSON_FAIL)
        return json_fail(s, err, errlen);
    if (ty == MG_JSON_NULL)
        return MG_OK;
    if (ty != MG_JSON_OBJECT_BEGIN) {
        snprintf(err, errlen, "__metadata__ is not an object of strings");
        return MG_E_FORMAT;
    }
    for (;;) {
        ty = mg_json_next(s, &k);
        if (ty == MG_JSON_FAIL)
            return json_fail(s, err, errlen);
        if (ty == MG_JSON_OBJECT_END)
            return MG_OK;
        ty = mg_json_next(s, &v);
        if (ty == MG_JSON_FAIL)
            return json_fail(s, err, errlen);
        if (ty != MG_JSON_STRING) {
            char nb[65];
            snprintf(err, errlen, "__metadata__: the value of '%s' is not a string", name_of(&k, nb));
            return MG_E_FORMAT;
        }
        if (f && mg_json_eq(&k, "format"))
            f->format = v;   /* the last one, as the reference keeps */
    }
}

/* The second pass: one entry into st->tensors, its name once. */
static int store(fill *f, const entry *e, char *err, size_t errlen)
{
    mg_safetensors *st = f->st;
    char nb[65];
    if (st->n >= f->count) {   /* the same bytes cannot hold more entries the second time */
        snprintf(err, errlen, "tensor '%s': more entries than the first pass counted", name_of(&e->name, nb));
        return MG_E_FORMAT;
    }
    char *name = f->names + f->names_used;
    size_t len;
    int rc = mg_json_copy(&e->name, name, f->names_cap - f->names_used, &len);
    if (rc == MG_JSON_E_NUL) {
        snprintf(err, errlen, "tensor '%s': its name holds U+0000", name_of(&e->name, nb));
        return MG_E_FORMAT;
    }
    if (rc) {
        snprintf(err, errlen, "tensor '%s': name longer than the first pass counted", name_of(&e->name, nb));
        return MG_E_FORMAT;
    }
    for (size_t h = (size_t)mg_fnv1a(name, len) & f->mask;; h = (h + 1) & f->mask) {
        if (!f->slots[h]) {
            f->slots[h] = (uint32_t)st->n + 1;
            break;
        }
        if (!strcmp(st->tensors[f->slots[h] - 1].name, name)) {
            snprintf(err, errlen, "tensor '%.64s' is named twice in the header", name);
            return MG_E_FORMAT;
        }
    }
    f->names_used += len + 1;
    mg_st_tensor *t = &st->tensors[st->n++];
    t->name = name;
    t->dtype = dtypes[e->dtype].id;
    t->ndims = e->ndims;
    memcpy(t->shape, e->shape, sizeof t->shape);
    t->numel = e->numel;
    t->begin = e->off[0];
    t->end = e->off[1];
    t->aux = (uint8_t)mg_st_is_aux(t->name, t->dtype);
    if (!t->aux)
        st->params += t->numel;
    st->params_by_dtype[t->dtype] += t->aux ? 0 : t->numel;
    st->bytes_by_dtype[t->dtype] += t->end - t->begin;
    return MG_OK;
}

/*
 * One pass over the header h[0, hn): every entry checked; with f NULL, counted (tensors, bytes of
 * their decoded names), else stored. map: the file mapping h lies in, or NULL.
 */
static int walk(const uint8_t *h, size_t hn, const uint8_t *map, fill *f, size_t *count, size_t *name_bytes,
                char *err, size_t errlen)
{
    mg_json_scanner scanner, *s = &scanner;
    mg_json_token t;
    mg_json_init(s, h, hn, MAX_DEPTH);
    if (map)
        mg_json_on_progress(s, RELEASE_STEP, give_back, (void *)(uintptr_t)map);
    mg_json_type ty = mg_json_next(s, &t);
    if (ty == MG_JSON_FAIL)
        return json_fail(s, err, errlen);
    if (ty != MG_JSON_OBJECT_BEGIN) {
        snprintf(err, errlen, "header is not a JSON object");
        return MG_E_FORMAT;
    }
    int seen_meta = 0, rc;
    for (;;) {
        ty = mg_json_next(s, &t);
        if (ty == MG_JSON_FAIL)
            return json_fail(s, err, errlen);
        if (ty == MG_JSON_OBJECT_END)
            break;
        if (mg_json_eq(&t, "__metadata__")) {
            if (seen_meta++) {
                snprintf(err, errlen, "duplicate field `__metadata__`");
                return MG_E_FORMAT;
            }
            if ((rc = read_meta(s, f, err, errlen)))
                return rc;
            continue;
        }
        entry e;
        memset(&e, 0, sizeof e);
        e.name = t;
        e.numel = 1;
        if ((rc = read_entry(s, &e, err, errlen)))
            return rc;
        if (f) {
            if ((rc = store(f, &e, err, errlen)))
                return rc;
        } else {
            ++*count;
            *name_bytes += mg_json_len(&t) + 1;
        }
    }
    if (mg_json_next(s, &t) != MG_JSON_END)
        return json_fail(s, err, errlen);
    return MG_OK;
}

static int by_offsets(const void *a, const void *b)
{
    const mg_st_tensor *x = *(mg_st_tensor *const *)a, *y = *(mg_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end ? 1 : 0;
}

static int parse(const uint8_t *buf, size_t len, uint64_t file_size, const uint8_t *map, mg_arena *a,
                 mg_safetensors *st, uint64_t *need, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    if (need)
        *need = 0;
    if (len < 8) {
        if (need)
            *need = 8;
        snprintf(err, errlen, "shorter than a safetensors header");
        return MG_E_TRUNCATED;
    }
    uint64_t n = rd64(buf);
    st->header_len = n;
    if (n > MAX_HEADER) {
        snprintf(err, errlen, "header of %llu bytes: over the reference reader's 100 MB limit", (unsigned long long)n);
        return MG_E_LIMIT;
    }
    if (n < 2 || (file_size && 8 + n > file_size)) {
        snprintf(err, errlen, "header length %llu does not fit the file", (unsigned long long)n);
        return MG_E_FORMAT;
    }
    if (8 + n > len) {
        if (need)
            *need = 8 + n;
        snprintf(err, errlen, "header needs %llu bytes, have %zu", (unsigned long long)(8 + n), len);
        return MG_E_TRUNCATED;
    }
    if (buf[8] != '{') {
        snprintf(err, errlen, "header does not start with '{': not a safetensors file");
        return MG_E_FORMAT;
    }
    /* Pass 1 checks everything a header can be checked for alone and counts what it really holds. */
    size_t count = 0, name_bytes = 0;
    int rc = walk(buf + 8, (size_t)n, map, NULL, &count, &name_bytes, err, errlen);
    if (rc)
        return rc;
    /* Pass 2 fills arrays of exactly that size; the names' table is the only memory it frees. */
    fill f;
    memset(&f, 0, sizeof f);
    f.st = st;
    f.count = count;
    f.names_cap = name_bytes;
    size_t slots = 16;
    while (slots < 2 * count)
        slots *= 2;
    f.mask = slots - 1;
    st->tensors = mg_arena_array(a, count ? count : 1, sizeof *st->tensors);
    f.names = mg_arena_alloc(a, name_bytes ? name_bytes : 1);
    f.slots = mg_calloc(slots, sizeof *f.slots);
    mg_st_tensor **order = NULL;
    if (!st->tensors || !f.names || !f.slots) {
        rc = MG_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if ((rc = walk(buf + 8, (size_t)n, map, &f, NULL, NULL, err, errlen)))
        goto done;
    free(f.slots);
    f.slots = NULL;
    if (f.format.type == MG_JSON_STRING) {
        char *fmt;
        if (mg_json_dup(&f.format, a, MAX_FORMAT, &fmt, NULL) == MG_JSON_E_NOMEM) {
            rc = MG_E_NOMEM;
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        st->format = fmt;
    }
    /* The byte buffer must be entirely indexed: by (begin, end), each starting where the last ended. */
    int sorted = 1;
    for (size_t i = 1; i < st->n && sorted; i++) {
        const mg_st_tensor *x = &st->tensors[i - 1], *y = &st->tensors[i];
        sorted = x->begin < y->begin || (x->begin == y->begin && x->end <= y->end);
    }
    if (!sorted) {   /* writers put the entries in data order: no copy to sort then */
        if (!(order = mg_malloc(st->n * sizeof *order))) {
            rc = MG_E_NOMEM;
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < st->n; i++)
            order[i] = &st->tensors[i];
        qsort(order, st->n, sizeof *order, by_offsets);
    }
    uint64_t at = 0;
    for (size_t i = 0; i < st->n; i++) {
        const mg_st_tensor *t = sorted ? &st->tensors[i] : order[i];
        if (t->begin != at) {
            snprintf(err, errlen, "tensor '%.64s' starts at %llu where %llu was expected: %s", t->name,
                     (unsigned long long)t->begin, (unsigned long long)at,
                     t->begin > at ? "a hole in the data" : "overlapping tensors");
            rc = MG_E_FORMAT;
            goto done;
        }
        at = t->end;
    }
    st->data_bytes = at;
    /* file_size >= 8 + n (checked above): compared without a sum, which could pass 2^64 */
    if (file_size && at != file_size - 8 - n) {
        if (at > UINT64_MAX - 8 - n)
            snprintf(err, errlen, "the file is %llu bytes, its header describes more than 2^64",
                     (unsigned long long)file_size);
        else
            snprintf(err, errlen, "the file is %llu bytes, its header describes %llu", (unsigned long long)file_size,
                     (unsigned long long)(8 + n + at));
        rc = at > file_size - 8 - n ? MG_E_TRUNCATED : MG_E_FORMAT;
    }
done:
    free(order);
    free(f.slots);
    return rc;
}

int mg_safetensors_parse(const uint8_t *buf, size_t len, uint64_t file_size, mg_arena *a, mg_safetensors *st,
                         uint64_t *need, char *err, size_t errlen)
{
    return parse(buf, len, file_size, NULL, a, st, need, err, errlen);
}

int mg_safetensors_parse_mapped(const uint8_t *map, size_t len, mg_arena *a, mg_safetensors *st, char *err,
                                size_t errlen)
{
    uint64_t need;
    return parse(map, len, len, map, a, st, &need, err, errlen);
}
