/* plan.c - `mlgate plan`: do a model matrix's resident models fit together, and each on-demand model beside them. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: mlgate plan [options] MATRIX.yaml\n"
    "\n"
    "The memory budget of a model matrix (docs/matrix.md): every resident model must fit on the\n"
    "GPUs at once with headroom, and each on-demand model beside them when it is loaded. A model's\n"
    "memory is its declared memory:, or what `mlgate fit` finds for its file: (GGUF: every layer\n"
    "on one GPU at its ctx:, default 8192, or the placement it gives: gpus: [0, 1], tensor_split:,\n"
    "ngl:, n_cpu_moe:, sized per GPU; safetensors: weights, KV and a prompt pass, split evenly over\n"
    "gpus:). Residents go largest first to the GPU with the most room (pinned and split ones first);\n"
    "on-demand models that cannot be loaded together are named. What the models keep in host RAM\n"
    "(layers and experts on the CPU, ram:) must fit RAM + swap less headroom. When it does not fit,\n"
    "the cheapest fixes, each checked by planning again with it (e.g. the experts of N blocks in RAM).\n"
    "\n"
    "  -g, --gpu LIST        GPUs by name or sm_XY, memory from the GPU table ('RTX PRO 6000,RTX 5090')\n"
    "      --vram LIST       GPU memory sizes instead (96G,32G)\n"
    "                        default: the matrix's host: gpus:/vram:, else this machine's GPUs\n"
    "      --headroom F|SIZE fraction of each GPU kept free (0.1, 10%%), or bytes (10G)\n"
    "                        (default: the matrix's host: headroom:, else 0.10)\n"
    "      --ram SIZE        the host's RAM for the RAM budget (default: the matrix's host: ram:,\n"
    "                        else this machine's when its own GPUs are planned, else not checked)\n"
    "      --swap SIZE       the host's swap, counted with --ram (default 0)\n"
    "      --json            machine-readable answer\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 it all fits, 1 it does not, 2 matrix or usage error.\n";

static void print_plan(const mg_matrix *m, const mg_plan *p)
{
    char a[32], b[32], c[32], nm[32];
    size_t n = mg_matrix_count(m), ng = mg_plan_ngpus(p);
    printf("%s%s%s: %s on %zu GPU%s\n", col(C_BOLD), mg_matrix_get_host(m)->path, col(C_RESET),
           plural(n, "model", "models", nm, sizeof nm), ng, ng == 1 ? "" : "s");
    for (size_t g = 0; g < ng; g++) {
        const mg_plan_gpu *x = mg_plan_gpu_at(p, g);
        const char *name = gpu_model_name(&x->target);
        printf("  GPU%zu %-22s %s usable, residents %s, free %s\n", g, name,
               mg_human(x->usable, a), mg_human(x->resident, b), mg_human(x->usable - x->resident, c));
        for (size_t i = 0; i < n; i++) {
            const mg_matrix_model *md = mg_matrix_model_at(m, i);
            const mg_plan_model *pm = mg_plan_model_at(p, i);
            if (!pm->fits)
                continue;
            for (size_t k = 0; k < pm->nparts; k++)   /* split: its part on this GPU */
                if (pm->part_gpu[k] == (int)g)
                    printf("      %-24s %-9s %-10s %10s  (%s, part %zu of %zu)\n", md->name,
                           mg_model_kind_name(md->kind), md->on_demand ? "on-demand" : "resident",
                           mg_human(pm->part_need[k], a), pm->source, k + 1, pm->nparts);
            if (!pm->nparts && pm->gpu == (int)g)
                printf("      %-24s %-9s %-10s %10s  (%s)\n", md->name, mg_model_kind_name(md->kind),
                       md->on_demand ? "on-demand" : "resident", mg_human(pm->need, a), pm->source);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const mg_matrix_model *md = mg_matrix_model_at(m, i);
        const mg_plan_model *pm = mg_plan_model_at(p, i);
        if (pm->why[0])
            printf("  %s%s%s: %s\n", col(C_RED), md->name, col(C_RESET), pm->why);
        else if (pm->note)
            printf("  %s: %s\n", md->name, pm->note);
        for (size_t k = 0; k < pm->nconflicts; k++)
            if ((size_t)pm->conflicts[k] > i)
                printf("  %s%s%s and %s cannot be loaded at the same time (each fits beside the residents alone)\n",
                       col(C_YELLOW), md->name, col(C_RESET), mg_matrix_model_at(m, (size_t)pm->conflicts[k])->name);
    }
    const mg_plan_ram *ram = mg_plan_ram_budget(p);
    if (ram->known)
        printf("  RAM %s + swap %s: %s usable, residents keep %s%s%s\n", mg_human(ram->ram, a), mg_human(ram->swap, b),
               mg_human(ram->usable, c), mg_human(ram->resident, nm), ram->resident > ram->ram ? "  (in swap: slow)" : "",
               ram->ok ? "" : "  (not enough: see above)");
    else
        printf("  RAM not checked (give host: ram: in the matrix, or --ram)\n");
    uint64_t need = mg_plan_resident_need(p), usable = mg_plan_usable(p);
    if (need > usable)
        printf("%sOversubscribed by %s%s: resident models need %s, %s available after headroom\n",
               col(C_RED), mg_human(need - usable, a), col(C_RESET), mg_human(need, b), mg_human(usable, c));
    else if (mg_plan_ok(p))
        printf("%sFits%s: resident models need %s of %s usable; every on-demand model fits beside them.\n",
               col(C_GREEN), col(C_RESET), mg_human(need, a), mg_human(usable, b));
    else
        printf("%sDoes not fit%s as planned (see above).\n", col(C_RED), col(C_RESET));
    for (size_t k = 0; k < mg_plan_nfixes(p); k++)
        printf("  fix: %s\n", mg_plan_fix(p, k));
}

