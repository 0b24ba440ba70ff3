/*
 * host.h - this machine (or a saved tree of another): its GPUs through NVML, libcuda or the PCI bus,
 * its CPU, memory, NUMA nodes, disks and Python environments, and `mlgate doctor`, the audit that
 * turns those facts into findings with a cause and a fix.
 */
#ifndef MLGATE_HOST_H
#define MLGATE_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/core.h"
#include "mlgate/target.h"

/* One GPU as a backend sees it; fields a backend cannot know stay 0 / empty. */
typedef struct mg_host_gpu {
    int index;
    char name[96];
    char uuid[96];
    char pci_bus_id[32];        /* "00000000:01:00.0" */
    uint16_t pci_device;        /* PCI device id (vendor 0x10de) */
    uint16_t cc;                /* compute capability major*10+minor, 0 unknown */
    char arch[16];              /* "Hopper", "Blackwell" */
    uint64_t mem_total, mem_free, mem_reserved, mem_used;   /* bytes */
    int mig;                    /* -1 unknown / not supported, 0 disabled, 1 enabled */
    int persistence;            /* -1 unknown, 0, 1 */
    int bus_type;               /* NVML bus type: 2 PCIe; -1 unknown */
    int unified_memory;         /* 1: shares system memory (GB10, Jetson): do not count twice */
} mg_host_gpu;

#define MG_MAX_GPUS 64

/* What one discovery backend found. */
typedef struct mg_gpu_probe {
    const char *backend;        /* "nvml", "cuda", "pci" */
    int ok;                     /* the backend worked (even with 0 GPUs) */
    int code;                   /* backend-specific error code (NVML return) when !ok */
    char error[256];            /* why it failed, in plain words */
    mg_driver driver;           /* driver version, when known */
    int cuda_version;           /* CUDA driver API version (12080 = 12.8), 0 unknown */
    size_t ngpus;
    mg_host_gpu gpus[MG_MAX_GPUS];
} mg_gpu_probe;

/* Where the readers look: "/" normally; a fake tree in tests. */
typedef struct mg_host_paths {
    const char *root;           /* prefix for /proc and /sys (default "") */
    const char *nvml_lib;       /* default $MLGATE_NVML, else "libnvidia-ml.so.1" */
    const char *cuda_lib;       /* default $MLGATE_CUDA, else "libcuda.so.1" */
} mg_host_paths;

/* The NVML and libcuda a probe loads: the paths', else $MLGATE_NVML / $MLGATE_CUDA, else the driver's. */
MG_API const char *mg_nvml_lib(const mg_host_paths *p);
MG_API const char *mg_cuda_lib(const mg_host_paths *p);

/* A GPU discovery backend: one file each under lib/host/gpu, so others can be added. */
typedef struct mg_gpu_backend {
    const char *name;
    int (*probe)(const mg_host_paths *p, mg_gpu_probe *out);
} mg_gpu_backend;

MG_API extern const mg_gpu_backend mg_gpu_nvml;    /* lib/host/gpu/nvml.c: NVML */
MG_API extern const mg_gpu_backend mg_gpu_cuda;    /* lib/host/gpu/cuda.c: the CUDA driver API, in a child process */
MG_API extern const mg_gpu_backend mg_gpu_pci;     /* lib/host/gpu/pci.c: the PCI bus (no driver needed) */

/* CPU (lib/host/cpu.c). */
typedef struct mg_cpu {
    char arch[16];              /* "x86_64", "aarch64" */
    char model[128];
    int logical, physical;      /* CPUs online; cores (0 unknown) */
    uint64_t features;          /* MG_CPU_* bits */
} mg_cpu;

enum {
    MG_CPU_AVX = 1u << 0, MG_CPU_AVX2 = 1u << 1, MG_CPU_FMA = 1u << 2, MG_CPU_F16C = 1u << 3,
    MG_CPU_AVX512F = 1u << 4, MG_CPU_AVX512BW = 1u << 5, MG_CPU_AVX512CD = 1u << 6, MG_CPU_AVX512DQ = 1u << 7,
    MG_CPU_AVX512VL = 1u << 8, MG_CPU_AVX512BF16 = 1u << 9, MG_CPU_AVX512FP16 = 1u << 10,
    MG_CPU_AVX512VNNI = 1u << 11, MG_CPU_AVXVNNI = 1u << 12, MG_CPU_AMX_TILE = 1u << 13,
    MG_CPU_AMX_INT8 = 1u << 14, MG_CPU_AMX_BF16 = 1u << 15,
    MG_CPU_NEON = 1u << 16, MG_CPU_SVE = 1u << 17, MG_CPU_SVE2 = 1u << 18, MG_CPU_I8MM = 1u << 19,
    MG_CPU_DOTPROD = 1u << 20, MG_CPU_BF16 = 1u << 21,
};

/* Name of one feature bit ("avx512bw"), and the bits in table order for printing. */
MG_API const char *mg_cpu_feature_name(uint64_t bit);

