/*
 * live.c - what `mlgate serve` keeps between gate runs: the newest run as immutable, reference-
 * counted views holding every document an endpoint serves, rendered once per run (so a request is a
 * lookup, never a render), the runs counted, each model's last change, the GPUs' memory for /metrics.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/json.h"
#include "gate/gate_int.h"
#include "mlgate/serve.h"

/* A run and the matrix it ran: shared by the views that show it (one that could not start shows the last). */
typedef struct run_ref {
    _Atomic int refs;
    mg_matrix *m;
    mg_gate *g;
    uint64_t number;
    double finished;            /* Unix seconds */
    char checked[32];           /* the time every publication of the run says (mg_run.finished) */
} run_ref;

typedef struct doc {
    char *p;                    /* NULL: not available (before the first run, no audit yet) */
    size_t n;
    char etag[24];
} doc;

typedef struct cap_doc {
    const char *name;           /* in the cJSON tree's key, copied into p's allocation */
    doc d;
} cap_doc;

struct mg_live_view {
    _Atomic int refs;
    run_ref *run;               /* NULL before the first run */
    int ready;
    doc docs[MG_NDOCS];
    cap_doc *caps;
    size_t ncaps;
};

/* Per model name: its verdict and since when (UTC), carried across runs. */
typedef struct model_state {
    char *name;
    int ok;
    char since[32];
} model_state;

/* One thread records (mg_live_record, _error, _matrix_error): it alone writes everything here, and
 * readers take only cur and counts, under mu. */
struct mg_live {
    pthread_mutex_t mu;         /* cur (swapped, and referenced by readers) and counts */
    mg_live_view *cur;
    mg_gate_counts counts;
    model_state *models;
    size_t nmodels;
    char *doctor;               /* the newest audit's JSON (NULL: none yet), and its length */
    size_t ndoctor;
    char matrix_error[512];     /* the last re-read of the matrix failed: why */
    char last_error[512];       /* the last run could not start: why */
    const mg_host_paths *host;
    mg_otlp *otlp;              /* whose counts /metrics shows, or NULL */
    /* the GPUs' memory: the sampler thread measures it every second while scrapes come (within the
       last IDLE_AFTER seconds), so that a scrape copies a measurement and never waits on NVML */
    pthread_mutex_t gpu_mu;
    pthread_cond_t gpu_wake;
    pthread_t sampler;
    int sampling, gpu_stop;
    mg_gpu_probe gpu, next;     /* the last measurement (under gpu_mu); the sampler's own */
    double scraped;             /* mg_now() of the last scrape */
};

#define IDLE_AFTER 300.0   /* longer than any scrape interval */

/* ==== Documents ==== */

static void etag_of(doc *d)
{
    uint64_t h = mg_fnv1a(d->p, d->n);
    snprintf(d->etag, sizeof d->etag, "\"%016llx\"", (unsigned long long)h);
}

/* What a writer function printed, as a document; 0, or -1 out of memory. */
typedef void (*render_fn)(FILE *f, const void *arg);

static int render(doc *d, render_fn fn, const void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -1;
    fn(f, arg);
    if (fclose(f) || !text) {
        free(text);
        return -1;
    }
    d->p = text, d->n = len;
    etag_of(d);
    return 0;
}

static int copy_doc(doc *d, const char *p, size_t n)
{
    if (!p)
        return 0;
    if (!(d->p = mg_malloc(n + 1)))
        return -1;
    memcpy(d->p, p, n);
    d->p[n] = 0, d->n = n;
    etag_of(d);
    return 0;
}

/* What the documents are made from: the live state and the run shown. */
typedef struct view_src {
    const mg_live *l;
    const run_ref *run;
} view_src;

static const model_state *state_of(const mg_live *l, const char *name)
{
    for (size_t i = 0; i < l->nmodels; i++)
        if (!strcmp(l->models[i].name, name))
            return &l->models[i];
    return NULL;
}

