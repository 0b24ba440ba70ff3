/* scan_load.h - driver verification for `mlgate scan --load` (cli/scan_load.c). */
#ifndef MG_SCAN_LOAD_H
#define MG_SCAN_LOAD_H

#include "cli.h"
#include "mlgate/mlgate.h"

#define LOAD_MAX_DIS 32

typedef struct load_result {
    int tried;
    const char *skipped_reason;
    uint32_t loaded, refused, empty_refused, crashed, timeout, not_tried;
    uint32_t ndis;
    struct { uint32_t fatbin; int status, code; } dis[LOAD_MAX_DIS];
} load_result;

/* Loads the fatbins of every report; out[i] belongs to rs[i]. */
int scan_load(mg_report **rs, size_t n, const mg_target *t, double budget, load_result *out);
void scan_load_print(mg_report **rs, size_t n, const mg_device *dev, const load_result *lr);
void scan_load_json(jw *w, const mg_report *r, const load_result *lr);

#endif
