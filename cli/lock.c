/* lock.c - `mlgate lock` and `mlgate drift`: options in, one library call, the lock written or the changes said. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char lock_help[] =
    "usage: mlgate lock [options] MATRIX.yaml\n"
    "   or: mlgate lock [options] PATH...\n"
    "\n"
    "Records what a passing state is made of, as a stable JSON file that diffs well in git\n"
    "(docs/lock.md): this host's GPUs (names, UUIDs, compute capabilities), driver, CUDA driver\n"
    "version and kernel; every file with CUDA code under the PATHs, with its size, sha256 and\n"
    "verdict per GPU (scanned as mlgate scan scans it); every Python environment found there\n"
    "(site-packages, dist-packages) with its packages and versions; every model file with its\n"
    "size and the sha256 of its header. 'mlgate drift LOCK' later says what changed since.\n"
    "A single argument ending in .yaml or .yml is a matrix (docs/matrix.md): its models'\n"
    "binaries: and file: are locked, against its host: gpus: when it names them. An input\n"
    "that does not exist is an error.\n"
    "\n"
    "  -o, --output FILE     write the lock to FILE, atomically (a reader sees the old file or\n"
    "                        the new one, whole); default: standard output\n"
    "      --allow-shared-dir  write it also in a directory other users can write (/tmp; refused\n"
    "                        by default: they could swap it)\n"
    "  -m, --model FILE      also lock this model file (GGUF, split GGUF, safetensors file, index\n"
    "                        or directory; repeatable); URLs are left out\n"
    "      --hash-models     the sha256 of every model file whole, not only of its header (reads\n"
    "                        every byte: minutes for large models)\n"
    "  -g, --gpu LIST        judge against these GPUs (like mlgate scan --gpu), recorded in the lock:\n"
    "                        drift judges against them too. Default: this machine's GPUs\n"
    "  -d, --driver VER      the driver for PTX reasoning (580.95.05 or 580), recorded too\n"
    "      --arch CPU        the host's CPU of named GPUs, x86_64 or aarch64\n"
    "  -j, --threads N       scan and hash workers (default: one per CPU)\n"
    "      --json            errors as JSON on standard output (the lock itself is JSON)\n"
    "  -h, --help            this help\n"
    "\n"
    "Deterministic: the same state gives the same bytes (sorted, no timestamps). Paths are kept\n"
    "as given: run drift from the same directory. Container images are not locked yet.\n"
    "\n"
    "Examples:\n"
    "  mlgate lock host.yaml -o mlgate.lock && git add mlgate.lock\n"
    "  mlgate lock --gpu 'RTX 5090' ./venv /opt/llama/bin -m models/qwen.gguf -o mlgate.lock\n"
    "\n"
    "Exit status: 0 the lock was written, 2 usage error, an input that does not exist, a matrix\n"
    "that does not parse, or a lock file that cannot be written.\n";

static const char drift_help[] =
    "usage: mlgate drift [options] LOCK\n"
    "\n"
    "Compares this machine now with a lock file written by mlgate lock: the GPUs, driver, CUDA\n"
    "driver and kernel, every file with CUDA code (its sha256, and its verdict per GPU rescanned),\n"
    "the Python environments' packages and the model files' headers, collected again from the\n"
    "paths the lock was made from (run it from the same directory). Each change is one line with\n"
    "what it does to a verdict, '!' before those that matter - a verdict got worse, something\n"
    "locked is gone, a model file is not the same:\n"
    "  driver 575.64.03 -> 580.95.05: PTX ISA 8.8 now JITs (venv/lib/libptx.so)\n"
    "  torch 2.9.1+cu128 -> 2.10.0+cpu: CUDA gone\n"
    "  venv/lib/libfish.so sha256 changed: sm_120 no longer covered\n"
    "  model models/qwen.gguf header changed\n"
    "A matrix's host: lock: FILE makes this part of mlgate check's smoke stage.\n"
    "\n"
    "  -g, --gpu LIST        judge against these GPUs instead of those the lock was made for (the\n"
    "                        GPUs lock was given, else this machine's)\n"
    "  -d, --driver VER      this driver instead of the lock's --driver (else the detected one)\n"
    "      --arch CPU        the host's CPU of named GPUs, x86_64 or aarch64\n"
    "  -q, --quiet           only the changes that matter\n"
    "  -j, --threads N       scan and hash workers (default: one per CPU)\n"
    "      --json            {kind, subject, before, after, matters, verdict_change} per change\n"
    "                        (docs/lock.md)\n"
    "      --color WHEN      auto, always or never\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 nothing that matters changed, 1 a verdict changed or a checked thing is gone,\n"
    "2 usage error or a lock file that cannot be read.\n";

static int is_matrix(const char *path)
{
    size_t n = strlen(path);
    struct stat st;
    return ((n > 5 && !strcmp(path + n - 5, ".yaml")) || (n > 4 && !strcmp(path + n - 4, ".yml"))) &&
           !(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

/* An input that is not there is a typo, not a state to lock (drift, later, reports what went away). */
static int missing(const char *path)
{
    struct stat st;
    return !strstr(path, "://") && lstat(path, &st) != 0;
}