/* The head both run documents share: which run, when, of which matrix, and what went wrong around it. */
static void run_head(jw *w, const view_src *s, const char *cmd)
{
    jw_report(w, cmd);
    jw_kuint(w, "run", s->run ? s->run->number : 0);
    jw_kstr(w, "checked", s->run ? s->run->checked : NULL);
    jw_kstr(w, "matrix", s->run ? s->run->m->host.path : NULL);
    jw_kstr(w, "matrix_error", s->l->matrix_error[0] ? s->l->matrix_error : NULL);
    jw_kstr(w, "last_error", s->l->last_error[0] ? s->l->last_error : NULL);
}

/* Every resident model passed in the run shown, and the last run could start. */
static int ready_of(const view_src *s)
{
    if (!s->run || s->l->last_error[0])
        return 0;
    const mg_matrix *m = s->run->m;
    for (size_t i = 0; i < m->nmodels; i++)
        if (!m->models[i].on_demand && !mg_gate_result(s->run->g, i)->ok)
            return 0;
    return 1;
}

static void ready_json(FILE *f, const void *arg)
{
    const view_src *s = arg;
    jw w = jw_on(f);
    run_head(&w, s, "ready");
    int ready = ready_of(s);
    jw_kbool(&w, "ready", ready);
    jw_kstr(&w, "reason", !s->run ? "not checked yet" : s->l->last_error[0] ? "the last run could not start" : NULL);
    jw_key(&w, "failing");
    jw_begin_arr(&w);
    for (size_t i = 0; s->run && i < s->run->m->nmodels; i++) {
        const mg_matrix_model *md = &s->run->m->models[i];
        int stage;
        const char *why = mg_check_failure(mg_gate_result(s->run->g, i), &stage);
        if (md->on_demand || !why)
            continue;
        jw_begin_obj(&w);
        jw_kstr(&w, "model", md->name);
        jw_kstr(&w, "capability", md->capability);
        jw_kstr(&w, "stage", mg_stage_name(stage));
        jw_kstr(&w, "reason", why);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    fputc('\n', f);
}

static void models_json(FILE *f, const void *arg)
{
    const view_src *s = arg;
    jw w = jw_on(f);
    run_head(&w, s, "models");
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; s->run && i < s->run->m->nmodels; i++) {
        const mg_matrix_model *md = &s->run->m->models[i];
        const mg_check_result *r = mg_gate_result(s->run->g, i);
        const model_state *st = state_of(s->l, md->name);
        jw_begin_obj(&w);
        jw_kstr(&w, "name", md->name);
        jw_kstr(&w, "kind", mg_model_kind_name(md->kind));
        jw_kstr(&w, "residency", md->on_demand ? "on-demand" : "resident");
        jw_kstr(&w, "capability", md->capability);
        jw_kstr(&w, "endpoint", md->endpoint);
        jw_kstr(&w, "status", r->ok ? "ok" : "failed");
        jw_kstr(&w, "since", st ? st->since : NULL);
        mg_stages_json(&w, r);
        jw_knum(&w, "first_byte_seconds", r->ttfb);
        jw_kstr(&w, "output", r->output);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    fputc('\n', f);
}

static void run_json(FILE *f, const void *arg) { mg_gate_json(f, ((const view_src *)arg)->run->g); }

/* Drift since host: lock: as the run's smoke stage judged it; one that could not be computed says why. */
static void drift_json(FILE *f, const void *arg)
{
    mg_run run;
    mg_gate_run_of(((const view_src *)arg)->run->g, &run);
    if (run.drift)
        mg_drift_json(f, run.drift);
    else if (run.drift_error)
        mg_drift_error_json(f, run.lock, (mg_err)run.drift_code, run.drift_error);
    else
        mg_drift_error_json(f, run.lock, MG_E_ARG, "not computed: the smoke stage was skipped (--no-smoke)");
}

/* The capability file (as publish_caps.c writes it) and each capability's object. */
static int caps_docs(mg_live_view *v, const run_ref *rr)
{
    mg_run run;
    mg_gate_run_of(rr->g, &run);
    cJSON *tree = mg_caps_doc(&run);
    int rc = -1;
    doc *all = &v->docs[MG_DOC_CAPABILITIES];
    if (tree && (all->p = mg_caps_print(tree, &all->n))) {
        etag_of(all);
        const cJSON *caps = cJSON_GetObjectItemCaseSensitive(tree, "capabilities");
        size_t n = (size_t)cJSON_GetArraySize(caps);
        rc = n && !(v->caps = mg_calloc(n, sizeof *v->caps)) ? -1 : 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, caps) {
            if (rc)
                break;
            cap_doc *cd = &v->caps[v->ncaps];
            size_t len = 0, nl = strlen(c->string);
            char *text = mg_caps_print(c, &len), *both = text ? mg_realloc(text, len + 1 + nl + 1) : NULL;
            if (!both) {
                free(text);
                rc = -1;
                break;
            }
            memcpy(both + len + 1, c->string, nl + 1);   /* the name after the text's NUL */
            cd->d.p = both, cd->d.n = len, cd->name = both + len + 1;
            etag_of(&cd->d);
            v->ncaps++;
        }
    }
    cJSON_Delete(tree);
    return rc;
}

