/* gate_int.h - what the gate's files share inside the library: the matrix and plan objects, the check, the publishers. */
#ifndef MG_GATE_INT_H
#define MG_GATE_INT_H

#include <stdatomic.h>
#include <time.h>

#include "core/arena.h"
#include "mlgate/gate.h"

struct mg_matrix {
    mg_matrix_host host;
    mg_matrix_model *models;        /* nmodels of them, from the arena */
    size_t nmodels;
    const char *text;               /* the text it was parsed from (len bytes), for mg_matrix_copy */
    size_t len;
    mg_arena *arena;
};

/* mg_plan_make, and when size_files is 0 the models' files are not read (no GPU to plan for: only the
 * smoke stage's GGUFs are opened, by mg_plan_open_files). err says why it failed. */
int mg_plan_build(const mg_matrix *m, const mg_target *gpus, size_t ngpus, const mg_plan_opts *o, int size_files,
                  double deadline_at, mg_plan **out, char *err, size_t errlen);

/* Opens the GGUF files the plan did not need to read (declared memory): the smoke stage reads every
 * GGUF's architecture from the plan's copy. */
int mg_plan_open_files(mg_plan *p);

/* ---- the check (lib/gate/check.c) ---- */

typedef struct mg_check_opts {
    const mg_target *targets;       /* this host's GPUs and driver, for the binaries: scan (may be none) */
    size_t ntargets;
    const mg_plan *plan;            /* the models' files as read and the memory plan (may be NULL) */
    int plan_fits;                  /* smoke fails a model that does not fit the plan (there were GPUs to plan for) */
    double deadline_at;             /* mg_now() time by which everything ends (0: 120 s from now); each
                                       request stops at the earlier of its timeout and the deadline */
    int skip_smoke;
    double up_timeout;              /* the up stage's limit (default 5 s) */
    int (*cancelled)(void *ctx);    /* nonzero: stop (mg_gate_opts.cancelled); NULL: never */
    void *cancel_ctx;
    const char *lock;               /* the matrix's host: lock: (NULL: none): the smoke stage judges its drift */
    const mg_drift *drift;          /* that drift, computed once for the run, or NULL: drift_error says why */
    const char *drift_error;
} mg_check_opts;

/* Checks every model in parallel (a thread each); results[i] for model i. */
int mg_check_run(const mg_matrix *m, const mg_check_opts *o, mg_check_result *results);

/* One model's check, for the probes: where it runs and until when. */
typedef struct mg_check_job {
    const mg_matrix_model *md;
    const mg_check_opts *o;
    double deadline_at;             /* mg_now() seconds */
    mg_check_result *r;
    _Atomic size_t *answers;        /* bytes of answers the run's models hold at once (MG_ANSWERS_MAX) */
} mg_check_job;

/* The most answer bytes a run holds at once, all models together: each model's kind has its own cap
 * too (lib/gate/probes.c), so 256 models cannot take 256 x 16 MiB. */
#define MG_ANSWERS_MAX ((size_t)256 << 20)

/* The time left for a step limited to `limit` seconds: the earlier of that and the gate's deadline
 * (0 once the run is cancelled). */
double mg_check_left(const mg_check_job *j, double limit);
/* The run was cancelled (mg_check_opts.cancelled said so). */
int mg_check_cancelled(const mg_check_opts *o);

/* ---- the probes (lib/gate/probes.c) ---- */

/* up: the endpoint answers GET /models (exec: the program exists). */
void mg_probe_up(mg_check_job *j, mg_stage_result *s);
/* inference: one real minimal request by kind, its answer checked. */
void mg_probe_inference(mg_check_job *j, mg_stage_result *s);
/* The inference stage's judgement of an answer body for model md (an endpoint model's kind): fills
 * s->reason when it fails, r->output (and tokens) when it passes. For tests and fuzzers too. */
void mg_probe_answer(const mg_matrix_model *md, const uint8_t *data, size_t len, mg_stage_result *s,
                     mg_check_result *r);

