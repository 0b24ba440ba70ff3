/* doctor.h - the host audit: facts from every reader and findings with a cause and a fix each. */
#ifndef MLGATE_DOCTOR_H
#define MLGATE_DOCTOR_H

#include "mlgate/host.h"

typedef enum mg_severity { MG_SEV_OK = 0, MG_SEV_WARN, MG_SEV_FAIL } mg_severity;

typedef struct mg_finding {
    uint8_t severity;       /* mg_severity */
    char area[16];          /* "gpu", "driver", "cpu", "numa", "memory" */
    char cause[320];        /* one line: what is so */
    char fix[256];          /* one line: what to do ("" when nothing) */
} mg_finding;

#define MG_MAX_FINDINGS 96
#define MG_MAX_DISKS 8

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

typedef struct mg_doctor {
    mg_gpu_probe nvml;      /* NVML's view (ok = 0 when it failed) */
    mg_gpu_probe pci;       /* the PCI bus's view */
    mg_cpu cpu;
    int cpu_ok;
    mg_memory mem;
    int mem_ok;
    int in_container, wsl, dev_nodes;   /* /.dockerenv etc., WSL2, /dev/nvidia* present */
    int cuda_tried;
    mg_gpu_probe cuda;          /* libcuda's view: cuInit, driver API version, its GPUs */
    size_t ndisks;
    mg_disk disks[MG_MAX_DISKS];
    size_t npyenvs;
    mg_pyenv pyenvs[MG_MAX_PYENVS];
    size_t nfindings;
    mg_finding findings[MG_MAX_FINDINGS];
} mg_doctor;

/* Reads everything and derives the findings. Never fails as a whole: what cannot be read is a finding. */
void mg_doctor_run(const mg_host_paths *p, const mg_doctor_opts *o, mg_doctor *d);
/* The GPUs to trust: NVML's when it worked, else libcuda's, else those seen on the PCI bus. */
const mg_gpu_probe *mg_doctor_gpus(const mg_doctor *d);
mg_severity mg_doctor_worst(const mg_doctor *d);
const char *mg_severity_str(mg_severity s);

#endif
