/* load.h - ask the real CUDA driver: load each fatbin of a file and compare with the static verdict. */
#ifndef MLGATE_LOAD_H
#define MLGATE_LOAD_H

#include "mlgate/scan.h"

/* The GPU the driver loads for (device 0 unless asked otherwise). */
typedef struct mg_device {
    int ok;                 /* 0: no driver or no GPU; see err */
    char name[96];
    uint16_t cc;            /* 90 */
    int cuda_version;       /* cuDriverGetVersion: 13000 = CUDA 13.0 */
    mg_driver driver;       /* from /proc/driver/nvidia/version, when readable */
    char err[256];
} mg_device;

/* What happened to one fatbin. */
enum {
    MG_LOAD_NOT_TRIED = -1, /* relocatable / LTO-IR: not loadable directly; or no budget left */
    MG_LOAD_CRASHED = -2,   /* the driver crashed the loading process */
    MG_LOAD_TIMEOUT = -3,   /* the time budget ran out while it loaded (JIT) */
};

typedef struct mg_load_opts {
    int device;             /* ordinal */
    double budget_s;        /* wall-clock budget for this file (0: 120 s) */
} mg_load_opts;

/*
 * Loads every fatbin of r (from the file at r->path) with cuModuleLoadData in a
 * child process, so a crash is reported, not inherited. codes[i] gets the
 * CUresult of fatbin i, or one of the MG_LOAD_* values. Returns MG_OK, or
 * MG_E_DRIVER with dev->err explaining.
 */
int mg_load_file(const mg_report *r, const mg_load_opts *o, int *codes, mg_device *dev);

/* Device 0's facts through the driver (in a child process). */
int mg_load_device(int ordinal, mg_device *dev);

const char *mg_cu_name(int code);
const char *mg_cu_meaning(int code);

#endif
