/* history.c - `mlgate history`: recent gate runs from the receipts database, and the models that flap. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlgate/mlgate.h"
#include "mlgate/check.h"

static const char help[] =
    "usage: mlgate history [options] (MATRIX.yaml | --receipts DB)\n"
    "\n"
    "Per model over the last runs of `mlgate check`: how many runs, how many passed, how often the\n"
    "verdict flipped (a model that flips is flapping: it passes sometimes and fails sometimes), its\n"
    "state in the newest run and its newest failure.\n"
    "\n"
    "      --receipts DB     the SQLite database (default: the matrix's receipts:)\n"
    "  -n, --runs N          how many recent runs (default 20)\n"
    "      --json            machine-readable\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 read, 1 some model is flapping or failing now, 2 usage error or no database.\n";

typedef struct acc {
    jw *w;
    int bad;
} acc;

static void row(const mg_history_row *h, void *arg)
{
    acc *a = arg;
    int flapping = h->flips >= 2;
    a->bad |= flapping || !h->last_ok;
    if (a->w) {
        jw *w = a->w;
        jw_begin_obj(w);
        jw_key(w, "model"); jw_str(w, h->model);
        jw_key(w, "runs"); jw_int(w, h->runs);
        jw_key(w, "passed"); jw_int(w, h->passed);
        jw_key(w, "flips"); jw_int(w, h->flips);
        jw_key(w, "flapping"); jw_bool(w, flapping);
        jw_key(w, "last_ok"); jw_bool(w, h->last_ok);
        jw_key(w, "last_failure"); jw_str(w, h->last_reason);
        jw_key(w, "last_run"); jw_str(w, h->last_run);
        jw_end_obj(w);
        return;
    }
    printf("%s%-4s%s %-22s %3d/%-3d passed  %d flip%s%s  last %s\n", col(h->last_ok ? C_GREEN : C_RED),
           h->last_ok ? "ok" : "FAIL", col(C_RESET), h->model, h->passed, h->runs, h->flips, h->flips == 1 ? "" : "s",
           flapping ? "  FLAPPING" : "", h->last_run ? h->last_run : "?");
    if (h->last_reason && (!h->last_ok || flapping))
        printf("      newest failure: %s\n", h->last_reason);
}

int cmd_history(int argc, char **argv)
{
    enum { O_RECEIPTS = 256, O_JSON };
    static const struct option opts[] = {
        {"receipts", required_argument, 0, O_RECEIPTS}, {"runs", required_argument, 0, 'n'},
        {"json", no_argument, 0, O_JSON}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *db = NULL;
    int n = 20, json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (c) {
        case O_RECEIPTS: db = optarg; break;
        case 'n': n = atoi(optarg); break;
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return EXIT_USAGE;
        }
    }
    char err[512];
    mg_matrix *m = NULL;
    if (!db && optind == argc - 1) {
        if (mg_matrix_load(argv[optind], &m, err, sizeof err)) {
            fprintf(stderr, "mlgate history: %s\n", err);
            return EXIT_USAGE;
        }
        db = m->receipts;
    }
    if (!db || n < 1) {
        fprintf(stderr, "mlgate history: give a matrix with receipts: or --receipts DB, and --runs >= 1\n");
        mg_matrix_free(m);
        return EXIT_USAGE;
    }
    jw w = {stdout, 0, {0}, 0};
    acc a = {json ? &w : NULL, 0};
    if (json) {
        jw_begin_obj(&w);
        jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
        jw_key(&w, "command"); jw_str(&w, "history");
        jw_key(&w, "runs"); jw_int(&w, n);
        jw_key(&w, "models");
        jw_begin_arr(&w);
    }
    int rc = mg_receipts_history(db, n, row, &a, err, sizeof err);
    if (json) {
        jw_end_arr(&w);
        jw_end_obj(&w);
        putchar('\n');
    }
    mg_matrix_free(m);
    if (rc) {
        fprintf(stderr, "mlgate history: %s\n", err);
        return EXIT_USAGE;
    }
    return a.bad ? EXIT_FAIL : EXIT_PASS;
}
