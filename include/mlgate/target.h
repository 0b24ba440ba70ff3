/* target.h - the GPUs a verdict is for: architectures, drivers, and one target type for every command. */
#ifndef MLGATE_TARGET_H
#define MLGATE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "mlgate/core.h"

/* How specific a code image is: plain sm_90, arch-specific sm_90a, family sm_100f. */
typedef enum mg_variant {
    MG_VAR_NONE = 0,
    MG_VAR_A = 1,       /* runs only on exactly this compute capability */
    MG_VAR_F = 2        /* runs on the family: same major, minor >= */
} mg_variant;

/* An architecture as code is compiled for it: sm = major*10 + minor (90, 100, 121). */
typedef struct mg_arch {
    uint16_t sm;
    uint8_t variant;    /* mg_variant */
} mg_arch;

/* Writes "sm_90a" / "compute_120f" (prefix chosen by the caller) into buf. */
MG_API const char *mg_arch_str(mg_arch a, const char *prefix, char *buf, size_t n);

/*
 * A driver version, e.g. 580.65.06. A version given as "580" has only its
 * branch set (minor = patch = MG_DRIVER_ANY) and compares by branch.
 */
#define MG_DRIVER_ANY 0xffffu
typedef struct mg_driver {
    uint16_t major, minor, patch;
} mg_driver;

/* 0 when unknown. */
static inline int mg_driver_known(mg_driver d) { return d.major != 0; }
MG_API int mg_driver_parse(const char *s, mg_driver *out);
MG_API const char *mg_driver_str(mg_driver d, char *buf, size_t n);
/* <0, 0, >0 like strcmp; a branch-only version equals every version of its branch. */
MG_API int mg_driver_cmp(mg_driver a, mg_driver b);

/* A CUDA toolkit or driver-API version, major*10+minor (130 = 13.0). */
typedef uint16_t mg_cuda;

/* Where a target came from. */
typedef enum mg_target_source {
    MG_TARGET_NAMED = 0,    /* a name from the GPU table: "RTX 5090" */
    MG_TARGET_SM,           /* a compute capability: "sm_90", "12.1" */
    MG_TARGET_SIZE,         /* a memory size only: --vram 96G */
    MG_TARGET_DETECTED      /* a GPU of this machine */
} mg_target_source;

/*
 * One GPU to judge against, whatever command asks: scan (compute capability and driver), fit
 * and plan (memory), check (both), doctor (this machine's). The first three fields come first so
 * that {"name", total, free} initialises a memory-only target.
 */
typedef struct mg_target {
    char name[64];          /* "H100", "sm_90", "GPU0 H200" (detected), "GPU1" (a --vram size) */
    uint64_t mem_total;     /* bytes; 0: unknown (sm_XY) or shared with the CPU (GB10) */
    uint64_t mem_free;      /* bytes free now (detected GPUs), else mem_total */
    uint16_t cc;            /* compute capability major*10+minor; 0: unknown (a size only) */
    mg_driver driver;       /* major 0: unknown */
    uint8_t source;         /* mg_target_source */
    uint8_t unified;        /* its memory is the host's RAM (GB10, Jetson): count it once */
    int16_t index;          /* detected: the GPU's index on this machine; else -1 */
    char cpu_arch[16];      /* the host's CPU: "x86_64", "aarch64"; "" when unknown */
} mg_target;

/*
 * Parses a comma-separated list of sm_XY, X.Y or GPU names ("all" = one target per distinct
 * capability in the GPU table) into out[0..max). On error returns MG_E_NOTFOUND / MG_E_ARG /
 * MG_E_LIMIT and writes a helpful message ("did you mean ...") to err.
 */
MG_API int mg_targets_parse(const char *list, mg_target *out, size_t max, size_t *n, char *err, size_t errlen);

#define MG_MAX_TARGETS 64

/* A set of targets, and where they came from. */
typedef struct mg_targets {
    size_t n;
    mg_target t[MG_MAX_TARGETS];
    const char *backend;    /* detected: "nvml", "cuda" or "pci"; NULL for named targets */
    char note[256];         /* detected and none found: why (NVML's error, "NVML sees none") */
} mg_targets;

struct mg_host_paths;

/* What a command was told to judge against. Everything optional. */
typedef struct mg_target_spec {
    const char *gpus;       /* names, sm_XY, X.Y, "all" */
    const char *vram;       /* sizes ("96G,32G"): with gpus the i-th size is the i-th GPU's memory, and
                               sizes beyond the named GPUs add GPUs of that size; alone, GPUs of these sizes */
    const char *driver;     /* "580.65.06" or "580": the driver of every target (default: the detected one) */
    int detect;             /* neither gpus nor vram: this machine's GPUs (NVML, else libcuda, else the PCI bus) */
    int need_memory;        /* every GPU given must have a memory size (fit, plan, check): an error names the
                               one without; detected GPUs whose memory is unknown are kept */
    const struct mg_host_paths *host;   /* where detection looks; NULL: this machine */
    const char *arch;       /* the host CPU ("x86_64", "aarch64"; also amd64, arm64) of named targets whose GPU
                               comes with either; NULL: this machine's. Contradicting a GPU sold with one only
                               (GB10) or this machine's own GPUs is MG_E_ARG. */
} mg_target_spec;

/* Builds the targets; MG_E_ARG / MG_E_NOTFOUND with err for a bad list. No GPU found is not an error
 * (out->n == 0, out->note says why). The detected ones are named "GPU<index> <name in the GPU table>". */
MG_API int mg_targets_make(const mg_target_spec *s, mg_targets *out, char *err, size_t errlen);
/* "H100,RTX 5090": the names, comma-separated, into buf (whole names only). */
MG_API const char *mg_targets_names(const mg_targets *t, char *buf, size_t n);

#endif
