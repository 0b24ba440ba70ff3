/*
 * gate.h - the model matrix (which models a host serves, docs/matrix.md), its memory plan, and the
 * gate: does each model really answer (smoke, up, a real inference), published as a capability
 * file, JUnit XML and SQLite receipts.
 */
#ifndef MLGATE_GATE_H
#define MLGATE_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/binaries.h"
#include "mlgate/core.h"
#include "mlgate/host.h"
#include "mlgate/lock.h"
#include "mlgate/models.h"
#include "mlgate/target.h"

/* ==== The matrix (lib/gate/matrix.c) ==== */

typedef enum mg_model_kind {
    MG_MODEL_LLM, MG_MODEL_VLM, MG_MODEL_TTS, MG_MODEL_ASR, MG_MODEL_EMBEDDING, MG_MODEL_IMAGE, MG_MODEL_KINDS
} mg_model_kind;
MG_API const char *mg_model_kind_name(mg_model_kind k);

#define MG_MATRIX_MAX_MODELS 256
#define MG_MATRIX_MAX_LIST 32     /* exec argv, binaries */
#define MG_PLAN_MAX_GPU MG_FIT_MAX_DEV

/* What the inference stage sends and expects (all optional; defaults by kind). */
typedef struct mg_probe {
    const char *prompt;         /* llm/vlm/embedding input, tts text, image prompt */
    uint32_t max_tokens;        /* llm/vlm: 8 */
    const char *voice;          /* tts */
    uint32_t dimensions;        /* embedding: the vector length expected (0: any) */
    uint32_t width, height;     /* image: the size requested and checked */
    const char *expect;         /* exec: a substring the output must contain */
    double min_seconds;         /* tts: the shortest audio that passes (0: 0.5 s) */
} mg_probe;

typedef struct mg_matrix_model {
    const char *name;
    mg_model_kind kind;
    const char *endpoint;       /* OpenAI-compatible base URL, or NULL with exec */
    const char *exec[MG_MATRIX_MAX_LIST + 1];   /* argv, NULL-terminated; never run through a shell */
    size_t nexec;
    const char *model;          /* the served model id */
    const char *file;           /* GGUF / safetensors to inspect (path or URL), or NULL */
    uint64_t memory;            /* declared GPU memory in bytes; 0: derived from file */
    uint64_t ram;               /* declared host RAM in bytes (0: none declared) */
    uint64_t ctx;               /* context the memory is derived at (0: 8192) */
    int on_demand;              /* residency: on-demand (1) or resident (0, the default) */
    int gpu;                    /* pinned GPU index, -1: any (gpus: [N] pins too) */
    /* Placement, as llama.cpp is told it (docs/matrix.md): gpus: [0, 1] splits the model across those
     * GPUs (--tensor-split), tensor_split: [75, 25] in these ratios (over gpus:, else over every GPU),
     * ngl: layers on the GPUs (-ngl; -1: all), n_cpu_moe: experts of the first N blocks in RAM. A GGUF
     * file's memory then comes from fit for that placement, per GPU; memory: [70G, 20G] declares it. */
    int gpus[MG_PLAN_MAX_GPU];
    size_t ngpus;
    double tensor_split[MG_PLAN_MAX_GPU];
    size_t nsplit;
    int ngl;
    int n_cpu_moe;
    uint64_t memory_gpu[MG_PLAN_MAX_GPU];   /* memory: as a list, one size per gpus: entry */
    size_t nmemory;
    const char *binaries[MG_MATRIX_MAX_LIST];
    size_t nbinaries;
    const char *capability;     /* the tool name it backs, e.g. voice.synthesize */
    mg_probe probe;
    double timeout;             /* seconds for the inference stage (default 30) */
    const char *api_key_env;    /* environment variable whose value is sent as a bearer token */
    int line;                   /* where the entry starts in the matrix file */
    const char *image;          /* a container image (docker save tarball, OCI layout directory) scanned with
                                   binaries: in the smoke stage, or NULL */
} mg_matrix_model;

