/* matrix.c - reads the model matrix (YAML, libyaml): every key known, every value checked, errors at file:line:column. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/file.h"
#include "gate/gate_int.h"

#define MAX_MATRIX_BYTES (1u << 20)
#define MAX_STRING 4096

static const char *const kinds[] = {"llm", "vlm", "tts", "asr", "embedding", "image"};

const char *mg_model_kind_name(mg_model_kind k)
{
    return (unsigned)k < sizeof kinds / sizeof kinds[0] ? kinds[k] : "?";
}

typedef struct ctx {
    yaml_document_t *doc;
    mg_matrix *m;
    const char *name;
    char *err;
    size_t errlen;
} ctx;

static int fail(ctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->name, n ? n->start_mark.line + 1 : 1,
             n ? n->start_mark.column + 1 : 1, msg);
    return MG_E_FORMAT;
}

static yaml_node_t *node(ctx *c, int id) { return yaml_document_get_node(c->doc, id); }

/* The scalar's text, or an error naming what was expected. */
static int scalar(ctx *c, yaml_node_t *n, const char *what, const char **out)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return fail(c, n, "%s must be a single value, not a %s", what,
                    n && n->type == YAML_MAPPING_NODE ? "mapping" : "list");
    if (n->data.scalar.length > MAX_STRING)
        return fail(c, n, "%s is longer than %d bytes", what, MAX_STRING);
    *out = mg_arena_strndup(c->m->arena, (const char *)n->data.scalar.value, n->data.scalar.length);
    return *out ? MG_OK : MG_E_NOMEM;
}

static int size_value(ctx *c, yaml_node_t *n, const char *what, uint64_t *out)
{
    const char *s = NULL;
    int rc = scalar(c, n, what, &s);
    if (rc)
        return rc;
    if (mg_parse_size(s, out))
        return fail(c, n, "%s: '%s' is not a size (e.g. 24G, 512M, 1.5GiB)", what, s);
    return MG_OK;
}

/* 30, 30s, 500ms, 2m -> seconds */
static int duration_value(ctx *c, yaml_node_t *n, const char *what, double *out)
{
    const char *s = NULL;
    int rc = scalar(c, n, what, &s);
    if (rc)
        return rc;
    if (mg_parse_duration(s, out))
        return fail(c, n, "%s: '%s' is not a duration (e.g. 30s, 500ms, 2m; at most a day)", what, s);
    return MG_OK;
}

static int uint_value(ctx *c, yaml_node_t *n, const char *what, uint64_t max, uint64_t *out)
{
    const char *s = NULL;
    int rc = scalar(c, n, what, &s);
    if (rc)
        return rc;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno || v > max)
        return fail(c, n, "%s: '%s' is not a whole number from 0 to %llu", what, s, (unsigned long long)max);
    *out = v;
    return MG_OK;
}

static int list_value(ctx *c, yaml_node_t *n, const char *what, const char **out, size_t *count)
{
    *count = 0;
    if (n && n->type == YAML_SCALAR_NODE)   /* one item written without brackets */
        return scalar(c, n, what, &out[(*count)++]);
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "%s must be a list", what);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        if (*count >= MG_MATRIX_MAX_LIST)
            return fail(c, node(c, *it), "%s: more than %d items", what, MG_MATRIX_MAX_LIST);
        int rc = scalar(c, node(c, *it), what, &out[(*count)++]);
        if (rc)
            return rc;
    }
    return MG_OK;
}

/* The closest known key, for "did you mean". */
static const char *near(const char *key, const char *const *known)
{
    for (size_t i = 0; known[i]; i++) {
        size_t a = strlen(key), b = strlen(known[i]), same = 0;
        for (size_t j = 0; j < a && j < b; j++)
            same += key[j] == known[i][j];
        if ((a + 1 >= b && a <= b + 1 && same + 2 >= (a > b ? a : b)) || (strstr(known[i], key) && a >= 3))
            return known[i];
    }
    return NULL;
}

