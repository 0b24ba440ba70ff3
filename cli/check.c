/* check.c - `mlgate check`: the promotion gate over a model matrix; publishes only the capabilities whose model really answered. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    "      --metrics FILE    Prometheus metrics of the run (for node_exporter's textfile collector:\n"
    "                        a .prom file in its directory): mlgate_model_up, stage seconds, ...\n"
    "      --nfd-dir DIR     Kubernetes node labels: DIR/mlgate for Node Feature Discovery's local\n"
    "                        source (features.d): mlgate.io/gate, each enabled capability\n"
    "                        (mlgate.io/cap.NAME=true), compute capability, driver\n"
    "      --nfd-expiry DUR  NFD drops those labels DUR after the run (default: never; 10m, 1h)\n"
    "      --otlp URL        export the run as an OpenTelemetry trace to URL/v1/traces (OTLP/HTTP\n"
    "                        JSON): a span per model and stage with its status and reason; retried\n"
    "                        on 429/502/503/504, waited for at most 10 s; never changes the exit status\n"
    "      --otlp-header K=V  send this header with it (repeatable), e.g. an API key: never printed\n"
    "      --deadline SECS   the whole gate (default: the matrix's, else 120)\n"
    "      --no-smoke        skip the smoke stage\n"
    "      --allow-shared-dir  write the capability file, JUnit, receipts, metrics and labels also in a\n"
    "                        directory other users can write (refused by default: they could swap them)\n"
    "      --json            machine-readable results\n"
    "  -h, --help            this help\n"
    "\n"
    "API keys: a model's api_key_env: names a variable whose value is sent, never printed or stored.\n"
    "Exit status: 0 every model passed, 1 some failed, 2 matrix or usage error.\n";

static void print_results(const mg_gate *g)
{
    const mg_matrix *m = mg_gate_matrix(g);
    size_t n = mg_matrix_count(m);
    char nm[32];
    for (size_t i = 0; i < n; i++) {
        const mg_check_result *x = mg_gate_result(g, i);
        const mg_matrix_model *md = mg_matrix_model_at(m, i);
        printf("%s%-4s%s %-22s %-9s", col(x->ok ? C_GREEN : C_RED), x->ok ? "ok" : "FAIL", col(C_RESET), md->name,
               mg_model_kind_name(md->kind));
        for (int s = 0; s < MG_NSTAGES; s++)
            if (x->stage[s].ran)
                printf("  %s %s %.2fs", mg_stage_name(s), x->stage[s].ok ? "ok" : "failed", x->stage[s].seconds);
        if (x->ok && x->stage[MG_STAGE_INFERENCE].ran)
            printf("  (first byte %.2fs)\n      -> %s\n", x->ttfb, x->output);
        else
            printf("\n");
        for (int s = 0; s < MG_NSTAGES; s++)
            if (x->stage[s].ran && !x->stage[s].ok) {
                const char *why = x->stage[s].reason;
                const mg_kb_entry *e = mg_explain_match(why, strlen(why));
                printf("      %s: %s\n", mg_stage_name(s), why);
                if (e)   /* the known cause's fix; `mlgate explain` says more */
                    printf("      %sexplain %s%s: %s\n", col(C_BOLD), mg_kb_id(e), col(C_RESET), mg_kb_fix(e));
            }
    }
    printf("%zu of %s passed in %.2f s\n", mg_gate_passed(g), plural(n, "model", "models", nm, sizeof nm),
           mg_gate_seconds(g));
}

/* Where the run went: the capability file, JUnit, receipts - or that no capability file is configured. */
static void print_published(const mg_gate *g, FILE *f)
{
    int caps = 0;
    for (size_t i = 0; i < mg_gate_npublished(g); i++) {
        const mg_publication *p = mg_gate_published(g, i);
        caps |= !strcmp(p->what, "capabilities");
        if (p->ok)
            fprintf(f, "%s: %s\n", p->what, p->path);
        else
            fprintf(stderr, "mlgate check: %s: %s\n", p->what, p->error);
    }
    if (!caps)
        fprintf(f, "capabilities: none written (set host: capabilities: in the matrix, or --capabilities FILE)\n");
}

