/* scan_int.h - what the scan's files share: reports (scan.c), the walk over paths (walk.c), the driver check (load.c). */
#ifndef MG_SCAN_INT_H
#define MG_SCAN_INT_H

#include "mlgate/binaries.h"

mg_report *mg_report_new(const char *name);
void mg_report_fail(mg_report *r, int err, const char *detail);

/* Walks the paths and scans every file on worker threads into out->reports (in walk order); fills
 * files, skipped and bytes. */
int mg_walk_scan(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out);

/* Loads the fatbins of every report with the driver and compares with the verdicts for t. */
int mg_load_check(mg_report *const *rs, size_t n, const mg_target *t, double budget, mg_load_result *out);

#endif