/* The matrix's host: section (and its path). */
typedef struct mg_matrix_host {
    const char *path;           /* the matrix file, as given */
    double headroom;            /* fraction of each GPU kept free (0.10) */
    uint64_t headroom_bytes[MG_PLAN_MAX_GPU];   /* headroom: 10G / [10G, 4G]: bytes kept free per GPU instead
                                                   (one value: every GPU); nheadroom 0: the fraction */
    size_t nheadroom;
    uint64_t ram, swap;         /* ram: / swap: the host's memory for the plan's RAM budget; 0: unknown */
    const char *receipts;       /* SQLite receipts database, or NULL */
    const char *capabilities;   /* capability file, or NULL */
    const char *gpus;           /* target GPUs by name ("RTX PRO 6000,RTX 5090"), or NULL: detect */
    const char *vram;           /* target GPU sizes ("96G,32G"), or NULL */
    double deadline;            /* seconds for the whole gate (default 120) */
    const char *lock;           /* a lock file (mlgate lock, docs/lock.md): drift from it that matters fails the
                                   smoke stage; NULL: none */
} mg_matrix_host;

typedef struct mg_matrix mg_matrix;

/*
 * Parses a matrix from text (name is used in messages). Errors, unknown keys, keys given twice and
 * bad values give MG_E_FORMAT with "name:line:column: what" in err; the first error stops the parse.
 * Past a cap (1 MiB, 32 levels of nesting, 100,000 YAML nodes, 1024 anchors, 16 directives) it is
 * MG_E_LIMIT, UTF-16 is MG_E_UNSUPPORTED, and MG_E_NOMEM says so in err. Time and memory are
 * linear in len whatever the text. *out is freed with mg_matrix_free.
 */
MG_API int mg_matrix_parse(const char *text, size_t len, const char *name, mg_matrix **out, char *err,
                           size_t errlen);
MG_API int mg_matrix_load(const char *path, mg_matrix **out, char *err, size_t errlen);
/* A matrix of its own parsed from the same text (a daemon's run keeps the matrix it ran). */
MG_API int mg_matrix_copy(const mg_matrix *m, mg_matrix **out, char *err, size_t errlen);
MG_API void mg_matrix_free(mg_matrix *m);
MG_API const mg_matrix_host *mg_matrix_get_host(const mg_matrix *m);
MG_API size_t mg_matrix_count(const mg_matrix *m);
MG_API const mg_matrix_model *mg_matrix_model_at(const mg_matrix *m, size_t i);

/*
 * `mlgate lock MATRIX` (docs/lock.md): the lock of what the matrix names - every model's binaries: (scanned) and
 * file: (its header), against the matrix's host: gpus: unless o gives GPUs; o's paths and models are added, and
 * the matrix's path is recorded. Container images (image:) are locked by digest. As mg_lock_collect.
 */
MG_API int mg_matrix_lock(const mg_matrix *m, const mg_lock_opts *o, mg_lock **out, char *err, size_t errlen);

/* ==== `mlgate plan`: do the models fit together? (lib/gate/plan.c) ==== */

typedef struct mg_plan_model {
    uint64_t need;              /* GPU bytes: declared, or fit's need at ctx (all GPUs of a split summed) */
    uint64_t ram;               /* host bytes it keeps (offloaded layers and experts, CPU KV, declared ram:) */
    /* Split across GPUs (gpus: [0, 1], tensor_split:, memory: [..]): what it takes on each */
    size_t nparts;
    int part_gpu[MG_PLAN_MAX_GPU];
    uint64_t part_need[MG_PLAN_MAX_GPU];
    int ngl, n_cpu_moe;         /* the placement fit sized (GGUF): -ngl (-1: all), --n-cpu-moe */
    const char *source;         /* "declared", "gguf", "safetensors", "none" */
    uint64_t weights;           /* from the file: bytes of weights (for the quantize fix) */
    double bpw;                 /* from a GGUF: bits per weight */
    int gpu;                    /* where it goes, -1: nowhere */
    int fits;                   /* resident: placed; on-demand: fits beside the residents */
    const int *conflicts;       /* on-demand: the others it cannot be loaded together with */
    size_t nconflicts;
    const char *why;            /* when it does not fit, or what could not be read; "" otherwise */
    const char *note;           /* e.g. no memory declared: counted as 0 (a CPU-only model); or NULL */
} mg_plan_model;

