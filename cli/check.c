/* check.c - `mlgate check`: the promotion gate over a model matrix; publishes only the capabilities whose model really answered. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mlgate/mlgate.h"
#include "mlgate/check.h"

static const char help[] =
    "usage: mlgate check [options] MATRIX.yaml\n"
    "\n"
    "The gate (docs/matrix.md): every model of the matrix, in parallel under one deadline, in\n"
    "three stages, each with its result and duration:\n"
    "  smoke      its binaries: run on this host's GPUs and driver (mlgate scan); its file: the\n"
    "             architecture is known to llama.cpp; it fits the memory plan (mlgate plan)\n"
    "  up         the endpoint answers GET /models (exec: the program exists)\n"
    "  inference  a real minimal request by kind: llm/vlm chat completion (vlm with a generated\n"
    "             image) with text back; tts speech that is valid audio, >= 0.5 s, not silence;\n"
    "             asr a transcription of a generated WAV; embedding a vector of finite numbers\n"
    "             (of probe: dimensions:); image a PNG/JPEG of the size asked; exec exit 0 (and\n"
    "             probe: expect: in its output). Answers are capped at 16 MiB.\n"
    "Then the capability file (host: capabilities:, written atomically): each capability ok or\n"
    "failed, with the model, when, and why; a failed model's capability is disabled.\n"
    "\n"
    "  -g, --gpu LIST        judge binaries and the plan against these GPUs, not this machine's\n"
    "      --vram LIST       GPU sizes for the plan (96G,32G)\n"
    "      --capabilities F  write the capability file here (default: the matrix's)\n"
    "      --junit FILE      JUnit XML: a test case per model\n"
    "      --receipts DB     store the run in this SQLite database (default: the matrix's receipts:)\n"
    "      --deadline SECS   the whole gate (default: the matrix's, else 120)\n"
    "      --no-smoke        skip the smoke stage\n"
    "      --json            machine-readable results\n"
    "  -h, --help            this help\n"
    "\n"
    "API keys: a model's api_key_env: names a variable whose value is sent, never printed or stored.\n"
    "Exit status: 0 every model passed, 1 some failed, 2 matrix or usage error.\n";

static void print_results(const mg_matrix *m, const mg_check_result *r, double secs)
{
    size_t ok = 0;
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_check_result *x = &r[i];
        ok += x->ok;
        printf("%s%-4s%s %-22s %-9s", col(x->ok ? C_GREEN : C_RED), x->ok ? "ok" : "FAIL", col(C_RESET),
               m->models[i].name, mg_kind_name(m->models[i].kind));
        for (int s = 0; s < MG_NSTAGES; s++)
            if (x->stage[s].ran)
                printf("  %s %s %.2fs", mg_stage_name(s), x->stage[s].ok ? "ok" : "failed", x->stage[s].seconds);
        if (x->ok && x->stage[MG_STAGE_INFERENCE].ran)
            printf("  (first byte %.2fs)\n      -> %s\n", x->ttfb, x->output);
        else
            printf("\n");
        for (int s = 0; s < MG_NSTAGES; s++)
            if (x->stage[s].ran && !x->stage[s].ok)
                printf("      %s: %s\n", mg_stage_name(s), x->stage[s].reason);
    }
    printf("%zu of %zu models passed in %.2f s\n", ok, m->nmodels, secs);
}

static void json_results(const mg_matrix *m, const mg_check_result *r, double secs)
{
    jw w = {stdout, 0, {0}, 0};
    jw_begin_obj(&w);
    jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
    jw_key(&w, "command"); jw_str(&w, "check");
    jw_key(&w, "matrix"); jw_str(&w, m->path);
    jw_key(&w, "seconds"); jw_num(&w, secs);
    size_t ok = 0;
    for (size_t i = 0; i < m->nmodels; i++)
        ok += r[i].ok;
    jw_key(&w, "ok"); jw_bool(&w, ok == m->nmodels);
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < m->nmodels; i++) {
        jw_begin_obj(&w);
        jw_key(&w, "name"); jw_str(&w, m->models[i].name);
        jw_key(&w, "kind"); jw_str(&w, mg_kind_name(m->models[i].kind));
        jw_key(&w, "capability"); jw_str(&w, m->models[i].capability);
        jw_key(&w, "ok"); jw_bool(&w, r[i].ok);
        jw_key(&w, "stages");
        jw_begin_obj(&w);
        for (int s = 0; s < MG_NSTAGES; s++) {
            if (!r[i].stage[s].ran)
                continue;
            jw_key(&w, mg_stage_name(s));
            jw_begin_obj(&w);
            jw_key(&w, "ok"); jw_bool(&w, r[i].stage[s].ok);
            jw_key(&w, "seconds"); jw_num(&w, r[i].stage[s].seconds);
            jw_key(&w, "reason"); jw_str(&w, r[i].stage[s].reason[0] ? r[i].stage[s].reason : NULL);
            jw_end_obj(&w);
        }
        jw_end_obj(&w);
        jw_key(&w, "ttfb"); jw_num(&w, r[i].ttfb);
        jw_key(&w, "total"); jw_num(&w, r[i].total);
        jw_key(&w, "tokens"); jw_uint(&w, r[i].tokens);
        jw_key(&w, "bytes"); jw_uint(&w, r[i].bytes);
        jw_key(&w, "output"); jw_str(&w, r[i].output);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
    putchar('\n');
}

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int cmd_check(int argc, char **argv)
{
    enum { O_VRAM = 256, O_CAPS, O_JUNIT, O_DEADLINE, O_NOSMOKE, O_JSON, O_RECEIPTS };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},         {"vram", required_argument, 0, O_VRAM},
        {"capabilities", required_argument, 0, O_CAPS}, {"junit", required_argument, 0, O_JUNIT},
        {"deadline", required_argument, 0, O_DEADLINE}, {"no-smoke", no_argument, 0, O_NOSMOKE},
        {"json", no_argument, 0, O_JSON},           {"help", no_argument, 0, 'h'},
        {"receipts", required_argument, 0, O_RECEIPTS},
        {0, 0, 0, 0},
    };
    const char *gpus = NULL, *vram = NULL, *caps = NULL, *junit = NULL, *receipts = NULL;
    double deadline = 0;
    int json = 0, no_smoke = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': gpus = optarg; break;
        case O_VRAM: vram = optarg; break;
        case O_CAPS: caps = optarg; break;
        case O_JUNIT: junit = optarg; break;
        case O_RECEIPTS: receipts = optarg; break;
        case O_DEADLINE: {
            char *end;
            deadline = strtod(optarg, &end);
            if (*end || !(deadline > 0 && deadline <= 86400)) {
                fprintf(stderr, "mlgate check: --deadline wants seconds, more than 0\n");
                return EXIT_USAGE;
            }
            break;
        }
        case O_NOSMOKE: no_smoke = 1; break;
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mlgate check: give one MATRIX\n%s", help);
        return EXIT_USAGE;
    }
    mg_matrix *m;
    char err[512];
    if (mg_matrix_load(argv[optind], &m, err, sizeof err)) {
        fprintf(stderr, "mlgate check: %s\n", err);
        return EXIT_USAGE;
    }
    /* Targets for the binaries, and GPUs for the plan. */
    mg_target targets[16];
    size_t ntargets = 0;
    mg_fit_device dev[MG_FIT_MAX_DEV];
    size_t nd;
    if (targets_for_matrix("check", gpus, vram, m, dev, &nd)) {
        mg_matrix_free(m);
        return EXIT_USAGE;
    }
    const char *named = gpus ? gpus : vram ? NULL : m->gpus;   /* GPU names: the binaries are judged for them */
    if (named && mg_targets_parse(named, targets, 16, &ntargets, err, sizeof err)) {
        fprintf(stderr, "mlgate check: %s\n", err);
        mg_matrix_free(m);
        return EXIT_USAGE;
    }
    if (!named) {   /* this machine's GPUs and driver */
        mg_host_paths hp = {"", getenv("MLGATE_NVML")};
        mg_gpu_probe *probe = malloc(sizeof *probe);
        if (probe) {
            mg_host_targets(&hp, targets, 16, &ntargets, probe);
            for (size_t t = 0; t < ntargets; t++)
                targets[t].driver = probe->driver;
            free(probe);
        }
    }
    mg_plan *plan = nd ? malloc(sizeof *plan) : NULL;
    if (plan)
        mg_plan_make(m, dev, nd, m->headroom, plan);
    mg_check_result *r = calloc(m->nmodels ? m->nmodels : 1, sizeof *r);
    if (!r) {
        free(plan);
        mg_matrix_free(m);
        return EXIT_USAGE;
    }
    mg_check_opts o = {.targets = targets, .ntargets = ntargets, .plan = plan,
                       .deadline = deadline > 0 ? deadline : m->deadline, .skip_smoke = no_smoke};
    double t0 = wall();
    mg_check_run(m, &o, r);
    double secs = wall() - t0;
    if (json)
        json_results(m, r, secs);
    else
        print_results(m, r, secs);
    int rc = EXIT_PASS;
    for (size_t i = 0; i < m->nmodels; i++)
        if (!r[i].ok)
            rc = EXIT_FAIL;
    const char *db = receipts ? receipts : m->receipts;
    if (db) {
        char host[256] = "", gl[512] = "";
        gethostname(host, sizeof host - 1);
        for (size_t t = 0; t < ntargets; t++) {
            const char *nm = targets[t].name[0] ? targets[t].name : "?";
            if (strlen(gl) + strlen(nm) + 2 < sizeof gl) {
                if (t)
                    strcat(gl, ",");
                strcat(gl, nm);
            }
        }
        char dv[32] = "";
        if (ntargets && mg_driver_known(targets[0].driver))
            mg_driver_str(targets[0].driver, dv, sizeof dv);
        if (mg_receipts_store(db, m, r, secs, host, gl, dv, err, sizeof err)) {
            fprintf(stderr, "mlgate check: receipts: %s\n", err);
            rc = EXIT_FAIL;
        }
    }
    const char *cf = caps ? caps : m->capabilities;
    if (cf && mg_check_write_capabilities(cf, m, r, err, sizeof err)) {
        fprintf(stderr, "mlgate check: capability file: %s\n", err);
        rc = EXIT_FAIL;
    }
    if (junit && mg_check_write_junit(junit, m, r, secs, err, sizeof err)) {
        fprintf(stderr, "mlgate check: JUnit: %s\n", err);
        rc = EXIT_FAIL;
    }
    free(r);
    free(plan);
    mg_matrix_free(m);
    return rc;
}
