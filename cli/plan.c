/* plan.c - `mlgate plan`: do a model matrix's resident models fit together, and each on-demand model beside them. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlgate/mlgate.h"

static const char help[] =
    "usage: mlgate plan [options] MATRIX.yaml\n"
    "\n"
    "The memory budget of a model matrix (docs/matrix.md): every resident model must fit on the\n"
    "GPUs at once with headroom, and each on-demand model beside them when it is loaded. A model's\n"
    "memory is its declared memory:, or what `mlgate fit` finds for its file: (GGUF: every layer\n"
    "on one GPU at its ctx:, default 8192; safetensors: weights, KV and a prompt pass). Residents\n"
    "go largest first to the GPU with the most room (pinned ones, gpu: N, first); on-demand models\n"
    "that cannot be loaded together are named. When it does not fit, the cheapest fixes.\n"
    "\n"
    "  -g, --gpu LIST        GPUs by name or sm_XY, memory from the GPU table ('RTX PRO 6000,RTX 5090')\n"
    "      --vram LIST       GPU memory sizes instead (96G,32G)\n"
    "                        default: the matrix's host: gpus:/vram:, else this machine's GPUs\n"
    "      --headroom F      fraction of each GPU kept free (default: the matrix's, else 0.10)\n"
    "      --json            machine-readable answer\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 it all fits, 1 it does not, 2 matrix or usage error.\n";

static void print_plan(const mg_matrix *m, const mg_plan *p)
{
    char a[32], b[32], c[32];
    printf("%s%s%s: %zu models on %zu GPU%s\n", col(C_BOLD), m->path, col(C_RESET), m->nmodels, p->ngpus,
           p->ngpus == 1 ? "" : "s");
    for (size_t g = 0; g < p->ngpus; g++) {
        printf("  GPU%zu %-22s %s usable, residents %s, free %s\n", g,
               strncmp(p->gpus[g].name, "GPU", 3) ? p->gpus[g].name : "", mg_human(p->usable[g], a),
               mg_human(p->resident[g], b), mg_human(p->usable[g] - p->resident[g], c));
        for (size_t i = 0; i < m->nmodels; i++)
            if (p->models[i].gpu == (int)g)
                printf("      %-24s %-9s %-10s %10s  (%s)\n", m->models[i].name, mg_kind_name(m->models[i].kind),
                       m->models[i].on_demand ? "on-demand" : "resident", mg_human(p->models[i].need, a),
                       p->models[i].source);
    }
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *pm = &p->models[i];
        if (pm->why[0])
            printf("  %s%s%s: %s\n", col(C_RED), m->models[i].name, col(C_RESET), pm->why);
        else if (pm->note)
            printf("  %s: %s\n", m->models[i].name, pm->note);
        for (size_t k = 0; k < pm->nconflicts; k++)
            if ((size_t)pm->conflicts[k] > i)
                printf("  %s%s%s and %s cannot be loaded at the same time (each fits beside the residents alone)\n",
                       col(C_YELLOW), m->models[i].name, col(C_RESET), m->models[pm->conflicts[k]].name);
    }
    if (p->resident_need > p->usable_total)
        printf("%sOversubscribed by %s%s: resident models need %s, %s available (%.0f%% headroom kept)\n",
               col(C_RED), mg_human(p->resident_need - p->usable_total, a), col(C_RESET),
               mg_human(p->resident_need, b), mg_human(p->usable_total, c), 100 * m->headroom);
    else if (p->ok)
        printf("%sFits%s: resident models need %s of %s usable; every on-demand model fits beside them.\n",
               col(C_GREEN), col(C_RESET), mg_human(p->resident_need, a), mg_human(p->usable_total, b));
    else
        printf("%sDoes not fit%s as planned (see above).\n", col(C_RED), col(C_RESET));
    for (size_t f = 0; f < p->nfixes; f++)
        printf("  fix: %s\n", p->fixes[f]);
}

static void json_plan(const mg_matrix *m, const mg_plan *p)
{
    jw w = {stdout, 0, {0}, 0};
    jw_begin_obj(&w);
    jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command"); jw_str(&w, "plan");
    jw_key(&w, "matrix"); jw_str(&w, m->path);
    jw_key(&w, "ok"); jw_bool(&w, p->ok);
    jw_key(&w, "headroom"); jw_num(&w, m->headroom);
    jw_key(&w, "resident_need"); jw_uint(&w, p->resident_need);
    jw_key(&w, "usable"); jw_uint(&w, p->usable_total);
    jw_key(&w, "gpus");
    jw_begin_arr(&w);
    for (size_t g = 0; g < p->ngpus; g++) {
        jw_begin_obj(&w);
        jw_key(&w, "name"); jw_str(&w, p->gpus[g].name);
        jw_key(&w, "total"); jw_uint(&w, p->gpus[g].total);
        jw_key(&w, "usable"); jw_uint(&w, p->usable[g]);
        jw_key(&w, "resident"); jw_uint(&w, p->resident[g]);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_plan_model *pm = &p->models[i];
        jw_begin_obj(&w);
        jw_key(&w, "name"); jw_str(&w, m->models[i].name);
        jw_key(&w, "kind"); jw_str(&w, mg_kind_name(m->models[i].kind));
        jw_key(&w, "residency"); jw_str(&w, m->models[i].on_demand ? "on-demand" : "resident");
        jw_key(&w, "memory"); jw_uint(&w, pm->need);
        jw_key(&w, "ram"); jw_uint(&w, pm->ram);
        jw_key(&w, "source"); jw_str(&w, pm->source);
        jw_key(&w, "gpu");
        if (pm->gpu >= 0)
            jw_int(&w, pm->gpu);
        else
            jw_null(&w);
        jw_key(&w, "fits"); jw_bool(&w, pm->fits);
        jw_key(&w, "why"); jw_str(&w, pm->why[0] ? pm->why : NULL);
        jw_key(&w, "note"); jw_str(&w, pm->note);
        jw_key(&w, "not_together_with");
        jw_begin_arr(&w);
        for (size_t k = 0; k < pm->nconflicts; k++)
            jw_str(&w, m->models[pm->conflicts[k]].name);
        jw_end_arr(&w);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "fixes");
    jw_begin_arr(&w);
    for (size_t f = 0; f < p->nfixes; f++)
        jw_str(&w, p->fixes[f]);
    jw_end_arr(&w);
    jw_end_obj(&w);
    putchar('\n');
}

int cmd_plan(int argc, char **argv)
{
    enum { O_VRAM = 256, O_HEAD, O_JSON };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},  {"vram", required_argument, 0, O_VRAM},
        {"headroom", required_argument, 0, O_HEAD}, {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0},
    };
    mg_fit_device dev[MG_FIT_MAX_DEV];
    size_t nd = 0;
    int json = 0, c;
    const char *gpus = NULL, *vram = NULL;
    double headroom = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': gpus = optarg; break;
        case O_VRAM: vram = optarg; break;
        case O_HEAD: {
            char *end;
            headroom = strtod(optarg, &end);
            if (*end || !(headroom >= 0 && headroom < 0.9)) {
                fprintf(stderr, "mlgate plan: --headroom wants 0..0.9\n");
                return EXIT_USAGE;
            }
            break;
        }
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mlgate plan: give one MATRIX\n%s", help);
        return EXIT_USAGE;
    }
    mg_matrix *m;
    char err[512];
    if (mg_matrix_load(argv[optind], &m, err, sizeof err)) {
        fprintf(stderr, "mlgate plan: %s\n", err);
        return EXIT_USAGE;
    }
    if (headroom >= 0)
        m->headroom = headroom;
    if (targets_for_matrix("plan", gpus, vram, m, dev, &nd)) {
        mg_matrix_free(m);
        return EXIT_USAGE;
    }
    if (!nd)
        fprintf(stderr, "mlgate plan: no GPU to plan for (give --gpu or --vram, or host: gpus: in the matrix)\n");
    mg_plan *p = malloc(sizeof *p);
    if (!p) {
        mg_matrix_free(m);
        return EXIT_USAGE;
    }
    mg_plan_make(m, dev, nd, m->headroom, p);
    if (json)
        json_plan(m, p);
    else
        print_plan(m, p);
    int rc = p->ok ? 0 : 1;
    free(p);
    mg_matrix_free(m);
    return rc;
}
