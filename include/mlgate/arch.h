/* arch.h - GPU architectures, compute capabilities, driver versions and the GPU table. */
#ifndef MLGATE_ARCH_H
#define MLGATE_ARCH_H

#include <stddef.h>
#include <stdint.h>

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
const char *mg_arch_str(mg_arch a, const char *prefix, char *buf, size_t n);

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
int mg_driver_parse(const char *s, mg_driver *out);
const char *mg_driver_str(mg_driver d, char *buf, size_t n);
/* <0, 0, >0 like strcmp; a branch-only version equals every version of its branch. */
int mg_driver_cmp(mg_driver a, mg_driver b);

/* A CUDA toolkit or driver-API version, major*10+minor (130 = 13.0). */
typedef uint16_t mg_cuda;

/* One row of the GPU table (lib/tables/gpus.c). */
typedef struct mg_gpu_info {
    const char *name;       /* canonical: "RTX PRO 6000 Blackwell" */
    const char *aliases;    /* '|'-separated extra names, or NULL */
    uint16_t cc;            /* compute capability major*10+minor: 120 */
    const char *family;     /* "Blackwell" */
    uint32_t mem_mib;       /* memory of the common model, 0 = shared/unknown */
} mg_gpu_info;

const mg_gpu_info *mg_gpu_table(size_t *n);
/* Case-, space- and dash-insensitive; "NVIDIA " / "GeForce " / "Tesla " prefixes ignored. */
const mg_gpu_info *mg_gpu_find(const char *name);
/* The GPU with this PCI device id (vendor 0x10de), or NULL. */
const mg_gpu_info *mg_gpu_by_pci(uint16_t device);
/* Up to `max` names closest to an unknown one, for error messages. */
size_t mg_gpu_suggest(const char *name, const mg_gpu_info **out, size_t max);

/* A GPU to judge code against: what the user named, its capability, and the driver. */
typedef struct mg_target {
    char name[48];          /* "H100", "sm_90", "9.0" */
    uint16_t cc;            /* 90 */
    mg_driver driver;       /* major == 0: unknown */
} mg_target;

/*
 * Parses a comma-separated list of sm_XY, X.Y or GPU names ("all" = one
 * target per distinct capability in the GPU table). On error returns
 * MG_E_NOTFOUND / MG_E_ARG and writes a helpful message to err.
 */
int mg_targets_parse(const char *list, mg_target *out, size_t max, size_t *n,
                     char *err, size_t errlen);

/* PTX ISA / CUDA / driver table (lib/tables/cuda.c). ISA as major*10+minor (90 = 9.0). */
typedef struct mg_cuda_release {
    mg_cuda cuda;           /* 128 = CUDA 12.8 */
    uint16_t ptx_isa;       /* 87 = PTX ISA 8.7 */
    mg_driver min_driver;   /* Linux x86_64 driver of the GA release */
} mg_cuda_release;

const mg_cuda_release *mg_cuda_table(size_t *n);
/* The first release whose PTX ISA is >= isa, or NULL when the ISA is newer than the table. */
const mg_cuda_release *mg_cuda_for_ptx(uint16_t isa);
/* The newest release a driver supports (NULL: older than every row). */
const mg_cuda_release *mg_cuda_for_driver(mg_driver d);

#endif