/* Memory and NUMA (lib/host/mem.c). */
typedef struct mg_numa_node {
    int id;
    uint64_t mem_total;         /* bytes */
    int ncpus;
} mg_numa_node;

#define MG_MAX_NUMA 64

typedef struct mg_memory {
    uint64_t total, available, swap_total, swap_free;   /* bytes */
    uint64_t hugepages_total, hugepage_size;            /* pages, bytes */
    uint64_t cgroup_limit;      /* bytes; 0 = none */
    size_t nnodes;
    mg_numa_node nodes[MG_MAX_NUMA];
} mg_memory;

MG_API int mg_cpu_read(const mg_host_paths *p, mg_cpu *out);
MG_API int mg_memory_read(const mg_host_paths *p, mg_memory *out);

/* A Python environment, read without running Python (lib/host/python.c). */
typedef struct mg_pyenv {
    char site[512];             /* its site-packages (or dist-packages) directory */
    char origin[32];            /* how it was found: "--python", "VIRTUAL_ENV", "./venv", "home", "system" */
    char python[12];            /* "3.12" */
    int has_torch;
    char torch_version[64];     /* "2.11.0+cu130" */
    char torch_cuda[16];        /* "13.0"; "" for a CPU-only build */
} mg_pyenv;

#define MG_MAX_PYENVS 32

/* Environments given (python executables, prefixes or site-packages), then, with `common`, the usual places. */
MG_API int mg_pyenv_find(const char *const *given, size_t ngiven, int common, mg_pyenv *out, size_t max, size_t *n);

/* Free space where models go (checked by lib/doctor.c). */
typedef struct mg_disk {
    char path[512];
    uint64_t free, total;       /* bytes, of its filesystem */
} mg_disk;

/* This machine's GPUs as the first backend that sees them finds them: NVML, else libcuda (WSL2),
 * else the PCI bus (a broken or missing driver; not with a fake root). */
MG_API int mg_gpu_detect(const mg_host_paths *p, mg_gpu_probe *probe);

/* ==== `mlgate doctor` (lib/host/doctor.c) ==== */

typedef enum mg_severity { MG_SEV_OK = 0, MG_SEV_WARN, MG_SEV_FAIL } mg_severity;
MG_API const char *mg_severity_str(mg_severity s);

typedef struct mg_finding {
    uint8_t severity;       /* mg_severity */
    const char *area;       /* "gpu", "driver", "cuda", "cpu", "numa", "memory", "disk", "python" */
    const char *cause;      /* one line: what is so */
    const char *fix;        /* one line: what to do, or NULL */
} mg_finding;

/* What to look at beyond the defaults. */
typedef struct mg_doctor_opts {
    const char *const *models;  /* model directories for the disk check (default: the usual caches) */
    size_t nmodels;
    const char *const *pythons; /* Python executables, venvs or site-packages to audit */
    size_t npythons;
    int no_common_envs;         /* only the environments given */
    int no_scan;                /* do not scan environments' CUDA libraries */
    int no_cuda;                /* do not initialise libcuda (cuInit) */
} mg_doctor_opts;

/* Everything the readers found. */
typedef struct mg_host_facts {
    mg_gpu_probe nvml;          /* NVML's view (ok = 0 when it failed) */
    mg_gpu_probe pci;           /* the PCI bus's view */
    int cuda_tried;
    mg_gpu_probe cuda;          /* libcuda's view: cuInit, driver API version, its GPUs */
    mg_cpu cpu;
    int cpu_ok;
    mg_memory mem;
    int mem_ok;
    int in_container, wsl, dev_nodes;   /* /.dockerenv etc., WSL2, /dev/nvidia* present */
    size_t ndisks;
    const mg_disk *disks;
    size_t npyenvs;
    const mg_pyenv *pyenvs;
} mg_host_facts;

typedef struct mg_doctor mg_doctor;

/* Reads everything and derives the findings. Never fails as a whole (what cannot be read is a
 * finding); NULL only when out of memory. Free with mg_doctor_free. */
MG_API mg_doctor *mg_doctor_run(const mg_host_paths *p, const mg_doctor_opts *o);
MG_API void mg_doctor_free(mg_doctor *d);
MG_API const mg_host_facts *mg_doctor_facts(const mg_doctor *d);
MG_API size_t mg_doctor_nfindings(const mg_doctor *d);
MG_API const mg_finding *mg_doctor_finding(const mg_doctor *d, size_t i);
/* The GPUs to trust: NVML's when it worked, else libcuda's, else those seen on the PCI bus. */
MG_API const mg_gpu_probe *mg_doctor_gpus(const mg_doctor *d);
MG_API mg_severity mg_doctor_worst(const mg_doctor *d);
/* `mlgate doctor --json` (docs/json.md). */
MG_API void mg_doctor_json(FILE *f, const mg_doctor *d);

#endif
