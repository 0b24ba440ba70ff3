/*
 * safetensors.c - safetensors header reader, validated like the reference
 * implementation: header size cap, JSON object, known dtypes, byte length equal
 * to shape x dtype, offsets contiguous with no gaps or overlaps, file length.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
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

static int by_begin(const void *a, const void *b)
{
    const mg_st_tensor *x = *(mg_st_tensor *const *)a, *y = *(mg_st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : 0;
}

static int u64_of(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(uint64_t)j->valuedouble)
        return -1;
    *out = (uint64_t)j->valuedouble;
    return 0;
}

int mg_safetensors_parse(const uint8_t *buf, size_t len, uint64_t file_size, mg_arena *a, mg_safetensors *st,
                         uint64_t *need, char *err, size_t errlen)
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
    cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)n);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        snprintf(err, errlen, "header is not a JSON object");
        return MG_E_FORMAT;
    }
    int rc = MG_OK;
    size_t count = 0;
    for (cJSON *e = root->child; e; e = e->next)
        count += strcmp(e->string, "__metadata__") != 0;
    st->tensors = mg_arena_array(a, count ? count : 1, sizeof *st->tensors);
    mg_st_tensor **order = mg_malloc((count ? count : 1) * sizeof *order);
    if (!st->tensors || !order) {
        rc = MG_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(e, "format");
            if (cJSON_IsString(fmt))
                st->format = mg_arena_strdup(a, fmt->valuestring);
            continue;
        }
        mg_st_tensor *t = &st->tensors[st->n];
        t->name = mg_arena_strdup(a, e->string);
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        size_t k = 0;
        if (cJSON_IsString(dt))
            while (k < sizeof dtypes / sizeof dtypes[0] && strcmp(dtypes[k].name, dt->valuestring))
                k++;
        if (!cJSON_IsString(dt) || k == sizeof dtypes / sizeof dtypes[0] || !cJSON_IsArray(sh) ||
            !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || cJSON_GetArraySize(sh) > 8) {
            snprintf(err, errlen, "tensor '%.64s': dtype, shape or data_offsets missing or invalid", t->name);
            rc = MG_E_FORMAT;
            goto done;
        }
        t->dtype = dtypes[k].id;
        t->numel = 1;
        for (const cJSON *d = sh->child; d; d = d->next) {
            uint64_t v;
            if (u64_of(d, &v)) {
                snprintf(err, errlen, "tensor '%.64s': shape entries must be non-negative integers", t->name);
                rc = MG_E_FORMAT;
                goto done;
            }
            t->shape[t->ndims++] = v;
            if (v && t->numel > UINT64_MAX / 64 / v) {
                snprintf(err, errlen, "tensor '%.64s': element count overflows", t->name);
                rc = MG_E_FORMAT;
                goto done;
            }
            t->numel *= v;
        }
        if (u64_of(of->child, &t->begin) || u64_of(of->child->next, &t->end) || t->end < t->begin) {
            snprintf(err, errlen, "tensor '%.64s': data_offsets must be [begin, end] with end >= begin", t->name);
            rc = MG_E_FORMAT;
            goto done;
        }
        uint64_t bits = t->numel * dtypes[k].bits;
        if (bits % 8 || t->end - t->begin != bits / 8) {
            snprintf(err, errlen, "tensor '%.64s': %llu bytes for %llu x %s (%llu expected)", t->name,
                     (unsigned long long)(t->end - t->begin), (unsigned long long)t->numel, dtypes[k].name,
                     (unsigned long long)(bits / 8));
            rc = MG_E_FORMAT;
            goto done;
        }
        t->aux = mg_st_is_aux(t->name, t->dtype);
        if (!t->aux)
            st->params += t->numel;
        st->params_by_dtype[t->dtype] += t->aux ? 0 : t->numel;
        st->bytes_by_dtype[t->dtype] += t->end - t->begin;
        order[st->n++] = t;
    }
    /* The byte buffer must be entirely indexed: sorted by begin, each starting where the last ended. */
    qsort(order, st->n, sizeof *order, by_begin);
    uint64_t at = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (order[i]->begin != at) {
            snprintf(err, errlen, "tensor '%.64s' starts at %llu where %llu was expected: %s", order[i]->name,
                     (unsigned long long)order[i]->begin, (unsigned long long)at,
                     order[i]->begin > at ? "a hole in the data" : "overlapping tensors");
            rc = MG_E_FORMAT;
            goto done;
        }
        at = order[i]->end;
    }
    st->data_bytes = at;
    if (file_size && 8 + n + at != file_size) {
        snprintf(err, errlen, "the file is %llu bytes, its header describes %llu", (unsigned long long)file_size,
                 (unsigned long long)(8 + n + at));
        rc = 8 + n + at > file_size ? MG_E_TRUNCATED : MG_E_FORMAT;
    }
done:
    free(order);
    cJSON_Delete(root);
    return rc;
}
