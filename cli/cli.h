/* cli.h - what the command files share: the command table entry, exit codes, errors, colour and formatting. */
#ifndef MG_CLI_H
#define MG_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "mlgate/mlgate.h"

struct cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

int cmd_scan(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_lock(int argc, char **argv);    /* cli/lock.c */
int cmd_drift(int argc, char **argv);   /* cli/lock.c */
int cmd_serve(int argc, char **argv);   /* daemon/serve.c */

/* Exit codes shared by every subcommand. */
enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/*
 * Says why a command failed: "mlgate CMD: message" on stderr and, with --json, the JSON error
 * object on stdout (so a --json caller always gets JSON). Returns `code` for the caller to exit with.
 */
int cli_fail(const char *cmd, int json, int code, mg_err e, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same for an option's value: "mlgate CMD: --opt wants ..." (usage error, exit 2). */
#define cli_usage(cmd, json, ...) cli_fail(cmd, json, EXIT_USAGE, MG_E_ARG, __VA_ARGS__)
/* --json anywhere on the command line: then even an error before it is parsed is said in JSON. */
int wants_json(int argc, char **argv);
/* Builds the targets a command judges against; on error says why and returns -1. */
int cli_targets(const char *cmd, int json, const mg_target_spec *s, mg_targets *out);

/* ---- terminal output (cli/out.c) ---- */
typedef enum { C_RESET, C_BOLD, C_DIM, C_GREEN, C_YELLOW, C_RED, C_MAGENTA, C_CYAN } colour;
/* Decides once: "auto" (tty and no NO_COLOR), "always", "never"; -1 for another word. */
int out_colour_init(const char *mode, FILE *f);
const char *col(colour c);
/* "the 1 model" / "the 2 models": n with the noun's singular or plural. */
const char *plural(size_t n, const char *one, const char *many, char *buf, size_t len);
/*
 * Text from a file, a binary or a server as the terminal may show it (mg_text_clean: no escape
 * sequences, valid UTF-8). The result lives until 8 more calls: enough for one printf.
 */
const char *shown(const char *s);
/* A target's name without the "GPU<n> " a detected GPU's name starts with ("GPU0 H200" -> "H200"). */
const char *gpu_model_name(const mg_target *t);

#endif
