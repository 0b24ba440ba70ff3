/* scan_int.h - what the scan's files share: reports (scan.c), the walk over paths (walk.c), the driver check (load.c). */
#ifndef MG_SCAN_INT_H
#define MG_SCAN_INT_H

#include "mlgate/binaries.h"

mg_report *mg_report_new(const char *name);
void mg_report_fail(mg_report *r, int err, const char *detail);

/* Walks the paths and scans every file on worker threads into out->reports (in walk order); fills
 * files, skipped and bytes. */
int mg_walk_scan(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out);

/* ---- the frameworks a walk finds (installs.c) ---- */

/* One framework in one place (a directory or a wheel), from its dist-info(s) and torch's version.py. */
typedef struct mg_install mg_install;

#define MG_MAX_INSTALLS 64  /* frameworks judged per scan: (directory or wheel, framework) pairs */

typedef struct mg_installs {
    mg_install *v;          /* room for MG_MAX_INSTALLS once the first is added: pointers into it stay valid */
    size_t n;
    int capped;             /* more places than MG_MAX_INSTALLS were seen */
} mg_installs;

/* A directory entry or a wheel's top-level directory `name` (len bytes) under `where` ("env/site-packages/",
 * "x.whl!"): a framework's dist-info is recorded, one install per (where, framework); *at: it, else NULL.
 * MG_E_LIMIT the first time one does not fit (report it once), MG_E_NOMEM. */
int mg_installs_add(mg_installs *s, const char *where, const char *name, size_t len, mg_install **at);
/* Moves from's installs into s (merging those of the same place); from is left empty. MG_E_LIMIT as above. */
int mg_installs_merge(mg_installs *s, mg_installs *from);
/* The torch installed at where, or NULL; whether x is a torch. */
mg_install *mg_installs_torch(mg_installs *s, const char *where);
int mg_install_is_torch(const mg_install *x);
/* torch/version.py's text: the build's version and CUDA ("" when `cuda = None`: CPU-only), cleaned. */
void mg_install_torch_version(mg_install *x, const char *text);
/* The frameworks' own rules over out's reports: CPU-only builds and GPU floors become reports of their own
 * (out->reports must have room for 2 more per install), bitsandbytes' unused per-CUDA libraries go. */
int mg_installs_apply(const mg_scan_opts *o, mg_installs *s, mg_scan_result *out);
void mg_installs_free(mg_installs *s);

/* Loads the fatbins of every report with the driver and compares with the verdicts for t. */
int mg_load_check(mg_report *const *rs, size_t n, const mg_target *t, double budget, mg_load_result *out);

#endif
