/*
 * probes.c - the gate's probes on the wire: the up stage (GET /models, or the program exists), the
 * inference stage's request sent with libcurl - the body and the judgement of its answer are each
 * kind's in probe_kinds.c (shared with mlgate-probe) - and exec models run without a shell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/child.h"
#include "core/net.h"
#include "core/text.h"
#include "gate/gate_int.h"
#include "gate/probe_kinds.h"

#define MAX_UP_BODY (1u << 20)   /* GET /models: a list of names */
#define MAX_EXEC_OUTPUT (64u << 10)

/* ==== One bounded HTTP request ==== */

/* An answer being received: bounded by its kind's cap and by what all models hold at once. */
typedef struct body {
    uint8_t *p;
    size_t n, cap;
    size_t max;                 /* this answer's cap */
    _Atomic size_t *shared;     /* the run's answer bytes, all models (NULL: not counted) */
    int too_big, over_shared;
} body;

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
    body *b = u;
    size_t n = sz * nm;
    if (n > b->max - b->n) {
        b->too_big = 1;
        return 0;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        size_t more = cap - b->cap;
        if (b->shared && atomic_fetch_add(b->shared, more) + more > MG_ANSWERS_MAX) {
            atomic_fetch_sub(b->shared, more);
            b->over_shared = 1;
            return 0;
        }
        uint8_t *p = mg_realloc(b->p, cap);
        if (!p) {
            if (b->shared)
                atomic_fetch_sub(b->shared, more);
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static void body_free(body *b)
{
    if (b->shared)
        atomic_fetch_sub(b->shared, b->cap);
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

typedef struct reply {
    long status;
    double ttfb, total;
    body b;
    char err[MG_STAGE_REASON_MAX];   /* what went wrong, an error body quoted (MG_QUOTE_MAX) */
} reply;

/* curl's progress callback: a cancelled run stops its requests in flight. */
static int on_progress(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return mg_check_cancelled(u);
}

/* One request to the model's endpoint, bounded in time and size (max bytes of answer, counted in
 * the job's answers too): a POST of req (probe_kinds.c's body: JSON or a multipart form), a GET when NULL;
 * cancelled with the run.
 * Returns 0, or -1 with r->err. Free r->b with body_free. */
static int http(const mg_check_job *j, const char *path, const mg_probe_body *req, double limit, size_t max, reply *r)
{
    const mg_matrix_model *md = j->md;
    memset(r, 0, sizeof *r);
    r->b.max = max;
    r->b.shared = j->answers;
    if (limit <= 0) {
        snprintf(r->err, sizeof r->err, "the gate's deadline passed before this request");
        return -1;
    }
    const mg_curl_api *cu = mg_curl(r->err, sizeof r->err);
    CURL *c = cu ? cu->easy_init() : NULL;
    if (!c) {
        if (cu)
            snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    char url[2048], auth[1100], ctype[112];
    size_t el = strlen(md->endpoint);
    snprintf(url, sizeof url, "%.*s/%s", (int)(el && md->endpoint[el - 1] == '/' ? el - 1 : el), md->endpoint, path);
    struct curl_slist *h = NULL;
    const char *key = mg_probe_api_key(md);
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %.1000s", key);
        h = cu->slist_append(h, auth);
    }
    if (req) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", req->type);
        h = cu->slist_append(h, ctype);
        cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->n);
        cu->easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req->p);
    }
    long ms = (long)(limit * 1000) + 1;
    cu->easy_setopt(c, CURLOPT_URL, url);
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 5000 ? ms : 5000L);
    cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu->easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, &r->b);
    cu->easy_setopt(c, CURLOPT_USERAGENT, "mlgate-check/" MLGATE_VERSION);
    cu->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    cu->easy_setopt(c, CURLOPT_XFERINFODATA, (void *)j->o);
    cu->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = cu->easy_perform(c);
    char shown[124], said[MG_QUOTE_MAX];   /* what is quoted passes the sanitiser: an error body may echo the key */
    mg_text_clean(shown, sizeof shown, url, strlen(url), key);
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    cu->easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME, &r->ttfb);
    cu->easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->total);
    char cap[32];
    if (r->b.too_big)
        snprintf(r->err, sizeof r->err, "%s: the answer passed %s, the most this kind's answer may be; stopped", shown,
                 mg_human(max, cap));
    else if (r->b.over_shared)
        snprintf(r->err, sizeof r->err, "%s: the answers all models held at once passed %s; stopped", shown,
                 mg_human(MG_ANSWERS_MAX, cap));
    else if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(r->err, sizeof r->err, "%s: the run was cancelled", shown);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(r->err, sizeof r->err, "%s: no complete answer within %.1f s (%zu bytes came)", shown, limit, r->b.n);
    else if (rc != CURLE_OK)
        snprintf(r->err, sizeof r->err, "%s: %s", shown, cu->easy_strerror(rc));
    else if (r->status < 200 || r->status > 299)
        snprintf(r->err, sizeof r->err, "%s: HTTP %ld: %s", shown, r->status,
                 mg_text_clean(said, sizeof said, r->b.p, r->b.n, key));
    cu->slist_free_all(h);
    cu->easy_cleanup(c);
    return r->err[0] ? -1 : 0;
}