static void run_put(run_ref *rr)
{
    if (rr && atomic_fetch_sub(&rr->refs, 1) == 1) {
        mg_gate_free(rr->g);
        mg_matrix_free(rr->m);
        free(rr);
    }
}

void mg_live_put(mg_live_view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (int d = 0; d < MG_NDOCS; d++)
        free(v->docs[d].p);
    for (size_t i = 0; i < v->ncaps; i++)
        free(v->caps[i].d.p);
    free(v->caps);
    run_put(v->run);
    free(v);
}

/* A view of run rr (NULL: none yet) from the live state (read by the recording thread alone). NULL when
 * out of memory. */
static mg_live_view *view_new(mg_live *l, run_ref *rr)
{
    mg_live_view *v = mg_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    view_src s = {l, rr};
    int bad = render(&v->docs[MG_DOC_READY], ready_json, &s) || render(&v->docs[MG_DOC_MODELS], models_json, &s) ||
              copy_doc(&v->docs[MG_DOC_DOCTOR], l->doctor, l->ndoctor);
    if (rr && !bad)
        bad = render(&v->docs[MG_DOC_RUN], run_json, &s) || caps_docs(v, rr);
    if (rr && !bad && rr->m->host.lock)
        bad = render(&v->docs[MG_DOC_DRIFT], drift_json, &s);
    if (rr)
        atomic_fetch_add(&rr->refs, 1);
    v->run = rr;
    v->ready = ready_of(&s);
    if (bad) {
        mg_live_put(v);
        return NULL;
    }
    return v;
}

/* The state changed: a view of rr rendered without the lock (by the one recording thread; readers
 * never touch what it reads), then swapped in under it. The old view stays on failure. */
static int replace_view(mg_live *l, run_ref *rr)
{
    mg_live_view *v = view_new(l, rr);
    if (!v)
        return MG_E_NOMEM;
    pthread_mutex_lock(&l->mu);
    mg_live_view *old = l->cur;
    l->cur = v;
    pthread_mutex_unlock(&l->mu);
    mg_live_put(old);
    return MG_OK;
}

/* ==== The GPUs' memory ==== */

static void *sample(void *arg)
{
    mg_live *l = arg;
    pthread_mutex_lock(&l->gpu_mu);
    while (!l->gpu_stop) {
        pthread_mutex_unlock(&l->gpu_mu);
        mg_gpu_nvml.probe(l->host, &l->next);   /* NVML only: the other backends know no memory in use */
        pthread_mutex_lock(&l->gpu_mu);
        l->gpu = l->next;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += 1;
        pthread_cond_timedwait(&l->gpu_wake, &l->gpu_mu, &t);
        while (!l->gpu_stop && mg_now() - l->scraped > IDLE_AFTER)   /* nobody is looking */
            pthread_cond_wait(&l->gpu_wake, &l->gpu_mu);
    }
    pthread_mutex_unlock(&l->gpu_mu);
    return NULL;
}