typedef struct mg_plan_gpu {
    mg_target target;
    uint64_t headroom;          /* bytes kept free */
    uint64_t usable;            /* its memory after headroom */
    uint64_t resident;          /* what the residents placed on it take */
} mg_plan_gpu;

typedef struct mg_plan mg_plan;

/*
 * Each model's memory (declared, or from its file, each file read once) and the placement of the
 * residents on the GPUs, the on-demand models beside them, and when it does not fit the cheapest
 * fixes (each checked by placing again). The plan keeps a pointer to m: keep m alive. GPUs whose
 * memory is unknown (a bare sm_XY, the PCI bus's view) are left out; with no GPU every model with
 * memory fails to place. MG_E_NOMEM, MG_E_LIMIT (more than MG_PLAN_MAX_GPU GPUs with memory), MG_E_ARG
 * (headroom not in 0..0.9); *out freed with mg_plan_free.
 */
MG_API int mg_plan_make(const mg_matrix *m, const mg_target *gpus, size_t ngpus, double headroom, mg_plan **out);

/* How a plan is made beyond its matrix. */
typedef struct mg_plan_opts {
    double headroom;            /* fraction of each GPU kept free; < 0: the matrix's host: headroom: */
    uint64_t headroom_bytes;    /* bytes kept free on each GPU instead (0: as above) */
    uint64_t ram, swap;         /* the host's RAM and swap; 0: the matrix's host: ram:/swap:, else below */
    int this_host;              /* the GPUs are this machine's: without ram: its RAM and swap are the budget */
    const mg_host_paths *host;  /* where this machine's memory is read (NULL: /proc) */
} mg_plan_opts;
/* mg_plan_make with options (NULL: the matrix's); MG_E_ARG with why in err for a bad headroom. */
MG_API int mg_plan_make_with(const mg_matrix *m, const mg_target *gpus, size_t ngpus, const mg_plan_opts *o,
                             mg_plan **out, char *err, size_t errlen);

/* The host RAM budget: what the models keep in RAM against RAM + swap less headroom. */
typedef struct mg_plan_ram {
    int known;                  /* 0: no RAM size given or read: not checked */
    uint64_t ram, swap;         /* the host's */
    uint64_t usable;            /* (ram + swap) x (1 - headroom fraction) */
    uint64_t resident;          /* what the resident models keep */
    int ok;                     /* residents fit, and each on-demand model beside them */
} mg_plan_ram;
MG_API const mg_plan_ram *mg_plan_ram_budget(const mg_plan *p);
MG_API void mg_plan_free(mg_plan *p);
MG_API int mg_plan_ok(const mg_plan *p);   /* every resident placed, every on-demand model fits beside them */
MG_API double mg_plan_headroom(const mg_plan *p);
MG_API uint64_t mg_plan_resident_need(const mg_plan *p);
MG_API uint64_t mg_plan_usable(const mg_plan *p);
MG_API size_t mg_plan_ngpus(const mg_plan *p);
MG_API const mg_plan_gpu *mg_plan_gpu_at(const mg_plan *p, size_t g);
MG_API const mg_plan_model *mg_plan_model_at(const mg_plan *p, size_t i);
/* The model file of matrix model i as the plan read it, or NULL (no file:). */
MG_API const mg_model *mg_plan_file(const mg_plan *p, size_t i);
MG_API size_t mg_plan_nfixes(const mg_plan *p);
MG_API const char *mg_plan_fix(const mg_plan *p, size_t k);
MG_API const mg_matrix *mg_plan_matrix(const mg_plan *p);
/* `mlgate plan --json` (docs/matrix.md). */
MG_API void mg_plan_json(FILE *f, const mg_plan *p);

