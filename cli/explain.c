/* explain.c - `mlgate explain`: an error message or a log in, its known causes, fixes and checks out (the library matches and writes the JSON). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: mlgate explain [options] TEXT...\n"
    "   or: mlgate explain [options] FILE | -\n"
    "\n"
    "Matches an error message or a whole log against mlgate's knowledge base of known\n"
    "failures (CUDA errors, PyTorch, Triton, llama.cpp, containers, memory) and prints,\n"
    "for each failure found: its id, the line it was found on, the cause, what mlgate\n"
    "checked about it on this machine (the GPUs, their driver, the torch installed, the\n"
    "memory ...), the fix and a reference. A FILE or - (standard input) is read whole, at\n"
    "most 16 MiB; arguments that are not a file are the text itself.\n"
    "\n"
    "      --no-check        only match: check nothing on this machine\n"
    "  -g, --gpu LIST        check against these GPUs (names, sm_XY) instead of this machine's\n"
    "      --path P          no kernel image: scan P (a venv, a library, a wheel) for code for\n"
    "                        the GPUs and name the files without it (repeatable)\n"
    "      --model FILE      unknown model architecture: read this GGUF's architecture and say\n"
    "                        which llama.cpp build loads it\n"
    "      --python P        Python environments to look at (python, venv or site-packages;\n"
    "                        repeatable; default: the usual places)\n"
    "      --list            print the knowledge base's ids and titles and exit\n"
    "      --json            machine-readable (docs/explain.md)\n"
    "      --color WHEN      auto, always or never\n"
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  mlgate explain 'CUDA error: no kernel image is available for execution on the device'\n"
    "  mlgate explain --path ./venv server.log\n"
    "  docker logs vllm 2>&1 | mlgate explain -\n"
    "  mlgate explain --model model.gguf \"unknown model architecture: 'deepseek3_2'\"\n"
    "  mlgate explain --json --no-check crash.txt\n"
    "\n"
    "Exit status: 0 a known cause was found, 1 no known cause, 2 usage error or unreadable input.\n";

#define MAX_LIST 16

static void print_hit(const mg_explain_hit *h)
{
    printf("%s%s%s  %s\n", col(C_BOLD), mg_kb_id(h->entry), col(C_RESET), mg_kb_title(h->entry));
    printf("  %sline %u:%s %s\n", col(C_DIM), h->line_no, col(C_RESET), h->line);
    if (h->nfacts) {
        printf("  %sfound:%s", col(C_DIM), col(C_RESET));
        for (size_t i = 0; i < h->nfacts; i++)
            printf("%s %s %s", i ? "," : "", h->facts[i].key, shown(h->facts[i].text));
        printf("\n");
    }
    printf("  %scause:%s %s\n", col(C_YELLOW), col(C_RESET), mg_kb_cause(h->entry));
    if (h->check[0]) {
        printf("  %shere:%s", col(C_CYAN), col(C_RESET));
        const char *p = h->check;
        for (int first = 1; *p; first = 0) {
            size_t n = strcspn(p, "\n");
            char seg[2048];
            snprintf(seg, sizeof seg, "%.*s", (int)n, p);
            printf("%s%s\n", first ? " " : "        ", shown(seg));
            p += n;
            if (*p)
                p++;
        }
    } else if (h->check_status == MG_CHECK_SKIPPED) {
        printf("  %shere:%s not checked (--no-check)\n", col(C_CYAN), col(C_RESET));
    }
    printf("  %sfix:%s   %s\n", col(C_GREEN), col(C_RESET), mg_kb_fix(h->entry));
    printf("  %ssee:%s   %s\n", col(C_DIM), col(C_RESET), mg_kb_reference(h->entry));
    for (size_t i = 0; i < h->nalso; i++)
        printf("  %salso:%s  %s (%s), a consequence of it\n", col(C_DIM), col(C_RESET), mg_kb_id(h->also[i]),
               mg_kb_title(h->also[i]));
}

/* The input: "-" (standard input) or one argument naming something that exists (a file; a FIFO or a
 * directory is refused), else the arguments themselves, joined by spaces. */