/* ==== The state ==== */

int mg_live_new(const mg_host_paths *host, mg_live **out)
{
    mg_live *l = mg_calloc(1, sizeof *l);
    *out = NULL;
    if (!l)
        return MG_E_NOMEM;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->gpu_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->gpu_wake, &ca);
    pthread_condattr_destroy(&ca);
    l->host = host;
    l->scraped = mg_now();   /* the first measurement at once, for the first scrape */
    if (!(l->cur = view_new(l, NULL)) || !(l->sampling = pthread_create(&l->sampler, NULL, sample, l) == 0)) {
        mg_live_free(l);
        return MG_E_NOMEM;
    }
    *out = l;
    return MG_OK;
}

static void states_free(model_state *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].name);
    free(s);
}

void mg_live_free(mg_live *l)
{
    if (!l)
        return;
    if (l->sampling) {
        pthread_mutex_lock(&l->gpu_mu);
        l->gpu_stop = 1;
        pthread_cond_signal(&l->gpu_wake);
        pthread_mutex_unlock(&l->gpu_mu);
        pthread_join(l->sampler, NULL);
    }
    mg_live_put(l->cur);
    states_free(l->models, l->nmodels);
    free(l->doctor);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->gpu_mu);
    pthread_cond_destroy(&l->gpu_wake);
    free(l);
}

/* Each model's verdict in run rr and since when: unchanged ones keep their time. NULL when out of memory. */
static model_state *states_after(const mg_live *l, const run_ref *rr)
{
    const mg_matrix *m = rr->m;
    model_state *s = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *s);
    for (size_t i = 0; s && i < m->nmodels; i++) {
        const model_state *old = state_of(l, m->models[i].name);
        s[i].ok = mg_gate_result(rr->g, i)->ok;
        snprintf(s[i].since, sizeof s[i].since, "%s", old && old->ok == s[i].ok ? old->since : rr->checked);
        if (!(s[i].name = mg_strdup(m->models[i].name))) {
            states_free(s, i);
            return NULL;
        }
    }
    return s;
}

static void doctor_json(FILE *f, const void *d) { mg_doctor_json(f, d); }

static char *doctor_text(const mg_doctor *d, size_t *n)
{
    doc x = {0};
    return render(&x, doctor_json, d) ? NULL : (*n = x.n, x.p);
}

int mg_live_record(mg_live *l, uint64_t id, mg_matrix *m, mg_gate *g, mg_doctor *d)
{
    run_ref *rr = mg_calloc(1, sizeof *rr);
    size_t nd = 0;
    char *dt = d ? doctor_text(d, &nd) : NULL;
    mg_doctor_free(d);
    if (!rr || (d && !dt)) {
        free(rr), free(dt);
        mg_gate_free(g), mg_matrix_free(m);
        return MG_E_NOMEM;
    }
    atomic_init(&rr->refs, 1);
    mg_run run;
    mg_gate_run_of(g, &run);
    rr->m = m, rr->g = g, rr->finished = (double)time(NULL);
    snprintf(rr->checked, sizeof rr->checked, "%s", run.finished);
    rr->number = id;
    pthread_mutex_lock(&l->mu);
    if (mg_gate_passed(g) == m->nmodels)
        l->counts.passed++;
    else
        l->counts.failed++;
    pthread_mutex_unlock(&l->mu);
    model_state *states = states_after(l, rr);
    int rc = MG_E_NOMEM;
    if (states) {
        states_free(l->models, l->nmodels);
        l->models = states, l->nmodels = m->nmodels;
        if (dt) {
            free(l->doctor);
            l->doctor = dt, l->ndoctor = nd, dt = NULL;
        }
        l->last_error[0] = 0;
        rc = replace_view(l, rr);
    }
    free(dt);
    run_put(rr);   /* the view holds it now (or nothing does) */
    return rc;
}

