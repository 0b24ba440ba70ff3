/* scan.h - scan files, directories and wheels; judge their CUDA code against target GPUs. */
#ifndef MLGATE_SCAN_H
#define MLGATE_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include "mlgate/arch.h"
#include "mlgate/fatbin.h"

/* Verdict of one file on one target. Ordered from best to worst. */
typedef enum mg_status {
    MG_ST_NATIVE = 0,   /* every kernel the file needs has SASS for the target */
    MG_ST_JIT,          /* runs, but some code only through PTX JIT (slow first start) */
    MG_ST_PARTIAL,      /* some code the file needs has no image: those kernels fail */
    MG_ST_NONE          /* nothing in the file runs on the target */
} mg_status;

const char *mg_status_str(mg_status s);

/* Why a fatbin has no usable image for a target. */
typedef enum mg_why {
    MG_WHY_NO_IMAGE = 0,    /* no SASS for this major/minor and no PTX old enough */
    MG_WHY_ARCH_SPECIFIC,   /* only sm_XYa / sm_XYf code for other GPUs */
    MG_WHY_PTX_DRIVER,      /* PTX would JIT, but the driver is too old for its ISA (error 222) */
    MG_WHY_LTOIR_ONLY,      /* only LTO-IR, which needs nvJitLink */
} mg_why;

/* A fatbin with no image for a target, and the kernels that therefore fail. */
typedef struct mg_missing {
    uint32_t fatbin;        /* index in report->fatbins */
    uint8_t why;            /* mg_why */
    uint32_t nkernels;      /* kernels in the fatbin */
    uint32_t nnames;        /* names kept (capped) */
    const char **names;
} mg_missing;

#define MG_REASON_MAX 200

typedef struct mg_verdict {
    mg_target target;
    uint8_t status;         /* mg_status */
    uint32_t covered;       /* code fatbins the target can run */
    uint32_t total;         /* code fatbins that matter on the target */
    uint32_t jit;           /* of covered, those that run only through PTX JIT */
    uint32_t other_sets;    /* per-architecture kernel sets for other GPUs, not loaded here */
    uint16_t need_isa;      /* newest PTX ISA the JIT needs (0: none) */
    mg_driver need_driver;  /* the driver that ISA needs */
    char reason[MG_REASON_MAX];
    uint32_t nmissing;      /* fatbins without an image (all of them) */
    uint32_t nmissing_kept; /* details kept in `missing` (capped) */
    mg_missing *missing;
    uint32_t missing_kernels;  /* sum of their kernels */
} mg_verdict;

struct mg_arena;

/* Everything mlgate learned about one file (or one member of an archive). */
typedef struct mg_report {
    const char *path;       /* "dir/lib.so", or "pkg.whl!torch/lib/libtorch_cuda.so" */
    int err;                /* mg_err: MG_OK, or why the file could not be read */
    const char *detail;     /* a sentence about err, or NULL */
    uint64_t size;          /* bytes scanned */
    uint16_t machine;       /* host ELF e_machine (62 x86-64, 183 aarch64) */
    uint32_t nfatbins;
    mg_fatbin *fatbins;
    uint32_t nentries;
    mg_entry *entries;
    uint32_t images[MG_KIND_COUNT];   /* entries per kind */
    uint32_t nrelocatable;  /* fatbins that need device linking first */
    uint32_t nempty;        /* fatbins found to hold no kernel */
    uint32_t sm_mismatch;   /* cubins whose header disagrees with the fatbin */
    size_t nverdicts;
    mg_verdict *verdicts;   /* one per target, in the order given */
    struct mg_arena *arena; /* owns everything above */
} mg_report;

/* An image's architecture as cuobjdump spells it by kind: sm_90a, compute_120f, lto_90. */
const char *mg_entry_arch_str(const mg_entry *e, char *buf, size_t n);
/* The images of fatbin i, space-separated ("sm_80 sm_90 compute_90"). */
const char *mg_fatbin_archs_str(const mg_report *r, uint32_t i, char *buf, size_t n);
/* Distinct architectures of one kind in a report, sorted; returns how many (up to max). */
size_t mg_report_archs(const mg_report *r, mg_kind kind, mg_arch *out, size_t max);
/* How one fatbin alone fares on a target: native, jit or none (no file-level reasoning). */
mg_status mg_fatbin_status(const mg_report *r, uint32_t i, const mg_target *t);
/* The worst status over all targets (MG_ST_NATIVE when there are none). */
mg_status mg_report_worst(const mg_report *r);

typedef void (*mg_progress_fn)(void *ud, size_t done, size_t total);

typedef struct mg_scan_opts {
    const mg_target *targets;
    size_t ntargets;
    int threads;            /* 0: one per CPU */
    int deep;               /* decompress every image: check every cubin's SM, count all kernels */
    unsigned max_names;     /* kernel names kept per missing fatbin (default 8) */
    unsigned max_missing;   /* missing fatbins detailed per verdict (default 16) */
    uint64_t max_member;    /* largest archive member inflated in memory (default 4 GiB) */
    int keep_all;           /* also report files without CUDA code */
    mg_progress_fn progress;
    void *progress_ud;
} mg_scan_opts;

typedef struct mg_scan_result {
    mg_report **reports;    /* files with CUDA code, and files that failed */
    size_t nreports;
    size_t files;           /* regular files examined (archive members included) */
    size_t skipped;         /* special files and symlinks left alone */
    uint64_t bytes;         /* bytes of ELF data examined */
} mg_scan_result;

/* Scans files, directories (recursively, without following symlinks) and zip/wheel archives. */
int mg_scan_paths(const mg_scan_opts *o, const char *const *paths, size_t npaths,
                  mg_scan_result *out);
void mg_scan_result_free(mg_scan_result *r);

/* Scans one in-memory ELF image. Always returns a report (err set on failure), NULL on OOM. */
mg_report *mg_scan_buffer(const mg_scan_opts *o, const char *name,
                          const uint8_t *buf, size_t len);
void mg_report_free(mg_report *r);

#endif
