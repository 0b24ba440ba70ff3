/* scan_json.c - `mlgate scan --json`: the report every consumer reads (docs/json.md). */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "mlgate/binaries.h"

static const char *why_str(int why)
{
    static const char *const s[] = {"no_image", "arch_specific", "ptx_driver", "ltoir_only"};
    return (unsigned)why < 4 ? s[why] : "unknown";
}

static void json_archs(jw *w, const mg_report *r, mg_image_kind k, const char *prefix)
{
    mg_arch a[128];
    size_t n = mg_report_archs(r, k, a, 128);
    jw_begin_arr(w);
    for (size_t i = 0; i < n; i++) {
        char s[24];
        jw_str(w, mg_arch_str(a[i], prefix, s, sizeof s));
    }
    jw_end_arr(w);
}

static void json_target(jw *w, const mg_target *t)
{
    char s[32];
    jw_begin_obj(w);
    jw_key(w, "name");
    jw_str(w, t->name);
    jw_key(w, "sm");
    snprintf(s, sizeof s, "sm_%u", t->cc);
    jw_str(w, s);
    jw_key(w, "cc");
    snprintf(s, sizeof s, "%u.%u", t->cc / 10, t->cc % 10);
    jw_str(w, s);
    jw_key(w, "driver");
    if (mg_driver_known(t->driver))
        jw_str(w, mg_driver_str(t->driver, s, sizeof s));
    else
        jw_null(w);
    jw_end_obj(w);
}

static void json_load(jw *w, const mg_report *r, const mg_load_result *lr)
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
    jw_str(w, lr->skipped);
    jw_key(w, "disagreements");
    jw_begin_arr(w);
    for (uint32_t k = 0; k < lr->ndisagree && k < MG_LOAD_MAX_DISAGREE; k++) {
        char a[256];
        mg_fatbin_archs_str(r, lr->disagree[k].fatbin, a, sizeof a);
        jw_begin_obj(w);
        jw_key(w, "fatbin");
        jw_uint(w, lr->disagree[k].fatbin);
        jw_key(w, "archs");
        jw_str(w, a);
        jw_key(w, "static");
        jw_str(w, mg_status_str(lr->disagree[k].status));
        jw_key(w, "driver");
        jw_str(w, lr->disagree[k].code ? mg_cu_name(lr->disagree[k].code) : "CUDA_SUCCESS");
        jw_end_obj(w);
    }
    jw_end_arr(w);
    jw_end_obj(w);
}

