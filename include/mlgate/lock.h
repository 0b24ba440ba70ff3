/*
 * lock.h - what a passing state is made of, and what changed since (docs/lock.md): `mlgate lock` records
 * the host's GPUs and driver, every scanned binary's digest and verdict per GPU, the Python environments'
 * packages and the model files' headers as a stable, deterministic JSON file; `mlgate drift` collects the
 * same again from the lock's own inputs and says what changed and whether it changes a verdict.
 */
#ifndef MLGATE_LOCK_H
#define MLGATE_LOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/core.h"
#include "mlgate/host.h"

#define MG_LOCK_VERSION 1               /* the "lock_version" this mlgate writes and reads */
#define MG_LOCK_MAX_BYTES (64u << 20)   /* a lock file larger than this is refused (MG_E_LIMIT) */
#define MG_LOCK_MAX_INPUTS 4096         /* paths and model files a lock is made from */

typedef struct mg_lock mg_lock;

/* What a lock is made from. Everything optional; paths and models are copied. */
typedef struct mg_lock_opts {
    const char *const *paths;   /* scanned as `mlgate scan` scans them; Python environments are found under them */
    size_t npaths;
    const char *const *models;  /* model files (GGUF, split GGUF, safetensors file, index or directory); URLs are
                                   left out (only local files are locked) */
    size_t nmodels;
    const char *matrix;         /* the matrix these came from, recorded as inputs.matrix (mg_matrix_lock), or NULL */
    const char *gpus;           /* judge against these GPUs (like scan --gpu), recorded; NULL: this machine's */
    const char *driver;         /* the driver for PTX reasoning (like scan --driver), recorded; NULL: detected */
    const char *arch;           /* the host CPU of named GPUs (like scan --arch), recorded; NULL: this machine's */
    int hash_models;            /* sha256 of every model file whole, not only its header */
    int threads;                /* scan and hash workers (0: one per CPU) */
    const mg_host_paths *host;  /* where GPU detection looks (NULL: this machine) */
    double deadline_at;         /* mg_now() time after which files not yet read are errors (0: none) */
} mg_lock_opts;

/*
 * Collects the state: the host, a scan of the paths against its GPUs, the sha256 of every file with CUDA
 * code, the dist-infos of every site-packages/dist-packages under the paths, the models' headers. A file
 * that cannot be read is recorded with its error, not a failure. MG_E_ARG / MG_E_NOTFOUND (a bad GPU list or
 * driver), MG_E_LIMIT (too many inputs), MG_E_NOMEM, with err. Free *out with mg_lock_free.
 */
MG_API int mg_lock_collect(const mg_lock_opts *o, mg_lock **out, char *err, size_t errlen);
/*
 * Parses a lock file's text (name for messages). Every field's type is checked; keys it does not know are
 * ignored (later minor additions). MG_E_LIMIT past MG_LOCK_MAX_BYTES, 10 levels of nesting or 1,000,000 JSON
 * values; MG_E_UNSUPPORTED for a lock_version other than 1; MG_E_FORMAT for anything else wrong, with
 * "name: where: what" in err.
 */
MG_API int mg_lock_parse(const char *text, size_t len, const char *name, mg_lock **out, char *err, size_t errlen);
/* mg_lock_parse of a file (regular files only, at most MG_LOCK_MAX_BYTES); MG_E_IO when it cannot be read. */
MG_API int mg_lock_load(const char *path, mg_lock **out, char *err, size_t errlen);
MG_API void mg_lock_free(mg_lock *l);

/* The lock file's text (docs/lock.md): the same state gives the same bytes. */
MG_API void mg_lock_json(FILE *f, const mg_lock *l);
/* Written to path atomically: a hidden temp file beside it, fsync, rename (the capability file's rules: a target
 * that is a symlink, or unless flags has MG_LOCK_SHARED_OK a directory other users can write, is refused). MG_E_IO /
 * MG_E_NOMEM with err. */
