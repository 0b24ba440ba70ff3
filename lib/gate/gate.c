/*
 * gate.c - the gate as one call: targets (given, the matrix's, or this machine's) -> the memory plan
 * (each model file read once) -> the check of every model under one deadline -> the capability file,
 * JUnit and receipts. What cannot work (a bad GPU list, an output path that cannot be written) is
 * refused before anything runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/file.h"
#include "gate/gate_int.h"

#define MAX_PUBLISHED 5

struct mg_gate {
    const mg_matrix *m;
    mg_targets targets;         /* what the plan is for (given, the matrix's, or this machine's) */
    mg_targets code;            /* what the binaries are judged against: those named, else this machine's */
    size_t sized;               /* targets with a memory size: the plan's GPUs */
    mg_plan *plan;
    mg_check_result *results;
    double seconds;
    size_t passed;
    int file_flags;             /* what the publishers were told */
    double nfd_expiry;
    double started;             /* when the run began (Unix seconds) */
    char finished[32];          /* when the run ended (UTC, ISO 8601): every publication says this time */
    char nfd_path[1100];        /* DIR/mlgate */
    mg_publication published[MAX_PUBLISHED];
    char errors[MAX_PUBLISHED][512];
    size_t npublished;
    mg_drift *drift;            /* from host: lock:, computed once for the smoke stage; NULL: drift_error says why */
    char drift_error[512];
    int drift_code;
};

/* "2026-12-01T16:30:17Z" */
static void iso_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void mg_matrix_target_spec(const mg_matrix *m, const char *gpus, const char *vram, const mg_host_paths *host,
                           mg_target_spec *out)
{
    int given = gpus || vram;   /* the command line's, else the matrix's host:, else this machine's */
    mg_target_spec s = {given ? gpus : m->host.gpus, given ? vram : m->host.vram, NULL, 1, 1, host, NULL};
    *out = s;
}

const char *mg_check_failure(const mg_check_result *r, int *stage)
{
    for (int s = 0; s < MG_NSTAGES; s++)
        if (r->stage[s].ran && !r->stage[s].ok) {
            *stage = s;
            return r->stage[s].reason;
        }
    *stage = MG_STAGE_INFERENCE;
    return r->ok ? NULL : "inference did not run";
}

static int file_flags(const mg_gate_opts *o) { return o->allow_shared_dir ? MG_FILE_SHARED_OK : 0; }

/* Where each publisher writes, in the order they run: receipts, the capability file, JUnit, metrics, node labels. */
static size_t outputs(mg_gate *g, const mg_gate_opts *o, const mg_publisher **pub, const char **path)
{
    const mg_matrix *m = g->m;
    size_t n = 0;
    const char *db = o->receipts ? o->receipts : m->host.receipts;
    const char *caps = o->capabilities ? o->capabilities : m->host.capabilities;
    if (db)
        pub[n] = &mg_publish_receipts, path[n++] = db;
    if (caps)
        pub[n] = &mg_publish_capabilities, path[n++] = caps;
    if (o->junit)
        pub[n] = &mg_publish_junit, path[n++] = o->junit;
    if (o->metrics)
        pub[n] = &mg_publish_metrics, path[n++] = o->metrics;
    if (o->nfd_dir) {
        snprintf(g->nfd_path, sizeof g->nfd_path, "%.1000s/mlgate", o->nfd_dir);
        pub[n] = &mg_publish_nfd, path[n++] = g->nfd_path;
    }
    return n;
}

void mg_gate_free(mg_gate *g)
{
    if (!g)
        return;
    mg_plan_free(g->plan);
    mg_drift_free(g->drift);
    free(g->results);
    free(g);
}

/* The GPUs: what the plan is for, and what the binaries are judged against - those named (with a
 * compute capability), else this machine's, also when only memory sizes were given for the plan. */
static int choose_targets(mg_gate *g, const mg_gate_opts *o, char *err, size_t errlen)
{
    mg_target_spec ts;
    mg_matrix_target_spec(g->m, o->gpus, o->vram, o->host, &ts);
    int rc = mg_targets_make(&ts, &g->targets, err, errlen);
    for (size_t i = 0; !rc && i < g->targets.n; i++)
        if (g->targets.t[i].cc)
            g->code.t[g->code.n++] = g->targets.t[i];
    if (!rc && !g->code.n && !ts.gpus && ts.vram) {
        mg_target_spec here = {.detect = 1, .host = o->host};
        rc = mg_targets_make(&here, &g->code, err, errlen);
    }
    return rc;
}

