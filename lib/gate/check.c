/*
 * check.c - the gate's check: per model, in parallel under one deadline, smoke (the memory plan, the
 * model file known to llama.cpp, no drift that matters since host: lock:, the binaries and image scanned
 * against this host's GPUs), then up, then a real minimal inference (lib/gate/probes.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/net.h"
#include "core/text.h"
#include "gate/gate_int.h"

static const char *const stages[] = {"smoke", "up", "inference"};
const char *mg_stage_name(int s) { return s >= 0 && s < MG_NSTAGES ? stages[s] : "?"; }

int mg_check_cancelled(const mg_check_opts *o) { return o->cancelled && o->cancelled(o->cancel_ctx); }

double mg_check_left(const mg_check_job *j, double limit)
{
    if (mg_check_cancelled(j->o))
        return 0;
    double rest = j->deadline_at - mg_now();
    return rest < limit ? rest : limit;
}

/* The model file as the plan read it: a GGUF's architecture must be known to llama.cpp. */
static void smoke_file(const mg_check_job *j, size_t i, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    const mg_model *f = j->o->plan ? mg_plan_file(j->o->plan, i) : NULL;
    if (!md->file || !f || f->format != MG_FORMAT_GGUF)
        return;
    const mg_gguf_model *g = f->gguf;
    const char *arch = g->nshards && !g->shards[0].err ? mg_gguf_str(&g->shards[0].g, "general.architecture") : NULL;
    const char *spelt = arch ? mg_llama_cpp_spelling(arch) : NULL;
    if (!arch)
        snprintf(s->reason, sizeof s->reason, "cannot read %.150s: %.80s", md->file,
                 g->nshards ? g->shards[0].msg : "no GGUF");
    else if (!mg_llama_cpp_knows(arch))
        snprintf(s->reason, sizeof s->reason, "%.120s: architecture '%.40s' is unknown to llama.cpp%s%.40s%s",
                 md->file, arch, spelt ? " (it spells it '" : "", spelt ? spelt : "", spelt ? "')" : "");
}

#define SHOWN_KERNELS 3   /* kernels a smoke reason names; the rest are counted */

/* The verdict of rep that says most: its worst (the first of equals). */
static const mg_verdict *worst_verdict(const mg_report *rep)
{
    const mg_verdict *w = NULL;
    for (size_t t = 0; rep && t < rep->nverdicts; t++)
        if (!w || rep->verdicts[t].status > w->status)
            w = &rep->verdicts[t];
    return w;
}

/* "PATH: STATUS on GPU: the scan's reason; kernels: a, b, c, ... (N more)" into out[0..n). */
static void verdict_text(char *out, size_t n, const mg_report *rep, const mg_verdict *v)
{
    char path[1024];   /* an archive's member names come from the file */
    mg_text_clean(path, sizeof path, rep->path, strlen(rep->path), NULL);
    if (!v) {
        snprintf(out, n, "%s: %s", path, mg_status_str(mg_report_worst(rep)));
        return;
    }
    int k = snprintf(out, n, "%s: %s on %s: %s", path, mg_status_str((mg_status)v->status), v->target.name,
                     v->reason);
    size_t at = k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1, shown = 0;
    for (uint32_t f = 0; f < v->nmissing_kept && shown < SHOWN_KERNELS; f++)
        for (uint32_t q = 0; q < v->missing[f].nnames && shown < SHOWN_KERNELS && at < n; q++, shown++) {
            char name[160], d[512];   /* a symbol from the file, demangled, sanitised, a long template cut */
            const char *raw = mg_demangle(v->missing[f].names[q] ? v->missing[f].names[q] : "?", d, sizeof d);
            mg_text_clean(name, sizeof name, raw, strlen(raw), NULL);
            k = snprintf(out + at, n - at, "%s%s", shown ? ", " : "; kernels: ", name);
            at = k < 0 ? at : (size_t)k < n - at ? at + (size_t)k : n - 1;
        }
    if (shown && v->missing_kernels > shown && at < n)
        snprintf(out + at, n - at, ", ... (%u more)", v->missing_kernels - (uint32_t)shown);
}

/* ---- drift since host: lock: ---- */

/* path is p or lies under it (a file of a directory, a member of an archive or image). */
static int under(const char *path, const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    return path && !strncmp(path, p, n) && (!path[n] || path[n] == '/' || path[n] == '!');
}

static int host_kind(const char *kind)
{
    return !strncmp(kind, "gpu_", 4) || !strcmp(kind, "driver") || !strcmp(kind, "cuda_driver") ||
           !strcmp(kind, "kernel") || !strcmp(kind, "cpu_arch");
}

