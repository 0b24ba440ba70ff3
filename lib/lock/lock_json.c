/*
 * lock_json.c - the lock file (docs/lock.md): written in one fixed order, a line per package and per verdict list
 * so that it diffs well, atomically; read back with bounds - size, nesting and values counted by the strict
 * tokenizer before cJSON builds a tree - and every field's type and value checked.
 */
#define _GNU_SOURCE   /* open_memstream */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/file.h"
#include "core/json.h"
#include "core/jsonscan.h"
#include "lock/lock_int.h"
#include "mlgate/binaries.h"

#define MAX_DEPTH 10            /* the file needs 7: python[].packages[].verdicts[] */
#define MAX_VALUES 1000000      /* JSON values in all: what cJSON would allocate a node for */
#define MAX_STRING 8192         /* a path with an archive member's name after it */
#define MAX_EXACT (1ull << 53)  /* sizes are exact JSON numbers */

/* ==== Writing ==== */

/* A JSON string (escaped as every report escapes it), or null. */
static void qs(FILE *f, const char *s)
{
    jw w = jw_on(f);
    jw_str(&w, s);
}

/* "9.0" of a compute capability or PTX ISA (major*10+minor), or null for 0. */
static void version(FILE *f, unsigned v)
{
    if (v)
        fprintf(f, "\"%u.%u\"", v / 10, v % 10);
    else
        fputs("null", f);
}

static void strings(FILE *f, const char *key, const char *const *v, size_t n, const char *indent)
{
    fprintf(f, "%s\"%s\": [", indent, key);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n%s  ", i ? "," : "", indent);
        qs(f, v[i]);
    }
    fprintf(f, "%s]", n ? "\n    " : "");
}

static void verdicts(FILE *f, const mg_lock *l, const lk_verdict *v, size_t n)
{
    fputs("\"verdicts\": [", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s{\"gpu\": ", i ? ", " : "");
        qs(f, l->gpus_[v[i].gpu].name);
        fprintf(f, ", \"status\": \"%s\", \"need_isa\": ", mg_status_str((mg_status)v[i].status));
        version(f, v[i].need_isa);
        fputc('}', f);
    }
    fputc(']', f);
}

static void kstr(FILE *f, const char *indent, const char *key, const char *v, int last)
{
    fprintf(f, "%s\"%s\": ", indent, key);
    qs(f, v);
    fputs(last ? "\n" : ",\n", f);
}