static const char *first_missing(const mg_lock_opts *o, const mg_matrix *m)
{
    for (size_t i = 0; i < o->npaths; i++)
        if (missing(o->paths[i]))
            return o->paths[i];
    for (size_t i = 0; i < o->nmodels; i++)
        if (missing(o->models[i]))
            return o->models[i];
    for (size_t i = 0; m && i < mg_matrix_count(m); i++) {
        const mg_matrix_model *md = mg_matrix_model_at(m, i);
        for (size_t k = 0; k < md->nbinaries; k++)
            if (missing(md->binaries[k]))
                return md->binaries[k];
        if (md->file && missing(md->file))
            return md->file;
    }
    return NULL;
}

static int threads_arg(const char *cmd, int json, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 256)
        return cli_usage(cmd, json, "--threads wants 1..256");
    *out = (int)v;
    return -1;
}

/* ---- mlgate lock ---- */

int cmd_lock(int argc, char **argv)
{
    enum { O_HASH = 256, O_ARCH, O_JSON, O_SHARED };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"model", required_argument, 0, 'm'},
        {"hash-models", no_argument, 0, O_HASH}, {"gpu", required_argument, 0, 'g'},
        {"driver", required_argument, 0, 'd'}, {"arch", required_argument, 0, O_ARCH},
        {"threads", required_argument, 0, 'j'}, {"json", no_argument, 0, O_JSON},
        {"allow-shared-dir", no_argument, 0, O_SHARED}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = wants_json(argc, argv), c, rc, shared = 0;
    const char *output = NULL;
    const char **models = calloc((size_t)argc + 1, sizeof *models);   /* every -m at most */
    mg_lock_opts o = {0};
    if (!models)
        return cli_fail("lock", json, EXIT_USAGE, MG_E_NOMEM, "out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:m:g:d:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'm': models[o.nmodels++] = optarg; break;
        case O_HASH: o.hash_models = 1; break;
        case 'g': o.gpus = optarg; break;
        case 'd': o.driver = optarg; break;
        case O_ARCH: o.arch = optarg; break;
        case 'j':
            if ((rc = threads_arg("lock", json, optarg, &o.threads)) >= 0) {
                free(models);
                return rc;
            }
            break;
        case O_JSON: break;
        case O_SHARED: shared = 1; break;
        case 'h': fputs(lock_help, stdout); free(models); return EXIT_PASS;
        default: free(models); return cli_usage("lock", json, "unknown option (see 'mlgate lock --help')");
        }
    }
    o.models = models;
    o.paths = (const char *const *)argv + optind;
    o.npaths = (size_t)(argc - optind);
    if (!o.npaths && !o.nmodels) {
        free(models);
        fprintf(stderr, "mlgate lock: no MATRIX or PATH given\n%s", lock_help);
        return json ? cli_usage("lock", json, "no MATRIX or PATH given") : EXIT_USAGE;
    }
    char err[1024] = "";
    mg_lock *l = NULL;
    mg_matrix *m = NULL;
    if (o.npaths == 1 && is_matrix(o.paths[0])) {
        if ((rc = mg_matrix_load(o.paths[0], &m, err, sizeof err))) {
            free(models);
            return cli_fail("lock", json, EXIT_USAGE, (mg_err)rc, "%s", err);
        }
        o.paths = NULL, o.npaths = 0;
    }
    const char *gone = first_missing(&o, m);
    if (gone) {
        free(models);
        mg_matrix_free(m);
        return cli_fail("lock", json, EXIT_USAGE, MG_E_NOTFOUND, "%s: no such file or directory", shown(gone));
    }
    rc = m ? mg_matrix_lock(m, &o, &l, err, sizeof err) : mg_lock_collect(&o, &l, err, sizeof err);
    free(models);
    mg_matrix_free(m);
    if (rc)
        return cli_fail("lock", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    if (!output)
        mg_lock_json(stdout, l);
    else if ((rc = mg_lock_write(l, output, shared ? MG_LOCK_SHARED_OK : 0, err, sizeof err))) {
        mg_lock_free(l);
        return cli_fail("lock", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    }
    mg_lock_counts n;
    mg_lock_count(l, &n);
    char a[64], b[64], d[64], e[64];
    fprintf(stderr, "mlgate lock: %s%s: %s, %s (%zu failing somewhere), %s (%zu packages), %s\n",
            output ? "wrote " : "locked", output ? shown(output) : "", plural(n.gpus, "GPU", "GPUs", a, sizeof a),
            plural(n.binaries, "file with CUDA code", "files with CUDA code", b, sizeof b), n.failing,
            plural(n.pyenvs, "Python environment", "Python environments", d, sizeof d), n.packages,
            plural(n.models, "model file", "model files", e, sizeof e));
    if (n.failing)
        fprintf(stderr, "mlgate lock: note: %zu file%s do%s not run on every GPU (or cannot be read); locked as "
                "they are\n", n.failing, n.failing == 1 ? "" : "s", n.failing == 1 ? "es" : "");
    if (n.model_errors)
        fprintf(stderr, "mlgate lock: note: %zu model file%s cannot be read; locked with the error\n", n.model_errors,
                n.model_errors == 1 ? "" : "s");
    if (n.skipped_urls)
        fprintf(stderr, "mlgate lock: note: %zu model URL%s left out: only local files are locked\n", n.skipped_urls,
                n.skipped_urls == 1 ? "" : "s");
    mg_lock_free(l);
    return EXIT_PASS;
}

/* ---- mlgate drift ---- */

int cmd_drift(int argc, char **argv)
{
    enum { O_ARCH = 256, O_JSON, O_COLOR };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'}, {"driver", required_argument, 0, 'd'},
        {"arch", required_argument, 0, O_ARCH}, {"quiet", no_argument, 0, 'q'},
        {"threads", required_argument, 0, 'j'}, {"json", no_argument, 0, O_JSON},
        {"color", required_argument, 0, O_COLOR}, {"colour", required_argument, 0, O_COLOR},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = wants_json(argc, argv), quiet = 0, c, rc;
    const char *when = "auto";
    mg_drift_opts o = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:d:qj:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': o.gpus = optarg; break;
        case 'd': o.driver = optarg; break;
        case O_ARCH: o.arch = optarg; break;
        case 'q': quiet = 1; break;
        case 'j':
            if ((rc = threads_arg("drift", json, optarg, &o.threads)) >= 0)
                return rc;
            break;
        case O_JSON: break;
        case O_COLOR: when = optarg; break;
        case 'h': fputs(drift_help, stdout); return EXIT_PASS;
        default: return cli_usage("drift", json, "unknown option (see 'mlgate drift --help')");
        }
    }
    if (optind != argc - 1) {
        if (optind == argc && !json)
            fprintf(stderr, "mlgate drift: no LOCK given\n%s", drift_help);
        return optind == argc && !json ? EXIT_USAGE : cli_usage("drift", json, "give one LOCK file");
    }
    if (out_colour_init(when, stdout))
        return cli_usage("drift", json, "--color wants auto, always or never");
    const char *path = argv[optind];
    char err[1024] = "";
    mg_drift *d;
    if ((rc = mg_drift_run(path, &o, &d, err, sizeof err)))
        return cli_fail("drift", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    if (json) {
        mg_drift_json(stdout, d);
    } else {
        size_t n = mg_drift_count(d), m = mg_drift_matters(d);
        for (size_t i = 0; i < n; i++) {
            const mg_drift_change *x = mg_drift_at(d, i);
            if (quiet && !x->matters)
                continue;
            printf("%s%s%s %s\n", col(x->matters ? C_RED : C_DIM), x->matters ? "!" : " ", col(C_RESET),
                   shown(x->text));
        }
        char a[64];
        if (!n)
            printf("%sno drift%s since %s\n", col(C_GREEN), col(C_RESET), shown(path));
        else
            printf("%s since %s: %zu matter%s\n", plural(n, "change", "changes", a, sizeof a), shown(path), m,
                   m == 1 ? "s" : "");
    }
    rc = mg_drift_exit_status(d);
    mg_drift_free(d);
    return rc;
}
