/* model.h - model files: GGUF (and later safetensors) parsed from their headers. */
#ifndef MLGATE_MODEL_H
#define MLGATE_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* One row of the ggml type table (lib/tables/ggml.c). */
typedef struct mg_ggml_type {
    uint32_t id;
    const char *name;       /* "Q4_K" */
    uint32_t blck;          /* elements per block */
    uint32_t bytes;         /* bytes per block */
} mg_ggml_type;

/* NULL for unknown and removed ids. */
const mg_ggml_type *mg_ggml_type_get(uint32_t id);
uint32_t mg_ggml_type_count(void);

/*
 * Engine support (lib/tables/engines.c): the llama.cpp builds mlgate has read (b-numbers) and
 * what each knows. "since" is the first build read that has it (the oldest read build when it
 * is in all of them), 0 when none has it.
 */
int mg_llama_cpp_since(const char *arch);       /* general.architecture, exact match as llama.cpp */
int mg_llama_cpp_type_since(uint32_t type);     /* ggml tensor type */
int mg_llama_cpp_knows(const char *arch);       /* since != 0 */
int mg_llama_cpp_before(int build);             /* the build read before this one, 0 if none */
int mg_llama_cpp_oldest(void);
int mg_llama_cpp_newest(void);
const char *mg_llama_cpp_release(int build);    /* its 0.x release name ("0.7.0"), or NULL */
/* The spelling llama.cpp uses for a name that differs only in punctuation or case, or NULL. */
const char *mg_llama_cpp_spelling(const char *arch);
size_t mg_llama_cpp_count(void);

/* GGUF metadata value types. */
enum {
    MG_GGUF_U8 = 0, MG_GGUF_I8, MG_GGUF_U16, MG_GGUF_I16, MG_GGUF_U32, MG_GGUF_I32, MG_GGUF_F32,
    MG_GGUF_BOOL, MG_GGUF_STRING, MG_GGUF_ARRAY, MG_GGUF_U64, MG_GGUF_I64, MG_GGUF_F64, MG_GGUF_NTYPES
};

typedef struct mg_gguf_kv {
    const char *key;
    uint32_t type;          /* MG_GGUF_* */
    union { uint64_t u; int64_t i; double f; } v;   /* scalars (bool in u) */
    const char *str;        /* STRING: NUL-terminated copy (capped at 4 KiB); ARRAY of STRING: first element */
    uint32_t arr_type;      /* ARRAY: element type */
    uint64_t arr_count;     /* ARRAY: element count */
    uint64_t *arr_values;   /* ARRAY of integers/bools with at most 4096 elements: the values, else NULL */
} mg_gguf_kv;

typedef struct mg_gguf_tensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;          /* ggml type id */
    uint64_t offset;        /* relative to the data section */
    uint64_t nbytes;        /* 0 when the type is unknown */
} mg_gguf_tensor;

#define MG_GGUF_MAX_ISSUES 8

/* A parsed GGUF header: metadata, tensor table, totals. */
typedef struct mg_gguf {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    mg_gguf_kv *kv;
    mg_gguf_tensor *tensors;
    uint32_t alignment;
    uint64_t header_bytes;  /* where the data section starts (bytes of header to read remotely) */
    uint64_t data_bytes;    /* Σ padded tensor sizes: the data section's size */
    uint64_t params;        /* Σ elements */
    uint64_t bytes_by_type[64];
    uint64_t params_by_type[64];
    uint32_t unknown_types; /* tensors of a type this table does not know */
    size_t nissues;         /* what llama.cpp's own reader would reject, in words */
    const char *issues[MG_GGUF_MAX_ISSUES];
} mg_gguf;

struct mg_arena;

/*
 * Parses the GGUF header in buf (the whole file, or at least its header).
 * Returns MG_OK, MG_E_TRUNCATED when buf ends inside the header (need more
 * bytes: *need says how many if known), or another error with err filled.
 */
int mg_gguf_parse(const uint8_t *buf, size_t len, struct mg_arena *a, mg_gguf *out, uint64_t *need,
                  char *err, size_t errlen);