void mg_lock_json(FILE *f, const mg_lock *l)
{
    fprintf(f, "{\n  \"lock_version\": %d,\n  \"mlgate\": \"%s\",\n  \"inputs\": {\n", MG_LOCK_VERSION, MLGATE_VERSION);
    kstr(f, "    ", "matrix", l->matrix, 0);
    strings(f, "paths", l->paths, l->npaths, "    ");
    fputs(",\n", f);
    strings(f, "models", l->models, l->nmodels, "    ");
    fputs(",\n", f);
    kstr(f, "    ", "gpus", l->gpus, 0);
    kstr(f, "    ", "driver", l->driver, 0);
    kstr(f, "    ", "arch", l->arch, 0);
    fprintf(f, "    \"hash_models\": %s\n  },\n  \"host\": {\n", l->hash_models ? "true" : "false");
    kstr(f, "    ", "source", l->source, 0);
    kstr(f, "    ", "backend", l->backend, 0);
    kstr(f, "    ", "driver", l->driver_version, 0);
    kstr(f, "    ", "cuda_driver", l->cuda_driver, 0);
    kstr(f, "    ", "kernel", l->kernel, 0);
    kstr(f, "    ", "cpu_arch", l->cpu_arch, 0);
    fputs("    \"gpus\": [", f);
    for (size_t i = 0; i < l->ngpus; i++) {
        const lk_gpu *g = &l->gpus_[i];
        fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
        qs(f, g->name);
        fputs(", \"uuid\": ", f);
        qs(f, g->uuid);
        fputs(", \"cc\": ", f);
        version(f, g->cc);
        if (g->index >= 0)
            fprintf(f, ", \"index\": %d}", g->index);
        else
            fputs(", \"index\": null}", f);
    }
    fprintf(f, "%s]\n  },\n  \"binaries\": [", l->ngpus ? "\n    " : "");
    for (size_t i = 0; i < l->nbins; i++) {
        const lk_binary *b = &l->bins[i];
        fprintf(f, "%s\n    {\n", i ? "," : "");
        kstr(f, "      ", "path", b->path, 0);
        fprintf(f, "      \"size\": %llu,\n", (unsigned long long)b->size);
        kstr(f, "      ", "sha256", b->sha256, 0);
        kstr(f, "      ", "error", b->error, 0);
        fputs("      ", f);
        verdicts(f, l, b->verdicts, b->nverdicts);
        fputs("\n    }", f);
    }
    fprintf(f, "%s],\n  \"python\": [", l->nbins ? "\n  " : "");
    for (size_t i = 0; i < l->nenvs; i++) {
        const lk_pyenv *e = &l->envs[i];
        fprintf(f, "%s\n    {\n", i ? "," : "");
        kstr(f, "      ", "path", e->path, 0);
        fputs("      \"packages\": [", f);
        for (size_t k = 0; k < e->npackages; k++) {
            const lk_package *p = &e->packages[k];
            fprintf(f, "%s\n        {\"name\": ", k ? "," : "");
            qs(f, p->name);
            fputs(", \"version\": ", f);
            qs(f, p->version);
            fputs(", ", f);
            verdicts(f, l, p->verdicts, p->nverdicts);
            fputc('}', f);
        }
        fprintf(f, "%s]\n    }", e->npackages ? "\n      " : "");
    }
    fprintf(f, "%s],\n  \"models\": [", l->nenvs ? "\n  " : "");
    for (size_t i = 0; i < l->nfiles; i++) {
        const lk_model *m = &l->files[i];
        fprintf(f, "%s\n    {\n", i ? "," : "");
        kstr(f, "      ", "path", m->path, 0);
        kstr(f, "      ", "format", m->format, 0);
        fprintf(f, "      \"size\": %llu,\n      \"header_bytes\": %llu,\n", (unsigned long long)m->size,
                (unsigned long long)m->header_bytes);
        kstr(f, "      ", "header_sha256", m->header_sha256, 0);
        kstr(f, "      ", "sha256", m->sha256, 0);
        kstr(f, "      ", "error", m->error, 1);
        fputs("    }", f);
    }
    fprintf(f, "%s]", l->nfiles ? "\n  " : "");
    if (l->nimages) {   /* container images by digest (docs/lock.md) */
        fputs(",\n  \"images\": [", f);
        for (size_t i = 0; i < l->nimages; i++) {
            fprintf(f, "%s\n    {\"path\": ", i ? "," : "");
            qs(f, l->images[i].path);
            fputs(", \"digest\": ", f);
            qs(f, l->images[i].digest);
            fputc('}', f);
        }
        fputs("\n  ]", f);
    }
    fputs("\n}\n", f);
}

int mg_lock_write(const mg_lock *l, const char *path, int flags, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    mg_lock_json(f, l);
    if (fclose(f) || !text) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    int rc = mg_write_atomic(path, text, len, flags & MG_LOCK_SHARED_OK ? MG_FILE_SHARED_OK : 0, err, errlen);
    free(text);
    return rc;
}

/* ==== Reading ==== */

typedef struct pctx {
    const char *name;
    char *err;
    size_t errlen;
    mg_lock *l;
} pctx;