static void json_report(jw *w, const mg_report *r, int list, const mg_load_result *lr)
{
    jw_begin_obj(w);
    jw_key(w, "path");
    jw_str(w, r->path);
    if (r->err) {
        jw_key(w, "error");
        jw_begin_obj(w);
        jw_key(w, "code");
        jw_str(w, mg_strerror((mg_err)r->err));
        jw_key(w, "detail");
        jw_str(w, r->detail);
        jw_end_obj(w);
        jw_end_obj(w);
        return;
    }
    jw_key(w, "error");
    jw_null(w);
    jw_key(w, "size");
    jw_uint(w, r->size);
    jw_key(w, "machine");
    jw_str(w, r->machine == 62 ? "x86-64" : r->machine == 183 ? "aarch64" : r->machine == 190 ? "cuda" : "other");
    jw_key(w, "fatbins");
    jw_uint(w, r->nfatbins);
    jw_key(w, "sass");
    json_archs(w, r, MG_IMAGE_SASS, "sm_");
    jw_key(w, "ptx");
    json_archs(w, r, MG_IMAGE_PTX, "compute_");
    jw_key(w, "ltoir");
    json_archs(w, r, MG_IMAGE_LTOIR, "lto_");
    jw_key(w, "images");
    jw_begin_obj(w);
    jw_key(w, "sass");
    jw_uint(w, r->images[MG_IMAGE_SASS]);
    jw_key(w, "ptx");
    jw_uint(w, r->images[MG_IMAGE_PTX]);
    jw_key(w, "ltoir");
    jw_uint(w, r->images[MG_IMAGE_LTOIR]);
    jw_key(w, "unknown");
    jw_uint(w, r->images[MG_IMAGE_UNKNOWN]);
    jw_end_obj(w);
    jw_key(w, "relocatable");
    jw_uint(w, r->nrelocatable);
    jw_key(w, "empty");
    jw_uint(w, r->nempty);
    jw_key(w, "sm_mismatch");
    jw_uint(w, r->sm_mismatch);
    jw_key(w, "note");
    jw_str(w, r->detail);
    jw_key(w, "verdicts");
    jw_begin_arr(w);
    for (size_t t = 0; t < r->nverdicts; t++) {
        const mg_verdict *v = &r->verdicts[t];
        char s[32];
        jw_begin_obj(w);
        jw_key(w, "target");
        jw_str(w, v->target.name);
        jw_key(w, "status");
        jw_str(w, mg_status_str(v->status));
        jw_key(w, "covered");
        jw_uint(w, v->covered);
        jw_key(w, "total");
        jw_uint(w, v->total);
        jw_key(w, "jit");
        jw_uint(w, v->jit);
        jw_key(w, "other_sets");
        jw_uint(w, v->other_sets);
        jw_key(w, "need_ptx_isa");
        if (v->need_isa) {
            snprintf(s, sizeof s, "%u.%u", v->need_isa / 10, v->need_isa % 10);
            jw_str(w, s);
        } else {
            jw_null(w);
        }
        jw_key(w, "need_driver");
        if (mg_driver_known(v->need_driver))
            jw_str(w, mg_driver_str(v->need_driver, s, sizeof s));
        else
            jw_null(w);
        jw_key(w, "reason");
        jw_str(w, v->reason);
        jw_key(w, "missing_fatbins");
        jw_uint(w, v->nmissing);
        jw_key(w, "missing_kernel_count");
        jw_uint(w, v->missing_kernels);
        jw_key(w, "missing_kernels");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++)
            for (uint32_t k = 0; k < v->missing[m].nnames; k++)
                jw_str(w, v->missing[m].names[k]);
        jw_end_arr(w);
        jw_key(w, "missing");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++) {
            const mg_missing *x = &v->missing[m];
            jw_begin_obj(w);
            jw_key(w, "fatbin");
            jw_uint(w, x->fatbin);
            jw_key(w, "where");
            jw_str(w, mg_where_str(r->fatbins[x->fatbin].where));
            jw_key(w, "offset");
            jw_uint(w, r->fatbins[x->fatbin].off);
            jw_key(w, "archs");
            jw_begin_arr(w);
            for (uint32_t k = 0; k < r->fatbins[x->fatbin].count; k++) {
                char a[24];
                jw_str(w, mg_entry_arch_str(&r->entries[r->fatbins[x->fatbin].first + k], a, sizeof a));
            }
            jw_end_arr(w);
            jw_key(w, "why");
            jw_str(w, why_str(x->why));
            jw_key(w, "kernels");
            jw_uint(w, x->nkernels);
            jw_end_obj(w);
        }
        jw_end_arr(w);
        jw_end_obj(w);
    }
    jw_end_arr(w);
    if (lr && lr->tried) {
        jw_key(w, "load");
        json_load(w, r, lr);
    }
    if (list) {
        jw_key(w, "fatbin_list");
        jw_begin_arr(w);
        for (uint32_t i = 0; i < r->nfatbins; i++) {
            const mg_fatbin *f = &r->fatbins[i];
            jw_begin_obj(w);
            jw_key(w, "where");
            jw_str(w, mg_where_str(f->where));
            jw_key(w, "offset");
            jw_uint(w, f->off);
            jw_key(w, "size");
            jw_uint(w, f->size);
            jw_key(w, "kernels");
            jw_int(w, f->nkernels);
            jw_key(w, "entries");
            jw_begin_arr(w);
            for (uint32_t k = 0; k < f->count; k++) {
                const mg_entry *e = &r->entries[f->first + k];
                char s[24];
                jw_begin_obj(w);
                jw_key(w, "kind");
                jw_str(w, mg_image_kind_str(e->kind));
                jw_key(w, "arch");
                jw_str(w, mg_entry_arch_str(e, s, sizeof s));
                jw_key(w, "version");
                snprintf(s, sizeof s, "%u.%u", e->version / 10, e->version % 10);
                jw_str(w, s);
                jw_key(w, "compression");
                jw_str(w, mg_codec_str(e->codec));
                jw_key(w, "stored");
                jw_uint(w, e->size);
                jw_key(w, "size");
                jw_uint(w, e->usize);
                jw_key(w, "relocatable");
                jw_bool(w, e->relocatable);
                jw_key(w, "cubin_sm");
                if (e->cubin_sm)
                    jw_uint(w, e->cubin_sm);
                else
                    jw_null(w);
                jw_end_obj(w);
            }
            jw_end_arr(w);
            jw_end_obj(w);
        }
        jw_end_arr(w);
    }
    jw_end_obj(w);
}

void mg_scan_json(FILE *f, const mg_scan_result *res, int list)
{
    jw w = jw_on(f);
    mg_report *const *rs = res->reports;
    size_t n = res->nreports, nt = res->ntargets;
    const mg_target *tg = res->targets;
    const mg_load_result *lr = res->load;
    const mg_device *dev = res->load ? &res->device : NULL;
    double secs = res->seconds;
    jw_begin_obj(&w);
    jw_key(&w, "mlgate");
    jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command");
    jw_str(&w, "scan");
    jw_key(&w, "targets");
    jw_begin_arr(&w);
    for (size_t t = 0; t < nt; t++)
        json_target(&w, &tg[t]);
    jw_end_arr(&w);
    jw_key(&w, "files");
    jw_begin_arr(&w);
    size_t nerr = 0, fails = 0;
    for (size_t i = 0; i < n; i++) {
        json_report(&w, rs[i], list, lr ? &lr[i] : NULL);
        nerr += rs[i]->err != 0;
        fails += !rs[i]->err && mg_report_worst(rs[i]) >= MG_STATUS_PARTIAL;
    }
    jw_end_arr(&w);
    if (dev) {
        char d[32];
        jw_key(&w, "device");
        jw_begin_obj(&w);
        jw_key(&w, "name");
        jw_str(&w, dev->name);
        jw_key(&w, "cc");
        snprintf(d, sizeof d, "%u.%u", dev->cc / 10, dev->cc % 10);
        jw_str(&w, d);
        jw_key(&w, "driver");
        jw_str(&w, mg_driver_str(dev->driver, d, sizeof d));
        jw_key(&w, "cuda");
        jw_int(&w, dev->cuda_version);
        jw_end_obj(&w);
    }
    jw_key(&w, "summary");
    jw_begin_obj(&w);
    jw_key(&w, "files_examined");
    jw_uint(&w, res->files);
    jw_key(&w, "files_reported");
    jw_uint(&w, n);
    jw_key(&w, "failing");
    jw_uint(&w, fails);
    jw_key(&w, "errors");
    jw_uint(&w, nerr);
    jw_key(&w, "skipped");
    jw_uint(&w, res->skipped);
    jw_key(&w, "bytes");
    jw_uint(&w, res->bytes);
    jw_key(&w, "seconds");
    jw_num(&w, secs);
    jw_end_obj(&w);
    jw_end_obj(&w);
}
