/* cli.h - what the subcommand files share: the command table entry type and output helpers. */
#ifndef MG_CLI_H
#define MG_CLI_H

#include <stdint.h>
#include <stdio.h>

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

/* Exit codes shared by every subcommand. */
enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* ---- colour (cli/out.c) ---- */
typedef enum { C_RESET, C_BOLD, C_DIM, C_GREEN, C_YELLOW, C_RED, C_MAGENTA, C_CYAN } colour;
/* Decides once: "auto" (tty and no NO_COLOR), "always", "never". */
int out_colour_init(const char *mode, FILE *f);
const char *col(colour c);
const char *human_bytes(uint64_t n, char *buf, size_t len);
/* 7.62 B, 68.1 K: parameter counts. */
const char *human_count(uint64_t n, char *buf, size_t len);
int parse_size(const char *s, uint64_t *out);
/* A GGUF by its magic; a path that cannot be opened (a URL) by its name. Else safetensors. */
int path_is_gguf(const char *path);

/* targets.c: GPUs to judge against (fit, plan); -1 after printing why */
struct mg_fit_device;
int targets_from_gpus(const char *cmd, const char *list, struct mg_fit_device *d, size_t *n);
int targets_from_vram(const char *cmd, const char *list, struct mg_fit_device *d, size_t *n);
size_t targets_detect(struct mg_fit_device *d);
/* plan and check: --gpu/--vram, else the matrix's host: gpus:/vram:, else this machine's; whole memory */
struct mg_matrix;
int targets_for_matrix(const char *cmd, const char *gpus, const char *vram, const struct mg_matrix *m,
                       struct mg_fit_device *d, size_t *n);

/* ---- JSON writer (cli/json.c): commas and escaping handled here ---- */
typedef struct jw {
    FILE *f;
    int depth;
    unsigned char need_comma[64];
    int after_key;
} jw;

void jw_begin_obj(jw *w);
void jw_end_obj(jw *w);
void jw_begin_arr(jw *w);
void jw_end_arr(jw *w);
void jw_key(jw *w, const char *k);
void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t n);
void jw_int(jw *w, long long v);
void jw_uint(jw *w, unsigned long long v);
void jw_num(jw *w, double v);
void jw_bool(jw *w, int v);
void jw_null(jw *w);

#endif