/* Whether change c is about something matrix model i names. */
static int owns(const mg_check_opts *o, const mg_matrix *m, size_t i, const mg_drift_change *c)
{
    const mg_matrix_model *md = &m->models[i];
    const char *path = c->in ? c->in : c->subject;
    for (size_t k = 0; k < md->nbinaries; k++)
        if (under(path, md->binaries[k]))
            return 1;
    if ((md->image && under(path, md->image)) || (md->file && under(path, md->file)))
        return 1;
    const mg_model *f = o->plan && md->file ? mg_plan_file(o->plan, i) : NULL;
    for (size_t k = 0; f && f->gguf && k < f->gguf->nshards; k++)
        if (!strcmp(path, f->gguf->shards[k].path))
            return 1;
    for (size_t k = 0; f && f->st && k < f->st->nshards; k++)
        if (!strcmp(path, f->st->shards[k].path))
            return 1;
    return 0;
}

void mg_drift_reason(const mg_check_opts *o, const mg_matrix *m, size_t i, char *out, size_t n)
{
    out[0] = 0;
    if (!o->lock || (!o->drift && !o->drift_error))
        return;
    if (!o->drift) {
        snprintf(out, n, "lock %s: %s", o->lock, o->drift_error);
        return;
    }
    size_t at = 0, shown = 0, more = 0;
    char line[640];
    for (size_t k = 0; k < mg_drift_count(o->drift); k++) {
        const mg_drift_change *c = mg_drift_at(o->drift, k);
        if (!c->matters)
            continue;
        int mine = host_kind(c->kind) || owns(o, m, i, c), anyone = mine;
        for (size_t x = 0; !anyone && x < m->nmodels; x++)
            anyone = owns(o, m, x, c);
        if (!mine && anyone)   /* another model's; one no model names (a lock of other paths) is everyone's */
            continue;
        mg_text_clean(line, sizeof line, c->text, strlen(c->text), NULL);   /* paths and versions from the files */
        int w = snprintf(out + at, n - at, "%s%s", shown ? "; " : "drift since the lock: ", line);
        if (w < 0 || (size_t)w >= n - at - 48) {   /* room kept for the count */
            out[at] = 0;
            more++;
            continue;
        }
        at += (size_t)w, shown++;
    }
    if (more)
        snprintf(out + at, n - at, "%s%zu more change%s that matter", shown ? "; and " : "drift since the lock: ", more,
                 more == 1 ? "" : "s");
}

/*
 * Its binaries: readable, and their CUDA code runs on these GPUs and driver. A failure is the scan's
 * own why, for the worst file (the first of equals): its verdict on the GPU it fares worst on and the
 * first kernels that fail, then how many other files fail. A pass through PTX JIT alone sets r->jit
 * and says so (the capability file carries it).
 */
static void smoke_binaries(const mg_check_job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    const char *paths[MG_MATRIX_MAX_LIST + 1];   /* its binaries:, then its image: */
    size_t np = 0;
    for (size_t k = 0; k < md->nbinaries; k++)
        paths[np++] = md->binaries[k];
    if (md->image)
        paths[np++] = md->image;
    for (size_t k = 0; k < np && !s->reason[0]; k++)
        if (access(paths[k], R_OK))
            snprintf(s->reason, sizeof s->reason, "%s: %s", paths[k], strerror(errno));
    s->ok = !s->reason[0];
    if (!s->ok || !np || !j->o->ntargets)
        return;
    mg_scan_opts so = {.targets = j->o->targets, .ntargets = j->o->ntargets, .threads = 1, .deadline_at = j->deadline_at};
    mg_scan_result res;
    if (mg_scan_paths(&so, paths, np, &res) != MG_OK) {
        snprintf(s->reason, sizeof s->reason, "scanning the binaries failed: %s", res.error);
        s->ok = 0;
        mg_scan_result_free(&res);
        return;
    }
    const mg_report *worst = NULL, *jit = NULL;
    size_t failing = 0;
    for (size_t k = 0; k < res.nreports; k++) {
        const mg_report *rep = res.reports[k];
        mg_status st = rep->err ? MG_STATUS_NONE : mg_report_worst(rep);
        if (rep->err || st >= MG_STATUS_PARTIAL) {
            failing++;   /* an unreadable file first, then the worst status, then the first */
            if (!worst || (rep->err && !worst->err) || (!worst->err && !rep->err && st > mg_report_worst(worst)))
                worst = rep;
        } else if (st == MG_STATUS_JIT && !jit) {
            jit = rep;
        }
    }
    char more[48] = "";
    if (failing > 1)
        snprintf(more, sizeof more, "; and %zu more file%s", failing - 1, failing > 2 ? "s" : "");
    size_t room = sizeof s->reason - strlen(more);   /* the count is never cut off */
    const mg_verdict *v = worst_verdict(worst ? worst : jit);
    if (worst && worst->err) {
        char path[1024];
        mg_text_clean(path, sizeof path, worst->path, strlen(worst->path), NULL);
        snprintf(s->reason, room, "%s: %s%s%s%s", path, mg_strerror((mg_err)worst->err), worst->detail ? " (" : "",
                 worst->detail ? worst->detail : "", worst->detail ? ")" : "");
    } else if (worst)
        verdict_text(s->reason, room, worst, v);
    else if (jit) {   /* a pass, through PTX JIT only: what it saw */
        j->r->jit = 1;
        static const char lead[] = "first start JIT-compiles: ";
        memcpy(s->reason, lead, sizeof lead);
        verdict_text(s->reason + sizeof lead - 1, sizeof s->reason - (sizeof lead - 1), jit, v);
    }
    if (worst) {
        size_t at = strlen(s->reason);
        snprintf(s->reason + at, sizeof s->reason - at, "%s", more);
    }
    s->ok = !worst;
    mg_scan_result_free(&res);
}