static int bad(pctx *c, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(pctx *c, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s%s%s", c->name, where, *where ? ": " : "", msg);
    return MG_E_FORMAT;
}

static const cJSON *member(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

/* o.key, a string (or null when nullable) of at most MAX_STRING bytes, copied into the lock. */
static int get_str(pctx *c, const cJSON *o, const char *key, const char *where, int nullable, const char **out)
{
    const cJSON *v = member(o, key);
    *out = NULL;
    if (!v)
        return bad(c, where, "no \"%s\"", key);
    if (nullable && cJSON_IsNull(v))
        return MG_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return bad(c, where, "\"%s\" must be a string%s", key, nullable ? " or null" : "");
    size_t n = strlen(v->valuestring);
    if (n > MAX_STRING)
        return bad(c, where, "\"%s\" is longer than %d bytes", key, MAX_STRING);
    return (*out = mg_arena_strndup(c->l->arena, v->valuestring, n)) ? MG_OK : MG_E_NOMEM;
}

static int get_u64(pctx *c, const cJSON *o, const char *key, const char *where, uint64_t *out)
{
    const cJSON *v = member(o, key);
    if (!v)
        return bad(c, where, "no \"%s\"", key);
    if (!cJSON_IsNumber(v) || !mg_u64_exact(v->valuedouble, MAX_EXACT, out))
        return bad(c, where, "\"%s\" must be a whole number from 0 to 2^53", key);
    return MG_OK;
}

static int get_bool(pctx *c, const cJSON *o, const char *key, const char *where, int *out)
{
    const cJSON *v = member(o, key);
    if (!v)
        return bad(c, where, "no \"%s\"", key);
    if (!cJSON_IsBool(v))
        return bad(c, where, "\"%s\" must be true or false", key);
    *out = cJSON_IsTrue(v);
    return MG_OK;
}

/* o.key, an array of at most max items; *n its length. */
static int get_arr(pctx *c, const cJSON *o, const char *key, const char *where, size_t max, const cJSON **out,
                   size_t *n)
{
    const cJSON *v = member(o, key);
    if (!v)
        return bad(c, where, "no \"%s\"", key);
    if (!cJSON_IsArray(v))
        return bad(c, where, "\"%s\" must be a list", key);
    int k = cJSON_GetArraySize(v);
    if (k < 0 || (size_t)k > max)
        return bad(c, where, "\"%s\" has more than %zu items", key, max);
    *out = v, *n = (size_t)k;
    return MG_OK;
}

static int get_obj(pctx *c, const cJSON *o, const char *key, const char *where, const cJSON **out)
{
    const cJSON *v = member(o, key);
    if (!v)
        return bad(c, where, "no \"%s\"", key);
    if (!cJSON_IsObject(v))
        return bad(c, where, "\"%s\" must be an object", key);
    *out = v;
    return MG_OK;
}

/* "9.0" -> 90 (a major of 1..99, one minor digit); 0 for null. */
static int get_version(pctx *c, const cJSON *o, const char *key, const char *where, uint16_t *out)
{
    const char *s;
    int rc = get_str(c, o, key, where, 1, &s);
    *out = 0;
    if (rc || !s)
        return rc;
    size_t n = strlen(s);
    if ((n != 3 && n != 4) || s[n - 2] != '.' || strspn(s, "0123456789") != n - 2 || s[n - 1] < '0' || s[n - 1] > '9' ||
        s[0] == '0')
        return bad(c, where, "\"%s\": '%s' is not a version like \"9.0\" or \"12.1\"", key, s);
    unsigned major = (unsigned)atoi(s);
    *out = (uint16_t)(major * 10 + (unsigned)(s[n - 1] - '0'));
    return MG_OK;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static int get_digest(pctx *c, const cJSON *o, const char *key, const char *where, const char **out)
{
    int rc = get_str(c, o, key, where, 1, out);
    if (!rc && *out && !is_hex64(*out))
        return bad(c, where, "\"%s\" must be 64 lowercase hex digits (a sha256) or null", key);
    return rc;
}

static int need_obj(pctx *c, const cJSON *v, const char *where)
{
    return cJSON_IsObject(v) ? MG_OK : bad(c, where, "must be an object");
}

static int get_verdicts(pctx *c, const cJSON *o, const char *where, lk_verdict **out, size_t *n)
{
    const cJSON *arr;
    int rc = get_arr(c, o, "verdicts", where, MG_MAX_TARGETS, &arr, n);
    *out = NULL;
    if (rc || !*n)
        return rc;
    if (!(*out = mg_arena_array(c->l->arena, *n, sizeof **out)))
        return MG_E_NOMEM;
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        char at[640];
        snprintf(at, sizeof at, "%.500s.verdicts[%zu]", where, i);
        const char *gpu, *status;
        lk_verdict *x = &(*out)[i];
        if ((rc = need_obj(c, v, at)) || (rc = get_str(c, v, "gpu", at, 0, &gpu)) ||
            (rc = get_str(c, v, "status", at, 0, &status)) || (rc = get_version(c, v, "need_isa", at, &x->need_isa)))
            return rc;
        int st = lk_status_parse(status);
        if (st < 0)
            return bad(c, at, "\"status\": '%.40s' is not native, jit, partial or none", status);
        x->status = (uint8_t)st;
        size_t g = 0;
        while (g < c->l->ngpus && strcmp(c->l->gpus_[g].name, gpu))
            g++;
        if (g == c->l->ngpus)
            return bad(c, at, "\"gpu\": '%.100s' is not a GPU of host.gpus", gpu);
        for (size_t k = 0; k < i; k++)
            if ((*out)[k].gpu == g)
                return bad(c, at, "a second verdict for GPU '%.100s'", gpu);
        x->gpu = g;
        i++;
    }
    return MG_OK;
}

static int get_strings(pctx *c, const cJSON *o, const char *key, const char *where, const char ***out, size_t *n)
{
    const cJSON *arr;
    int rc = get_arr(c, o, key, where, MG_LOCK_MAX_INPUTS, &arr, n);
    *out = NULL;
    if (rc || !*n)
        return rc;
    if (!(*out = mg_arena_array(c->l->arena, *n, sizeof **out)))
        return MG_E_NOMEM;
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (!cJSON_IsString(v) || !v->valuestring || strlen(v->valuestring) > MAX_STRING)
            return bad(c, where, "\"%s\"[%zu] must be a string of at most %d bytes", key, i, MAX_STRING);
        if (!((*out)[i++] = mg_arena_strdup(c->l->arena, v->valuestring)))
            return MG_E_NOMEM;
    }
    return MG_OK;
}

static int inputs(pctx *c, const cJSON *top)
{
    mg_lock *l = c->l;
    const cJSON *in;
    int rc;
    if ((rc = get_obj(c, top, "inputs", "", &in)) || (rc = get_str(c, in, "matrix", "inputs", 1, &l->matrix)) ||
        (rc = get_strings(c, in, "paths", "inputs", &l->paths, &l->npaths)) ||
        (rc = get_strings(c, in, "models", "inputs", &l->models, &l->nmodels)) ||
        (rc = get_str(c, in, "gpus", "inputs", 1, &l->gpus)) ||
        (rc = get_str(c, in, "driver", "inputs", 1, &l->driver)) ||
        (rc = get_str(c, in, "arch", "inputs", 1, &l->arch)) ||
        (rc = get_bool(c, in, "hash_models", "inputs", &l->hash_models)))
        return rc;
    for (size_t i = 0; i < l->nmodels; i++)
        l->skipped_urls += strstr(l->models[i], "://") != NULL;
    return MG_OK;
}

static int host(pctx *c, const cJSON *top)
{
    mg_lock *l = c->l;
    const cJSON *h, *arr;
    int rc;
    if ((rc = get_obj(c, top, "host", "", &h)) || (rc = get_str(c, h, "source", "host", 0, &l->source)) ||
        (rc = get_str(c, h, "backend", "host", 1, &l->backend)) ||
        (rc = get_str(c, h, "driver", "host", 1, &l->driver_version)) ||
        (rc = get_str(c, h, "cuda_driver", "host", 1, &l->cuda_driver)) ||
        (rc = get_str(c, h, "kernel", "host", 1, &l->kernel)) ||
        (rc = get_str(c, h, "cpu_arch", "host", 1, &l->cpu_arch)) ||
        (rc = get_arr(c, h, "gpus", "host", MG_MAX_TARGETS, &arr, &l->ngpus)))
        return rc;
    if (strcmp(l->source, "detected") && strcmp(l->source, "given"))
        return bad(c, "host", "\"source\": '%.40s' is not detected or given", l->source);
    if (l->ngpus && !(l->gpus_ = mg_arena_array(l->arena, l->ngpus, sizeof *l->gpus_)))
        return MG_E_NOMEM;
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        char at[64];
        snprintf(at, sizeof at, "host.gpus[%zu]", i);
        lk_gpu *g = &l->gpus_[i];
        if ((rc = need_obj(c, v, at)) || (rc = get_str(c, v, "name", at, 0, &g->name)) ||
            (rc = get_str(c, v, "uuid", at, 1, &g->uuid)) || (rc = get_version(c, v, "cc", at, &g->cc)))
            return rc;
        const cJSON *ix = member(v, "index");
        uint64_t u = 0;
        if (!ix)
            return bad(c, at, "no \"index\"");
        if (cJSON_IsNull(ix))
            g->index = -1;
        else if (!cJSON_IsNumber(ix) || !mg_u64_exact(ix->valuedouble, 4095, &u))
            return bad(c, at, "\"index\" must be a whole number from 0 to 4095, or null");
        else
            g->index = (int)u;
        if (!g->name[0])
            return bad(c, at, "\"name\" is empty");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(l->gpus_[k].name, g->name))
                return bad(c, at, "the name '%.100s' is given twice", g->name);
        i++;
    }
    return MG_OK;
}