int cmd_plan(int argc, char **argv)
{
    enum { O_VRAM = 256, O_HEAD, O_JSON, O_RAM, O_SWAP };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},  {"vram", required_argument, 0, O_VRAM},
        {"headroom", required_argument, 0, O_HEAD}, {"json", no_argument, 0, O_JSON},
        {"ram", required_argument, 0, O_RAM}, {"swap", required_argument, 0, O_SWAP},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0},
    };
    int json = wants_json(argc, argv), c;
    const char *gpus = NULL, *vram = NULL;
    mg_plan_opts po = {.headroom = -1};
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': gpus = optarg; break;
        case O_VRAM: vram = optarg; break;
        case O_HEAD: {
            char *end;
            po.headroom = strtod(optarg, &end);
            if (*end == '%')
                po.headroom /= 100, end++;
            if (*end && !mg_parse_size(optarg, &po.headroom_bytes) && po.headroom_bytes)
                po.headroom = -1;   /* 10G: bytes on each GPU */
            else if (*end || !(po.headroom >= 0 && po.headroom < 0.9))
                return cli_usage("plan", json, "--headroom wants a fraction 0..0.9, a percentage or a size (10G)");
            break;
        }
        case O_RAM:
        case O_SWAP:
            if (mg_parse_size(optarg, c == O_RAM ? &po.ram : &po.swap))
                return cli_usage("plan", json, "--ram and --swap want a size (377G)");
            break;
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: return cli_usage("plan", json, "unknown option (see 'mlgate plan --help')");
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mlgate plan: give one MATRIX\n%s", help);
        return json ? cli_usage("plan", json, "give one MATRIX") : EXIT_USAGE;
    }
    mg_matrix *m;
    char err[512];
    int rc = mg_matrix_load(argv[optind], &m, err, sizeof err);
    if (rc)
        return cli_fail("plan", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    /* GPUs: the command line's, else the matrix's host: gpus:/vram:, else this machine's; whole memory */
    mg_target_spec ts;
    mg_matrix_target_spec(m, gpus, vram, NULL, &ts);
    mg_targets t;
    mg_plan *p = NULL;
    rc = cli_targets("plan", json, &ts, &t) ? EXIT_USAGE : EXIT_PASS;
    if (po.swap && !po.ram)
        rc = cli_usage("plan", json, "--swap is counted with --ram: give both");
    po.this_host = !ts.gpus && !ts.vram;   /* this machine's GPUs: its RAM too */
    int e = rc ? MG_OK : mg_plan_make_with(m, t.t, t.n, &po, &p, err, sizeof err);
    if (e)
        rc = cli_fail("plan", json, EXIT_USAGE, (mg_err)e, "%s", err);
    if (p) {
        if (!mg_plan_ngpus(p))
            fprintf(stderr, "mlgate plan: no GPU to plan for (give --gpu or --vram, or host: gpus: in the matrix)\n");
        if (json)
            mg_plan_json(stdout, p);
        else
            print_plan(m, p);
        rc = mg_plan_ok(p) ? EXIT_PASS : EXIT_FAIL;
    }
    mg_plan_free(p);
    mg_matrix_free(m);
    return rc;
}
