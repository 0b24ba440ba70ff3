/* check.h - the gate: does each model of a matrix really answer (smoke, up, a real inference)? */
#ifndef MLGATE_CHECK_H
#define MLGATE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "mlgate/arch.h"
#include "mlgate/matrix.h"

enum { MG_STAGE_SMOKE, MG_STAGE_UP, MG_STAGE_INFERENCE, MG_NSTAGES };
const char *mg_stage_name(int stage);

typedef struct mg_stage_result {
    int ran;                /* 0: skipped (an earlier stage failed, or --skip) */
    int ok;
    double seconds;
    char reason[256];       /* why it failed, or what it saw */
} mg_stage_result;

typedef struct mg_check_result {
    mg_stage_result stage[MG_NSTAGES];
    int ok;                 /* every stage that ran passed, and inference ran */
    double ttfb, total;     /* inference: time to the first byte and in all (s) */
    uint64_t tokens;        /* llm/vlm: completion tokens reported (or 1 when only text came) */
    uint64_t bytes;         /* bytes of the inference response */
    char output[160];       /* what it answered: text, "WAV 1.2 s", "PNG 256x256", "vector 1024" */
} mg_check_result;

typedef struct mg_check_opts {
    const mg_target *targets;   /* this host's GPUs and driver, for the binaries: scan (may be none) */
    size_t ntargets;
    const mg_plan *plan;        /* the memory plan: a model that does not fit fails smoke (may be NULL) */
    double deadline;            /* seconds for everything; each request stops at the earlier of its
                                   timeout and the deadline */
    int skip_smoke;
    double up_timeout;          /* the up stage's limit (default 5 s) */
} mg_check_opts;

/* Checks every model in parallel (a thread each); results[i] for m->models[i]. */
int mg_check_run(const mg_matrix *m, const mg_check_opts *o, mg_check_result *results);

/* Audio the tts stage accepts: a WAV with at least min_seconds of sound, or another container named
 * by its header. Returns 1 if good, 0 with why filled otherwise; *what says what it is. */
int mg_check_audio(const uint8_t *buf, size_t len, double min_seconds, char *what, size_t wlen, char *why,
                   size_t ylen);
/* An image's format and size from its header (PNG or JPEG): 1 if recognised. */
int mg_image_size(const uint8_t *buf, size_t len, const char **format, uint32_t *w, uint32_t *h);

/* Writes the capability file atomically (temp file, fsync, rename): each capability ok or failed,
 * the model behind it, when it was verified, and why it failed. */
int mg_check_write_capabilities(const char *path, const mg_matrix *m, const mg_check_result *r, char *err,
                                size_t errlen);
/* JUnit XML: one test case per model, one failure per failed stage. */
int mg_check_write_junit(const char *path, const mg_matrix *m, const mg_check_result *r, double seconds, char *err,
                         size_t errlen);

/* Receipts (lib/receipts.c, SQLite): one row per run, one per model x stage that ran. */
int mg_receipts_store(const char *path, const mg_matrix *m, const mg_check_result *r, double seconds,
                      const char *host, const char *gpus, const char *driver, char *err, size_t errlen);

/* Per model over the last runs: how many, passed, how often the verdict flipped (flapping). */
typedef struct mg_history_row {
    const char *model;
    int runs, passed, flips, last_ok;
    const char *last_reason;    /* the newest failure's reason, or NULL */
    const char *last_run;       /* when it was last checked (UTC) */
} mg_history_row;
typedef void (*mg_history_cb)(const mg_history_row *row, void *arg);
int mg_receipts_history(const char *path, int nruns, mg_history_cb cb, void *arg, char *err, size_t errlen);

#endif