static int binaries(pctx *c, const cJSON *top)
{
    mg_lock *l = c->l;
    const cJSON *arr, *v;
    int rc = get_arr(c, top, "binaries", "", MAX_VALUES, &arr, &l->nbins);
    if (rc || !l->nbins)
        return rc;
    if (!(l->bins = mg_arena_array(l->arena, l->nbins, sizeof *l->bins)))
        return MG_E_NOMEM;
    size_t i = 0;
    cJSON_ArrayForEach(v, arr) {
        char at[64];
        snprintf(at, sizeof at, "binaries[%zu]", i);
        lk_binary *b = &l->bins[i++];
        if ((rc = need_obj(c, v, at)) || (rc = get_str(c, v, "path", at, 0, &b->path)) ||
            (rc = get_u64(c, v, "size", at, &b->size)) || (rc = get_digest(c, v, "sha256", at, &b->sha256)) ||
            (rc = get_str(c, v, "error", at, 1, &b->error)) ||
            (rc = get_verdicts(c, v, at, &b->verdicts, &b->nverdicts)))
            return rc;
    }
    return MG_OK;
}

static int python(pctx *c, const cJSON *top)
{
    mg_lock *l = c->l;
    const cJSON *arr, *v;
    int rc = get_arr(c, top, "python", "", MAX_VALUES, &arr, &l->nenvs);
    if (rc || !l->nenvs)
        return rc;
    if (!(l->envs = mg_arena_array(l->arena, l->nenvs, sizeof *l->envs)))
        return MG_E_NOMEM;
    size_t i = 0;
    cJSON_ArrayForEach(v, arr) {
        char at[64];
        snprintf(at, sizeof at, "python[%zu]", i);
        lk_pyenv *e = &l->envs[i++];
        const cJSON *pk, *p;
        if ((rc = need_obj(c, v, at)) || (rc = get_str(c, v, "path", at, 0, &e->path)) ||
            (rc = get_arr(c, v, "packages", at, MAX_VALUES, &pk, &e->npackages)))
            return rc;
        if (e->npackages && !(e->packages = mg_arena_array(l->arena, e->npackages, sizeof *e->packages)))
            return MG_E_NOMEM;
        size_t k = 0;
        cJSON_ArrayForEach(p, pk) {
            char pat[96];
            snprintf(pat, sizeof pat, "%s.packages[%zu]", at, k);
            lk_package *x = &e->packages[k++];
            if ((rc = need_obj(c, p, pat)) || (rc = get_str(c, p, "name", pat, 0, &x->name)) ||
                (rc = get_str(c, p, "version", pat, 0, &x->version)) ||
                (rc = get_verdicts(c, p, pat, &x->verdicts, &x->nverdicts)))
                return rc;
        }
    }
    return MG_OK;
}

