/* matrix.c - reads the model matrix (YAML): libyaml's events into a small tree, with caps on depth, nodes and anchors
 * checked before libyaml's quadratic paths; every key known and given once, every value checked, errors at
 * file:line:column. */
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
#include "core/arith.h"
#include "core/file.h"
#include "gate/gate_int.h"
#include "gate/probe_kinds.h"

#define MAX_MATRIX_BYTES (1u << 20)
#define MAX_STRING 4096
/*
 * libyaml's scanner walks every open flow level for each token (80,000 '[' take 12 s, 160,000 over a
 * minute), its loader looks each anchor and alias up among all the anchors before it, and its parser
 * each %TAG directive among all those before it: the reader stops at these caps first. A matrix
 * needs 4 levels and a few dozen nodes per model.
 */
#define MAX_DEPTH 32            /* nested lists and mappings */
#define MAX_NODES 100000        /* values, lists, mappings and aliases */
#define MAX_ANCHORS 1024
#define MAX_DIRECTIVES 16       /* %YAML and %TAG lines */

/* The kinds' names (mg_model_kind_name, mg_model_kind_parse) live with their probes: lib/gate/probe_kinds.c. */

/* The document as the reader builds it from libyaml's events; an alias is a copy of its node's head
 * (same value or items, the alias's place), never an expansion. */
typedef enum ytype { Y_SCALAR, Y_SEQUENCE, Y_MAPPING } ytype;

typedef struct ynode {
    ytype type;
    size_t line, column;        /* where it starts, from 0 (libyaml's marks) */
    const char *value;          /* a scalar's text, NUL-terminated, no NUL inside */
    size_t len;                 /* scalar: bytes; sequence: items; mapping: pairs */
    struct ynode **items;       /* sequence: len items; mapping: key, value, key, value, ... */
} ynode;

typedef struct ctx {
    mg_matrix *m;
    const char *name;
    char *err;
    size_t errlen;
    mg_matrix_model *model;     /* the model being read (its per-GPU lists) */
} ctx;

static int vfail(ctx *c, int rc, size_t line, size_t column, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static int vfail(ctx *c, int rc, size_t line, size_t column, const char *fmt, va_list ap)
{
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->name, line + 1, column + 1, msg);
    return rc;
}

