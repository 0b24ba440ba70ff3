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
    jw_kstr(w, "name", t->name);
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
    jw_kstr(w, "cpu", t->cpu_arch[0] ? t->cpu_arch : NULL);
    jw_end_obj(w);
}

static void json_load(jw *w, const mg_report *r, const mg_load_result *lr)
{
    jw_begin_obj(w);
    jw_kuint(w, "loaded", lr->loaded);
    jw_kuint(w, "refused", lr->refused);
    jw_kuint(w, "empty_refused", lr->empty_refused);
    jw_kuint(w, "crashed", lr->crashed);
    jw_kuint(w, "timeout", lr->timeout);
    jw_kuint(w, "not_tried", lr->not_tried);
    jw_kstr(w, "skipped", lr->skipped);
    jw_key(w, "disagreements");
    jw_begin_arr(w);
    for (uint32_t k = 0; k < lr->ndisagree && k < MG_LOAD_MAX_DISAGREE; k++) {
        char a[256];
        mg_fatbin_archs_str(r, lr->disagree[k].fatbin, a, sizeof a);
        jw_begin_obj(w);
        jw_kuint(w, "fatbin", lr->disagree[k].fatbin);
        jw_kstr(w, "archs", a);
        jw_kstr(w, "static", mg_status_str(lr->disagree[k].status));
        jw_kstr(w, "driver", lr->disagree[k].code ? mg_cu_name(lr->disagree[k].code) : "CUDA_SUCCESS");
        jw_end_obj(w);
    }
    jw_end_arr(w);
    jw_end_obj(w);
}