static int models(pctx *c, const cJSON *top)
{
    mg_lock *l = c->l;
    const cJSON *arr, *v;
    int rc = get_arr(c, top, "models", "", MAX_VALUES, &arr, &l->nfiles);
    if (rc || !l->nfiles)
        return rc;
    if (!(l->files = mg_arena_array(l->arena, l->nfiles, sizeof *l->files)))
        return MG_E_NOMEM;
    size_t i = 0;
    cJSON_ArrayForEach(v, arr) {
        char at[64];
        snprintf(at, sizeof at, "models[%zu]", i);
        lk_model *m = &l->files[i++];
        if ((rc = need_obj(c, v, at)) || (rc = get_str(c, v, "path", at, 0, &m->path)) ||
            (rc = get_str(c, v, "format", at, 1, &m->format)) || (rc = get_u64(c, v, "size", at, &m->size)) ||
            (rc = get_u64(c, v, "header_bytes", at, &m->header_bytes)) ||
            (rc = get_digest(c, v, "header_sha256", at, &m->header_sha256)) ||
            (rc = get_digest(c, v, "sha256", at, &m->sha256)) || (rc = get_str(c, v, "error", at, 1, &m->error)))
            return rc;
        if (m->format && strcmp(m->format, "gguf") && strcmp(m->format, "safetensors"))
            return bad(c, at, "\"format\": '%.40s' is not gguf or safetensors", m->format);
    }
    return MG_OK;
}

