/* targets.c - the GPUs fit and plan judge against: by name (GPU table), by size, or this machine's (NVML). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlgate/mlgate.h"

int targets_from_gpus(const char *cmd, const char *list, mg_fit_device *d, size_t *n)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok && *n < MG_FIT_MAX_DEV; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        const mg_gpu_info *g = mg_gpu_find(tok);
        if (!g || !g->mem_mib) {
            fprintf(stderr, "mlgate %s: '%s' is %s; give --vram sizes\n", cmd, tok,
                    g ? "a GPU sharing system memory" : "not in the GPU table");
            return -1;
        }
        snprintf(d[*n].name, sizeof d[*n].name, "%s", g->name);
        d[*n].total = d[*n].free = (uint64_t)g->mem_mib << 20;
        (*n)++;
    }
    return 0;
}

int targets_from_vram(const char *cmd, const char *list, mg_fit_device *d, size_t *n)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *t = strtok(buf, ","); t && *n < MG_FIT_MAX_DEV; t = strtok(NULL, ",")) {
        uint64_t v;
        while (*t == ' ')
            t++;
        if (parse_size(t, &v) || !v) {
            fprintf(stderr, "mlgate %s: '%s' is not a size (like 96G)\n", cmd, t);
            return -1;
        }
        snprintf(d[*n].name, sizeof d[*n].name, "GPU%zu", *n);
        d[*n].total = d[*n].free = v;
        (*n)++;
    }
    return 0;
}

size_t targets_detect(mg_fit_device *d)
{
    size_t nd = 0;
    mg_host_paths hp = {"", getenv("MLGATE_NVML")};
    mg_gpu_probe *pr = malloc(sizeof *pr);
    if (pr && mg_gpu_nvml.probe(&hp, pr) == MG_OK)
        for (size_t i = 0; i < pr->ngpus && nd < MG_FIT_MAX_DEV; i++)
            if (pr->gpus[i].mem_total) {
                snprintf(d[nd].name, sizeof d[nd].name, "GPU%d %.50s", pr->gpus[i].index, pr->gpus[i].name);
                d[nd].total = pr->gpus[i].mem_total;
                d[nd].free = pr->gpus[i].mem_free;
                nd++;
            }
    free(pr);
    return nd;
}

int targets_for_matrix(const char *cmd, const char *gpus, const char *vram, const mg_matrix *m, mg_fit_device *d,
                       size_t *n)
{
    *n = 0;
    if (gpus || vram) {   /* the command line: both lists, in that order */
        if ((gpus && targets_from_gpus(cmd, gpus, d, n)) || (vram && targets_from_vram(cmd, vram, d, n)))
            return -1;
    } else if (m->gpus || m->vram) {
        if (m->gpus ? targets_from_gpus(cmd, m->gpus, d, n) : targets_from_vram(cmd, m->vram, d, n))
            return -1;
    } else {
        *n = targets_detect(d);
    }
    for (size_t i = 0; i < *n; i++)
        d[i].free = d[i].total;   /* a plan is for the whole GPU, whatever runs on it now */
    return 0;
}
