/* lock_int.h - the lock as its files share it inside the library: collected (lock.c), written and read (lock_json.c),
 * compared (drift.c). Everything a lock holds lives in its arena. */
#ifndef MG_LOCK_INT_H
#define MG_LOCK_INT_H

#include "core/arena.h"
#include "mlgate/lock.h"

/* One GPU of the host, as the lock records it. */
typedef struct lk_gpu {
    const char *name;           /* the target's name: "GPU0 H200" (detected), "H100" (given) */
    const char *uuid;           /* "GPU-..." or NULL */
    uint16_t cc;                /* 90; 0: unknown (no verdicts for it) */
    int index;                  /* detected: its index on the machine; given: -1 */
} lk_gpu;

/* A verdict on one GPU of the host. */
typedef struct lk_verdict {
    size_t gpu;                 /* index into host.gpus */
    uint8_t status;             /* mg_status */
    uint16_t need_isa;          /* the PTX ISA its JIT needs (91 = 9.1), 0: none */
} lk_verdict;

typedef struct lk_binary {
    const char *path;
    uint64_t size;
    const char *sha256;         /* of the file, or of the archive it is a member of; NULL for a file of a container
                                   image (the image's digest covers it) or when none could be made */
    const char *error;          /* why it could not be read, NULL */
    size_t nverdicts;
    lk_verdict *verdicts;
    int in_image;               /* a file of a container image (collected only; not written) */
} lk_binary;

typedef struct lk_package {
    const char *name;           /* PEP 503 normalised: "flash-attn" */
    const char *version;
    size_t nverdicts;           /* the framework's own verdicts (a CPU-only build, a GPU below its floor); 0: none */
    lk_verdict *verdicts;
} lk_package;

typedef struct lk_pyenv {
    const char *path;           /* the site-packages / dist-packages directory */
    size_t npackages;
    lk_package *packages;
} lk_pyenv;

typedef struct lk_model {
    const char *path;
    const char *format;         /* "gguf", "safetensors", NULL when unreadable */
    uint64_t size;
    uint64_t header_bytes;      /* the bytes the header digest covers */
    const char *header_sha256;
    const char *sha256;         /* the whole file (inputs.hash_models), NULL */
    const char *error;
} lk_model;

typedef struct lk_image {       /* a container image scanned: its digest (collect_binaries) */
    const char *path;
    const char *digest;
} lk_image;

struct mg_lock {
    mg_arena *arena;
    /* inputs: what it was made from, so that drift collects the same */
    const char *matrix;
    const char **paths;
    size_t npaths;
    const char **models;
    size_t nmodels;
    const char *gpus, *driver, *arch;   /* given, or NULL */
    int hash_models;
    /* host */
    const char *source;         /* "detected", "given" */
    const char *backend;        /* "nvml", "cuda", "pci", NULL */
    const char *driver_version; /* "580.95.05", NULL */
    const char *cuda_driver;    /* "13.0", NULL */
    const char *kernel;         /* uname -r, NULL */
    const char *cpu_arch;       /* "x86_64", NULL */
    lk_gpu *gpus_;
    size_t ngpus;
    lk_binary *bins;
    size_t nbins;
    lk_pyenv *envs;
    size_t nenvs;
    lk_model *files;
    size_t nfiles;
    lk_image *images;
    size_t nimages;
    size_t skipped_urls;        /* model inputs left out (URLs); not written */
};

/* The name of a status as the lock spells it ("native"), and back (-1: none). */
int lk_status_parse(const char *s);
/* PEP 503: lowercase, each run of '-', '_', '.' one '-', into the arena. */
char *lk_normalize(mg_arena *a, const char *name, size_t len);
/* Sorts a lock's arrays (binaries, environments and their packages, models, images) as the file has them. */
void lk_sort(mg_lock *l);

#endif