/* What a matrix judges against: GPU names and sizes from the command line (either given), else the
 * matrix's host: gpus:/vram:, else this machine's GPUs; every GPU given must have a memory size. */
MG_API void mg_matrix_target_spec(const mg_matrix *m, const char *gpus, const char *vram, const mg_host_paths *host,
                                  mg_target_spec *out);

/* ==== The gate: `mlgate check` (lib/gate/gate.c, check.c, probes.c) ==== */

enum { MG_STAGE_SMOKE, MG_STAGE_UP, MG_STAGE_INFERENCE, MG_NSTAGES };
MG_API const char *mg_stage_name(int stage);

/* A stage's reason: what mlgate says and, quoted, up to 4 KiB of what the server or program said
 * (an HTTP error's body, an exec model's output), cut with "..." past that. */
#define MG_QUOTE_MAX 4096
#define MG_STAGE_REASON_MAX (MG_QUOTE_MAX + 512)

typedef struct mg_stage_result {
    int ran;                /* 0: skipped (an earlier stage failed, or --no-smoke) */
    int ok;
    double seconds;
    char reason[MG_STAGE_REASON_MAX];   /* why it failed, or what it saw */
    double started;         /* when it began (Unix seconds, the wall clock) */
} mg_stage_result;

typedef struct mg_check_result {
    mg_stage_result stage[MG_NSTAGES];
    int ok;                 /* every stage that ran passed, and inference ran */
    int jit;                /* smoke: some binaries: run on these GPUs only through PTX JIT (a slow first start) */
    double ttfb, total;     /* inference: time to the first byte and in all (s) */
    uint64_t tokens;        /* llm/vlm: completion tokens reported (or 1 when only text came) */
    uint64_t bytes;         /* bytes of the inference response */
    char output[160];       /* what it answered: text, "WAV 1.2 s", "PNG 256x256", "vector 1024" */
} mg_check_result;

typedef struct mg_gate_opts {
    const char *gpus, *vram;    /* judge against these instead of the matrix's host: gpus:/vram: (and of this
                                   machine's GPUs): names/sm_XY for the binaries, sizes for the plan */
    const char *capabilities;   /* write the capability file here instead of the matrix's capabilities: */
    const char *receipts;       /* store the run here instead of the matrix's receipts: */
    const char *junit;          /* also write JUnit XML here */
    double deadline;            /* seconds for the whole gate; 0: the matrix's */
    int skip_smoke;
    double up_timeout;          /* the up stage's limit (0: 5 s) */
    const mg_host_paths *host;  /* where GPU detection looks (NULL: this machine) */
    int allow_shared_dir;       /* publish also in a directory other users can write (refused by default) */
    const char *nfd_dir;        /* write Kubernetes node labels as DIR/mlgate (NFD's features.d), or NULL */
    double nfd_expiry;          /* seconds after the run at which NFD drops those labels; 0: never */
    const char *metrics;        /* write the run's Prometheus metrics here (node_exporter's textfile
                                   collector reads the .prom files of its directory), or NULL */
    int (*cancelled)(void *ctx);/* polled during the run (NULL: never): nonzero stops the stages not yet
                                   run and the requests in flight; the run then publishes nothing */
    void *cancel_ctx;
    struct mg_otlp *otlp;       /* export the finished run as an OpenTelemetry trace (mg_otlp_open), or NULL */
} mg_gate_opts;

/* One thing the gate wrote. */
typedef struct mg_publication {
    const char *what;           /* "capabilities", "junit", "receipts", "nfd", "metrics" */
    const char *path;
    int ok;
    const char *error;          /* why it could not be written, or NULL */
} mg_publication;

typedef struct mg_gate mg_gate;