static int unknown_key(ctx *c, yaml_node_t *k, const char *where, const char *const *known)
{
    const char *key = (const char *)k->data.scalar.value, *hint = near(key, known);
    return fail(c, k, "unknown key '%s' in %s%s%s%s", key, where, hint ? " (did you mean '" : "", hint ? hint : "",
                hint ? "'?)" : "");
}

static int probe(ctx *c, yaml_node_t *n, mg_probe *p)
{
    static const char *const known[] = {"prompt", "max_tokens", "voice", "dimensions", "width", "height", "expect", NULL};
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "probe must be a mapping (prompt:, max_tokens:, ...)");
    for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
        yaml_node_t *k = node(c, kv->key), *v = node(c, kv->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, k, "keys must be names");
        const char *key = (const char *)k->data.scalar.value;
        uint64_t u = 0;
        int rc;
        if (!strcmp(key, "prompt"))
            rc = scalar(c, v, "probe.prompt", &p->prompt);
        else if (!strcmp(key, "voice"))
            rc = scalar(c, v, "probe.voice", &p->voice);
        else if (!strcmp(key, "expect"))
            rc = scalar(c, v, "probe.expect", &p->expect);
        else if (!strcmp(key, "max_tokens")) {
            if (!(rc = uint_value(c, v, "probe.max_tokens", 4096, &u)))
                p->max_tokens = (uint32_t)u;
        } else if (!strcmp(key, "dimensions")) {
            if (!(rc = uint_value(c, v, "probe.dimensions", 1 << 20, &u)))
                p->dimensions = (uint32_t)u;
        } else if (!strcmp(key, "width") || !strcmp(key, "height")) {
            if (!(rc = uint_value(c, v, key, 16384, &u)))
                *(key[0] == 'w' ? &p->width : &p->height) = (uint32_t)u;
        } else
            return unknown_key(c, k, "probe", known);
        if (rc)
            return rc;
    }
    return MG_OK;
}