static void smoke(const mg_check_job *j, const mg_matrix *m, size_t i, mg_stage_result *s)
{
    const mg_plan_model *pm = j->o->plan && j->o->plan_fits ? mg_plan_model_at(j->o->plan, i) : NULL;
    if (pm && !pm->fits)
        snprintf(s->reason, sizeof s->reason, "does not fit the memory plan: %s", pm->why);
    if (!s->reason[0])
        smoke_file(j, i, s);
    if (!s->reason[0])
        mg_drift_reason(j->o, m, i, s->reason, sizeof s->reason);
    s->ok = !s->reason[0];
    if (s->ok)
        smoke_binaries(j, s);   /* sets ok; a pass may say what it saw */
}

typedef struct thread_job {
    mg_check_job j;
    size_t i;
    const mg_matrix *m;
} thread_job;

static void *check_one(void *arg)
{
    thread_job *t = arg;
    mg_check_job *j = &t->j;
    mg_check_result *r = j->r;
    for (int st = 0; st < MG_NSTAGES; st++) {
        mg_stage_result *s = &r->stage[st];
        if (st == MG_STAGE_SMOKE && j->o->skip_smoke)
            continue;
        if (st > 0 && r->stage[st - 1].ran && !r->stage[st - 1].ok)
            break;
        if (mg_check_cancelled(j->o) || mg_now() >= j->deadline_at) {
            s->ran = 1;
            snprintf(s->reason, sizeof s->reason, "%s", mg_check_cancelled(j->o) ? "the run was cancelled"
                                                        : "the gate's deadline passed before this stage");
            break;
        }
        double t0 = mg_now();
        s->started = mg_unix_now();
        s->ran = 1;
        if (st == MG_STAGE_SMOKE)
            smoke(j, t->m, t->i, s);
        else if (st == MG_STAGE_UP)
            mg_probe_up(j, s);
        else
            mg_probe_inference(j, s);
        s->seconds = mg_now() - t0;
    }
    r->ok = r->stage[MG_STAGE_INFERENCE].ran && r->stage[MG_STAGE_INFERENCE].ok;
    return NULL;
}

int mg_check_run(const mg_matrix *m, const mg_check_opts *o, mg_check_result *results)
{
    mg_curl(NULL, 0);   /* before the threads: libcurl's global set-up is not for concurrent first use */
    memset(results, 0, m->nmodels * sizeof *results);
    thread_job *jobs = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *jobs);
    pthread_t *th = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *th);
    int *started = mg_calloc(m->nmodels ? m->nmodels : 1, sizeof *started);
    if (!jobs || !th || !started) {
        free(jobs);
        free(th);
        free(started);
        return MG_E_NOMEM;
    }
    double deadline_at = o->deadline_at > 0 ? o->deadline_at : mg_now() + 120;
    _Atomic size_t answers = 0;
    for (size_t i = 0; i < m->nmodels; i++) {
        jobs[i] = (thread_job){{&m->models[i], o, deadline_at, &results[i], &answers}, i, m};
        if (pthread_create(&th[i], NULL, check_one, &jobs[i]) == 0)
            started[i] = 1;
        else
            check_one(&jobs[i]);
    }
    for (size_t i = 0; i < m->nmodels; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    free(jobs);
    free(th);
    free(started);
    return MG_OK;
}