/* "images" is optional in lock_version 1 (written once container images are scanned). */
static int images(pctx *c, const cJSON *top)
{
    mg_lock *l = c->l;
    const cJSON *arr, *v;
    if (!member(top, "images"))
        return MG_OK;
    int rc = get_arr(c, top, "images", "", MAX_VALUES, &arr, &l->nimages);
    if (rc || !l->nimages)
        return rc;
    if (!(l->images = mg_arena_array(l->arena, l->nimages, sizeof *l->images)))
        return MG_E_NOMEM;
    size_t i = 0;
    cJSON_ArrayForEach(v, arr) {
        char at[64];
        snprintf(at, sizeof at, "images[%zu]", i);
        lk_image *x = &l->images[i++];
        if ((rc = need_obj(c, v, at)) || (rc = get_str(c, v, "path", at, 0, &x->path)) ||
            (rc = get_str(c, v, "digest", at, 0, &x->digest)))
            return rc;
    }
    return MG_OK;
}

/* After sorting: the same path (or package) twice is an error. */
static int unique(pctx *c)
{
    const mg_lock *l = c->l;
    for (size_t i = 1; i < l->nbins; i++)
        if (!strcmp(l->bins[i - 1].path, l->bins[i].path))
            return bad(c, "binaries", "'%.200s' is listed twice", l->bins[i].path);
    for (size_t i = 1; i < l->nenvs; i++)
        if (!strcmp(l->envs[i - 1].path, l->envs[i].path))
            return bad(c, "python", "'%.200s' is listed twice", l->envs[i].path);
    for (size_t i = 1; i < l->nfiles; i++)
        if (!strcmp(l->files[i - 1].path, l->files[i].path))
            return bad(c, "models", "'%.200s' is listed twice", l->files[i].path);
    for (size_t i = 1; i < l->nimages; i++)
        if (!strcmp(l->images[i - 1].path, l->images[i].path))
            return bad(c, "images", "'%.200s' is listed twice", l->images[i].path);
    return MG_OK;
}