/* An error at node n (NULL: the file's start). */
static int fail(ctx *c, const ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(c, MG_E_FORMAT, n ? n->line : 0, n ? n->column : 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* An error with its code at a place libyaml marked. */
static int fail_at(ctx *c, int rc, yaml_mark_t mk, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(ctx *c, int rc, yaml_mark_t mk, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = vfail(c, rc, mk.line, mk.column, fmt, ap);
    va_end(ap);
    return rc;
}

/* ==== The reader: events -> tree, bounded ==== */

typedef struct anchor {
    const char *name;
    const ynode *node;
    size_t line;
    int open;                   /* its list or mapping has not ended: an alias to it would be a cycle */
} anchor;

typedef struct reader {
    ctx *c;
    mg_arena *arena;            /* the tree's; freed once the matrix is read */
    ynode **kids;               /* the items of the open lists and mappings, innermost last */
    size_t nkids, capkids;
    struct {
        ynode *node;
        size_t base;            /* its first item in kids */
        anchor *anchor;
    } open[MAX_DEPTH];
    int depth, documents;
    size_t nodes;
    anchor *anchors;            /* nanchors of MAX_ANCHORS, from the arena, in the file's order */
    anchor **sorted;            /* the same, by name */
    size_t nanchors;
    ynode *root;
} reader;

/*
 * The anchors are kept sorted by name: an alias is found in 10 comparisons, each no longer than its
 * own name, whatever names a hostile file picks (a hash table would let it choose collisions).
 * *at: where name is, or would go.
 */
static anchor *find_anchor(const reader *r, const char *name, size_t *at)
{
    size_t lo = 0, hi = r->nanchors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(name, r->sorted[mid]->name);
        if (!cmp) {
            *at = mid;
            return r->sorted[mid];
        }
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *at = lo;
    return NULL;
}

static int add_anchor(reader *r, const yaml_char_t *name, const ynode *n, yaml_mark_t mk, anchor **out)
{
    *out = NULL;
    if (!name)
        return MG_OK;
    if (!r->anchors && (!(r->anchors = mg_arena_array(r->arena, MAX_ANCHORS, sizeof *r->anchors)) ||
                        !(r->sorted = mg_arena_array(r->arena, MAX_ANCHORS, sizeof *r->sorted))))
        return MG_E_NOMEM;
    size_t at;
    const anchor *old = find_anchor(r, (const char *)name, &at);
    if (old)
        return fail_at(r->c, MG_E_FORMAT, mk, "anchor '&%s' defined twice (first at line %zu)", (const char *)name,
                       old->line + 1);
    if (r->nanchors == MAX_ANCHORS)
        return fail_at(r->c, MG_E_LIMIT, mk, "more than %d anchors", MAX_ANCHORS);
    anchor *a = &r->anchors[r->nanchors];
    if (!(a->name = mg_arena_strdup(r->arena, (const char *)name)))
        return MG_E_NOMEM;
    a->node = n;
    a->line = mk.line;
    memmove(r->sorted + at + 1, r->sorted + at, (r->nanchors - at) * sizeof *r->sorted);
    r->sorted[at] = a;
    r->nanchors++;
    *out = a;
    return MG_OK;
}

/* A new node at mk, counted against the cap. */
static int new_node(reader *r, ytype t, yaml_mark_t mk, ynode **out)
{
    if (++r->nodes > MAX_NODES)
        return fail_at(r->c, MG_E_LIMIT, mk, "more than %d YAML nodes (values, lists, mappings, aliases)", MAX_NODES);
    if (!(*out = mg_arena_alloc(r->arena, sizeof **out)))
        return MG_E_NOMEM;
    (*out)->type = t;
    (*out)->line = mk.line;
    (*out)->column = mk.column;
    return MG_OK;
}

/* n is the document's root, or the next item of the innermost open list or mapping. */
static int add(reader *r, ynode *n)
{
    if (!r->depth) {
        r->root = n;
        return MG_OK;
    }
    if (r->nkids == r->capkids) {
        size_t cap = r->capkids ? r->capkids * 2 : 64;
        ynode **k = mg_realloc(r->kids, cap * sizeof *k);
        if (!k)
            return MG_E_NOMEM;
        r->kids = k;
        r->capkids = cap;
    }
    r->kids[r->nkids++] = n;
    return MG_OK;
}

static int event(reader *r, const yaml_event_t *e)
{
    ynode *n = NULL;
    anchor *a = NULL;
    int rc;
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (r->documents++)
            return fail_at(r->c, MG_E_FORMAT, e->start_mark, "a second YAML document (a matrix is one)");
        return MG_OK;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)e->data.alias.anchor;
        size_t at;
        if (!(a = find_anchor(r, name, &at)))
            return fail_at(r->c, MG_E_FORMAT, e->start_mark, "alias '*%s' names no anchor before it", name);
        if (a->open)
            return fail_at(r->c, MG_E_FORMAT, e->start_mark, "alias '*%s' inside the node it names (a cycle)", name);
        if ((rc = new_node(r, a->node->type, e->start_mark, &n)))
            return rc;
        n->value = a->node->value;
        n->len = a->node->len;
        n->items = a->node->items;
        return add(r, n);
    }
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)e->data.scalar.value;
        size_t len = e->data.scalar.length;
        if ((rc = new_node(r, Y_SCALAR, e->start_mark, &n)))
            return rc;
        if (memchr(v, 0, len))
            return fail_at(r->c, MG_E_FORMAT, e->start_mark, "a value with a NUL character in it");
        if (!(n->value = mg_arena_strndup(r->arena, v, len)))
            return MG_E_NOMEM;
        n->len = len;
        if ((rc = add_anchor(r, e->data.scalar.anchor, n, e->start_mark, &a)))
            return rc;
        return add(r, n);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int seq = e->type == YAML_SEQUENCE_START_EVENT;
        if (r->depth == MAX_DEPTH)
            return fail_at(r->c, MG_E_LIMIT, e->start_mark, "nested deeper than %d levels", MAX_DEPTH);
        if ((rc = new_node(r, seq ? Y_SEQUENCE : Y_MAPPING, e->start_mark, &n)) ||
            (rc = add_anchor(r, seq ? e->data.sequence_start.anchor : e->data.mapping_start.anchor, n, e->start_mark,
                             &a)) ||
            (rc = add(r, n)))
            return rc;
        if (a)
            a->open = 1;
        r->open[r->depth].node = n;
        r->open[r->depth].base = r->nkids;
        r->open[r->depth].anchor = a;
        r->depth++;
        return MG_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        r->depth--;
        n = r->open[r->depth].node;
        size_t base = r->open[r->depth].base, count = r->nkids - base;
        if (count) {
            if (!(n->items = mg_arena_array(r->arena, count, sizeof *n->items)))
                return MG_E_NOMEM;
            memcpy(n->items, r->kids + base, count * sizeof *n->items);
        }
        n->len = n->type == Y_MAPPING ? count / 2 : count;
        r->nkids = base;
        if (r->open[r->depth].anchor)
            r->open[r->depth].anchor->open = 0;
        return MG_OK;
    }
    default:   /* stream start and end, document end */
        return MG_OK;
    }
}