/*
 * Runs the gate over m: targets (the options', else the matrix's, else this machine's GPUs) ->
 * the memory plan -> every model in parallel under one deadline (smoke, up, inference) -> the
 * capability file, JUnit, receipts. A usage error (a bad GPU list, an output path that cannot be
 * written) is found before anything runs: MG_E_ARG / MG_E_NOTFOUND / MG_E_IO with err, *out NULL.
 * A run cancelled by o->cancelled publishes nothing and returns MG_E_CANCELLED, *out NULL.
 * Otherwise MG_OK and *out holds the run, however the models fared. Free with mg_gate_free; keep m
 * alive while *out is.
 */
MG_API int mg_gate_run(const mg_matrix *m, const mg_gate_opts *o, mg_gate **out, char *err, size_t errlen);
/* The seconds a run of m with o may take: o's deadline, else the matrix's, else 120. */
MG_API double mg_gate_deadline(const mg_matrix *m, const mg_gate_opts *o);
MG_API void mg_gate_free(mg_gate *g);
MG_API const mg_matrix *mg_gate_matrix(const mg_gate *g);
MG_API const mg_targets *mg_gate_targets(const mg_gate *g);        /* the GPUs the plan is for */
MG_API const mg_targets *mg_gate_code_targets(const mg_gate *g);   /* the GPUs the binaries were judged against */
MG_API const mg_plan *mg_gate_plan(const mg_gate *g);          /* the plan the smoke stage used */
MG_API const mg_check_result *mg_gate_result(const mg_gate *g, size_t i);   /* of matrix model i */
MG_API size_t mg_gate_passed(const mg_gate *g);
MG_API double mg_gate_seconds(const mg_gate *g);
MG_API double mg_gate_started(const mg_gate *g);   /* when the run began (Unix seconds) */
MG_API size_t mg_gate_npublished(const mg_gate *g);
MG_API const mg_publication *mg_gate_published(const mg_gate *g, size_t i);
/* 0 every model passed and everything was published, 1 otherwise. */
MG_API int mg_gate_exit_status(const mg_gate *g);
/* The drift from the matrix's host: lock: that the run's smoke stage judged, or NULL: then *error (may be NULL)
 * says why it could not be computed (a lock that cannot be read), or is NULL when there was none to compute (no
 * lock configured, the smoke stage skipped). */
MG_API const mg_drift *mg_gate_drift(const mg_gate *g, const char **error);

/* What a long-running gate has counted (serve keeps these; a one-shot check is one run). */
typedef struct mg_gate_counts {
    uint64_t passed, failed;    /* runs in which every model passed / some did not */
    uint64_t errors;            /* runs that could not start (the matrix, an output path) */
} mg_gate_counts;

/*
 * Prometheus text format 0.0.4 (served as "text/plain; version=0.0.4"): mlgate_build_info,
 * mlgate_gate_runs_total{result}, and for the last run g (NULL: none has ended yet), which ended at
 * `finished` (Unix seconds): mlgate_last_run_timestamp_seconds, mlgate_model_up{model,capability,
 * kind}, mlgate_stage_duration_seconds{model,stage}, mlgate_model_first_byte_seconds{model}, and with a
 * host: lock: mlgate_drift (1: drift that matters, or a lock that cannot be read) and
 * mlgate_drift_changes{matters}; with
 * gpus (NULL: not measured) mlgate_gpu_memory_total_bytes / _used_bytes{gpu,UUID}, labelled as
 * dcgm-exporter labels them so that PromQL can join the two.
 */
MG_API void mg_gate_metrics(FILE *f, const mg_gate *g, double finished, const mg_gate_counts *c,
                            const mg_gpu_probe *gpus);
/* `mlgate check --json` (docs/matrix.md). */
MG_API void mg_gate_json(FILE *f, const mg_gate *g);

/* Audio the tts stage accepts: a WAV with at least min_seconds of sound, or another container named
 * by its header. Returns 1 if good, 0 with why filled otherwise; *what says what it is. */
MG_API int mg_check_audio(const uint8_t *buf, size_t len, double min_seconds, char *what, size_t wlen, char *why,
                          size_t ylen);
/* An image's format and size from its header (PNG or JPEG): 1 if recognised. */
MG_API int mg_image_size(const uint8_t *buf, size_t len, const char **format, uint32_t *w, uint32_t *h);