static int input(int argc, char **argv, int json, char **text, size_t *len)
{
    char err[512];
    if (argc == 1 && (!strcmp(argv[0], "-") || access(argv[0], F_OK) == 0)) {
        int rc = mg_explain_read(argv[0], text, len, err, sizeof err);
        return rc ? cli_fail("explain", json, EXIT_USAGE, (mg_err)rc, "%s: %s", shown(argv[0]), err) : 0;
    }
    size_t n = 0;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    if (n > MG_EXPLAIN_MAX_INPUT)
        return cli_usage("explain", json, "the text is larger than 16 MiB");
    char *t = malloc(n + 1);
    if (!t)
        return cli_fail("explain", json, EXIT_USAGE, MG_E_NOMEM, "out of memory");
    size_t w = 0;
    for (int i = 0; i < argc; i++) {
        size_t k = strlen(argv[i]);
        memcpy(t + w, argv[i], k);
        w += k;
        t[w++] = i + 1 < argc ? ' ' : '\n';
    }
    t[w] = 0;
    *text = t;
    *len = w;
    return 0;
}

int cmd_explain(int argc, char **argv)
{
    enum { O_NO_CHECK = 256, O_PATH, O_MODEL, O_PYTHON, O_LIST, O_JSON, O_COLOR };
    static const struct option opts[] = {
        {"no-check", no_argument, 0, O_NO_CHECK}, {"gpu", required_argument, 0, 'g'},
        {"path", required_argument, 0, O_PATH},   {"model", required_argument, 0, O_MODEL},
        {"python", required_argument, 0, O_PYTHON}, {"list", no_argument, 0, O_LIST},
        {"json", no_argument, 0, O_JSON},         {"color", required_argument, 0, O_COLOR},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0},
    };
    mg_explain_opts o = {0};
    const char *paths[MAX_LIST], *pythons[MAX_LIST], *colour_mode = "auto";
    int json = wants_json(argc, argv), list = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:h", opts, NULL)) != -1) {
        switch (c) {
        case O_NO_CHECK: o.no_check = 1; break;
        case 'g': o.gpus = optarg; break;
        case O_PATH:
            if (o.npaths == MAX_LIST)
                return cli_usage("explain", json, "at most %d --path", MAX_LIST);
            paths[o.npaths++] = optarg;
            break;
        case O_MODEL: o.model = optarg; break;
        case O_PYTHON:
            if (o.npythons == MAX_LIST)
                return cli_usage("explain", json, "at most %d --python", MAX_LIST);
            pythons[o.npythons++] = optarg;
            break;
        case O_LIST: list = 1; break;
        case O_JSON: json = 1; break;
        case O_COLOR: colour_mode = optarg; break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: return cli_usage("explain", json, "unknown option (see 'mlgate explain --help')");
        }
    }
    o.paths = paths;
    o.pythons = pythons;
    if (out_colour_init(colour_mode, stdout))
        return cli_usage("explain", json, "--color wants auto, always or never, not '%s'", colour_mode);
    if (list) {
        for (size_t i = 0; i < mg_kb_count(); i++)
            printf("%-28s %s\n", mg_kb_id(mg_kb_at(i)), mg_kb_title(mg_kb_at(i)));
        return EXIT_PASS;
    }
    if (optind >= argc)
        return cli_usage("explain", json, "give an error TEXT, a FILE or - for standard input");
    char *text = NULL;
    size_t len = 0;
    int rc = input(argc - optind, argv + optind, json, &text, &len);
    if (rc)
        return rc;
    char err[512];
    mg_explain *x = NULL;
    rc = mg_explain_run(text, len, &o, &x, err, sizeof err);
    free(text);
    if (rc)
        return cli_fail("explain", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    size_t n = mg_explain_count(x);
    if (json) {
        mg_explain_json(stdout, x);
    } else if (!n) {
        printf("no known cause: mlgate's knowledge base (mlgate explain --list) has no entry that matches.\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i)
                printf("\n");
            print_hit(mg_explain_at(x, i));
        }
    }
    mg_explain_free(x);
    return n ? EXIT_PASS : EXIT_FAIL;
}
