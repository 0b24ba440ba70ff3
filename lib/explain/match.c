/*
 * match.c - the knowledge base's patterns matched in one linear pass: an Aho-Corasick automaton over
 * every pattern piece of lib/explain/tables/failures.c, built once; the best match of a text, and the
 * table's accessors. Depends on core only, so doctor (host) and the gate attach explanations too.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "explain/attach.h"
#include "explain/explain_int.h"

/* ==== The matcher ==== */

#define GAP 80          /* '*': at most this many bytes between two pieces, on one line */
#define MAX_PIECES 4
#define MAX_PIECE 120
#define NONE16 0xffffu

typedef struct pat {
    uint16_t entry;
    int16_t ctx;            /* index of the pattern that must also occur ("A @ B"), -1 */
    uint8_t is_ctx, npieces, bol, eol, wordend;
    uint16_t len[MAX_PIECES];
} pat;

typedef struct out_rec {
    uint16_t pat;
    uint8_t piece;
    uint16_t next;          /* next output of the same node, NONE16 */
} out_rec;

static struct matcher {
    int ok;
    size_t npat, nstates, nout;
    pat *pats;
    uint16_t (*go)[256];
    uint16_t *fail, *out_head, *dict;   /* dict: the nearest node on the fail chain with outputs */
    out_rec *outs;
} M;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static int count_patterns(size_t *npat, size_t *chars)
{
    *npat = *chars = 0;
    for (size_t e = 0; e < mg_kb_table_len; e++)
        for (const char *const *p = mg_kb_table[e].patterns; *p; p++) {
            *npat += strstr(*p, " @ ") ? 2 : 1;
            *chars += strlen(*p);
        }
    return 0;
}

/* Adds the pieces of s[0..n) as pattern i (the syntax is at the top of tables/failures.c). */
static int add_pattern(size_t i, size_t entry, const char *s, size_t n, int is_ctx)
{
    pat *p = &M.pats[i];
    memset(p, 0, sizeof *p);
    p->entry = (uint16_t)entry;
    p->ctx = -1;
    p->is_ctx = (uint8_t)is_ctx;
    if (n && s[0] == '^') {
        p->bol = 1;
        s++, n--;
    }
    if (n && s[n - 1] == '#') {
        p->wordend = 1;
        n--;
    } else if (n && s[n - 1] == '$') {
        p->eol = 1;
        n--;
    }
    size_t a = 0;
    while (a <= n) {
        size_t b = a;
        while (b < n && s[b] != '*')
            b++;
        if (b > a) {
            if (p->npieces == MAX_PIECES || b - a > MAX_PIECE)
                return -1;
            /* insert the piece, lowered */
            size_t st = 0;
            for (size_t k = a; k < b; k++) {
                unsigned char c = (unsigned char)tolower((unsigned char)s[k]);
                if (M.go[st][c] == NONE16) {
                    M.go[st][c] = (uint16_t)M.nstates;
                    M.out_head[M.nstates] = NONE16;
                    M.nstates++;
                }
                st = M.go[st][c];
            }
            out_rec *o = &M.outs[M.nout];
            o->pat = (uint16_t)i;
            o->piece = p->npieces;
            o->next = M.out_head[st];
            M.out_head[st] = (uint16_t)M.nout++;
            p->len[p->npieces++] = (uint16_t)(b - a);
        }
        a = b + 1;
    }
    return p->npieces ? 0 : -1;
}

/* Plain malloc, not mg_malloc: the matcher is built once for the process and kept, and a test's fault
 * injection must not leave it unbuilt for every later call. */
