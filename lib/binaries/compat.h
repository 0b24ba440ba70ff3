/* compat.h - internal interface of the compatibility engine (lib/binaries/compat.c). */
#ifndef MG_COMPAT_H
#define MG_COMPAT_H

#include "binaries/fmt.h"
#include "mlgate/binaries.h"

/* How well one fatbin serves one target; ordered worst to best. */
typedef enum mg_level {
    MG_LV_NONE = 0,
    MG_LV_LTOIR,        /* only LTO-IR matches */
    MG_LV_PTX_DRIVER,   /* PTX matches, driver too old for its ISA */
    MG_LV_JIT,
    MG_LV_NATIVE
} mg_level;

typedef struct mg_fb_judgment {
    uint8_t level;      /* mg_level */
    uint8_t why;        /* mg_why, when level < JIT */
    uint16_t isa;       /* PTX ISA used (JIT) or refused (PTX_DRIVER) */
    mg_arch used;       /* the image chosen */
} mg_fb_judgment;

int mg_sass_runs(mg_arch code, uint16_t cc);
int mg_ptx_jits(mg_arch code, uint16_t cc);
/* Can this driver JIT this PTX ISA? Unknown driver: yes (the caller reports the minimum). */
int mg_driver_knows_isa(mg_driver d, uint16_t isa);
mg_fb_judgment mg_judge_fatbin(const mg_entry *e, uint32_t n, const mg_target *t);

/*
 * Kernel names of fatbin i: returns the kernel count (or -1 when its images
 * cannot be read) and points *names at up to max of them.
 */
typedef int (*mg_kernels_fn)(void *ud, uint32_t fatbin, const char ***names, uint32_t max);

/*
 * Every kernel of fatbin i as hash pairs (mg_name_hash: the name, its template
 * stem), 2*n values kept by the caller across targets; -1 when unreadable.
 */
typedef int (*mg_hashes_fn)(void *ud, uint32_t fatbin, const uint64_t **pairs, uint32_t *n);
void mg_name_hash(const char *name, size_t len, uint64_t out[2]);

typedef struct mg_judge_opts {
    unsigned max_missing, max_names;
    mg_kernels_fn kernels;
    mg_hashes_fn hashes;
    void *ud;
} mg_judge_opts;

/* Judges a whole file on one target; allocates details in r->arena. */
int mg_judge_file(mg_report *r, const mg_target *t, const mg_judge_opts *o, mg_verdict *v);

#endif