#define MG_LOCK_SHARED_OK 1
MG_API int mg_lock_write(const mg_lock *l, const char *path, int flags, char *err, size_t errlen);

/* What a lock holds, counted. */
typedef struct mg_lock_counts {
    size_t gpus;                /* GPUs of the host */
    size_t binaries;            /* files with CUDA code (and files that could not be read) */
    size_t failing;             /* of those, partial or none on some GPU, or unreadable */
    size_t pyenvs, packages;    /* Python environments, and their packages in all */
    size_t models;              /* model files (shards counted one by one) */
    size_t model_errors;        /* model files that could not be read */
    size_t skipped_urls;        /* model inputs left out: URLs */
} mg_lock_counts;
MG_API void mg_lock_count(const mg_lock *l, mg_lock_counts *c);

/* ==== Drift: now against a lock (lib/lock/drift.c) ==== */

/* What changed. Kinds: "gpu_added", "gpu_removed", "gpu_changed", "driver", "cuda_driver", "kernel",
 * "cpu_arch", "binary_added", "binary_removed", "binary_changed", "verdict", "python_added",
 * "python_removed", "package_added", "package_removed", "package_changed", "model_added", "model_removed",
 * "model_changed", "image_added", "image_removed", "image_changed". */
typedef struct mg_drift_change {
    const char *kind;
    const char *subject;        /* a path, a package's name, "driver", a GPU's name */
    const char *in;             /* a package's site-packages directory; NULL for others */
    const char *before;         /* the locked value ("580.95.05", a digest, a version), NULL: it was not there */
    const char *after;          /* the value now, NULL: it is gone */
    int matters;                /* a verdict got worse, or something locked is gone or no longer the same model */
    const char *verdict_change; /* what it did to verdicts ("sm_120 no longer covered", "PTX ISA 8.8 now JITs"),
                                   NULL when none changed */
    const char *text;           /* the change as one line: "driver 575.64.03 -> 580.95.05: PTX ISA 8.8 now JITs" */
} mg_drift_change;

typedef struct mg_drift mg_drift;

/* The changes from `locked` to `now`, host first, then binaries, Python, models, images (each sorted by
 * subject). MG_E_NOMEM. Free with mg_drift_free. The locks may be freed after. */
MG_API int mg_drift_compare(const mg_lock *locked, const mg_lock *now, const char *lock_path, mg_drift **out);

/* What drift judges with, beyond the lock's own inputs. */
typedef struct mg_drift_opts {
    const char *gpus;           /* these GPUs instead of those the lock was made for (its --gpu, else this machine's) */
    const char *driver;         /* this driver instead of the lock's --driver (else the detected one) */
    const char *arch;
    int threads;
    const mg_host_paths *host;
    double deadline_at;
} mg_drift_opts;

/* Loads the lock at path, collects the state now from its inputs (mg_lock_collect) and compares. The lock's
 * errors are mg_lock_load's; a bad --gpu is MG_E_ARG; err says why. */
MG_API int mg_drift_run(const char *path, const mg_drift_opts *o, mg_drift **out, char *err, size_t errlen);
MG_API void mg_drift_free(mg_drift *d);
MG_API size_t mg_drift_count(const mg_drift *d);
MG_API const mg_drift_change *mg_drift_at(const mg_drift *d, size_t i);
MG_API size_t mg_drift_matters(const mg_drift *d);     /* the changes that matter */
/* 0 nothing that matters changed, 1 something did. */
MG_API int mg_drift_exit_status(const mg_drift *d);
/* `mlgate drift --json`: {"mlgate", "command": "drift", "lock", "ok", "error": null, "matters", "changes": [...]}. */
MG_API void mg_drift_json(FILE *f, const mg_drift *d);
/* The same document for a drift that could not be computed (serve's /v1/drift): ok false, error {code, message}. */
MG_API void mg_drift_error_json(FILE *f, const char *lock_path, mg_err e, const char *message);

#endif
