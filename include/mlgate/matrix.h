/* matrix.h - the model matrix (which models a host serves, docs/matrix.md) and its memory plan. */
#ifndef MLGATE_MATRIX_H
#define MLGATE_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "mlgate/model.h"

typedef enum { MG_KIND_LLM, MG_KIND_VLM, MG_KIND_TTS, MG_KIND_ASR, MG_KIND_EMBEDDING, MG_KIND_IMAGE } mg_model_kind;
const char *mg_kind_name(mg_model_kind k);

#define MG_MATRIX_MAX_MODELS 256
#define MG_MATRIX_MAX_LIST 32     /* exec argv, binaries */

/* What the inference stage sends and expects (all optional; defaults by kind). */
typedef struct mg_probe {
    const char *prompt;         /* llm/vlm/embedding input, tts text, image prompt */
    uint32_t max_tokens;        /* llm/vlm: 8 */
    const char *voice;          /* tts */
    uint32_t dimensions;        /* embedding: the vector length expected (0: any) */
    uint32_t width, height;     /* image: the size requested and checked */
    const char *expect;         /* exec: a substring the output must contain */
} mg_probe;

typedef struct mg_matrix_model {
    const char *name;
    mg_model_kind kind;
    const char *endpoint;       /* OpenAI-compatible base URL, or NULL with exec */
    const char *exec[MG_MATRIX_MAX_LIST + 1];   /* argv, NULL-terminated; never run through a shell */
    size_t nexec;
    const char *model;          /* the served model id */
    const char *file;           /* GGUF / safetensors to inspect (path or URL), or NULL */
    uint64_t memory;            /* declared GPU memory in bytes; 0: derived from file */
    uint64_t ram;               /* declared host RAM in bytes (0: none declared) */
    uint64_t ctx;               /* context the memory is derived at (0: 8192) */
    int on_demand;              /* residency: on-demand (1) or resident (0, the default) */
    int gpu;                    /* pinned GPU index, -1: any */
    const char *binaries[MG_MATRIX_MAX_LIST];
    size_t nbinaries;
    const char *capability;     /* the tool name it backs, e.g. voice.synthesize */
    mg_probe probe;
    double timeout;             /* seconds for the inference stage (default 30) */
    const char *api_key_env;    /* environment variable whose value is sent as a bearer token */
    int line;                   /* where the entry starts in the matrix file */
} mg_matrix_model;

typedef struct mg_matrix {
    const char *path;
    double headroom;            /* fraction of each GPU kept free (0.10) */
    const char *receipts;       /* SQLite receipts database */
    const char *capabilities;   /* capability file */
    const char *gpus;           /* target GPUs by name ("RTX PRO 6000,RTX 5090"), or NULL: detect */
    const char *vram;           /* target GPU sizes ("96G,32G"), or NULL */
    double deadline;            /* seconds for the whole gate (default 120) */
    mg_matrix_model models[MG_MATRIX_MAX_MODELS];
    size_t nmodels;
    struct mg_arena *arena;
} mg_matrix;

/*
 * Parses a matrix from text (name is used in messages). Errors, unknown keys and bad values give
 * MG_E_FORMAT with "name:line:column: what" in err; the first error stops the parse. *out is
 * freed with mg_matrix_free.
 */
int mg_matrix_parse(const char *text, size_t len, const char *name, mg_matrix **out, char *err, size_t errlen);
int mg_matrix_load(const char *path, mg_matrix **out, char *err, size_t errlen);
void mg_matrix_free(mg_matrix *m);

/* "24G", "512 MiB", "1.5GiB", "4096" (bytes; K/M/G/T are powers of 1024) -> bytes; -1 if not a size. */
int mg_parse_size(const char *s, uint64_t *out);

/* ---- mlgate plan: do the models fit together? ---- */

#define MG_PLAN_MAX_GPU MG_FIT_MAX_DEV

typedef struct mg_plan_model {
    uint64_t need;              /* GPU bytes: declared, or fit's full-offload need at ctx */
    uint64_t ram;               /* host bytes beside it */
    const char *source;         /* "declared", "gguf", "safetensors", "none" */
    uint64_t weights;           /* from the file: bytes of weights (for the quantize fix) */
    double bpw;                 /* from a GGUF: bits per weight */
    int gpu;                    /* where it goes, -1: nowhere */
    int fits;                   /* resident: placed; on-demand: fits beside the residents */
    int conflicts[MG_MATRIX_MAX_MODELS];   /* on-demand: others it cannot be loaded together with */
    size_t nconflicts;
    char why[512];              /* when it does not fit, or what it could not read */
    const char *note;           /* e.g. no memory declared: counted as 0 (a CPU-only model) */
} mg_plan_model;

typedef struct mg_plan {
    size_t ngpus;
    mg_fit_device gpus[MG_PLAN_MAX_GPU];
    uint64_t usable[MG_PLAN_MAX_GPU], resident[MG_PLAN_MAX_GPU];
    mg_plan_model models[MG_MATRIX_MAX_MODELS];
    uint64_t resident_need, usable_total;
    int ok;                     /* every resident placed and every on-demand model fits beside them */
    char fixes[4][256];         /* the cheapest ways out, when not ok */
    size_t nfixes;
} mg_plan;

/* "167.0 GiB", "512 B" into buf (what the CLI prints everywhere) */
const char *mg_human(uint64_t bytes, char buf[32]);

/* Memory of each model (declared or from its file) and their placement on the GPUs. */
int mg_plan_make(const mg_matrix *m, const mg_fit_device *gpus, size_t ngpus, double headroom, mg_plan *out);

#endif