/* The tokenizer's pass: strict JSON, at most MAX_DEPTH deep and MAX_VALUES values, before cJSON allocates. */
static int bounded(pctx *c, const char *text, size_t len)
{
    mg_json_scanner s;
    mg_json_token t;
    mg_json_init(&s, (const uint8_t *)text, len, MAX_DEPTH);
    size_t values = 0;
    int type;
    while ((type = mg_json_next(&s, &t)) > MG_JSON_END) {
        if (type != MG_JSON_KEY && type != MG_JSON_OBJECT_END && type != MG_JSON_ARRAY_END && ++values > MAX_VALUES) {
            snprintf(c->err, c->errlen, "%s: more than %d JSON values", c->name, MAX_VALUES);
            return MG_E_LIMIT;
        }
        if (type == MG_JSON_STRING && t.escaped && t.len >= 6)
            for (size_t i = 0; i + 6 <= t.len; i++)   /* cJSON would cut a string at an escaped NUL */
                if (t.p[i] == '\\' && !memcmp(t.p + i + 1, "u0000", 5))
                    return bad(c, "", "a string holding a NUL character (\\u0000) at offset %zu", t.off);
    }
    if (type == MG_JSON_FAIL) {
        int deep = s.err && strstr(s.err, "deep");
        snprintf(c->err, c->errlen, "%s: not a lock file: %s at offset %zu%s", c->name, s.err ? s.err : "bad JSON",
                 s.err_off, deep ? " (at most 10 levels)" : "");
        return deep ? MG_E_LIMIT : MG_E_FORMAT;
    }
    return MG_OK;
}

int mg_lock_parse(const char *text, size_t len, const char *name, mg_lock **out, char *err, size_t errlen)
{
    *out = NULL;
    pctx c = {name, err, errlen, NULL};
    if (len > MG_LOCK_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", name, MG_LOCK_MAX_BYTES);
        return MG_E_LIMIT;
    }
    int rc = bounded(&c, text, len);
    if (rc)
        return rc;
    cJSON *top = cJSON_ParseWithLength(text, len);
    if (!top) {
        snprintf(err, errlen, "%s: out of memory", name);   /* the tokenizer took it: only memory is left */
        return MG_E_NOMEM;
    }
    mg_lock *l = mg_calloc(1, sizeof *l);
    if (!l || !(l->arena = mg_arena_new()))
        rc = MG_E_NOMEM;
    c.l = l;
    const cJSON *ver = rc ? NULL : member(top, "lock_version");
    uint64_t v = 0;
    if (rc)
        ;
    else if (!cJSON_IsObject(top))
        rc = bad(&c, "", "a lock file is a JSON object (with \"lock_version\": %d)", MG_LOCK_VERSION);
    else if (!ver)
        rc = bad(&c, "", "no \"lock_version\": not a lock file");
    else if (!cJSON_IsNumber(ver) || !mg_u64_exact(ver->valuedouble, 1u << 30, &v) || v == 0)
        rc = bad(&c, "", "\"lock_version\" must be a whole number from 1");
    else if (v != MG_LOCK_VERSION) {
        snprintf(err, errlen, "%s: lock_version %llu is not %d, the one this mlgate (%s) reads: lock again, or use a "
                 "newer mlgate", name, (unsigned long long)v, MG_LOCK_VERSION, MLGATE_VERSION);
        rc = MG_E_UNSUPPORTED;
    }
    if (!rc && !(rc = inputs(&c, top)) && !(rc = host(&c, top)) && !(rc = binaries(&c, top)) &&
        !(rc = python(&c, top)) && !(rc = models(&c, top)) && !(rc = images(&c, top))) {
        lk_sort(l);
        rc = unique(&c);
    }
    cJSON_Delete(top);
    if (rc) {
        if (rc == MG_E_NOMEM)
            snprintf(err, errlen, "%s: out of memory", name);
        mg_lock_free(l);
        return rc;
    }
    *out = l;
    return MG_OK;
}

int mg_lock_load(const char *path, mg_lock **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf, why[512] = "";
    size_t n;
    int rc = mg_read_all(path, MG_LOCK_MAX_BYTES, &buf, &n, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, why);
        return rc;
    }
    rc = mg_lock_parse(buf, n, path, out, err, errlen);
    free(buf);
    return rc;
}