static int model(ctx *c, yaml_node_t *n, mg_matrix_model *md)
{
    static const char *const known[] = {"name", "kind", "endpoint", "exec", "model", "file", "memory", "ram", "ctx",
                                        "residency", "gpu", "binaries", "capability", "probe", "timeout",
                                        "api_key_env", NULL};
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "each model must be a mapping (name:, kind:, endpoint: ...)");
    md->gpu = -1;
    md->timeout = 30;
    md->line = (int)n->start_mark.line + 1;
    int have_kind = 0;
    for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
        yaml_node_t *k = node(c, kv->key), *v = node(c, kv->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, k, "keys must be names");
        const char *key = (const char *)k->data.scalar.value, *s = NULL;
        uint64_t u = 0;
        int rc;
        if (!strcmp(key, "name")) {
            rc = scalar(c, v, "name", &md->name);
            for (const char *p = md->name; !rc && *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                    return fail(c, v, "name '%s': use letters, digits, '.', '_' and '-'", md->name);
        } else if (!strcmp(key, "kind")) {
            if (!(rc = scalar(c, v, "kind", &s))) {
                size_t i = 0;
                while (i < sizeof kinds / sizeof kinds[0] && strcmp(kinds[i], s))
                    i++;
                if (i == sizeof kinds / sizeof kinds[0])
                    return fail(c, v, "kind '%s': one of llm, vlm, tts, asr, embedding, image", s);
                md->kind = (mg_model_kind)i;
                have_kind = 1;
            }
        } else if (!strcmp(key, "endpoint")) {
            if (!(rc = scalar(c, v, "endpoint", &md->endpoint)) && strncmp(md->endpoint, "http://", 7) &&
                strncmp(md->endpoint, "https://", 8))
                return fail(c, v, "endpoint '%s': an http:// or https:// base URL (or use exec:)", md->endpoint);
        } else if (!strcmp(key, "exec")) {
            if (!(rc = list_value(c, v, "exec", md->exec, &md->nexec)) && !md->nexec)
                return fail(c, v, "exec: an empty command");
        } else if (!strcmp(key, "model"))
            rc = scalar(c, v, "model", &md->model);
        else if (!strcmp(key, "file"))
            rc = scalar(c, v, "file", &md->file);
        else if (!strcmp(key, "memory"))
            rc = size_value(c, v, "memory", &md->memory);
        else if (!strcmp(key, "ram"))
            rc = size_value(c, v, "ram", &md->ram);
        else if (!strcmp(key, "ctx"))
            rc = uint_value(c, v, "ctx", 1u << 24, &md->ctx);
        else if (!strcmp(key, "residency")) {
            if (!(rc = scalar(c, v, "residency", &s))) {
                if (strcmp(s, "resident") && strcmp(s, "on-demand"))
                    return fail(c, v, "residency '%s': resident or on-demand", s);
                md->on_demand = !strcmp(s, "on-demand");
            }
        } else if (!strcmp(key, "gpu")) {
            if (!(rc = uint_value(c, v, "gpu", MG_PLAN_MAX_GPU - 1, &u)))
                md->gpu = (int)u;
        } else if (!strcmp(key, "binaries"))
            rc = list_value(c, v, "binaries", md->binaries, &md->nbinaries);
        else if (!strcmp(key, "capability"))
            rc = scalar(c, v, "capability", &md->capability);
        else if (!strcmp(key, "probe"))
            rc = probe(c, v, &md->probe);
        else if (!strcmp(key, "timeout"))
            rc = duration_value(c, v, "timeout", &md->timeout);
        else if (!strcmp(key, "api_key_env"))
            rc = scalar(c, v, "api_key_env", &md->api_key_env);
        else
            return unknown_key(c, k, "a model", known);
        if (rc)
            return rc;
    }
    if (!md->name)
        return fail(c, n, "a model without a name");
    if (!have_kind)
        return fail(c, n, "model '%s': kind is required (llm, vlm, tts, asr, embedding, image)", md->name);
    if (!md->endpoint == !md->nexec)
        return fail(c, n, "model '%s': give exactly one of endpoint: and exec:", md->name);
    return MG_OK;
}

static int host(ctx *c, yaml_node_t *n)
{
    static const char *const known[] = {"headroom", "receipts", "capabilities", "gpus", "vram", "deadline", NULL};
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "host must be a mapping (headroom:, receipts:, capabilities:, ...)");
    for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
        yaml_node_t *k = node(c, kv->key), *v = node(c, kv->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, k, "keys must be names");
        const char *key = (const char *)k->data.scalar.value, *s;
        int rc;
        if (!strcmp(key, "headroom")) {
            if ((rc = scalar(c, v, "headroom", &s)))
                return rc;
            char *end;
            double h = strtod(s, &end);
            if (*end == '%')
                h /= 100, end++;
            if (end == s || *end || !(h >= 0 && h < 0.9))
                return fail(c, v, "headroom '%s': a fraction from 0 to 0.9, or a percentage (10%%)", s);
            c->m->host.headroom = h;
        } else if (!strcmp(key, "receipts"))
            rc = scalar(c, v, "receipts", &c->m->host.receipts);
        else if (!strcmp(key, "capabilities"))
            rc = scalar(c, v, "capabilities", &c->m->host.capabilities);
        else if (!strcmp(key, "gpus"))
            rc = scalar(c, v, "gpus", &c->m->host.gpus);
        else if (!strcmp(key, "vram"))
            rc = scalar(c, v, "vram", &c->m->host.vram);
        else if (!strcmp(key, "deadline"))
            rc = duration_value(c, v, "deadline", &c->m->host.deadline);
        else
            return unknown_key(c, k, "host", known);
        if (rc)
            return rc;
    }
    return MG_OK;
}

