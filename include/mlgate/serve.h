/*
 * serve.h - what `mlgate serve` keeps live between gate runs (lib/gate/live.c): the last run as the
 * documents every endpoint serves (the capability file, readiness, models, the host audit), its
 * metrics, and when each model last changed. One thread records (mg_live_record, mg_live_record_error,
 * mg_live_matrix_error); any number of threads read at once.
 */
#ifndef MLGATE_SERVE_H
#define MLGATE_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/core.h"
#include "mlgate/gate.h"
#include "mlgate/host.h"

/* The documents of one run, rendered once when it is recorded and then served as they are. */
typedef enum mg_live_doc {
    MG_DOC_CAPABILITIES,    /* the capability file's JSON, byte for byte (GET /v1/capabilities) */
    MG_DOC_READY,           /* {"ready": ..., "failing": [...]} (GET /readyz) */
    MG_DOC_MODELS,          /* each model's status, stages and last change (GET /v1/models) */
    MG_DOC_DOCTOR,          /* the host audit as `mlgate doctor --json` prints it (GET /v1/doctor) */
    MG_DOC_RUN,             /* the run as `mlgate check --json` prints it */
    MG_DOC_DRIFT,           /* drift since the matrix's host: lock: as `mlgate drift --json` prints it (GET /v1/drift);
                               none when the run's matrix names no lock */
    MG_NDOCS
} mg_live_doc;

typedef struct mg_live mg_live;             /* the daemon's state */
typedef struct mg_live_view mg_live_view;   /* one run's documents: immutable, reference-counted */

/* MG_E_NOMEM; free with mg_live_free (after every view is put back). host: where NVML is looked for. */
MG_API int mg_live_new(const mg_host_paths *host, mg_live **out);
MG_API void mg_live_free(mg_live *l);

/*
 * Run number `run` ended: it becomes the newest view. l takes m (the matrix g ran), g, and d (the
 * host audit made with it; NULL keeps the previous one). Readers holding the old view keep it until
 * they put it back. Counts the run as passed or failed. MG_E_NOMEM leaves the previous view (m, g, d
 * freed).
 */
MG_API int mg_live_record(mg_live *l, uint64_t run, mg_matrix *m, mg_gate *g, mg_doctor *d);
/* A run could not start (the matrix, an output path): counted, and readiness says why; the view still
 * shows the last run that ended. */
MG_API void mg_live_record_error(mg_live *l, const char *why);
/* The OpenTelemetry exporter whose counts /metrics shows (NULL: none); it must outlive l's use of it. */
MG_API void mg_live_otlp(mg_live *l, mg_otlp *x);
/* The matrix as last re-read (SIGHUP): NULL when it parsed, else why it did not (the old one is kept). */
MG_API void mg_live_matrix_error(mg_live *l, const char *why);

/* The newest view, with a reference (never NULL: before the first run it says "not checked yet"). */
MG_API mg_live_view *mg_live_get(mg_live *l);
MG_API void mg_live_put(mg_live_view *v);
/* A document of the view and its length; its entity tag ("\"16 hex digits\"", the bytes' hash). */
MG_API const char *mg_live_view_doc(const mg_live_view *v, mg_live_doc d, size_t *len);
MG_API const char *mg_live_view_etag(const mg_live_view *v, mg_live_doc d);
/* One capability's object from the capability file, or NULL when the file has no such capability. */
MG_API const char *mg_live_view_capability(const mg_live_view *v, const char *name, size_t *len, const char **etag);
/* Every resident model passed in the view's run (0 before the first run, or when the last could not start). */
MG_API int mg_live_view_ready(const mg_live_view *v);
/* The view's run number (1, 2, ...; 0 before the first run). */
MG_API uint64_t mg_live_view_run(const mg_live_view *v);

/* GET /metrics: mg_gate_metrics of the newest run with the runs counted so far and the GPUs' memory
 * as NVML last reported it (a thread of l's measures it every second while someone scrapes: a scrape
 * never waits on the driver), and the exporter's counts (mlgate_otlp_runs_total{result}). */
MG_API void mg_live_metrics(mg_live *l, FILE *f);

#define MG_RUNS_MAX 100

/*
 * GET /v1/runs: the last `limit` runs (1..MG_RUNS_MAX) of the receipts database at path, newest first,
 * each with its results per model and stage: {"mlgate", "command": "runs", "runs": [...]}.
 * MG_E_IO with err when the database cannot be read.
 */
MG_API int mg_runs_json(FILE *f, const char *path, int limit, char *err, size_t errlen);

#endif
