/* scan_load.c - `mlgate scan --load`: load every fatbin with the real driver and compare with the verdicts. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scan_load.h"

/* Compares driver results with the static verdict of each fatbin. */
static void tally(const mg_report *r, const mg_target *t, const int *codes, load_result *lr)
{
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        int c = codes[i];
        mg_status s = mg_fatbin_status(r, i, t);
        int runs = s != MG_ST_NONE;
        if (c == MG_LOAD_NOT_TRIED) {
            lr->not_tried++;
            continue;
        }
        if (c == MG_LOAD_CRASHED)
            lr->crashed++;
        else if (c == MG_LOAD_TIMEOUT)
            lr->timeout++;
        else if (c == 0)
            lr->loaded++;
        else if (r->fatbins[i].nkernels == 0)
            lr->empty_refused++;
        else
            lr->refused++;
        if (c < 0)
            continue;
        int disagree = (runs && c != 0 && r->fatbins[i].nkernels != 0) || (!runs && c == 0);
        if (!disagree)
            continue;
        if (lr->ndis < LOAD_MAX_DIS) {
            lr->dis[lr->ndis].fatbin = i;
            lr->dis[lr->ndis].status = s;
            lr->dis[lr->ndis].code = c;
        }
        lr->ndis++;
    }
}

int scan_load(mg_report **rs, size_t n, const mg_target *t, double budget, load_result *out)
{
    for (size_t i = 0; i < n; i++) {
        mg_report *r = rs[i];
        load_result *lr = &out[i];
        memset(lr, 0, sizeof *lr);
        if (r->err || !r->nfatbins)
            continue;
        lr->tried = 1;
        if (strchr(r->path, '!')) {
            lr->skipped_reason = "inside an archive: unpack it to verify with the driver";
            continue;
        }
        int *codes = calloc(r->nfatbins, sizeof *codes);
        if (!codes)
            return MG_E_NOMEM;
        mg_load_opts o = {0, budget};
        mg_device dev;
        int rc = mg_load_file(r, &o, codes, &dev);
        if (rc)
            lr->skipped_reason = "the driver could not be used";
        else
            tally(r, t, codes, lr);
        free(codes);
    }
    return MG_OK;
}

void scan_load_print(mg_report **rs, size_t n, const mg_device *dev, const load_result *lr)
{
    load_result sum = {0};
    size_t files = 0;
    for (size_t i = 0; i < n; i++) {
        if (!lr[i].tried)
            continue;
        files++;
        sum.loaded += lr[i].loaded;
        sum.refused += lr[i].refused;
        sum.empty_refused += lr[i].empty_refused;
        sum.crashed += lr[i].crashed;
        sum.timeout += lr[i].timeout;
        sum.not_tried += lr[i].not_tried;
        sum.ndis += lr[i].ndis;
    }
    char d[32];
    printf("\n%sDriver check%s on %s (sm_%u, driver %s, CUDA %d.%d): %zu files\n", col(C_BOLD), col(C_RESET),
           dev->name, dev->cc, mg_driver_str(dev->driver, d, sizeof d), dev->cuda_version / 1000,
           dev->cuda_version % 1000 / 10, files);
    printf("  %u fatbins loaded, %u refused as mlgate predicted, %u empty ones refused (harmless),\n"
           "  %u crashed the driver, %u ran out of time, %u not loaded directly (relocatable, LTO-IR, or no time left)\n",
           sum.loaded, sum.refused, sum.empty_refused, sum.crashed, sum.timeout, sum.not_tried);
    printf("  %s%u disagreement%s with the static verdict%s\n", sum.ndis ? col(C_RED) : col(C_GREEN), sum.ndis,
           sum.ndis == 1 ? "" : "s", col(C_RESET));
    for (size_t i = 0; i < n; i++) {
        if (lr[i].skipped_reason)
            printf("  %s: not verified: %s\n", rs[i]->path, lr[i].skipped_reason);
        for (uint32_t k = 0; k < lr[i].ndis && k < LOAD_MAX_DIS; k++) {
            char a[256];
            mg_fatbin_archs_str(rs[i], lr[i].dis[k].fatbin, a, sizeof a);
            printf("  %s fatbin #%u [%s]: mlgate says %s, driver: %s (%d)\n", rs[i]->path, lr[i].dis[k].fatbin, a,
                   mg_status_str(lr[i].dis[k].status), lr[i].dis[k].code ? mg_cu_name(lr[i].dis[k].code) : "loaded",
                   lr[i].dis[k].code);
        }
    }
}

void scan_load_json(jw *w, const mg_report *r, const load_result *lr)
{
    jw_begin_obj(w);
    jw_key(w, "loaded");
    jw_uint(w, lr->loaded);
    jw_key(w, "refused");
    jw_uint(w, lr->refused);
    jw_key(w, "empty_refused");
    jw_uint(w, lr->empty_refused);
    jw_key(w, "crashed");
    jw_uint(w, lr->crashed);
    jw_key(w, "timeout");
    jw_uint(w, lr->timeout);
    jw_key(w, "not_tried");
    jw_uint(w, lr->not_tried);
    jw_key(w, "skipped");
    jw_str(w, lr->skipped_reason);
    jw_key(w, "disagreements");
    jw_begin_arr(w);
    for (uint32_t k = 0; k < lr->ndis && k < LOAD_MAX_DIS; k++) {
        char a[256];
        mg_fatbin_archs_str(r, lr->dis[k].fatbin, a, sizeof a);
        jw_begin_obj(w);
        jw_key(w, "fatbin");
        jw_uint(w, lr->dis[k].fatbin);
        jw_key(w, "archs");
        jw_str(w, a);
        jw_key(w, "static");
        jw_str(w, mg_status_str(lr->dis[k].status));
        jw_key(w, "driver");
        jw_str(w, lr->dis[k].code ? mg_cu_name(lr->dis[k].code) : "CUDA_SUCCESS");
        jw_end_obj(w);
    }
    jw_end_arr(w);
    jw_end_obj(w);
}