/*
 * What libyaml does before the document's first event, and so before the reader could stop it:
 * each %TAG directive is checked against all the ones before it. Directives start at column 0 of a
 * line: count those lines (libyaml's line breaks: LF, CR, CR LF, NEL, LS, PS). UTF-16 would hide
 * them from this count and is refused.
 */
static int before_yaml(ctx *c, const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    yaml_mark_t mk = {0, 0, 0};
    if (len >= 2 && ((t[0] == 0xFF && t[1] == 0xFE) || (t[0] == 0xFE && t[1] == 0xFF)))
        return fail_at(c, MG_E_UNSUPPORTED, mk, "the matrix is UTF-16: write it as UTF-8");
    if (!memchr(text, '%', len))
        return MG_OK;
    size_t found = 0, i = len >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3) ? 3 : 0;   /* after libyaml's BOM: column 0 */
    int start = 1;
    for (; i < len; i++) {
        if (start && t[i] == '%' && ++found > MAX_DIRECTIVES)
            return fail_at(c, MG_E_LIMIT, mk, "more than %d YAML directives (%%YAML, %%TAG)", MAX_DIRECTIVES);
        start = 1;
        if (t[i] == '\n' || (t[i] == '\r' && !(i + 1 < len && t[i + 1] == '\n')))
            ;
        else if (t[i] == 0xC2 && i + 1 < len && t[i + 1] == 0x85)
            i++;
        else if (t[i] == 0xE2 && i + 2 < len && t[i + 1] == 0x80 && (t[i + 2] == 0xA8 || t[i + 2] == 0xA9))
            i += 2;
        else
            start = 0;
        mk.line += start;
    }
    return MG_OK;
}

/* libyaml's own error, at its place, as yaml_parser_load gave it. */
static int syntax_error(ctx *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return MG_E_NOMEM;
    return fail_at(c, MG_E_FORMAT, p->problem_mark, "%s%s%s", p->problem ? p->problem : "not YAML",
                   p->context ? " " : "", p->context ? p->context : "");
}

/* The document's root into *root (NULL: an empty file), its nodes from arena a. */
static int read_tree(ctx *c, const char *text, size_t len, mg_arena *a, const ynode **root)
{
    *root = NULL;
    int rc = before_yaml(c, text, len);
    if (rc)
        return rc;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return MG_E_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    reader r = {.c = c, .arena = a};
    for (int done = 0; !rc && !done;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            rc = syntax_error(c, &p);
            break;
        }
        done = e.type == YAML_STREAM_END_EVENT;
        rc = event(&r, &e);
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    free(r.kids);
    *root = r.root;
    return rc;
}

/* ==== The matrix, from the tree ==== */