/* The plan, its files read by the gate's deadline; without a GPU to plan for only the smoke stage's
 * GGUF files are read. */
static int make_plan(mg_gate *g, const mg_gate_opts *o, double deadline_at, char *err, size_t errlen)
{
    for (size_t i = 0; i < g->targets.n; i++)
        g->sized += g->targets.t[i].mem_total != 0;
    mg_target_spec ts;
    mg_matrix_target_spec(g->m, o->gpus, o->vram, o->host, &ts);
    mg_plan_opts po = {.headroom = -1, .this_host = !ts.gpus && !ts.vram, .host = o->host};
    int rc = mg_plan_build(g->m, g->targets.t, g->targets.n, &po, g->sized > 0, deadline_at, &g->plan, err, errlen);
    return rc || o->skip_smoke ? rc : mg_plan_open_files(g->plan);
}

/* The drift from host: lock:, once for the run, by deadline_at: collected from the lock's own inputs, against the
 * GPUs it was made for unless --gpu names others. A lock that cannot be read is the smoke stage's failure, not the
 * run's. */
static void make_drift(mg_gate *g, const mg_gate_opts *o, double deadline_at)
{
    mg_drift_opts dopt = {.gpus = o->gpus, .host = o->host, .deadline_at = deadline_at};
    char err[sizeof g->drift_error];
    err[0] = 0;
    if ((g->drift_code = mg_drift_run(g->m->host.lock, &dopt, &g->drift, err, sizeof err)))
        snprintf(g->drift_error, sizeof g->drift_error, "%s", err[0] ? err : "drift could not be computed");
}

double mg_gate_deadline(const mg_matrix *m, const mg_gate_opts *o)
{
    return o->deadline > 0 ? o->deadline : m->host.deadline > 0 ? m->host.deadline : 120;
}