static int top(ctx *c, yaml_node_t *root)
{
    static const char *const known[] = {"host", "models", NULL};
    if (!root)
        return fail(c, NULL, "empty matrix: expected host: and models:");
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, root, "the matrix must be a mapping with host: and models:");
    yaml_node_t *models = NULL;
    for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top; kv++) {
        yaml_node_t *k = node(c, kv->key), *v = node(c, kv->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, k, "keys must be names");
        const char *key = (const char *)k->data.scalar.value;
        int rc = MG_OK;
        if (!strcmp(key, "host"))
            rc = host(c, v);
        else if (!strcmp(key, "models"))
            models = v;
        else
            return unknown_key(c, k, "the matrix", known);
        if (rc)
            return rc;
    }
    if (!models || models->type != YAML_SEQUENCE_NODE)
        return fail(c, models ? models : root, "models: must be a list of models");
    size_t count = (size_t)(models->data.sequence.items.top - models->data.sequence.items.start);
    if (count > MG_MATRIX_MAX_MODELS)
        return fail(c, node(c, models->data.sequence.items.start[MG_MATRIX_MAX_MODELS]), "more than %d models",
                    MG_MATRIX_MAX_MODELS);
    if (!(c->m->models = mg_arena_array(c->m->arena, count ? count : 1, sizeof *c->m->models)))
        return MG_E_NOMEM;
    for (yaml_node_item_t *it = models->data.sequence.items.start; it < models->data.sequence.items.top; it++) {
        mg_matrix_model *md = &c->m->models[c->m->nmodels];
        int rc = model(c, node(c, *it), md);
        if (rc)
            return rc;
        for (size_t i = 0; i < c->m->nmodels; i++) {
            if (!strcmp(c->m->models[i].name, md->name))
                return fail(c, node(c, *it), "model '%s' is defined twice (first at line %d)", md->name,
                            c->m->models[i].line);
            if (md->capability && c->m->models[i].capability && !strcmp(c->m->models[i].capability, md->capability))
                return fail(c, node(c, *it), "capability '%s' is backed by '%s' already", md->capability,
                            c->m->models[i].name);
        }
        c->m->nmodels++;
    }
    return MG_OK;
}

int mg_matrix_parse(const char *text, size_t len, const char *name, mg_matrix **out, char *err, size_t errlen)
{
    *out = NULL;
    if (len > MAX_MATRIX_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", name, MAX_MATRIX_BYTES);
        return MG_E_LIMIT;
    }
    mg_matrix *m = mg_calloc(1, sizeof *m);
    if (!m || !(m->arena = mg_arena_new())) {
        free(m);
        return MG_E_NOMEM;
    }
    m->host.headroom = 0.10;
    m->host.deadline = 120;
    m->host.path = mg_arena_strdup(m->arena, name);
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        mg_matrix_free(m);
        return MG_E_NOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc;
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", name, p.problem_mark.line + 1, p.problem_mark.column + 1,
                 p.problem ? p.problem : "not YAML", p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        mg_matrix_free(m);
        return MG_E_FORMAT;
    }
    ctx c = {&doc, m, name, err, errlen};
    rc = top(&c, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    if (rc) {
        mg_matrix_free(m);
        return rc;
    }
    *out = m;
    return MG_OK;
}

int mg_matrix_load(const char *path, mg_matrix **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf, why[256] = "";
    size_t n;
    int rc = mg_read_all(path, MAX_MATRIX_BYTES, &buf, &n, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, why);
        return rc;
    }
    rc = mg_matrix_parse(buf, n, path, out, err, errlen);
    free(buf);
    return rc;
}

void mg_matrix_free(mg_matrix *m)
{
    if (!m)
        return;
    mg_arena_free(m->arena);
    free(m);
}

const mg_matrix_host *mg_matrix_get_host(const mg_matrix *m) { return &m->host; }
size_t mg_matrix_count(const mg_matrix *m) { return m->nmodels; }
const mg_matrix_model *mg_matrix_model_at(const mg_matrix *m, size_t i) { return i < m->nmodels ? &m->models[i] : NULL; }