/* The scalar's text, or an error naming what was expected. */
static int scalar(ctx *c, const ynode *n, const char *what, const char **out)
{
    if (!n || n->type != Y_SCALAR)
        return fail(c, n, "%s must be a single value, not a %s", what,
                    n && n->type == Y_MAPPING ? "mapping" : "list");
    if (n->len > MAX_STRING)
        return fail(c, n, "%s is longer than %d bytes", what, MAX_STRING);
    *out = mg_arena_strndup(c->m->arena, n->value, n->len);
    return *out ? MG_OK : MG_E_NOMEM;
}

static int size_value(ctx *c, const ynode *n, const char *what, uint64_t *out)
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
static int duration_value(ctx *c, const ynode *n, const char *what, double *out)
{
    const char *s = NULL;
    int rc = scalar(c, n, what, &s);
    if (rc)
        return rc;
    if (mg_parse_duration(s, out))
        return fail(c, n, "%s: '%s' is not a duration (e.g. 30s, 500ms, 2m; at most a day)", what, s);
    return MG_OK;
}

static int uint_value(ctx *c, const ynode *n, const char *what, uint64_t max, uint64_t *out)
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

/* A list of at most MG_MATRIX_MAX_LIST values into out (emptied first), or one value. */
static int list_value(ctx *c, const ynode *n, const char *what, const char **out, size_t *count)
{
    for (size_t i = 0; i < MG_MATRIX_MAX_LIST; i++)
        out[i] = NULL;
    *count = 0;
    if (n && n->type == Y_SCALAR)   /* one item written without brackets */
        return scalar(c, n, what, &out[(*count)++]);
    if (!n || n->type != Y_SEQUENCE)
        return fail(c, n, "%s must be a list", what);
    for (size_t i = 0; i < n->len; i++) {
        if (*count >= MG_MATRIX_MAX_LIST)
            return fail(c, n->items[i], "%s: more than %d items", what, MG_MATRIX_MAX_LIST);
        int rc = scalar(c, n->items[i], what, &out[(*count)++]);
        if (rc)
            return rc;
    }
    return MG_OK;
}

/* A list of at most MG_PLAN_MAX_GPU items (or one value, which may be "75,25"), each parsed by one(). */
static int per_gpu_list(ctx *c, const ynode *n, const char *what, size_t *count,
                        int (*one)(ctx *, const ynode *, const char *, const char *, size_t))
{
    const char *items[MG_MATRIX_MAX_LIST];
    size_t k = 0;
    int rc = list_value(c, n, what, items, &k);
    if (rc)
        return rc;
    *count = 0;
    for (size_t i = 0; i < k; i++) {
        const ynode *at = n->type == Y_SEQUENCE ? n->items[i] : n;
        char *save = NULL, *copy = mg_arena_strdup(c->m->arena, items[i]);
        if (!copy)
            return MG_E_NOMEM;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            for (char *e = tok + strlen(tok); e > tok && e[-1] == ' ';)
                *--e = 0;
            if (*count >= MG_PLAN_MAX_GPU)
                return fail(c, at, "%s: more than %d GPUs", what, MG_PLAN_MAX_GPU);
            if ((rc = one(c, at, what, tok, (*count)++)))
                return rc;
        }
    }
    if (!*count)
        return fail(c, n, "%s: an empty list", what);
    return MG_OK;
}

/* gpus: [0, 1] */
static int one_gpu(ctx *c, const ynode *at, const char *what, const char *s, size_t i)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno || v >= MG_PLAN_MAX_GPU)
        return fail(c, at, "%s: '%s' is not a GPU index from 0 to %d", what, s, MG_PLAN_MAX_GPU - 1);
    for (size_t j = 0; j < i; j++)
        if (c->model->gpus[j] == (int)v)
            return fail(c, at, "%s: GPU %lu given twice", what, v);
    c->model->gpus[i] = (int)v;
    return MG_OK;
}

/* tensor_split: [75, 25] (llama.cpp's ratios: any non-negative numbers) */
static int one_ratio(ctx *c, const ynode *at, const char *what, const char *s, size_t i)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1e9))
        return fail(c, at, "%s: '%s' is not a ratio (a number from 0, e.g. 75,25 or 0.75,0.25)", what, s);
    c->model->tensor_split[i] = v;
    return MG_OK;
}