const mg_gguf_kv *mg_gguf_find(const mg_gguf *g, const char *key);
/* A numeric value as u64 (any integer type), or def. */
uint64_t mg_gguf_u64(const mg_gguf *g, const char *key, uint64_t def);
const char *mg_gguf_str(const mg_gguf *g, const char *key);

/* safetensors dtypes (lib/fmt/safetensors.c). */
enum {
    MG_ST_BOOL = 0, MG_ST_F4, MG_ST_F6_E2M3, MG_ST_F6_E3M2, MG_ST_U8, MG_ST_I8, MG_ST_F8_E5M2, MG_ST_F8_E4M3,
    MG_ST_F8_E8M0, MG_ST_F8_E4M3FNUZ, MG_ST_F8_E5M2FNUZ, MG_ST_I16, MG_ST_U16, MG_ST_F16, MG_ST_BF16, MG_ST_I32,
    MG_ST_U32, MG_ST_F32, MG_ST_C64, MG_ST_F64, MG_ST_I64, MG_ST_U64, MG_ST_NDTYPES
};

typedef struct mg_st_tensor {
    const char *name;
    uint8_t dtype;
    uint8_t aux;            /* a quantization scale/zero-point, not a parameter */
    uint32_t ndims;
    uint64_t shape[8];
    uint64_t numel;
    uint64_t begin, end;    /* in the byte buffer after the header */
} mg_st_tensor;

typedef struct mg_safetensors {
    uint64_t header_len;    /* N: the JSON header's bytes (data starts at 8 + N) */
    size_t n;
    mg_st_tensor *tensors;
    const char *format;     /* __metadata__.format ("pt"), or NULL */
    uint64_t data_bytes;
    uint64_t params;        /* elements of non-auxiliary tensors */
    uint64_t params_by_dtype[MG_ST_NDTYPES], bytes_by_dtype[MG_ST_NDTYPES];
} mg_safetensors;

/* file_size 0: unknown (remote header only). MG_E_TRUNCATED with *need when buf is short. */
int mg_safetensors_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct mg_arena *a,
                         mg_safetensors *out, uint64_t *need, char *err, size_t errlen);
const char *mg_st_dtype_name(uint8_t id);
unsigned mg_st_dtype_bits(uint8_t id);
int mg_st_is_aux(const char *name, uint8_t dtype);

/* The KV cache and recurrent state llama.cpp allocates (lib/kv.c). */
#define MG_KV_MAX_LAYERS 1024

typedef struct mg_kv_model {
    char arch[64];
    uint32_t n_layer, n_layer_kv;           /* layers; those that own a cache (shared-KV models) */
    uint32_t n_head_kv[MG_KV_MAX_LAYERS];   /* per layer; 0 = no attention */
    uint64_t head_k, head_v;                /* elements per head for K and V */
    int mla;                                /* multi-head latent attention: K only */
    uint32_t n_swa;                         /* sliding window (0: none) */
    uint8_t swa[MG_KV_MAX_LAYERS];          /* layer uses the window */
    uint8_t recurrent[MG_KV_MAX_LAYERS];    /* layer keeps recurrent state instead of KV */
    uint64_t recurrent_r, recurrent_s;      /* recurrent state elements per layer and sequence (F32) */
} mg_kv_model;

typedef struct mg_kv_opts {
    uint64_t n_ctx;
    uint32_t type_k, type_v;                /* ggml types: 1 f16, 8 q8_0, 2 q4_0 ... */
    uint32_t n_seq;                         /* parallel sequences (1) */
    uint32_t n_ubatch;                      /* 512 */
    int swa_full;                           /* --swa-full: window layers keep the whole context */
    int unified;                            /* --kv-unified: one cache shared by all sequences; else (llama.cpp's
                                               default) one stream of n_ctx / n_seq cells per sequence */
} mg_kv_opts;

int mg_kv_from_gguf(const mg_gguf *g, mg_kv_model *m);
uint64_t mg_kv_bytes(const mg_kv_model *m, const mg_kv_opts *o);
/* The cache (or recurrent state) of layer il alone: it lives on that layer's device. */
uint64_t mg_kv_layer_bytes(const mg_kv_model *m, const mg_kv_opts *o, uint32_t il);