/* ==== OpenTelemetry (lib/gate/publish_otlp.c) ==== */

/* An exporter of gate runs over OTLP/HTTP JSON (docs/matrix.md, "OpenTelemetry"): a trace per run,
 * a root span "gate", a span per model (its parent the root) and a span per stage that ran (its
 * parent the model's), each with status OK or ERROR and the reason. One sender thread, a queue of
 * MG_OTLP_QUEUE runs (when full the oldest is dropped and counted); 429/502/503/504 are retried
 * (backoff 1, 2, 4 s or Retry-After seconds, at most 30; 4 tries in all), nothing else is. */
typedef struct mg_otlp mg_otlp;

#define MG_OTLP_QUEUE 64
#define MG_OTLP_MAX_HEADERS 32

typedef struct mg_otlp_counts {
    uint64_t sent;              /* runs the collector took (2xx) */
    uint64_t failed;            /* runs given up: refused (4xx, 500), or still 429/5xx after the last try */
    uint64_t dropped;           /* runs never delivered: the queue was full, or close ran out of time */
    uint64_t retried;           /* retries made */
    uint64_t queued;            /* runs waiting or being sent now */
    char error[256];            /* the last failure ("HTTP 503 after 4 tries"), "" when none; never a header */
} mg_otlp_counts;

/*
 * Validates url (http:// or https://; "/v1/traces" is appended unless it ends so) and the headers
 * ("NAME=VALUE" or "NAME: VALUE", no CR/LF; sent with every request, their values never printed),
 * loads libcurl and starts the sender. MG_E_ARG with err (naming no header value), MG_E_UNSUPPORTED
 * without libcurl, MG_E_NOMEM. Close with mg_otlp_close.
 */
MG_API int mg_otlp_open(const char *url, const char *const *headers, size_t nheaders, mg_otlp **out, char *err,
                        size_t errlen);
/* Renders the trace of the finished run g now and queues it; never waits for the network. */
MG_API void mg_otlp_submit(mg_otlp *x, const mg_gate *g);
MG_API void mg_otlp_stats(mg_otlp *x, mg_otlp_counts *c);
/* Waits at most wait_seconds for the queue to drain, then stops the sender (a request in flight is
 * aborted), fills *last (NULL: not wanted) with the final counts and frees x. */
MG_API void mg_otlp_close(mg_otlp *x, double wait_seconds, mg_otlp_counts *last);
/* The ExportTraceServiceRequest of run g as mg_otlp_submit sends it (new random ids each call).
 * MG_E_IO when the system has no randomness for the ids. */
MG_API int mg_gate_otlp_json(FILE *f, const mg_gate *g);

/* ==== `mlgate history`: the receipts read back (lib/gate/receipts.c) ==== */

/* Per model over the last runs: how many, passed, how often the verdict flipped. */
typedef struct mg_history_row {
    const char *model;
    int runs, passed, flips, last_ok;
    int flapping;               /* flipped at least twice: passes sometimes, fails sometimes */
    const char *last_reason;    /* the newest failure's reason, or NULL */
    const char *last_run;       /* when it was last checked (UTC) */
} mg_history_row;

typedef struct mg_history mg_history;

/* Reads the last nruns runs of the receipts database at path (read-only: a mistyped path is an
 * error, not a new database). MG_E_IO with err; free with mg_history_free. */
MG_API int mg_history_read(const char *path, int nruns, mg_history **out, char *err, size_t errlen);
MG_API void mg_history_free(mg_history *h);
MG_API size_t mg_history_count(const mg_history *h);
MG_API int mg_history_runs(const mg_history *h);     /* the runs asked for */
MG_API const mg_history_row *mg_history_row_at(const mg_history *h, size_t i);
/* 0 when no model is failing now or flapping, else 1. */
MG_API int mg_history_exit_status(const mg_history *h);
/* `mlgate history --json` (docs/matrix.md). */
MG_API void mg_history_json(FILE *f, const mg_history *h);

#endif
