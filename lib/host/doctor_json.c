/* doctor_json.c - `mlgate doctor --json`: the host audit's facts and findings (docs/json.md). */
#include <stdio.h>

#include "core/json.h"
#include "explain/attach.h"
#include "mlgate/host.h"

static void json_gpu(jw *w, const mg_host_gpu *x)
{
    char s[16];
    jw_begin_obj(w);
    jw_kint(w, "index", x->index);
    jw_kstr(w, "name", x->name);
    jw_kstr(w, "uuid", x->uuid[0] ? x->uuid : NULL);
    jw_kstr(w, "pci_bus_id", x->pci_bus_id[0] ? x->pci_bus_id : NULL);
    jw_key(w, "pci_device_id");
    snprintf(s, sizeof s, "0x%04x", x->pci_device);
    jw_str(w, x->pci_device ? s : NULL);
    jw_key(w, "compute_capability");
    snprintf(s, sizeof s, "%u.%u", x->cc / 10, x->cc % 10);
    jw_str(w, x->cc ? s : NULL);
    jw_kstr(w, "architecture", x->arch[0] ? x->arch : NULL);
    jw_key(w, "memory");
    jw_begin_obj(w);
    jw_kuint(w, "total", x->mem_total);
    jw_kuint(w, "free", x->mem_free);
    jw_kuint(w, "reserved", x->mem_reserved);
    jw_kuint(w, "used", x->mem_used);
    jw_kbool(w, "unified", x->unified_memory);
    jw_end_obj(w);
    jw_key(w, "mig");
    if (x->mig < 0) jw_null(w); else jw_bool(w, x->mig);
    jw_key(w, "persistence");
    if (x->persistence < 0) jw_null(w); else jw_bool(w, x->persistence);
    jw_kstr(w, "bus", x->bus_type < 0 ? NULL : x->bus_type == 2 ? "pcie" : "other");
    jw_end_obj(w);
}

static void json_probe(jw *w, const mg_gpu_probe *p)
{
    char dv[32];
    jw_begin_obj(w);
    jw_kbool(w, "ok", p->ok);
    jw_kstr(w, "error", p->ok ? NULL : p->error);
    jw_kint(w, "code", p->code);
    jw_kstr(w, "driver", mg_driver_known(p->driver) ? mg_driver_str(p->driver, dv, sizeof dv) : NULL);
    jw_key(w, "cuda");
    if (p->cuda_version) {
        snprintf(dv, sizeof dv, "%d.%d", p->cuda_version / 1000, p->cuda_version % 1000 / 10);
        jw_str(w, dv);
    } else {
        jw_null(w);
    }
    jw_key(w, "gpus");
    jw_begin_arr(w);
    for (size_t i = 0; i < p->ngpus; i++)
        json_gpu(w, &p->gpus[i]);
    jw_end_arr(w);
    jw_end_obj(w);
}

void mg_doctor_json(FILE *f, const mg_doctor *doc)
{
    const mg_host_facts *d = mg_doctor_facts(doc);
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_kstr(&w, "mlgate", MLGATE_VERSION);
    jw_kstr(&w, "command", "doctor");
    jw_key(&w, "nvml");
    json_probe(&w, &d->nvml);
    jw_key(&w, "pci");
    json_probe(&w, &d->pci);
    jw_key(&w, "cpu");
    jw_begin_obj(&w);
    jw_kstr(&w, "arch", d->cpu_ok ? d->cpu.arch : NULL);
    jw_kstr(&w, "model", d->cpu_ok ? d->cpu.model : NULL);
    jw_kint(&w, "cores", d->cpu.physical);
    jw_kint(&w, "threads", d->cpu.logical);
    jw_key(&w, "features");
    jw_begin_arr(&w);
    for (int bit = 0; bit < 64; bit++)
        if (d->cpu.features & (1ull << bit))
            jw_str(&w, mg_cpu_feature_name(1ull << bit));
    jw_end_arr(&w);
    jw_end_obj(&w);
    jw_key(&w, "memory");
    jw_begin_obj(&w);
    jw_kuint(&w, "total", d->mem.total);
    jw_kuint(&w, "available", d->mem.available);
    jw_kuint(&w, "swap_total", d->mem.swap_total);
    jw_kuint(&w, "hugepages", d->mem.hugepages_total);
    jw_key(&w, "cgroup_limit");
    if (d->mem.cgroup_limit) jw_uint(&w, d->mem.cgroup_limit); else jw_null(&w);
    jw_key(&w, "numa");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->mem.nnodes; i++) {
        jw_begin_obj(&w);
        jw_kint(&w, "node", d->mem.nodes[i].id);
        jw_kuint(&w, "memory", d->mem.nodes[i].mem_total);
        jw_kint(&w, "cpus", d->mem.nodes[i].ncpus);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    jw_key(&w, "environment");
    jw_begin_obj(&w);
    jw_kbool(&w, "container", d->in_container);
    jw_kbool(&w, "wsl", d->wsl);
    jw_kbool(&w, "nvidia_device_nodes", d->dev_nodes);
    jw_end_obj(&w);
    jw_key(&w, "cuda");
    if (!d->cuda_tried) {
        jw_null(&w);
    } else {
        jw_begin_obj(&w);
        jw_kbool(&w, "ok", d->cuda.ok);
        jw_kstr(&w, "error", d->cuda.ok ? NULL : d->cuda.error);
        jw_kint(&w, "code", d->cuda.code);
        jw_key(&w, "driver_api");
        char v[16];
        snprintf(v, sizeof v, "%d.%d", d->cuda.cuda_version / 1000, d->cuda.cuda_version % 1000 / 10);
        jw_str(&w, d->cuda.ok ? v : NULL);
        jw_key(&w, "gpus");
        jw_begin_arr(&w);
        for (size_t i = 0; i < d->cuda.ngpus; i++)
            json_gpu(&w, &d->cuda.gpus[i]);
        jw_end_arr(&w);
        jw_end_obj(&w);
    }
    jw_key(&w, "disks");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->ndisks; i++) {
        jw_begin_obj(&w);
        jw_kstr(&w, "path", d->disks[i].path);
        jw_kuint(&w, "free", d->disks[i].free);
        jw_kuint(&w, "total", d->disks[i].total);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "python");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->npyenvs; i++) {
        const mg_pyenv *e = &d->pyenvs[i];
        jw_begin_obj(&w);
        jw_kstr(&w, "site_packages", e->site);
        jw_kstr(&w, "found_by", e->origin);
        jw_kstr(&w, "python", e->python[0] ? e->python : NULL);
        jw_kstr(&w, "torch", e->has_torch ? e->torch_version : NULL);
        jw_kstr(&w, "torch_cuda", e->has_torch && e->torch_cuda[0] ? e->torch_cuda : NULL);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "findings");
    jw_begin_arr(&w);
    for (size_t i = 0; i < mg_doctor_nfindings(doc); i++) {
        const mg_finding *x = mg_doctor_finding(doc, i);
        jw_begin_obj(&w);
        jw_kstr(&w, "severity", mg_severity_str((mg_severity)x->severity));
        jw_kstr(&w, "area", x->area);
        jw_kstr(&w, "cause", x->cause);
        jw_kstr(&w, "fix", x->fix);
        if (x->severity >= MG_SEV_WARN)   /* a known failure: its id, cause and fix (docs/explain.md) */
            mg_explain_attach_json(&w, x->cause);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_kstr(&w, "status", mg_severity_str(mg_doctor_worst(doc)));
    jw_end_obj(&w);
}