/* ==== exec models: argv without a shell, bounded in time and output ==== */

static void run_exec(mg_check_job *j, mg_stage_result *s, mg_check_result *r)
{
    const mg_matrix_model *md = j->md;
    double limit = mg_check_left(j, md->timeout), t0 = mg_now();
    mg_child ch;
    if (limit <= 0) {
        snprintf(s->reason, sizeof s->reason, "the gate's deadline passed");
        return;
    }
    if (mg_child_exec(&ch, (const char *const *)md->exec, s->reason, sizeof s->reason))
        return;
    char *out = mg_malloc(MAX_EXEC_OUTPUT + 1);
    size_t n = 0;
    long got;
    char buf[4096];
    /* read in slices of at most 0.1 s, so that a cancelled run ends the program at once */
    int cancelled = 0;
    for (;;) {
        double until = mg_now() + 0.1;
        got = mg_child_read(&ch, buf, sizeof buf, until < t0 + limit ? until : t0 + limit);
        if (got < 0 && mg_now() < t0 + limit && !(cancelled = mg_check_cancelled(j->o))) {
            ch.timed_out = 0;
            continue;
        }
        if (got <= 0)
            break;
        for (long k = 0; out && k < got && n < MAX_EXEC_OUTPUT; k++)
            out[n++] = buf[k];
    }
    int timed_out = got < 0;
    int st = mg_child_end(&ch, timed_out ? 0 : t0 + limit);
    timed_out |= ch.killed;
    r->total = mg_now() - t0;
    char said[MG_QUOTE_MAX];   /* what the program printed, as the reasons quote it (4 KiB, then "...") */
    mg_text_clean(said, sizeof said, out, out ? n : 0, mg_probe_api_key(md));
    if (out)
        out[n] = 0;
    r->bytes = n;
    if (cancelled)
        snprintf(s->reason, sizeof s->reason, "the run was cancelled");
    else if (timed_out)
        snprintf(s->reason, sizeof s->reason, "%.60s did not finish within %.1f s", md->exec[0], limit);
    else if (!WIFEXITED(st) || WEXITSTATUS(st))
        snprintf(s->reason, sizeof s->reason, "%.60s %s %d: %s", md->exec[0],
                 WIFEXITED(st) ? "exited with" : "killed by signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), said);
    else if (md->probe.expect && (!out || !strstr(out, md->probe.expect)))
        snprintf(s->reason, sizeof s->reason, "output lacks '%.60s': %s", md->probe.expect, said);
    else
        snprintf(r->output, sizeof r->output, "exit 0, %zu bytes of output", n);
    s->ok = !s->reason[0];
    free(out);
}

/* ==== The stages ==== */

void mg_probe_inference(mg_check_job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    mg_check_result *r = j->r;
    if (md->nexec) {
        run_exec(j, s, r);
        return;
    }
    const mg_probe_kind *k = mg_probe_kind_of(md->kind);
    if (!k) {
        snprintf(s->reason, sizeof s->reason, "no probe for kind %s", mg_model_kind_name(md->kind));
        return;
    }
    mg_probe_body req;
    int e = mg_probe_request(md, &req);
    if (e) {
        snprintf(s->reason, sizeof s->reason, "%s: %s", k->path,
                 e == MG_E_NOMEM ? "out of memory building the request" : "the model id cannot be sent in a form");
        return;
    }
    reply rp;
    int rc = http(j, k->path, &req, mg_check_left(j, md->timeout), k->max, &rp);
    mg_probe_body_free(&req);
    r->ttfb = rp.ttfb;
    r->total = rp.total;
    r->bytes = rp.b.n;
    if (rc)
        snprintf(s->reason, sizeof s->reason, "%s", rp.err);
    else
        mg_probe_answer(md, rp.b.p, rp.b.n, s, r);
    body_free(&rp.b);
    s->ok = !s->reason[0];
}

/* An executable on PATH (or at the path given). */
static int executable(const char *a0)
{
    if (strchr(a0, '/'))
        return !access(a0, X_OK);
    const char *path = getenv("PATH");
    char dir[4096];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t l = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s/%s", (int)l, p, a0);
        if (!access(dir, X_OK))
            return 1;
        p += l + (p[l] == ':');
    }
    return 0;
}

void mg_probe_up(mg_check_job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    if (md->nexec) {
        s->ok = executable(md->exec[0]);
        if (!s->ok)
            snprintf(s->reason, sizeof s->reason, "%.200s: not an executable here", md->exec[0]);
        return;
    }
    reply rp;
    double lim = j->o->up_timeout > 0 ? j->o->up_timeout : 5;
    if (http(j, "models", NULL, mg_check_left(j, lim < md->timeout ? lim : md->timeout), MAX_UP_BODY,
             &rp))
        snprintf(s->reason, sizeof s->reason, "%s", rp.err);
    body_free(&rp.b);
    s->ok = !s->reason[0];
}