/* Fitting a model on GPUs and RAM the way llama.cpp places it (lib/fit.c). */
#define MG_FIT_MAX_DEV 16

typedef struct mg_fit_device {
    char name[64];
    uint64_t total, free;           /* bytes */
} mg_fit_device;

typedef struct mg_fit_opts {
    uint64_t n_ctx;                 /* 0: the model's training context */
    uint32_t type_k, type_v;        /* ggml types of the cache (1 = f16) */
    uint32_t n_seq;                 /* parallel sequences */
    int ngl;                        /* -1: the most that fits */
    double split[MG_FIT_MAX_DEV];   /* --tensor-split; nsplit 0: by free memory */
    size_t nsplit;
    double headroom;                /* fraction of each GPU's free memory kept free (0.10) */
    uint64_t ram;                   /* RAM (+ swap) available for what stays on the host; 0: unknown */
    int kv_unified;                 /* --kv-unified */
    int n_cpu_moe;                  /* --n-cpu-moe: experts of the first N blocks in RAM; -1: the fewest that
                                       fit, searched for MoE models when all layers are wanted on the GPUs */
    int flash_attn;                 /* MG_FA_AUTO (llama.cpp's default), MG_FA_ON, MG_FA_OFF */
} mg_fit_opts;

enum { MG_FA_AUTO = 0, MG_FA_ON, MG_FA_OFF };

typedef struct mg_fit_model {
    mg_kv_model kv;
    uint64_t n_embd, n_vocab, n_ctx_train, n_head;
    uint64_t slot_bytes[MG_KV_MAX_LAYERS + 1];  /* weights per block, [n_layer] = output */
    uint64_t input_bytes;           /* token_embd and other host-resident tensors */
    uint64_t token_embd_bytes, total_bytes;
    int has_output;                 /* a separate output.weight (else tied to token_embd) */
    /* MoE: routed-expert tensors per slot (llama.cpp's LLM_FFN_EXPS_REGEX), and what -ot ...=CPU moves
     * to RAM (mg_fit_override_cpu), and the part of it that is experts, so nothing counts twice. */
    uint64_t exps_bytes[MG_KV_MAX_LAYERS + 1], ot_bytes[MG_KV_MAX_LAYERS + 1], ot_exps_bytes[MG_KV_MAX_LAYERS + 1];
    uint64_t n_exps_tensors;
} mg_fit_model;

typedef struct mg_fit_plan {
    int ngl;
    int n_cpu_moe;                  /* the --n-cpu-moe this plan uses */
    uint64_t n_ctx;
    double split[MG_FIT_MAX_DEV];
    int layers[MG_FIT_MAX_DEV];     /* slots (blocks + output) on each GPU */
    uint64_t weights[MG_FIT_MAX_DEV], kv[MG_FIT_MAX_DEV], compute[MG_FIT_MAX_DEV];
    uint64_t need[MG_FIT_MAX_DEV], usable[MG_FIT_MAX_DEV];
    uint64_t ram_weights, ram_kv, ram_other, ram_need;
    int fits_gpu, fits_ram;
    int flash_attn;                 /* the GPU graph uses flash attention (-fa auto: the head size has a kernel) */
} mg_fit_plan;

struct mg_gguf_model;
int mg_fit_model_from(const struct mg_gguf_model *m, mg_fit_model *fm);
/* -ot/--override-tensor REGEX=CPU, as llama.cpp: tensors whose name the (POSIX extended) regex finds
 * stay in RAM whatever -ngl says; the first matching pattern wins. MG_E_ARG with `err` for a bad regex. */
int mg_fit_override_cpu(const struct mg_gguf_model *m, const char *const *regex, size_t n, mg_fit_model *fm,
                        char *err, size_t errlen);
/* Does llama.cpp's CUDA flash attention have a kernel for this model's K/V head sizes (fattn.cu)? */
int mg_fit_fa_supported(const mg_kv_model *kv);
int mg_fit_evaluate(const mg_fit_model *fm, const mg_fit_device *dev, size_t nd, const mg_fit_opts *o, int ngl,
                    uint64_t n_ctx, mg_fit_plan *p);