static void build(void)
{
    size_t npat, chars;
    count_patterns(&npat, &chars);
    size_t maxst = chars + 2;
    if (maxst >= NONE16 || npat >= NONE16)
        return;
    M.pats = calloc(npat, sizeof *M.pats);
    M.go = malloc(maxst * sizeof *M.go);
    M.fail = calloc(maxst, sizeof *M.fail);
    M.out_head = malloc(maxst * sizeof *M.out_head);
    M.dict = malloc(maxst * sizeof *M.dict);
    M.outs = calloc(npat * MAX_PIECES, sizeof *M.outs);
    uint16_t *queue = malloc(maxst * sizeof *queue);
    if (!M.pats || !M.go || !M.fail || !M.out_head || !M.dict || !M.outs || !queue) {
        free(queue);
        return;
    }
    memset(M.go, 0xff, maxst * sizeof *M.go);
    M.out_head[0] = NONE16;
    M.nstates = 1;
    size_t i = 0;
    for (size_t e = 0; e < mg_kb_table_len; e++)
        for (const char *const *p = mg_kb_table[e].patterns; *p; p++) {
            const char *at = strstr(*p, " @ ");
            size_t n = at ? (size_t)(at - *p) : strlen(*p);
            if (add_pattern(i, e, *p, n, 0)) {
                free(queue);
                return;
            }
            if (at) {
                M.pats[i].ctx = (int16_t)(i + 1);
                if (add_pattern(i + 1, e, at + 3, strlen(at + 3), 1)) {
                    free(queue);
                    return;
                }
                i++;
            }
            i++;
        }
    M.npat = i;
    /* breadth first: failure links, the dictionary links, and the full transition table */
    size_t qh = 0, qt = 0;
    for (int c = 0; c < 256; c++) {
        uint16_t v = M.go[0][c];
        if (v == NONE16) {
            M.go[0][c] = 0;
        } else {
            M.fail[v] = 0;
            M.dict[v] = NONE16;
            queue[qt++] = v;
        }
    }
    M.dict[0] = NONE16;
    while (qh < qt) {
        uint16_t u = queue[qh++];
        for (int c = 0; c < 256; c++) {
            uint16_t v = M.go[u][c];
            if (v == NONE16) {
                M.go[u][c] = M.go[M.fail[u]][c];
                continue;
            }
            uint16_t f = M.go[M.fail[u]][c];
            M.fail[v] = f;
            M.dict[v] = M.out_head[f] != NONE16 ? f : M.dict[f];
            queue[qt++] = v;
        }
    }
    free(queue);
    M.ok = 1;
}


typedef struct part {
    int64_t start, end;
    uint32_t line;
} part;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int ends_line(const char *t, size_t len, size_t e)
{
    for (size_t k = e; k < len && k < e + 64; k++) {
        if (t[k] == '\n')
            return 1;
        if (!is_blank(t[k]))
            return 0;
    }
    return e + 64 > len;   /* the end of the text ends the line */
}

/* One pass over the text: hits[p] gets pattern p's first occurrence. */
static void scan(const char *t, size_t len, mg_kb_hit *hits, part *parts)
{
    for (size_t p = 0; p < M.npat; p++)
        for (int j = 0; j < MAX_PIECES; j++)
            parts[p * MAX_PIECES + (size_t)j].end = -1;
    uint16_t st = 0;
    uint32_t line = 1;
    int64_t line_start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '\n') {
            line++;
            line_start = (int64_t)i + 1;
            st = 0;
            continue;
        }
        st = M.go[st][tolower(c)];
        for (uint16_t node = M.out_head[st] != NONE16 ? st : M.dict[st]; node != NONE16; node = M.dict[node]) {
            for (uint16_t k = M.out_head[node]; k != NONE16; k = M.outs[k].next) {
                const out_rec *o = &M.outs[k];
                const pat *p = &M.pats[o->pat];
                mg_kb_hit *h = &hits[o->pat];
                if (h->found)
                    continue;
                int64_t e = (int64_t)i + 1, s = e - p->len[o->piece];
                part *pp = &parts[(size_t)o->pat * MAX_PIECES];
                int64_t mstart;
                if (o->piece == 0) {
                    if (p->bol) {
                        int64_t b = line_start;
                        while (b < s && is_blank(t[b]))
                            b++;
                        if (b != s)
                            continue;
                    }
                    mstart = s;
                } else {
                    const part *q = &pp[o->piece - 1];
                    if (q->end < 0 || q->line != line || q->end > s || s - q->end > GAP)
                        continue;
                    mstart = q->start;
                }
                pp[o->piece] = (part){mstart, e, line};
                if (o->piece + 1 < p->npieces)
                    continue;
                if (p->wordend && (size_t)e < len && isalnum((unsigned char)t[e]))
                    continue;
                if (p->eol && !ends_line(t, len, (size_t)e))
                    continue;
                *h = (mg_kb_hit){mstart, e, line_start, line, 1};
            }
        }
    }
}