static void json_report(jw *w, const mg_report *r, int list, const mg_load_result *lr)
{
    jw_begin_obj(w);
    jw_kstr(w, "path", r->path);
    if (r->image) {
        jw_kstr(w, "image", r->image);
        jw_kstr(w, "layer", r->layer);
    }
    if (r->err) {
        jw_key(w, "error");
        jw_begin_obj(w);
        jw_kstr(w, "code", mg_strerror((mg_err)r->err));
        jw_kstr(w, "detail", r->detail);
        jw_end_obj(w);
        jw_end_obj(w);
        return;
    }
    jw_key(w, "error");
    jw_null(w);
    jw_kuint(w, "size", r->size);
    jw_kstr(w, "machine", r->machine == 62 ? "x86-64" : r->machine == 183 ? "aarch64" : r->machine == 190 ? "cuda" : "other");
    jw_kuint(w, "fatbins", r->nfatbins);
    jw_key(w, "sass");
    json_archs(w, r, MG_IMAGE_SASS, "sm_");
    jw_key(w, "ptx");
    json_archs(w, r, MG_IMAGE_PTX, "compute_");
    jw_key(w, "ltoir");
    json_archs(w, r, MG_IMAGE_LTOIR, "lto_");
    jw_key(w, "images");
    jw_begin_obj(w);
    jw_kuint(w, "sass", r->images[MG_IMAGE_SASS]);
    jw_kuint(w, "ptx", r->images[MG_IMAGE_PTX]);
    jw_kuint(w, "ltoir", r->images[MG_IMAGE_LTOIR]);
    jw_kuint(w, "unknown", r->images[MG_IMAGE_UNKNOWN]);
    jw_end_obj(w);
    jw_kuint(w, "relocatable", r->nrelocatable);
    jw_kuint(w, "empty", r->nempty);
    jw_kuint(w, "sm_mismatch", r->sm_mismatch);
    jw_key(w, "cuda");
    if (r->cuda_major) {
        jw_begin_obj(w);
        jw_kuint(w, "major", r->cuda_major);
        jw_kstr(w, "from", r->cuda_from);
        jw_end_obj(w);
    } else {
        jw_null(w);
    }
    jw_kstr(w, "note", r->detail);
    jw_kstr(w, "framework", r->framework);
    jw_key(w, "verdicts");
    jw_begin_arr(w);
    for (size_t t = 0; t < r->nverdicts; t++) {
        const mg_verdict *v = &r->verdicts[t];
        char s[32];
        jw_begin_obj(w);
        jw_kstr(w, "target", v->target.name);
        jw_kstr(w, "status", mg_status_str(v->status));
        jw_kuint(w, "covered", v->covered);
        jw_kuint(w, "total", v->total);
        jw_kuint(w, "jit", v->jit);
        jw_kuint(w, "other_sets", v->other_sets);
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
        jw_kstr(w, "reason", v->reason);
        jw_kuint(w, "missing_fatbins", v->nmissing);
        jw_kuint(w, "missing_kernel_count", v->missing_kernels);
        jw_key(w, "missing_kernels");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++)
            for (uint32_t k = 0; k < v->missing[m].nnames; k++)
                jw_str(w, v->missing[m].names[k]);
        jw_end_arr(w);
        jw_key(w, "missing_kernels_demangled");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++)
            for (uint32_t k = 0; k < v->missing[m].nnames; k++) {
                char d[1024];
                jw_str(w, mg_demangle(v->missing[m].names[k], d, sizeof d));
            }
        jw_end_arr(w);
        jw_key(w, "missing");
        jw_begin_arr(w);
        for (uint32_t m = 0; m < v->nmissing_kept; m++) {
            const mg_missing *x = &v->missing[m];
            jw_begin_obj(w);
            jw_kuint(w, "fatbin", x->fatbin);
            jw_kstr(w, "where", mg_where_str(r->fatbins[x->fatbin].where));
            jw_kuint(w, "offset", r->fatbins[x->fatbin].off);
            jw_key(w, "archs");
            jw_begin_arr(w);
            for (uint32_t k = 0; k < r->fatbins[x->fatbin].count; k++) {
                char a[24];
                jw_str(w, mg_entry_arch_str(&r->entries[r->fatbins[x->fatbin].first + k], a, sizeof a));
            }
            jw_end_arr(w);
            jw_kstr(w, "why", why_str(x->why));
            jw_kuint(w, "kernels", x->nkernels);
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
            jw_kstr(w, "where", mg_where_str(f->where));
            jw_kuint(w, "offset", f->off);
            jw_kuint(w, "size", f->size);
            jw_kint(w, "kernels", f->nkernels);
            jw_key(w, "entries");
            jw_begin_arr(w);
            for (uint32_t k = 0; k < f->count; k++) {
                const mg_entry *e = &r->entries[f->first + k];
                char s[24];
                jw_begin_obj(w);
                jw_kstr(w, "kind", mg_image_kind_str(e->kind));
                jw_kstr(w, "arch", mg_entry_arch_str(e, s, sizeof s));
                jw_key(w, "version");
                snprintf(s, sizeof s, "%u.%u", e->version / 10, e->version % 10);
                jw_str(w, s);
                jw_kstr(w, "compression", mg_codec_str(e->codec));
                jw_kuint(w, "stored", e->size);
                jw_kuint(w, "size", e->usize);
                jw_kbool(w, "relocatable", e->relocatable);
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

static void json_image(jw *w, const mg_image_info *im)
{
    jw_begin_obj(w);
    jw_kstr(w, "path", im->path);
    jw_kstr(w, "format", im->format);
    jw_key(w, "tags");
    jw_begin_arr(w);
    for (size_t k = 0; k < im->ntags; k++)
        jw_str(w, im->tags[k]);
    jw_end_arr(w);
    jw_kstr(w, "digest", im->digest);
    jw_kstr(w, "id", im->id);
    jw_kstr(w, "platform", im->platform);
    jw_kuint(w, "files", im->files);
    jw_key(w, "layers");
    jw_begin_arr(w);
    for (size_t k = 0; k < im->nlayers; k++) {
        const mg_image_layer *l = &im->layers[k];
        jw_begin_obj(w);
        jw_kstr(w, "digest", l->digest);
        jw_kstr(w, "compression", l->compression);
        jw_kuint(w, "size", l->size);
        jw_kuint(w, "files", l->files);
        jw_end_obj(w);
    }
    jw_end_arr(w);
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
    jw_kstr(&w, "mlgate", MLGATE_VERSION);
    jw_kstr(&w, "command", "scan");
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
        jw_kstr(&w, "name", dev->name);
        jw_key(&w, "cc");
        snprintf(d, sizeof d, "%u.%u", dev->cc / 10, dev->cc % 10);
        jw_str(&w, d);
        jw_kstr(&w, "driver", mg_driver_str(dev->driver, d, sizeof d));
        jw_kint(&w, "cuda", dev->cuda_version);
        jw_end_obj(&w);
    }
    if (res->nimages) {
        jw_key(&w, "images");
        jw_begin_arr(&w);
        for (size_t i = 0; i < res->nimages; i++)
            json_image(&w, &res->images[i]);
        jw_end_arr(&w);
    }
    jw_key(&w, "summary");
    jw_begin_obj(&w);
    jw_kuint(&w, "files_examined", res->files);
    jw_kuint(&w, "files_reported", n);
    jw_kuint(&w, "failing", fails);
    jw_kuint(&w, "errors", nerr);
    jw_kuint(&w, "skipped", res->skipped);
    jw_kuint(&w, "bytes", res->bytes);
    jw_knum(&w, "seconds", secs);
    jw_end_obj(&w);
    jw_end_obj(&w);
}