/* The most layers that fit at the requested context, and the largest context at that placement. */
int mg_fit_search(const mg_fit_model *fm, const mg_fit_device *dev, size_t nd, const mg_fit_opts *o,
                  mg_fit_plan *best, uint64_t *max_ctx);

/* A transformers/vLLM-style load of a safetensors checkpoint: weights as stored, K+V per token from config.json. */
typedef struct mg_fit_st {
    uint64_t weights;       /* Σ tensor bytes */
    uint64_t kv_per_token;  /* 2 x layers x kv_heads x head_dim x bytes(torch_dtype); 0 without config.json */
    uint64_t kv;            /* at n_ctx x n_seq */
    uint64_t activations;   /* peak of one prompt pass over n_ctx tokens at once (transformers):
                               n_ctx x n_seq x (3 x intermediate + 4 x hidden) x bytes(torch_dtype) */
} mg_fit_st;

struct mg_st_model;
int mg_fit_safetensors(const struct mg_st_model *m, uint64_t n_ctx, uint32_t n_seq, mg_fit_st *out);

/* Remote reading (lib/remote.c): byte ranges over HTTP(S), counted. */
#define MG_REMOTE_MAX (256ull << 20)    /* the largest header mlgate fetches */

typedef struct mg_fetch_stats {
    long requests;          /* HTTP requests, redirects included */
    uint64_t bytes;         /* body bytes received */
} mg_fetch_stats;

/*
 * Reads [off, off+len) of url into a new buffer (*out, free it). With Range support
 * the server sends just that; without it, a read from 0 takes the first len bytes and
 * stops the transfer. Bearer token from MLGATE_TOKEN or HF_TOKEN. Never follows to
 * non-HTTP schemes; times out on stalls and slow drips.
 */
int mg_remote_read(const char *url, uint64_t off, uint64_t len, uint8_t **out, size_t *got, uint64_t *total,
                   mg_fetch_stats *st, char *err, size_t errlen);

/* A model on disk: one GGUF, or every shard of "name-00001-of-00009.gguf". */
typedef struct mg_gguf_file {
    char path[1024];
    mg_gguf g;
    uint64_t size;          /* bytes on disk */
    int err;                /* mg_err */
    char msg[256];          /* why, when err */
} mg_gguf_file;

typedef struct mg_gguf_model {
    size_t nshards;
    mg_gguf_file *shards;
    mg_fetch_stats remote;      /* what reading it over HTTP took */
    struct mg_arena *arena;
} mg_gguf_model;

/* A safetensors checkpoint: one file, an index of shards, or a directory (diffusers: transformer/, unet/). */
typedef struct mg_st_file {
    char path[1100];
    mg_safetensors st;
    uint64_t size;
    int err;
    char msg[256];
} mg_st_file;

typedef struct mg_st_model {
    char path[1024];
    size_t nshards;
    mg_st_file *shards;
    uint64_t index_total_size;  /* the index's metadata.total_size, 0 if none */
    int has_config;             /* config.json beside it: */
    char architecture[96], model_type[64], torch_dtype[32], quant_method[32];
    uint64_t hidden_size, layers, heads, kv_heads, context, vocab, head_dim, intermediate;
    mg_fetch_stats remote;      /* what reading it over HTTP took */
    struct mg_arena *arena;
} mg_st_model;

mg_st_model *mg_st_model_open(const char *path);
void mg_st_model_free(mg_st_model *m);

/* Reads the file (and its sibling shards); per-shard errors are in shards[i].err. NULL on OOM. */
mg_gguf_model *mg_gguf_model_open(const char *path);
void mg_gguf_model_free(mg_gguf_model *m);

/* The oldest llama.cpp build mlgate has read that loads a GGUF model: it must know the
 * architecture and every tensor type in every readable shard. */
typedef struct mg_llama_need {
    int build;              /* 0: no build read loads it (unknown architecture) */
    int before;             /* the build read before `build`, which lacks what decides it; 0: none */
    int by_type;            /* a tensor type decides it, not the architecture */
    uint32_t type;          /* that ggml type */
} mg_llama_need;
void mg_llama_cpp_need(const mg_gguf_model *m, mg_llama_need *out);

#endif