static size_t resolve(const mg_kb_hit *hits, mg_kb_match *eh)
{
    memset(eh, 0, mg_kb_table_len * sizeof *eh);
    for (size_t p = 0; p < M.npat; p++) {
        const pat *pt = &M.pats[p];
        if (pt->is_ctx || !hits[p].found || (pt->ctx >= 0 && !hits[pt->ctx].found))
            continue;
        mg_kb_match *x = &eh[pt->entry];
        if (!x->matched || hits[p].start < x->h.start) {
            x->h = hits[p];
            x->matched = 1;
        }
    }
    /* what a matched entry implies is its consequence, not a match of its own */
    for (size_t e = 0; e < mg_kb_table_len; e++)
        for (size_t f = 0; eh[e].matched && f < mg_kb_table_len; f++)
            if (f != e && eh[f].matched && mg_kb_implies(&mg_kb_table[e], &mg_kb_table[f]))
                eh[f].dropped = 1;
    size_t k = 0;
    for (size_t e = 0; e < mg_kb_table_len; e++)
        k += eh[e].matched && !eh[e].dropped;
    return k;
}

int mg_kb_implies(const struct mg_kb_entry *a, const struct mg_kb_entry *b)
{
    size_t n = strlen(b->id);
    for (const char *q = a->implies; q && (q = strstr(q, b->id)); q += n)
        if ((q == a->implies || q[-1] == ' ') && (q[n] == 0 || q[n] == ' '))
            return 1;
    return 0;
}

int mg_kb_before(const struct mg_kb_entry *a, const mg_kb_match *ha, const struct mg_kb_entry *b, const mg_kb_match *hb)
{
    if (a->rank != b->rank)
        return a->rank < b->rank;
    return ha->h.start < hb->h.start;
}

long mg_kb_match_all(const char *text, size_t len, mg_kb_match *m)
{
    pthread_once(&once, build);
    if (!M.ok)
        return -1;
    memset(m, 0, mg_kb_table_len * sizeof *m);
    if (!text || !len)
        return 0;
    if (len > MG_EXPLAIN_MAX_INPUT)
        len = MG_EXPLAIN_MAX_INPUT;
    mg_kb_hit *hits = mg_calloc(M.npat ? M.npat : 1, sizeof *hits);
    part *parts = mg_malloc((M.npat ? M.npat : 1) * MAX_PIECES * sizeof *parts);
    long k = -1;
    if (hits && parts) {
        scan(text, len, hits, parts);
        k = (long)resolve(hits, m);
    }
    free(hits);
    free(parts);
    return k;
}

const mg_kb_entry *mg_explain_match(const char *text, size_t len)
{
    mg_kb_match *m = mg_malloc(mg_kb_table_len * sizeof *m);
    const mg_kb_entry *best = NULL;
    size_t bi = 0;
    if (m && mg_kb_match_all(text, len, m) > 0)
        for (size_t e = 0; e < mg_kb_table_len; e++)
            if (m[e].matched && !m[e].dropped && (!best || mg_kb_before(&mg_kb_table[e], &m[e], best, &m[bi]))) {
                best = &mg_kb_table[e];
                bi = e;
            }
    free(m);
    return best;
}

/* ==== The table's accessors ==== */

const char *mg_kb_id(const mg_kb_entry *e) { return e ? e->id : NULL; }
const char *mg_kb_title(const mg_kb_entry *e) { return e ? e->title : NULL; }
const char *mg_kb_cause(const mg_kb_entry *e) { return e ? e->cause : NULL; }
const char *mg_kb_fix(const mg_kb_entry *e) { return e ? e->fix : NULL; }

const char *mg_kb_reference(const mg_kb_entry *e)
{
    static _Thread_local char buf[256];
    if (!e || !e->refs)
        return NULL;
    size_t n = strcspn(e->refs, " ");
    snprintf(buf, sizeof buf, "%.*s", (int)n, e->refs);
    return buf;
}

size_t mg_kb_count(void) { return mg_kb_table_len; }
const mg_kb_entry *mg_kb_at(size_t i) { return i < mg_kb_table_len ? &mg_kb_table[i] : NULL; }

const mg_kb_entry *mg_kb_find(const char *id)
{
    for (size_t i = 0; id && i < mg_kb_table_len; i++)
        if (!strcmp(mg_kb_table[i].id, id))
            return &mg_kb_table[i];
    return NULL;
}


void mg_explain_attach_json(jw *w, const char *text)
{
    const mg_kb_entry *e = text ? mg_explain_match(text, strlen(text)) : NULL;
    if (!e)
        return;
    jw_key(w, "explain");
    jw_begin_obj(w);
    jw_kstr(w, "id", e->id);
    jw_kstr(w, "cause", e->cause);
    jw_kstr(w, "fix", e->fix);
    jw_end_obj(w);
}
