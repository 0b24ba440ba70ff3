/*
 * explain.h - `mlgate explain`: an error message or a whole log matched against a knowledge base of
 * known failures (lib/explain/tables/failures.c), each with its cause, its fix, a reference and what
 * mlgate can check about it on this machine - and the check run.
 */
#ifndef MLGATE_EXPLAIN_H
#define MLGATE_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/core.h"
#include "mlgate/target.h"

/* One failure the knowledge base knows (a row of lib/explain/tables/failures.c); opaque, read with the accessors. */
typedef struct mg_kb_entry mg_kb_entry;

/*
 * The best single match in text[0..len), or NULL: what `check` and `doctor` attach to a failure.
 * Thread-safe and without side effects (the matcher is built once, under pthread_once); linear in len, of
 * which at most the first MG_EXPLAIN_MAX_INPUT bytes are read.
 */
MG_API const mg_kb_entry *mg_explain_match(const char *text, size_t len);

MG_API const char *mg_kb_id(const mg_kb_entry *e);          /* "cuda-no-kernel-image" */
MG_API const char *mg_kb_title(const mg_kb_entry *e);       /* one line */
MG_API const char *mg_kb_cause(const mg_kb_entry *e);
MG_API const char *mg_kb_fix(const mg_kb_entry *e);
MG_API const char *mg_kb_reference(const mg_kb_entry *e);   /* the first reference URL */
MG_API size_t mg_kb_count(void);
MG_API const mg_kb_entry *mg_kb_at(size_t i);
MG_API const mg_kb_entry *mg_kb_find(const char *id);

/* The largest input explained (bigger is refused with MG_E_LIMIT: give its tail). */
#define MG_EXPLAIN_MAX_INPUT (16u << 20)

/*
 * A file's text ("-": standard input), at most MG_EXPLAIN_MAX_INPUT bytes, NUL-terminated in a new
 * buffer (free it). Only regular files (no FIFO or device can block it); standard input is read up to
 * the cap. MG_E_IO / MG_E_LIMIT with err.
 */
MG_API int mg_explain_read(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* What to check beyond the default (this machine's GPUs). Everything optional. */
typedef struct mg_explain_opts {
    int no_check;                       /* match only: run no check */
    const char *gpus;                   /* judge against these GPUs (names, sm_XY), not this machine's */
    const char *const *paths;           /* no kernel image: the binaries, venvs, wheels to scan */
    size_t npaths;
    const char *model;                  /* unknown architecture: the GGUF to read */
    const char *const *pythons;         /* Python environments to look at (default: the usual places) */
    size_t npythons;
    const struct mg_host_paths *host;   /* where detection looks; NULL: this machine */
} mg_explain_opts;

/* A number or a word the matched text carries ("tried" 7.03 GiB, "arch" 'deepseek3_2'). */
typedef enum mg_fact_kind { MG_FACT_SIZE = 0, MG_FACT_INT, MG_FACT_STR } mg_fact_kind;
typedef struct mg_explain_fact {
    const char *key;        /* "tried", "total", "free", "reserved", "gpu", "code", "sm", "arch", "module", ... */
    uint8_t kind;           /* mg_fact_kind */
    uint64_t num;           /* SIZE: bytes; INT: the value */
    char text[96];          /* as written ("7.03 GiB"), or the word */
} mg_explain_fact;

typedef enum mg_check_status {
    MG_CHECK_NONE = 0,      /* the entry has no check */
    MG_CHECK_SKIPPED,       /* --no-check */
    MG_CHECK_RAN,           /* lines say what was found */
    MG_CHECK_UNAVAILABLE    /* it could not run here; lines say why ("no GPU visible here") */
} mg_check_status;

#define MG_EXPLAIN_MAX_FACTS 10
#define MG_EXPLAIN_MAX_ALSO 8

/* One matched failure. */
typedef struct mg_explain_hit {
    const mg_kb_entry *entry;
    uint64_t offset;        /* byte offset of the match in the input */
    uint32_t line_no;       /* its line, 1-based */
    char line[320];         /* the line (sanitised; a long one cut around the match) */
    size_t nfacts;
    mg_explain_fact facts[MG_EXPLAIN_MAX_FACTS];
    size_t nalso;           /* other entries that matched and this one explains (its consequences) */
    const mg_kb_entry *also[MG_EXPLAIN_MAX_ALSO];
    uint8_t check_status;   /* mg_check_status */
    char check[2048];       /* what the check found, lines separated by '\n' */
} mg_explain_hit;

typedef struct mg_explain mg_explain;

/*
 * Matches text[0..len) (at most MG_EXPLAIN_MAX_INPUT bytes) and runs each match's check unless
 * o->no_check. Matches come most specific first (a cause before its consequences), each id once.
 * MG_E_ARG / MG_E_LIMIT / MG_E_NOMEM with err; free *out with mg_explain_free.
 */
MG_API int mg_explain_run(const char *text, size_t len, const mg_explain_opts *o, mg_explain **out, char *err,
                          size_t errlen);
MG_API size_t mg_explain_count(const mg_explain *x);
MG_API const mg_explain_hit *mg_explain_at(const mg_explain *x, size_t i);
/* `mlgate explain --json` (docs/explain.md). */
MG_API void mg_explain_json(FILE *f, const mg_explain *x);
MG_API void mg_explain_free(mg_explain *x);

#endif