/* memory: [70G, 20G] */
static int one_size(ctx *c, const ynode *at, const char *what, const char *s, size_t i)
{
    if (mg_parse_size(s, &c->model->memory_gpu[i]))
        return fail(c, at, "%s: '%s' is not a size (e.g. 24G, 512M, 1.5GiB)", what, s);
    return MG_OK;
}

/* host: headroom: [10G, 4G] */
static int one_headroom(ctx *c, const ynode *at, const char *what, const char *s, size_t i)
{
    if (mg_parse_size(s, &c->m->host.headroom_bytes[i]))
        return fail(c, at, "%s: '%s' is not a size (10G) in a per-GPU list", what, s);
    return MG_OK;
}

/* The closest known key, for "did you mean". */
static const char *near(const char *key, const char *const *known)
{
    size_t a = strlen(key);
    for (size_t i = 0; known[i]; i++) {
        size_t b = strlen(known[i]), same = 0;
        for (size_t j = 0; j < a && j < b; j++)
            same += key[j] == known[i][j];
        if ((a + 1 >= b && a <= b + 1 && same + 2 >= (a > b ? a : b)) || (strstr(known[i], key) && a >= 3))
            return known[i];
    }
    return NULL;
}

static int unknown_key(ctx *c, const ynode *k, const char *where, const char *const *known)
{
    const char *key = k->value, *hint = near(key, known);
    return fail(c, k, "unknown key '%s' in %s%s%s%s", key, where, hint ? " (did you mean '" : "", hint ? hint : "",
                hint ? "'?)" : "");
}

/*
 * Key k of a mapping (where: "a model", ...) as the entry of known it names, into *out. A key that is
 * not a name, is unknown or was given before in this mapping (seen[i]: 1 + the line of known[i]'s
 * first) is an error at k.
 */
static int known_key(ctx *c, const ynode *k, const char *where, const char *const *known, size_t *seen,
                     const char **out)
{
    if (k->type != Y_SCALAR)
        return fail(c, k, "keys must be names");
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(k->value, known[i])) {
            if (seen[i])
                return fail(c, k, "key '%s' given twice in %s (first at line %zu)", known[i], where, seen[i]);
            seen[i] = k->line + 1;
            *out = known[i];
            return MG_OK;
        }
    return unknown_key(c, k, where, known);
}

#define MAX_MIN_SECONDS 600   /* 16 MiB of 16 kHz 16-bit mono speech is 524 s */

/* tts: probe.min_seconds, a number of seconds above 0 (1, 0.5, 2.25). */
static int seconds_value(ctx *c, const ynode *n, const char *what, double *out)
{
    const char *s = NULL;
    int rc = scalar(c, n, what, &s);
    if (rc)
        return rc;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* digits and a point only: no "1s", hex, inf or nan, no sign */
    if (!*s || s[strspn(s, "0123456789.")] || *end || errno || !(v > 0 && v <= MAX_MIN_SECONDS))
        return fail(c, n, "%s: '%s' is not a number of seconds above 0 and at most %d", what, s, MAX_MIN_SECONDS);
    *out = v;
    return MG_OK;
}