/* ---- what a run publishes (lib/gate/publish_*.c, receipts.c) ---- */

/* The run as the publishers see it. */
typedef struct mg_run {
    const mg_matrix *m;
    const mg_check_result *r;       /* one per model */
    double seconds;
    size_t passed;                  /* models that passed */
    const mg_targets *targets;      /* the GPUs the binaries were judged against */
    int file_flags;                 /* MG_FILE_SHARED_OK (lib/core/file.h) with --allow-shared-dir */
    double nfd_expiry;              /* the node labels expire this many seconds after the run; 0: never */
    const char *finished;           /* when it ended, "2026-12-01T16:30:17Z" */
    const char *lock;               /* host: lock:, or NULL */
    const mg_drift *drift;          /* the drift the smoke stage judged (NULL: not computed; drift_error says why) */
    const char *drift_error;
    int drift_code;                 /* with drift_error: the mg_err */
} mg_run;

/* A publisher: one file each. `check` says before the run whether `path` can be written (safely:
 * lib/core/file.h's rules, `flags` as in mg_run). */
typedef struct mg_publisher {
    const char *name;               /* "capabilities", "junit", "receipts" */
    int (*check)(const char *path, int flags, char *err, size_t errlen);
    int (*publish)(const mg_run *run, const char *path, char *err, size_t errlen);
} mg_publisher;

extern const mg_publisher mg_publish_capabilities;  /* lib/gate/publish_caps.c: the capability file */
extern const mg_publisher mg_publish_junit;         /* lib/gate/publish_junit.c: JUnit XML */
extern const mg_publisher mg_publish_receipts;      /* lib/gate/receipts.c: SQLite receipts */
extern const mg_publisher mg_publish_nfd;           /* lib/gate/publish_nfd.c: Kubernetes node labels */
extern const mg_publisher mg_publish_metrics;       /* lib/gate/metrics.c: a node_exporter textfile */

/* The run of a finished gate as the publishers saw it. */
void mg_gate_run_of(const mg_gate *g, mg_run *run);
/* mg_gate_metrics of a run (NULL: none yet). */
void mg_gate_metrics_of(FILE *f, const mg_run *run, double finished, const mg_gate_counts *c,
                        const mg_gpu_probe *gpus);

/* The NFD local-source file of a run at `now`, at most 64 KiB, into buf (that large); MG_E_LIMIT
 * when the labels would pass it. */
int mg_nfd_text(const mg_run *run, time_t now, char *buf, size_t *len);
/* text as a Kubernetes label name or value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends,
 * other characters one '-' a run; a longer text keeps 54 characters and a hash of the whole. Its length. */
size_t mg_k8s_label(char out[64], const char *text);

/* The capability file of a run as a cJSON tree: {"mlgate", "checked", "matrix", "capabilities": {NAME:
 * {...}}}; NULL when out of memory. Printed whole (mg_caps_print) it is the file; serve hands out its parts. */
struct cJSON;
struct cJSON *mg_caps_doc(const mg_run *run);
/* A cJSON value printed as the capability file prints it (indented, a newline at the end); *len its
 * length. NULL when out of memory; free() it. */
char *mg_caps_print(const struct cJSON *v, size_t *len);

/* "stages": {"smoke": {"ok", "seconds", "reason"}, ...} for the stages that ran (check --json, serve). */
struct jw;
void mg_stages_json(struct jw *w, const mg_check_result *r);

/* The smoke stage's drift check of matrix model i (lib/gate/check.c): the changes since host: lock: that matter
 * and are the model's - the host's, those under its binaries:, image: or file: (and the file's shards), and those
 * no model of m owns - as a reason into out; "" when none. */
void mg_drift_reason(const mg_check_opts *o, const mg_matrix *m, size_t i, char *out, size_t n);

/* The first failed stage's reason and which stage, or NULL when the model passed. */
const char *mg_check_failure(const mg_check_result *r, int *stage);
/* The wall clock in Unix seconds (mg_now is monotonic): when a run and its stages began. */
static inline double mg_unix_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