void mg_live_record_error(mg_live *l, const char *why)
{
    pthread_mutex_lock(&l->mu);
    l->counts.errors++;
    pthread_mutex_unlock(&l->mu);
    snprintf(l->last_error, sizeof l->last_error, "%s", why ? why : "unknown");
    replace_view(l, l->cur->run);
}

void mg_live_matrix_error(mg_live *l, const char *why)
{
    snprintf(l->matrix_error, sizeof l->matrix_error, "%s", why ? why : "");
    replace_view(l, l->cur->run);
}

mg_live_view *mg_live_get(mg_live *l)
{
    pthread_mutex_lock(&l->mu);
    mg_live_view *v = l->cur;
    atomic_fetch_add(&v->refs, 1);
    pthread_mutex_unlock(&l->mu);
    return v;
}

const char *mg_live_view_doc(const mg_live_view *v, mg_live_doc d, size_t *len)
{
    if ((unsigned)d >= MG_NDOCS || !v->docs[d].p)
        return NULL;
    *len = v->docs[d].n;
    return v->docs[d].p;
}

const char *mg_live_view_etag(const mg_live_view *v, mg_live_doc d)
{
    return (unsigned)d < MG_NDOCS && v->docs[d].p ? v->docs[d].etag : NULL;
}

const char *mg_live_view_capability(const mg_live_view *v, const char *name, size_t *len, const char **etag)
{
    for (size_t i = 0; i < v->ncaps; i++)
        if (!strcmp(v->caps[i].name, name)) {
            *len = v->caps[i].d.n;
            *etag = v->caps[i].d.etag;
            return v->caps[i].d.p;
        }
    return NULL;
}

int mg_live_view_ready(const mg_live_view *v) { return v->ready; }
uint64_t mg_live_view_run(const mg_live_view *v) { return v->run ? v->run->number : 0; }

void mg_live_otlp(mg_live *l, mg_otlp *x) { l->otlp = x; }

void mg_live_metrics(mg_live *l, FILE *f)
{
    pthread_mutex_lock(&l->mu);
    mg_gate_counts c = l->counts;
    run_ref *rr = l->cur->run;
    if (rr)
        atomic_fetch_add(&rr->refs, 1);
    pthread_mutex_unlock(&l->mu);
    mg_gpu_probe *gpu = mg_malloc(sizeof *gpu);   /* a copy: the sampler goes on measuring */
    pthread_mutex_lock(&l->gpu_mu);
    if (mg_now() - l->scraped > IDLE_AFTER)
        pthread_cond_signal(&l->gpu_wake);   /* it was idle: measure again */
    l->scraped = mg_now();
    if (gpu)
        *gpu = l->gpu;
    pthread_mutex_unlock(&l->gpu_mu);
    mg_gate_metrics(f, rr ? rr->g : NULL, rr ? rr->finished : 0, &c, gpu && gpu->ok ? gpu : NULL);
    free(gpu);
    run_put(rr);
    if (!l->otlp)
        return;
    mg_otlp_counts o;
    mg_otlp_stats(l->otlp, &o);
    fprintf(f, "# HELP mlgate_otlp_runs_total Gate runs handed to the OpenTelemetry exporter, by what became of them.\n"
               "# TYPE mlgate_otlp_runs_total counter\n"
               "mlgate_otlp_runs_total{result=\"sent\"} %llu\nmlgate_otlp_runs_total{result=\"failed\"} %llu\n"
               "mlgate_otlp_runs_total{result=\"dropped\"} %llu\n"
               "# HELP mlgate_otlp_retries_total Requests to the collector tried again (429, 502, 503, 504).\n"
               "# TYPE mlgate_otlp_retries_total counter\nmlgate_otlp_retries_total %llu\n",
            (unsigned long long)o.sent, (unsigned long long)o.failed, (unsigned long long)o.dropped,
            (unsigned long long)o.retried);
}