static int probe(ctx *c, const ynode *n, mg_probe *p)
{
    static const char *const known[] = {"prompt", "max_tokens", "voice", "dimensions", "width", "height", "expect",
                                        "min_seconds", NULL};
    size_t seen[sizeof known / sizeof known[0]] = {0};
    if (n->type != Y_MAPPING)
        return fail(c, n, "probe must be a mapping (prompt:, max_tokens:, ...)");
    for (size_t i = 0; i < n->len; i++) {
        const ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
        const char *key;
        uint64_t u = 0;
        int rc = known_key(c, k, "probe", known, seen, &key);
        if (rc)
            return rc;
        if (!strcmp(key, "prompt"))
            rc = scalar(c, v, "probe.prompt", &p->prompt);
        else if (!strcmp(key, "voice"))
            rc = scalar(c, v, "probe.voice", &p->voice);
        else if (!strcmp(key, "expect"))
            rc = scalar(c, v, "probe.expect", &p->expect);
        else if (!strcmp(key, "min_seconds"))
            rc = seconds_value(c, v, "probe.min_seconds", &p->min_seconds);
        else if (!strcmp(key, "max_tokens")) {
            if (!(rc = uint_value(c, v, "probe.max_tokens", 4096, &u)))
                p->max_tokens = (uint32_t)u;
        } else if (!strcmp(key, "dimensions")) {
            if (!(rc = uint_value(c, v, "probe.dimensions", 1 << 20, &u)))
                p->dimensions = (uint32_t)u;
        } else {   /* width, height */
            if (!(rc = uint_value(c, v, key, 16384, &u)))
                *(key[0] == 'w' ? &p->width : &p->height) = (uint32_t)u;
        }
        if (rc)
            return rc;
    }
    return MG_OK;
}

/* gpu:, gpus:, tensor_split: and memory: agree with each other. */
static int placement(ctx *c, const ynode *n, mg_matrix_model *md, const ynode *memory_at, const ynode *split_at)
{
    if (md->ngpus && md->gpu >= 0)
        return fail(c, n, "model '%s': give gpu: N or gpus: [...], not both", md->name);
    if (md->nsplit && md->gpu >= 0)
        return fail(c, split_at, "model '%s': tensor_split: splits over gpus: [...], not one gpu:", md->name);
    if (md->ngpus == 1)   /* gpus: [N] is a pin */
        md->gpu = md->gpus[0], md->ngpus = 0;
    if (md->nsplit && md->ngpus && md->nsplit != md->ngpus)
        return fail(c, split_at, "model '%s': tensor_split: has %zu ratios for %zu gpus:", md->name, md->nsplit,
                    md->ngpus);
    if (md->nsplit) {
        double sum = 0;
        for (size_t i = 0; i < md->nsplit; i++)
            sum += md->tensor_split[i];
        if (!(sum > 0))
            return fail(c, split_at, "model '%s': tensor_split: every ratio is 0", md->name);
    }
    if (md->nmemory) {
        size_t want = md->ngpus ? md->ngpus : md->gpu >= 0 ? 1 : 0;
        if (md->nmemory != want)
            return fail(c, memory_at, "model '%s': memory: has %zu sizes; give one per gpus: entry (%zu)", md->name,
                        md->nmemory, want);
        if (md->nmemory == 1)
            md->nmemory = 0;   /* memory: [24G] on gpu: N is memory: 24G */
    } else if (md->memory && md->ngpus > 1)
        return fail(c, memory_at, "model '%s': split across %zu GPUs, memory: is a list of one size per GPU "
                    "([70G, 20G])", md->name, md->ngpus);
    return MG_OK;
}

