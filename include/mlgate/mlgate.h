/* mlgate.h - umbrella header: version, the one error enum, and the sub-APIs. */
#ifndef MLGATE_H
#define MLGATE_H

#include <stddef.h>
#include <stdint.h>

#define MLGATE_VERSION "0.1.0"

/*
 * Every fallible call returns one of these. Details for a particular
 * failure live with the object that failed (a file report's `detail`),
 * never in global state: the daemon will be threaded.
 */
typedef enum mg_err {
    MG_OK = 0,          /* 0 */
    MG_E_NOMEM,         /* 1  out of memory */
    MG_E_IO,            /* 2  cannot open, stat, map or read */
    MG_E_FORMAT,        /* 3  malformed input */
    MG_E_TRUNCATED,     /* 4  input ends before a structure it declares */
    MG_E_LIMIT,         /* 5  a count or size exceeds mlgate's cap */
    MG_E_UNSUPPORTED,   /* 6  valid input of a kind mlgate does not handle */
    MG_E_COMPRESSION,   /* 7  a compressed payload does not decode */
    MG_E_ARG,           /* 8  bad argument from the caller */
    MG_E_NOTFOUND,      /* 9  no such GPU name, file, symbol */
    MG_E_DRIVER,        /* 10 the CUDA driver refused or is missing */
    MG_E_LAST           /* never use */
} mg_err;

/* A short constant text for an error code. */
const char *mg_strerror(mg_err e);

#include "mlgate/arch.h"
#include "mlgate/fatbin.h"
#include "mlgate/scan.h"
#include "mlgate/load.h"
#include "mlgate/host.h"
#include "mlgate/doctor.h"
#include "mlgate/model.h"
#include "mlgate/matrix.h"

#endif