int mg_gate_run(const mg_matrix *m, const mg_gate_opts *o, mg_gate **out, char *err, size_t errlen)
{
    *out = NULL;
    mg_gate *g = mg_calloc(1, sizeof *g);
    if (!g || !(g->results = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *g->results))) {
        mg_gate_free(g);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    g->m = m;
    /* One deadline from here: reading the model files and URLs, the plan, and every stage. The files
       are read within its first half: a stalled one leaves the other models time for their stages. */
    g->started = mg_unix_now();
    double t0 = mg_now(), limit = mg_gate_deadline(m, o);
    const mg_publisher *pub[MAX_PUBLISHED];
    const char *path[MAX_PUBLISHED];
    size_t npub = outputs(g, o, pub, path);
    mg_check_opts co = {NULL, 0, NULL, 0, t0 + limit, o->skip_smoke, o->up_timeout, o->cancelled, o->cancel_ctx,
                        NULL, NULL, NULL};
    int rc = choose_targets(g, o, err, errlen);
    for (size_t i = 0; !rc && i < npub; i++)   /* every output must be writable before the models are bothered */
        if ((rc = pub[i]->check(path[i], file_flags(o), g->errors[i], sizeof g->errors[i])))
            snprintf(err, errlen, "%s: %s", pub[i]->name, g->errors[i]);
    if (!rc && !mg_check_cancelled(&co))
        rc = make_plan(g, o, t0 + limit / 2, err, errlen);
    if (!rc && m->host.lock && !o->skip_smoke && !mg_check_cancelled(&co))
        make_drift(g, o, t0 + limit / 2);
    co.targets = g->code.t, co.ntargets = g->code.n, co.plan = g->plan, co.plan_fits = g->sized > 0;
    co.lock = m->host.lock, co.drift = g->drift, co.drift_error = g->drift_error[0] ? g->drift_error : NULL;
    if (!rc && !mg_check_cancelled(&co) && (rc = mg_check_run(m, &co, g->results)))
        snprintf(err, errlen, "%s", mg_strerror((mg_err)rc));
    if (!rc && mg_check_cancelled(&co)) {   /* what a cancelled run saw is not the models' state */
        rc = MG_E_CANCELLED;
        snprintf(err, errlen, "the run was cancelled; nothing published");
    }
    if (rc) {
        if (rc == MG_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        mg_gate_free(g);
        return rc;
    }
    g->seconds = mg_now() - t0;
    iso_now(g->finished, sizeof g->finished);
    for (size_t i = 0; i < m->nmodels; i++)
        g->passed += g->results[i].ok;
    g->file_flags = file_flags(o);
    g->nfd_expiry = o->nfd_expiry;
    mg_run run;
    mg_gate_run_of(g, &run);
    for (size_t i = 0; i < npub; i++) {
        mg_publication *p = &g->published[g->npublished++];
        p->what = pub[i]->name;
        p->path = path[i];
        p->ok = pub[i]->publish(&run, path[i], g->errors[i], sizeof g->errors[i]) == MG_OK;
        p->error = p->ok ? NULL : g->errors[i];
    }
    if (o->otlp)
        mg_otlp_submit(o->otlp, g);   /* rendered now, sent by the exporter's thread */
    *out = g;
    return MG_OK;
}

void mg_gate_run_of(const mg_gate *g, mg_run *run)
{
    *run = (mg_run){g->m, g->results, g->seconds, g->passed, &g->code, g->file_flags, g->nfd_expiry, g->finished,
                    g->m->host.lock, g->drift, g->drift_error[0] ? g->drift_error : NULL, g->drift_code};
}

const mg_matrix *mg_gate_matrix(const mg_gate *g) { return g->m; }
const mg_targets *mg_gate_targets(const mg_gate *g) { return &g->targets; }
const mg_targets *mg_gate_code_targets(const mg_gate *g) { return &g->code; }
const mg_plan *mg_gate_plan(const mg_gate *g) { return g->plan; }
const mg_check_result *mg_gate_result(const mg_gate *g, size_t i) { return i < g->m->nmodels ? &g->results[i] : NULL; }
size_t mg_gate_passed(const mg_gate *g) { return g->passed; }
double mg_gate_seconds(const mg_gate *g) { return g->seconds; }
double mg_gate_started(const mg_gate *g) { return g->started; }
size_t mg_gate_npublished(const mg_gate *g) { return g->npublished; }
const mg_publication *mg_gate_published(const mg_gate *g, size_t i) { return i < g->npublished ? &g->published[i] : NULL; }

const mg_drift *mg_gate_drift(const mg_gate *g, const char **error)
{
    if (error)
        *error = g->drift_error[0] ? g->drift_error : NULL;
    return g->drift;
}

/* Every model's list of paths and the options' own, in one array (freed by the caller). */
static const char **joined(const char *const *given, size_t ngiven, size_t more, size_t *n)
{
    const char **v = mg_calloc(ngiven + more + 1, sizeof *v);
    if (v && ngiven)
        memcpy(v, given, ngiven * sizeof *v);
    *n = ngiven;
    return v;
}

int mg_matrix_lock(const mg_matrix *m, const mg_lock_opts *o, mg_lock **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t nb = 0, np, nm;
    for (size_t i = 0; i < m->nmodels; i++)
        nb += m->models[i].nbinaries + (m->models[i].image != NULL);
    const char **paths = joined(o->paths, o->npaths, nb, &np);
    const char **models = joined(o->models, o->nmodels, m->nmodels, &nm);
    if (!paths || !models) {
        free(paths), free(models);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_matrix_model *md = &m->models[i];
        for (size_t k = 0; k < md->nbinaries; k++)
            paths[np++] = md->binaries[k];
        if (md->image)   /* scanned like a binary: its digest is locked (images[]) */
            paths[np++] = md->image;
        if (md->file)
            models[nm++] = md->file;
    }
    mg_lock_opts lo = *o;
    lo.paths = paths, lo.npaths = np, lo.models = models, lo.nmodels = nm;
    lo.matrix = m->host.path;
    if (!lo.gpus)
        lo.gpus = m->host.gpus;
    int rc = mg_lock_collect(&lo, out, err, errlen);
    free(paths);
    free(models);
    return rc;
}

int mg_gate_exit_status(const mg_gate *g)
{
    int bad = g->passed != g->m->nmodels;
    for (size_t i = 0; i < g->npublished; i++)
        bad |= !g->published[i].ok;
    return bad;
}
