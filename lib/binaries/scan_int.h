/* scan_int.h - helpers shared by scan.c (one buffer) and walk.c (paths, archives, threads). */
#ifndef MG_SCAN_INT_H
#define MG_SCAN_INT_H

#include "mlgate/mlgate.h"

mg_report *mg_report_new(const char *name);
void mg_report_fail(mg_report *r, int err, const char *detail);

#endif