/* The trace sent, or why not (stderr); a collector that is down never changes the exit status. */
static void otlp_done(mg_otlp *x, FILE *f)
{
    mg_otlp_counts c;
    mg_otlp_close(x, 10, &c);
    if (c.sent)
        fprintf(f, "otlp: trace sent\n");
    else
        fprintf(stderr, "mlgate check: otlp: not delivered: %s\n", c.error[0] ? c.error : "unknown");
}

int cmd_check(int argc, char **argv)
{
    enum { O_VRAM = 256, O_CAPS, O_JUNIT, O_DEADLINE, O_NOSMOKE, O_JSON, O_RECEIPTS, O_SHARED, O_NFD, O_NFD_EXPIRY, O_METRICS,
           O_OTLP, O_OTLP_HEADER };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},         {"vram", required_argument, 0, O_VRAM},
        {"capabilities", required_argument, 0, O_CAPS}, {"junit", required_argument, 0, O_JUNIT},
        {"deadline", required_argument, 0, O_DEADLINE}, {"no-smoke", no_argument, 0, O_NOSMOKE},
        {"json", no_argument, 0, O_JSON},           {"help", no_argument, 0, 'h'},
        {"receipts", required_argument, 0, O_RECEIPTS}, {"allow-shared-dir", no_argument, 0, O_SHARED},
        {"nfd-dir", required_argument, 0, O_NFD},   {"nfd-expiry", required_argument, 0, O_NFD_EXPIRY},
        {"metrics", required_argument, 0, O_METRICS},
        {"otlp", required_argument, 0, O_OTLP},     {"otlp-header", required_argument, 0, O_OTLP_HEADER},
        {0, 0, 0, 0},
    };
    mg_gate_opts o = {0};
    const char *otlp = NULL, *otlp_headers[MG_OTLP_MAX_HEADERS];
    size_t notlp_headers = 0;
    int json = wants_json(argc, argv), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': o.gpus = optarg; break;
        case O_VRAM: o.vram = optarg; break;
        case O_CAPS: o.capabilities = optarg; break;
        case O_JUNIT: o.junit = optarg; break;
        case O_RECEIPTS: o.receipts = optarg; break;
        case O_DEADLINE:
            if (mg_parse_duration(optarg, &o.deadline))
                return cli_usage("check", json, "--deadline wants seconds, more than 0 (30, 2m)");
            break;
        case O_NFD: o.nfd_dir = optarg; break;
        case O_METRICS: o.metrics = optarg; break;
        case O_OTLP: otlp = optarg; break;
        case O_OTLP_HEADER:
            if (notlp_headers == MG_OTLP_MAX_HEADERS)
                return cli_usage("check", json, "at most 32 --otlp-header");
            otlp_headers[notlp_headers++] = optarg;
            break;
        case O_NFD_EXPIRY:
            if (mg_parse_duration(optarg, &o.nfd_expiry))
                return cli_usage("check", json, "--nfd-expiry wants a duration, more than 0 (10m, 1h)");
            break;
        case O_NOSMOKE: o.skip_smoke = 1; break;
        case O_SHARED: o.allow_shared_dir = 1; break;
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: return cli_usage("check", json, "unknown option (see 'mlgate check --help')");
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mlgate check: give one MATRIX\n%s", help);
        return json ? cli_usage("check", json, "give one MATRIX") : EXIT_USAGE;
    }
    mg_matrix *m;
    char err[512];
    int rc = mg_matrix_load(argv[optind], &m, err, sizeof err);
    if (rc)
        return cli_fail("check", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    mg_gate *g;
    if (notlp_headers && !otlp) {
        mg_matrix_free(m);
        return cli_usage("check", json, "--otlp-header wants --otlp URL");
    }
    if (otlp && (rc = mg_otlp_open(otlp, otlp_headers, notlp_headers, &o.otlp, err, sizeof err))) {
        mg_matrix_free(m);
        return cli_fail("check", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    }
    rc = mg_gate_run(m, &o, &g, err, sizeof err);
    if (rc) {
        mg_otlp_close(o.otlp, 0, NULL);
        mg_matrix_free(m);
        return cli_fail("check", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    }
    if (json)
        mg_gate_json(stdout, g);
    else
        print_results(g);
    print_published(g, json ? stderr : stdout);
    rc = mg_gate_exit_status(g) ? EXIT_FAIL : EXIT_PASS;
    if (o.otlp)
        otlp_done(o.otlp, json ? stderr : stdout);
    mg_gate_free(g);
    mg_matrix_free(m);
    return rc;
}
