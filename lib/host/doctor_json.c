/* doctor_json.c - `mlgate doctor --json`: the host audit's facts and findings (docs/json.md). */
#include <stdio.h>

#include "core/json.h"
#include "mlgate/host.h"

static void json_gpu(jw *w, const mg_host_gpu *x)
{
    char s[16];
    jw_begin_obj(w);
    jw_key(w, "index");
    jw_int(w, x->index);
    jw_key(w, "name");
    jw_str(w, x->name);
    jw_key(w, "uuid");
    jw_str(w, x->uuid[0] ? x->uuid : NULL);
    jw_key(w, "pci_bus_id");
    jw_str(w, x->pci_bus_id[0] ? x->pci_bus_id : NULL);
    jw_key(w, "pci_device_id");
    snprintf(s, sizeof s, "0x%04x", x->pci_device);
    jw_str(w, x->pci_device ? s : NULL);
    jw_key(w, "compute_capability");
    snprintf(s, sizeof s, "%u.%u", x->cc / 10, x->cc % 10);
    jw_str(w, x->cc ? s : NULL);
    jw_key(w, "architecture");
    jw_str(w, x->arch[0] ? x->arch : NULL);
    jw_key(w, "memory");
    jw_begin_obj(w);
    jw_key(w, "total");
    jw_uint(w, x->mem_total);
    jw_key(w, "free");
    jw_uint(w, x->mem_free);
    jw_key(w, "reserved");
    jw_uint(w, x->mem_reserved);
    jw_key(w, "used");
    jw_uint(w, x->mem_used);
    jw_key(w, "unified");
    jw_bool(w, x->unified_memory);
    jw_end_obj(w);
    jw_key(w, "mig");
    if (x->mig < 0) jw_null(w); else jw_bool(w, x->mig);
    jw_key(w, "persistence");
    if (x->persistence < 0) jw_null(w); else jw_bool(w, x->persistence);
    jw_key(w, "bus");
    jw_str(w, x->bus_type < 0 ? NULL : x->bus_type == 2 ? "pcie" : "other");
    jw_end_obj(w);
}

static void json_probe(jw *w, const mg_gpu_probe *p)
{
    char dv[32];
    jw_begin_obj(w);
    jw_key(w, "ok");
    jw_bool(w, p->ok);
    jw_key(w, "error");
    jw_str(w, p->ok ? NULL : p->error);
    jw_key(w, "code");
    jw_int(w, p->code);
    jw_key(w, "driver");
    jw_str(w, mg_driver_known(p->driver) ? mg_driver_str(p->driver, dv, sizeof dv) : NULL);
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
    jw_key(&w, "mlgate");
    jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command");
    jw_str(&w, "doctor");
    jw_key(&w, "nvml");
    json_probe(&w, &d->nvml);
    jw_key(&w, "pci");
    json_probe(&w, &d->pci);
    jw_key(&w, "cpu");
    jw_begin_obj(&w);
    jw_key(&w, "arch");
    jw_str(&w, d->cpu_ok ? d->cpu.arch : NULL);
    jw_key(&w, "model");
    jw_str(&w, d->cpu_ok ? d->cpu.model : NULL);
    jw_key(&w, "cores");
    jw_int(&w, d->cpu.physical);
    jw_key(&w, "threads");
    jw_int(&w, d->cpu.logical);
    jw_key(&w, "features");
    jw_begin_arr(&w);
    for (int bit = 0; bit < 64; bit++)
        if (d->cpu.features & (1ull << bit))
            jw_str(&w, mg_cpu_feature_name(1ull << bit));
    jw_end_arr(&w);
    jw_end_obj(&w);
    jw_key(&w, "memory");
    jw_begin_obj(&w);
    jw_key(&w, "total");
    jw_uint(&w, d->mem.total);
    jw_key(&w, "available");
    jw_uint(&w, d->mem.available);
    jw_key(&w, "swap_total");
    jw_uint(&w, d->mem.swap_total);
    jw_key(&w, "hugepages");
    jw_uint(&w, d->mem.hugepages_total);
    jw_key(&w, "cgroup_limit");
    if (d->mem.cgroup_limit) jw_uint(&w, d->mem.cgroup_limit); else jw_null(&w);
    jw_key(&w, "numa");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->mem.nnodes; i++) {
        jw_begin_obj(&w);
        jw_key(&w, "node");
        jw_int(&w, d->mem.nodes[i].id);
        jw_key(&w, "memory");
        jw_uint(&w, d->mem.nodes[i].mem_total);
        jw_key(&w, "cpus");
        jw_int(&w, d->mem.nodes[i].ncpus);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    jw_key(&w, "environment");
    jw_begin_obj(&w);
    jw_key(&w, "container");
    jw_bool(&w, d->in_container);
    jw_key(&w, "wsl");
    jw_bool(&w, d->wsl);
    jw_key(&w, "nvidia_device_nodes");
    jw_bool(&w, d->dev_nodes);
    jw_end_obj(&w);
    jw_key(&w, "cuda");
    if (!d->cuda_tried) {
        jw_null(&w);
    } else {
        jw_begin_obj(&w);
        jw_key(&w, "ok");
        jw_bool(&w, d->cuda.ok);
        jw_key(&w, "error");
        jw_str(&w, d->cuda.ok ? NULL : d->cuda.error);
        jw_key(&w, "code");
        jw_int(&w, d->cuda.code);
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
        jw_key(&w, "path");
        jw_str(&w, d->disks[i].path);
        jw_key(&w, "free");
        jw_uint(&w, d->disks[i].free);
        jw_key(&w, "total");
        jw_uint(&w, d->disks[i].total);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "python");
    jw_begin_arr(&w);
    for (size_t i = 0; i < d->npyenvs; i++) {
        const mg_pyenv *e = &d->pyenvs[i];
        jw_begin_obj(&w);
        jw_key(&w, "site_packages");
        jw_str(&w, e->site);
        jw_key(&w, "found_by");
        jw_str(&w, e->origin);
        jw_key(&w, "python");
        jw_str(&w, e->python[0] ? e->python : NULL);
        jw_key(&w, "torch");
        jw_str(&w, e->has_torch ? e->torch_version : NULL);
        jw_key(&w, "torch_cuda");
        jw_str(&w, e->has_torch && e->torch_cuda[0] ? e->torch_cuda : NULL);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "findings");
    jw_begin_arr(&w);
    for (size_t i = 0; i < mg_doctor_nfindings(doc); i++) {
        const mg_finding *x = mg_doctor_finding(doc, i);
        jw_begin_obj(&w);
        jw_key(&w, "severity");
        jw_str(&w, mg_severity_str((mg_severity)x->severity));
        jw_key(&w, "area");
        jw_str(&w, x->area);
        jw_key(&w, "cause");
        jw_str(&w, x->cause);
        jw_key(&w, "fix");
        jw_str(&w, x->fix);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "status");
    jw_str(&w, mg_severity_str(mg_doctor_worst(doc)));
    jw_end_obj(&w);
}