static int model(ctx *c, const ynode *n, mg_matrix_model *md)
{
    static const char *const known[] = {"name", "kind", "endpoint", "exec", "model", "file", "memory", "ram", "ctx",
                                        "residency", "gpu", "binaries", "capability", "probe", "timeout",
                                        "api_key_env", "image", "gpus", "tensor_split", "ngl", "n_cpu_moe", NULL};
    size_t seen[sizeof known / sizeof known[0]] = {0};
    if (n->type != Y_MAPPING)
        return fail(c, n, "each model must be a mapping (name:, kind:, endpoint: ...)");
    md->gpu = -1;
    md->ngl = -1;
    md->timeout = 30;
    c->model = md;
    const ynode *memory_at = NULL, *split_at = NULL;
    md->line = (int)n->line + 1;
    int have_kind = 0;
    for (size_t i = 0; i < n->len; i++) {
        const ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
        const char *key, *s = NULL;
        uint64_t u = 0;
        int rc = known_key(c, k, "a model", known, seen, &key);
        if (rc)
            return rc;
        if (!strcmp(key, "name")) {
            rc = scalar(c, v, "name", &md->name);
            for (const char *p = md->name; !rc && *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                    return fail(c, v, "name '%s': use letters, digits, '.', '_' and '-'", md->name);
        } else if (!strcmp(key, "kind")) {
            if (!(rc = scalar(c, v, "kind", &s))) {
                int j = mg_model_kind_parse(s);
                if (j < 0)
                    return fail(c, v, "kind '%s': one of llm, vlm, tts, asr, embedding, image", s);
                md->kind = (mg_model_kind)j;
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
        else if (!strcmp(key, "memory")) {
            memory_at = v;
            rc = v->type == Y_SEQUENCE ? per_gpu_list(c, v, "memory", &md->nmemory, one_size)
                                       : size_value(c, v, "memory", &md->memory);
            for (size_t g = 0; g < md->nmemory; g++)
                md->memory = mg_sat_add(md->memory, md->memory_gpu[g]);
        } else if (!strcmp(key, "gpus"))
            rc = per_gpu_list(c, v, "gpus", &md->ngpus, one_gpu);
        else if (!strcmp(key, "tensor_split")) {
            split_at = v;
            rc = per_gpu_list(c, v, "tensor_split", &md->nsplit, one_ratio);
        } else if (!strcmp(key, "ngl")) {
            if (!(rc = uint_value(c, v, "ngl", MG_KV_MAX_LAYERS + 1, &u)))
                md->ngl = (int)u;
        } else if (!strcmp(key, "n_cpu_moe")) {
            if (!(rc = uint_value(c, v, "n_cpu_moe", MG_KV_MAX_LAYERS, &u)))
                md->n_cpu_moe = (int)u;
        }
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
        else if (!strcmp(key, "image")) {
            if (!(rc = scalar(c, v, "image", &md->image)) && (!md->image[0] || strstr(md->image, "://")))
                return fail(c, v, "image '%s': a path to a container image (a docker save tarball or an OCI layout "
                            "directory), not %s", md->image, md->image[0] ? "a URL" : "empty");
        } else if (!strcmp(key, "probe"))
            rc = probe(c, v, &md->probe);
        else if (!strcmp(key, "timeout"))
            rc = duration_value(c, v, "timeout", &md->timeout);
        else   /* api_key_env */
            rc = scalar(c, v, "api_key_env", &md->api_key_env);
        if (rc)
            return rc;
    }
    if (!md->name)
        return fail(c, n, "a model without a name");
    if (!have_kind)
        return fail(c, n, "model '%s': kind is required (llm, vlm, tts, asr, embedding, image)", md->name);
    if (!md->endpoint == !md->nexec)
        return fail(c, n, "model '%s': give exactly one of endpoint: and exec:", md->name);
    return placement(c, n, md, memory_at, split_at);
}

static int host(ctx *c, const ynode *n)
{
    static const char *const known[] = {"headroom", "receipts", "capabilities", "gpus", "vram", "deadline", "lock",
                                        "ram", "swap", NULL};
    size_t seen[sizeof known / sizeof known[0]] = {0};
    if (n->type != Y_MAPPING)
        return fail(c, n, "host must be a mapping (headroom:, receipts:, capabilities:, ...)");
    for (size_t i = 0; i < n->len; i++) {
        const ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
        const char *key, *s = NULL;
        int rc = known_key(c, k, "host", known, seen, &key);
        if (rc)
            return rc;
        if (!strcmp(key, "headroom")) {
            if (v->type == Y_SEQUENCE) {
                rc = per_gpu_list(c, v, "headroom", &c->m->host.nheadroom, one_headroom);
                if (rc)
                    return rc;
                continue;
            }
            if ((rc = scalar(c, v, "headroom", &s)))
                return rc;
            char *end;
            double h = strtod(s, &end);
            if (*end == '%')
                h /= 100, end++;
            if (!mg_parse_size(s, &c->m->host.headroom_bytes[0]) && *end) {   /* 10G: bytes on every GPU */
                c->m->host.nheadroom = 1;
                continue;
            }
            if (end == s || *end || !(h >= 0 && h < 0.9))
                return fail(c, v, "headroom '%s': a fraction from 0 to 0.9, a percentage (10%%), or a size kept free "
                            "on each GPU (10G; a list [10G, 4G] per GPU)", s);
            c->m->host.headroom = h;
        } else if (!strcmp(key, "ram"))
            rc = size_value(c, v, "ram", &c->m->host.ram);
        else if (!strcmp(key, "swap"))
            rc = size_value(c, v, "swap", &c->m->host.swap); else if (!strcmp(key, "receipts"))
            rc = scalar(c, v, "receipts", &c->m->host.receipts);
        else if (!strcmp(key, "capabilities"))
            rc = scalar(c, v, "capabilities", &c->m->host.capabilities);
        else if (!strcmp(key, "gpus"))
            rc = scalar(c, v, "gpus", &c->m->host.gpus);
        else if (!strcmp(key, "vram"))
            rc = scalar(c, v, "vram", &c->m->host.vram);
        else if (!strcmp(key, "lock")) {
            if (!(rc = scalar(c, v, "lock", &c->m->host.lock)) && !c->m->host.lock[0])
                return fail(c, v, "lock: the path of a lock file (mlgate lock -o FILE), not empty");
        } else   /* deadline */
            rc = duration_value(c, v, "deadline", &c->m->host.deadline);
        if (rc)
            return rc;
    }
    return MG_OK;
}

static int top(ctx *c, const ynode *root)
{
    static const char *const known[] = {"host", "models", NULL};
    size_t seen[sizeof known / sizeof known[0]] = {0};
    if (!root)
        return fail(c, NULL, "empty matrix: expected host: and models:");
    if (root->type != Y_MAPPING)
        return fail(c, root, "the matrix must be a mapping with host: and models:");
    const ynode *models = NULL;
    for (size_t i = 0; i < root->len; i++) {
        const ynode *k = root->items[2 * i], *v = root->items[2 * i + 1];
        const char *key;
        int rc = known_key(c, k, "the matrix", known, seen, &key);
        if (rc)
            return rc;
        if (!strcmp(key, "host") && (rc = host(c, v)))
            return rc;
        if (!strcmp(key, "models"))
            models = v;
    }
    if (!models || models->type != Y_SEQUENCE)
        return fail(c, models ? models : root, "models: must be a list of models");
    size_t count = models->len;
    if (count > MG_MATRIX_MAX_MODELS)
        return fail(c, models->items[MG_MATRIX_MAX_MODELS], "more than %d models", MG_MATRIX_MAX_MODELS);
    if (!(c->m->models = mg_arena_array(c->m->arena, count ? count : 1, sizeof *c->m->models)))
        return MG_E_NOMEM;
    for (size_t i = 0; i < count; i++) {
        const ynode *it = models->items[i];
        mg_matrix_model *md = &c->m->models[c->m->nmodels];
        int rc = model(c, it, md);
        if (rc)
            return rc;
        for (size_t j = 0; j < c->m->nmodels; j++) {
            if (!strcmp(c->m->models[j].name, md->name))
                return fail(c, it, "model '%s' is defined twice (first at line %d)", md->name, c->m->models[j].line);
            if (md->capability && c->m->models[j].capability && !strcmp(c->m->models[j].capability, md->capability))
                return fail(c, it, "capability '%s' is backed by '%s' already", md->capability, c->m->models[j].name);
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
    mg_arena *tree = mg_arena_new();
    int rc = MG_E_NOMEM;
    if (m && (m->arena = mg_arena_new()) && tree && (m->host.path = mg_arena_strdup(m->arena, name)) &&
        (m->text = mg_arena_strndup(m->arena, text, len))) {
        m->len = len;
        m->host.headroom = 0.10;
        m->host.deadline = 120;
        ctx c = {m, name, err, errlen, NULL};
        const ynode *root;
        if (!(rc = read_tree(&c, text, len, tree, &root)))
            rc = top(&c, root);
    }
    mg_arena_free(tree);
    if (rc) {
        if (rc == MG_E_NOMEM)
            snprintf(err, errlen, "%s: out of memory", name);
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

int mg_matrix_copy(const mg_matrix *m, mg_matrix **out, char *err, size_t errlen)
{
    return mg_matrix_parse(m->text, m->len, m->host.path, out, err, errlen);
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
