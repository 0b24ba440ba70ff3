/* metrics.c - the gate as Prometheus metrics (text format 0.0.4): each model up or down, its stages' and first byte's seconds, the runs by result, drift since the matrix's lock, the GPUs' memory labelled as dcgm-exporter labels it; and the publisher of a node_exporter textfile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/file.h"
#include "gate/gate_int.h"

/* A label value: backslash, double quote and line feed escaped, as the format wants. */
static void label(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void mg_gate_metrics_of(FILE *f, const mg_run *run, double finished, const mg_gate_counts *c, const mg_gpu_probe *gpus)
{
    family(f, "mlgate_build_info", "gauge", "mlgate's version (always 1).");
    fprintf(f, "mlgate_build_info{version=\"%s\"} 1\n", MLGATE_VERSION);
    static const mg_gate_counts none = {0, 0, 0};
    if (!c)
        c = &none;
    family(f, "mlgate_gate_runs_total", "counter",
           "Gate runs by result: every model passed, some failed, or the run could not start.");
    fprintf(f, "mlgate_gate_runs_total{result=\"passed\"} %llu\n", (unsigned long long)c->passed);
    fprintf(f, "mlgate_gate_runs_total{result=\"failed\"} %llu\n", (unsigned long long)c->failed);
    fprintf(f, "mlgate_gate_runs_total{result=\"error\"} %llu\n", (unsigned long long)c->errors);
    if (run) {
        const mg_matrix *m = run->m;
        family(f, "mlgate_last_run_timestamp_seconds", "gauge", "When the last gate run ended (Unix time).");
        fprintf(f, "mlgate_last_run_timestamp_seconds %.3f\n", finished);
        family(f, "mlgate_model_up", "gauge", "1 when the model passed every stage of the last run, else 0.");
        for (size_t i = 0; i < m->nmodels; i++) {
            const mg_matrix_model *md = &m->models[i];
            fputs("mlgate_model_up{model=\"", f);
            label(f, md->name);
            fputs("\",capability=\"", f);
            label(f, md->capability);
            fprintf(f, "\",kind=\"%s\"} %d\n", mg_model_kind_name(md->kind), run->r[i].ok);
        }
        family(f, "mlgate_stage_duration_seconds", "gauge", "How long each stage of the last run took, per model.");
        for (size_t i = 0; i < m->nmodels; i++)
            for (int s = 0; s < MG_NSTAGES; s++) {
                if (!run->r[i].stage[s].ran)
                    continue;
                fputs("mlgate_stage_duration_seconds{model=\"", f);
                label(f, m->models[i].name);
                fprintf(f, "\",stage=\"%s\"} %.6f\n", mg_stage_name(s), run->r[i].stage[s].seconds);
            }
        family(f, "mlgate_model_first_byte_seconds", "gauge",
               "Time to the first byte of the last run's inference, per model that answered.");
        for (size_t i = 0; i < m->nmodels; i++) {
            if (!run->r[i].ok || !run->r[i].stage[MG_STAGE_INFERENCE].ran)
                continue;
            fputs("mlgate_model_first_byte_seconds{model=\"", f);
            label(f, m->models[i].name);
            fprintf(f, "\"} %.6f\n", run->r[i].ttfb);
        }
    }
    if (run && run->lock && (run->drift || run->drift_error)) {   /* host: lock: judged by the smoke stage */
        size_t all = run->drift ? mg_drift_count(run->drift) : 0;
        size_t matter = run->drift ? mg_drift_matters(run->drift) : 0;
        family(f, "mlgate_drift", "gauge",
               "1 when the last run found drift since the matrix's lock that matters (or could not read it), else 0.");
        fprintf(f, "mlgate_drift %d\n", !run->drift || matter > 0);
        family(f, "mlgate_drift_changes", "gauge", "Changes since the lock in the last run, by whether they matter.");
        fprintf(f, "mlgate_drift_changes{matters=\"true\"} %zu\nmlgate_drift_changes{matters=\"false\"} %zu\n", matter,
                all - matter);
    }
    if (gpus && gpus->ngpus) {
        static const char *const names[] = {"mlgate_gpu_memory_total_bytes", "mlgate_gpu_memory_used_bytes"};
        static const char *const help[] = {"Each GPU's memory (gpu and UUID as dcgm-exporter labels them).",
                                           "Each GPU's memory in use now."};
        for (int k = 0; k < 2; k++) {
            family(f, names[k], "gauge", help[k]);
            for (size_t i = 0; i < gpus->ngpus; i++) {
                const mg_host_gpu *g = &gpus->gpus[i];
                fprintf(f, "%s{gpu=\"%d\",UUID=\"", names[k], g->index);
                label(f, g->uuid);
                fprintf(f, "\"} %llu\n", (unsigned long long)(k ? g->mem_used : g->mem_total));
            }
        }
    }
}

void mg_gate_metrics(FILE *f, const mg_gate *g, double finished, const mg_gate_counts *c, const mg_gpu_probe *gpus)
{
    mg_run run;
    if (g)
        mg_gate_run_of(g, &run);
    mg_gate_metrics_of(f, g ? &run : NULL, finished, c, gpus);
}

/* node_exporter's textfile collector: one run's metrics in a .prom file (a one-shot run counts once). */
static int publish(const mg_run *run, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return MG_E_NOMEM;
    mg_gate_counts c = {run->passed == run->m->nmodels, run->passed != run->m->nmodels, 0};
    mg_gate_metrics_of(f, run, (double)time(NULL), &c, NULL);
    if (fclose(f) || !text) {
        free(text);
        return MG_E_NOMEM;
    }
    int rc = mg_write_atomic(path, text, len, run->file_flags, err, errlen);
    free(text);
    return rc;
}

const mg_publisher mg_publish_metrics = {"metrics", mg_check_writable, publish};
