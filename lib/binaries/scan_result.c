/* scan_result.c - a scan as one call: targets, the walk, the driver check (--load), failing files first, the counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "binaries/scan_int.h"
#include "core/arena.h"
#include "mlgate/binaries.h"

/* Failing files first (unreadable, then worst status, then how many targets fail), then by path. */
static int by_severity(const void *a, const void *b)
{
    const mg_report *x = *(mg_report *const *)a, *y = *(mg_report *const *)b;
    int ex = x->err != 0, ey = y->err != 0;
    if (ex != ey)
        return ey - ex;
    int wx = mg_report_worst(x), wy = mg_report_worst(y);
    if (wx != wy)
        return wy - wx;
    size_t fx = 0, fy = 0;
    for (size_t i = 0; i < x->nverdicts; i++)
        fx += x->verdicts[i].status >= MG_STATUS_PARTIAL;
    for (size_t i = 0; i < y->nverdicts; i++)
        fy += y->verdicts[i].status >= MG_STATUS_PARTIAL;
    if (fx != fy)
        return fx < fy ? 1 : -1;
    return strcmp(x->path, y->path);
}

/* The same GPU given twice is judged once. */
static int listed(const mg_target *t, size_t n, const mg_target *x)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].cc == x->cc && !strcmp(t[i].name, x->name))
            return 1;
    return 0;
}

int mg_scan_paths(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out)
{
    memset(out, 0, sizeof *out);
    double t0 = mg_now();
    mg_scan_opts so = *o;
    /* Targets without a compute capability (a memory size only) have no code to judge. */
    out->targets = mg_calloc(o->ntargets + 1, sizeof *out->targets);
    if (!out->targets) {
        snprintf(out->error, sizeof out->error, "out of memory");
        return MG_E_NOMEM;
    }
    for (size_t i = 0; i < o->ntargets; i++)
        if (o->targets[i].cc && !listed(out->targets, out->ntargets, &o->targets[i]))
            out->targets[out->ntargets++] = o->targets[i];
    if (o->load) {
        /* The GPU the driver sees becomes a target too: its verdicts are what the loads check. */
        if (mg_load_device(0, &out->device) != MG_OK) {
            snprintf(out->error, sizeof out->error, "%s", out->device.err[0] ? out->device.err : "no CUDA driver");
            return MG_E_DRIVER;
        }
        mg_device_target(&out->device, o->load_driver, &out->targets[out->ntargets++]);
        so.deep = 1;   /* count every kernel: the driver refuses empty fatbins */
    }
    so.targets = out->targets;
    so.ntargets = out->ntargets;
    int rc = mg_walk_scan(&so, paths, npaths, out);
    if (rc) {
        snprintf(out->error, sizeof out->error, "%s", mg_strerror((mg_err)rc));
        return rc;
    }
    qsort(out->reports, out->nreports, sizeof *out->reports, by_severity);
    if (o->load) {
        out->load = mg_calloc(out->nreports + 1, sizeof *out->load);
        if (!out->load || mg_load_check(out->reports, out->nreports, &out->targets[out->ntargets - 1],
                                        o->load_budget > 0 ? o->load_budget : 120, out->load)) {
            snprintf(out->error, sizeof out->error, "out of memory");
            return MG_E_NOMEM;
        }
    }
    out->seconds = mg_now() - t0;
    return MG_OK;
}

void mg_scan_result_free(mg_scan_result *r)
{
    for (size_t i = 0; i < r->nreports; i++)
        mg_report_free(r->reports[i]);
    free(r->reports);
    free(r->targets);
    free(r->load);
    free(r->images);
    mg_arena_free(r->image_arena);
    memset(r, 0, sizeof *r);
}

void mg_scan_summarize(const mg_scan_result *r, mg_scan_summary *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < r->nreports; i++) {
        const mg_report *x = r->reports[i];
        if (x->err) {
            s->errors++;
            continue;
        }
        s->with_code += x->nfatbins != 0;
        s->frameworks += x->framework != NULL;
        mg_status w = mg_report_worst(x);
        s->failing += w >= MG_STATUS_PARTIAL;
        s->jit += w == MG_STATUS_JIT;
        s->native += x->nfatbins != 0 && w == MG_STATUS_NATIVE;   /* a framework's own report holds no code */
    }
}

int mg_scan_exit_status(const mg_scan_result *r)
{
    for (size_t i = 0; i < r->nreports; i++)
        if (r->reports[i]->err || mg_report_worst(r->reports[i]) >= MG_STATUS_PARTIAL)
            return 1;
    return 0;
}
