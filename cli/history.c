/* history.c - `mlgate history`: recent gate runs from the receipts database, and the models that flap. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

static void print_rows(const mg_history *h)
{
    for (size_t i = 0; i < mg_history_count(h); i++) {
        const mg_history_row *x = mg_history_row_at(h, i);
        printf("%s%-4s%s %-22s %3d/%-3d passed  %d flip%s%s  last %s\n", col(x->last_ok ? C_GREEN : C_RED),
               x->last_ok ? "ok" : "FAIL", col(C_RESET), x->model, x->passed, x->runs, x->flips, x->flips == 1 ? "" : "s",
               x->flapping ? "  FLAPPING" : "", x->last_run ? x->last_run : "?");
        if (x->last_reason && (!x->last_ok || x->flapping))
            printf("      newest failure: %s\n", x->last_reason);
    }
}

int cmd_history(int argc, char **argv)
{
    enum { O_RECEIPTS = 256, O_JSON };
    static const struct option opts[] = {
        {"receipts", required_argument, 0, O_RECEIPTS}, {"runs", required_argument, 0, 'n'},
        {"json", no_argument, 0, O_JSON}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *db = NULL;
    int n = 20, json = wants_json(argc, argv), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (c) {
        case O_RECEIPTS: db = optarg; break;
        case 'n': n = atoi(optarg); break;
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: return cli_usage("history", json, "unknown option (see 'mlgate history --help')");
        }
    }
    char err[512];
    mg_matrix *m = NULL;
    if (!db && optind == argc - 1) {
        int rc = mg_matrix_load(argv[optind], &m, err, sizeof err);
        if (rc)
            return cli_fail("history", json, EXIT_USAGE, (mg_err)rc, "%s", err);
        db = mg_matrix_get_host(m)->receipts;
    }
    mg_history *h = NULL;
    int rc;
    if (!db || n < 1)
        rc = cli_usage("history", json, "give a matrix with receipts: or --receipts DB, and --runs >= 1");
    else if ((rc = mg_history_read(db, n, &h, err, sizeof err)))
        rc = cli_fail("history", json, EXIT_USAGE, (mg_err)rc, "%s", err);
    else {
        if (json)
            mg_history_json(stdout, h);
        else {
            out_colour_init("auto", stdout);
            print_rows(h);
        }
        rc = mg_history_exit_status(h) ? EXIT_FAIL : EXIT_PASS;
    }
    mg_history_free(h);
    mg_matrix_free(m);
    return rc;
}
