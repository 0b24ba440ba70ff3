/*
 * models.h - model files (GGUF, safetensors; local or over HTTP Range): what they really are, the KV
 * cache an engine allocates, and where their memory goes on given GPUs (fit).
 */
#ifndef MLGATE_MODELS_H
#define MLGATE_MODELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/core.h"
#include "mlgate/target.h"

/* One row of the ggml type table (lib/models/tables/ggml.c). */
typedef struct mg_ggml_type {
    uint32_t id;
    const char *name;       /* "Q4_K" */
    uint32_t blck;          /* elements per block */
    uint32_t bytes;         /* bytes per block */
} mg_ggml_type;

/* NULL for unknown and removed ids. */
MG_API const mg_ggml_type *mg_ggml_type_get(uint32_t id);
MG_API uint32_t mg_ggml_type_count(void);

/*
 * Engine support (lib/models/tables/engines.c): the llama.cpp builds mlgate has read (b-numbers) and
 * what each knows. "since" is the first build read that has it (the oldest read build when it
 * is in all of them), 0 when none has it.
 */
MG_API int mg_llama_cpp_since(const char *arch);       /* general.architecture, exact match as llama.cpp */
MG_API int mg_llama_cpp_type_since(uint32_t type);     /* ggml tensor type */
MG_API int mg_llama_cpp_knows(const char *arch);       /* since != 0 */
MG_API int mg_llama_cpp_before(int build);             /* the build read before this one, 0 if none */
MG_API int mg_llama_cpp_oldest(void);
MG_API int mg_llama_cpp_newest(void);
MG_API const char *mg_llama_cpp_release(int build);    /* its 0.x release name ("0.7.0"), or NULL */
/* The spelling llama.cpp uses for a name that differs only in punctuation or case, or NULL. */
MG_API const char *mg_llama_cpp_spelling(const char *arch);
MG_API size_t mg_llama_cpp_count(void);

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
    uint64_t n_kv, n_tensors;   /* the entries read whole (all of them when the parse succeeded) */
    mg_gguf_kv *kv;             /* n_kv of them; NULL when there are none */
    mg_gguf_tensor *tensors;    /* n_tensors of them; NULL when there are none */
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


MG_API const mg_gguf_kv *mg_gguf_find(const mg_gguf *g, const char *key);
/* A numeric value as u64 (any integer type), or def. */
MG_API uint64_t mg_gguf_u64(const mg_gguf *g, const char *key, uint64_t def);
MG_API const char *mg_gguf_str(const mg_gguf *g, const char *key);

/* safetensors dtypes (lib/models/safetensors.c). */
enum {
    MG_DTYPE_BOOL = 0, MG_DTYPE_F4, MG_DTYPE_F6_E2M3, MG_DTYPE_F6_E3M2, MG_DTYPE_U8, MG_DTYPE_I8, MG_DTYPE_F8_E5M2, MG_DTYPE_F8_E4M3,
    MG_DTYPE_F8_E8M0, MG_DTYPE_F8_E4M3FNUZ, MG_DTYPE_F8_E5M2FNUZ, MG_DTYPE_I16, MG_DTYPE_U16, MG_DTYPE_F16, MG_DTYPE_BF16, MG_DTYPE_I32,
    MG_DTYPE_U32, MG_DTYPE_F32, MG_DTYPE_C64, MG_DTYPE_F64, MG_DTYPE_I64, MG_DTYPE_U64, MG_DTYPE_COUNT
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
    uint64_t params_by_dtype[MG_DTYPE_COUNT], bytes_by_dtype[MG_DTYPE_COUNT];
} mg_safetensors;

MG_API const char *mg_st_dtype_name(uint8_t id);
MG_API unsigned mg_st_dtype_bits(uint8_t id);
MG_API int mg_st_is_aux(const char *name, uint8_t dtype);

/* The KV cache and recurrent state llama.cpp allocates (lib/models/kv.c). */
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
    int no_cache;                           /* no KV cache at all (llama_model::create_memory: BERT-family
                                               encoders, diffusion LMs): a batch attends to itself */
    int encoder;                            /* an embedding/reranker encoder: no LM head, pooled output */
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

MG_API int mg_kv_from_gguf(const mg_gguf *g, mg_kv_model *m);
MG_API uint64_t mg_kv_bytes(const mg_kv_model *m, const mg_kv_opts *o);
/* The cache (or recurrent state) of layer il alone: it lives on that layer's device. */
MG_API uint64_t mg_kv_layer_bytes(const mg_kv_model *m, const mg_kv_opts *o, uint32_t il);

/* Fitting a model on GPUs and RAM the way llama.cpp places it (lib/models/fit.c). */
#define MG_FIT_MAX_DEV 16
#define MG_FIT_MAX_LORA 8


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
    int no_op_offload;              /* --no-op-offload: weights in RAM are not copied to the first GPU for
                                       large batches (llama.cpp's default copies them: op offload) */
    /* What the same llama.cpp process loads beside the model (mg_fit; NULL/0: none). */
    const struct mg_model *draft;   /* -md/--model-draft: its own weights, KV and compute on the GPUs */
    int ngl_draft;                  /* -ngld; -1: all of the draft's slots */
    const struct mg_model *mmproj;  /* --mmproj: a clip projector GGUF, on the first GPU */
    int no_mmproj_offload;          /* --no-mmproj-offload: the projector stays in RAM */
    const struct mg_model *lora[MG_FIT_MAX_LORA];   /* --lora: adapter tensors, each on its base layer's device */
    size_t n_lora;
    int st_engine;                  /* safetensors: mg_st_engine, whose KV layout (MLA) is assumed */
    unsigned st_kv_bytes;           /* safetensors: bytes per KV element (--kv-cache-dtype); 0: torch_dtype's */
} mg_fit_opts;

enum { MG_FA_AUTO = 0, MG_FA_ON, MG_FA_OFF };

typedef struct mg_fit_model {
    mg_kv_model kv;
    uint64_t n_embd, n_vocab, n_ctx_train, n_head;
    uint64_t n_ff;                  /* feed_forward_length (4 x n_embd when absent or per layer) */
    uint64_t head_k_mla;            /* MLA: the decompressed K head (key_length_mla; kv.head_k is the cached one) */
    uint64_t slot_bytes[MG_KV_MAX_LAYERS + 1];  /* weights per block, [n_layer] = output */
    uint64_t input_bytes;           /* token_embd and other host-resident tensors */
    uint64_t token_embd_bytes, total_bytes;
    int has_output;                 /* a separate output.weight (else tied to token_embd) */
    /* MoE: routed-expert tensors per slot (llama.cpp's LLM_FFN_EXPS_REGEX), and what -ot ...=CPU moves
     * to RAM (mg_fit_override_cpu), and the part of it that is experts, so nothing counts twice. */
    uint64_t exps_bytes[MG_KV_MAX_LAYERS + 1], ot_bytes[MG_KV_MAX_LAYERS + 1], ot_exps_bytes[MG_KV_MAX_LAYERS + 1];
    uint64_t n_exps_tensors;
    uint64_t lora_bytes;            /* --lora adapters' tensors, in slot_bytes/input_bytes too */
    /* The largest single tensor per slot, of its routed experts, and of what -ot moves to RAM: with op
     * offload llama.cpp copies a weight kept in RAM to the first GPU for each large-batch op that uses it,
     * so that GPU's compute buffer holds the largest of them (ggml_backend_sched, offload_op). */
    uint64_t max_tensor[MG_KV_MAX_LAYERS + 1], max_exps_tensor[MG_KV_MAX_LAYERS + 1],
        max_ot_tensor[MG_KV_MAX_LAYERS + 1];
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
    uint64_t offload;               /* op offload: the largest weight (or a CPU layer's KV) in RAM that the
                                       first GPU copies for a batch; in compute[0]; 0 with --no-op-offload */
    int fits_gpu, fits_ram;
    int flash_attn;                 /* the GPU graph uses flash attention (-fa auto: the head size has a kernel) */
    /* beside the model (in weights/kv/compute/need above and ram_*): the draft's and the projector's parts */
    uint64_t draft[MG_FIT_MAX_DEV], mmproj[MG_FIT_MAX_DEV], ram_draft, ram_mmproj, lora_bytes;
    int split_searched;             /* no -ts given and the split by free memory did not hold this placement:
                                       the GPUs filled in order (layers[] is the -ts to pass) */
} mg_fit_plan;

struct mg_gguf_model;
MG_API int mg_fit_model_from(const struct mg_gguf_model *m, mg_fit_model *fm);
/* -ot/--override-tensor REGEX=CPU, as llama.cpp: tensors whose name the (POSIX extended) regex finds
 * stay in RAM whatever -ngl says; the first matching pattern wins. MG_E_ARG with `err` for a bad regex. */
/* --lora: an adapter GGUF's tensors (BASE.lora_a / BASE.lora_b) join their base tensor's slot, as
 * llama_adapter_lora places them on the base layer's buffer type. MG_E_FORMAT: not a readable GGUF. */
MG_API int mg_fit_add_lora(const struct mg_gguf_model *lora, mg_fit_model *fm);
MG_API int mg_fit_override_cpu(const struct mg_gguf_model *m, const char *const *regex, size_t n, mg_fit_model *fm,
                        char *err, size_t errlen);
/* Does llama.cpp's CUDA flash attention have a kernel for this model's K/V head sizes (fattn.cu)? */
MG_API int mg_fit_fa_supported(const mg_kv_model *kv);
MG_API int mg_fit_evaluate(const mg_fit_model *fm, const mg_target *dev, size_t nd, const mg_fit_opts *o, int ngl,
                    uint64_t n_ctx, mg_fit_plan *p);
/* The most layers that fit at the requested context, and the largest context at that placement. */
MG_API int mg_fit_search(const mg_fit_model *fm, const mg_target *dev, size_t nd, const mg_fit_opts *o,
                  mg_fit_plan *best, uint64_t *max_ctx);

/* A transformers/vLLM-style load of a safetensors checkpoint: weights as stored, K+V per token from
 * config.json (lib/models/fit_st.c). */
typedef enum mg_st_engine {
    MG_ENGINE_VLLM = 0,     /* vLLM / SGLang (the default): MLA keeps the compressed latent, K only */
    MG_ENGINE_TRANSFORMERS  /* transformers: MLA's K and V decompressed per head */
} mg_st_engine;

/* How a safetensors checkpoint is loaded. */
typedef struct mg_fit_st_opts {
    uint64_t n_ctx;
    uint32_t n_seq;
    size_t ngpus;           /* the runtime counts per GPU; 0 counts one */
    mg_st_engine engine;
    unsigned kv_bytes;      /* bytes per KV element (--kv-cache-dtype); 0: torch_dtype's */
} mg_fit_st_opts;

/* One GPU of a multi-GPU placement. */
typedef struct mg_fit_st_gpu {
    uint32_t layers;        /* decoder layers on it (a layer split), or all of them (tensor-parallel) */
    uint64_t weights, kv, activations, runtime, need, usable;
    int fits;
} mg_fit_st_gpu;

enum { MG_ST_TP = 0, MG_ST_LAYERS, MG_ST_NPLACE };   /* tensor-parallel (even); layers by memory */

typedef struct mg_fit_st_place {
    int fits;               /* every GPU's need within its usable memory, and the shape allows it */
    int shape_ok;           /* tensor-parallel: heads and KV heads divide over the GPUs */
    char why[160];          /* what stops it ("the 32 GiB GPU 1 is over", "64 heads do not divide by 3"), or "" */
    mg_fit_st_gpu gpu[MG_FIT_MAX_DEV];
} mg_fit_st_place;

/* diffusers pipelines (model_index.json): one component's share. */
#define MG_ST_MAX_COMPONENTS 16
typedef struct mg_fit_st_comp {
    uint64_t weights;       /* its tensors' bytes */
    uint64_t largest_module;/* the largest group of tensors of one module (the name up to its last '.') */
    uint64_t activations;   /* its peak at one 1024x1024 step (estimated; 0: not estimated) */
} mg_fit_st_comp;

typedef struct mg_fit_st {
    uint64_t weights;       /* Σ tensor bytes */
    uint64_t kv_per_token;  /* 2 x layers x kv_heads x head_dim x bytes(torch_dtype); MLA: as the engine keeps it;
                               0 without config.json */
    uint64_t kv;            /* at n_ctx x n_seq */
    uint64_t activations;   /* peak of one prompt pass over n_ctx tokens at once (transformers):
                               n_ctx x n_seq x (3 x intermediate + 4 x hidden) x bytes(torch_dtype);
                               a pipeline: the largest component's peak at one 1024x1024 step */
    uint64_t runtime;       /* what a PyTorch process holds beyond its allocations: the CUDA context per GPU
                               used and the caching allocator's slack, as measured (lib/models/fit_st.c) */
    uint64_t need;          /* weights + kv + activations + runtime (saturating) */
    int mla;                /* config.json has kv_lora_rank: DeepSeek-style latent attention */
    mg_st_engine engine;    /* whose KV layout kv_per_token is */
    /* several GPUs (mg_fit_safetensors_on) */
    size_t ndev;
    mg_fit_st_place place[MG_ST_NPLACE];
    /* a diffusers pipeline */
    int pipeline;
    size_t ncomp;
    mg_fit_st_comp comp[MG_ST_MAX_COMPONENTS];
    uint64_t image_tokens, text_tokens;   /* the denoiser's sequence at 1024x1024 (DiT), 0 if not one */
    uint64_t gpu_all, gpu_model_offload, gpu_seq_offload;   /* GPU need of each placement, runtime included */
    uint64_t ram_all, ram_offload;        /* RAM beside it: what loading reads through; the offloaded weights */
} mg_fit_st;

struct mg_st_model;
/* The load on `ngpus` GPUs in vLLM's layout (tensor-parallel: the runtime counts per GPU; 0 counts one). */
MG_API int mg_fit_safetensors(const struct mg_st_model *m, uint64_t n_ctx, uint32_t n_seq, size_t ngpus,
                              mg_fit_st *out);
MG_API int mg_fit_safetensors_with(const struct mg_st_model *m, const mg_fit_st_opts *o, mg_fit_st *out);
/* And how it goes on dev[0..nd) (nd >= 2): tensor-parallel (even shares: the smallest GPU decides) and a
 * layer split in proportion to memory (transformers device_map="auto" + max_memory, vLLM pipeline stages). */
MG_API int mg_fit_safetensors_on(const struct mg_st_model *m, const mg_fit_st_opts *o, const mg_target *dev,
                                 size_t nd, double headroom, mg_fit_st *out);


/* What reading a model over HTTP(S) took (byte ranges: only the header bytes are fetched). */
typedef struct mg_fetch_stats {
    long requests;          /* HTTP requests, redirects included */
    uint64_t bytes;         /* body bytes received */
} mg_fetch_stats;

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

/* One component of a diffusers pipeline: its folder, its class, its shards, its config.json's shape. */
typedef struct mg_st_component {
    char name[48];              /* "transformer", "text_encoder_2" */
    char library[32], class_name[64];   /* model_index.json: ["transformers", "T5EncoderModel"] */
    char variant[24];           /* "fp16" when only a variant's files are there (diffusers' variant=), else "" */
    size_t first, nshards;      /* shards[first .. first + nshards) of the model */
    uint64_t bytes;             /* their tensors' bytes (the readable ones) */
    int has_config;
    char torch_dtype[32];
    /* transformers configs: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads (CLIP);
     * d_model, d_ff, num_layers, num_heads (T5); diffusers: num_attention_heads x attention_head_dim,
     * in_channels, patch_size, latent_channels, block_out_channels */
    uint64_t hidden_size, intermediate, layers, heads, d_model, d_ff, num_layers, num_heads;
    uint64_t attention_head_dim, in_channels, patch_size, latent_channels, sample_size;
    uint64_t block_out[8];
    unsigned n_block_out;
} mg_st_component;

typedef struct mg_st_model {
    char path[1024];
    size_t nshards;
    mg_st_file *shards;
    uint64_t index_total_size;  /* the index's metadata.total_size, 0 if none */
    int has_config;             /* config.json beside it: */
    char architecture[96], model_type[64], torch_dtype[32], quant_method[32];
    uint64_t hidden_size, layers, heads, kv_heads, context, vocab, head_dim, intermediate;
    uint64_t kv_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim;   /* MLA (DeepSeek-V2/V3) */
    /* A diffusers pipeline: a directory with model_index.json; every component's shards are in shards[]. */
    int pipeline;
    char pipeline_class[64];    /* model_index.json's _class_name ("FluxPipeline") */
    size_t ncomp;
    mg_st_component comp[MG_ST_MAX_COMPONENTS];
    mg_fetch_stats remote;      /* what reading it over HTTP took */
    struct mg_arena *arena;
} mg_st_model;

MG_API mg_st_model *mg_st_model_open(const char *path);
MG_API void mg_st_model_free(mg_st_model *m);

/* Reads the file (and its sibling shards); per-shard errors are in shards[i].err. NULL on OOM. */
MG_API mg_gguf_model *mg_gguf_model_open(const char *path);
MG_API void mg_gguf_model_free(mg_gguf_model *m);

/* The oldest llama.cpp build mlgate has read that loads a GGUF model: it must know the
 * architecture and every tensor type in every readable shard. */
typedef struct mg_llama_need {
    int build;              /* 0: no build read loads it (unknown architecture) */
    int before;             /* the build read before `build`, which lacks what decides it; 0: none */
    int by_type;            /* a tensor type decides it, not the architecture */
    uint32_t type;          /* that ggml type */
} mg_llama_need;
MG_API void mg_llama_cpp_need(const mg_gguf_model *m, mg_llama_need *out);


/* ==== One model, whatever its format ==== */

typedef enum mg_format { MG_FORMAT_GGUF = 1, MG_FORMAT_SAFETENSORS = 2 } mg_format;

/* A model file opened once and shared by everything that asks about it (inspect, fit, plan, the gate). */
typedef struct mg_model {
    mg_format format;
    char *path;                 /* as given (a copy) */
    mg_gguf_model *gguf;        /* MG_FORMAT_GGUF */
    mg_st_model *st;            /* MG_FORMAT_SAFETENSORS */
    char *error;                /* the first read error, "path: what", or NULL: every shard was read */
} mg_model;

/*
 * Opens a GGUF (split ones shard by shard) or a safetensors checkpoint (a file, an index, a
 * directory; diffusers layouts), local or http(s)://. The format is decided by the file's magic
 * (by the name for a URL; a directory is safetensors). NULL only on OOM: read errors are kept per
 * shard (mg_model_error says the first).
 */
MG_API mg_model *mg_model_open(const char *path);
/* How a model is opened. */
typedef struct mg_open_opts {
    double deadline_at;     /* mg_now() time by which every read must end (0: none; each HTTP request
                               still ends within 120 s). A read it cuts short fails as MG_E_TIMEOUT. */
} mg_open_opts;
/* mg_model_open with options (o may be NULL). */
MG_API mg_model *mg_model_open_with(const char *path, const mg_open_opts *o);
MG_API void mg_model_free(mg_model *m);
/* NULL when every shard was read; else the first error, "path: what" (m->error). */
MG_API const char *mg_model_error(const mg_model *m);
/* general.architecture (GGUF) or config.json's architectures[0] (safetensors), or NULL. */
MG_API const char *mg_model_architecture(const mg_model *m);
/* What reading it over HTTP took. */
MG_API const mg_fetch_stats *mg_model_remote(const mg_model *m);

/* Totals over the readable shards and, for a GGUF, the shape from its metadata (what inspect reports).
 * arch and name point into the model: keep it while the summary is used. */
typedef struct mg_model_summary {
    uint64_t params, bytes, tensors;
    uint64_t aux;               /* safetensors: quantization scales / zero-points (not parameters) */
    int partial;                /* some shard could not be read: the totals are partial */
    uint64_t type_bytes[64], type_params[64], type_count[64];   /* by ggml type (GGUF) or dtype (safetensors) */
    double bpw;                 /* bits per weight */
    /* GGUF, from the first shard */
    const char *arch, *name;
    uint64_t context, layers, embedding, heads, heads_kv, vocab;
    int has_kv;                 /* the KV cache could be sized: */
    uint64_t kv_8k, kv_32k, kv_128k, kv_at_context;   /* f16, one sequence */
    int mla, swa;               /* K only (MLA); sliding-window layers counted */
} mg_model_summary;

MG_API void mg_model_summarize(const mg_model *m, mg_model_summary *s);

/* The GPU memory a model needs with all of it on one GPU, as plan counts it: a GGUF as llama.cpp
 * offloads it fully at ctx (runtime included), a safetensors checkpoint as transformers loads it. */
typedef struct mg_model_memory {
    uint64_t need;              /* GPU bytes */
    uint64_t ram;               /* host bytes beside it */
    uint64_t weights;           /* bytes of weights (what quantizing would shrink) */
    double bpw;                 /* GGUF: bits per weight; 0 otherwise */
} mg_model_memory;

/* MG_E_* with "path: why" in err when the model cannot be read or sized. */
MG_API int mg_model_memory_at(const mg_model *m, uint64_t ctx, mg_model_memory *out, char *err, size_t errlen);

/* `mlgate inspect --json` for these models (docs/json.md). */
MG_API void mg_inspect_json(FILE *f, const mg_model *const *models, size_t n);

/* ==== `mlgate fit`: one model on these GPUs and this RAM ==== */

/* The answer for a GGUF, from best to worst. */
typedef enum mg_fit_verdict {
    MG_FIT_FULL = 0,            /* every slot on the GPUs (with the experts asked for in RAM) */
    MG_FIT_MOE,                 /* every layer on the GPUs with the experts of the first n_cpu_moe blocks in RAM */
    MG_FIT_PARTIAL,             /* only with -ngl below all: some slots stay on the CPU */
    MG_FIT_CPU,                 /* no GPU given or found: a CPU-only run (plan.fits_ram says whether it fits) */
    MG_FIT_NONE                 /* does not fit at the context, even on the CPU */
} mg_fit_verdict;

typedef struct mg_fit_report {
    mg_format format;
    const char *model;          /* the path as given */
    mg_target dev[MG_FIT_MAX_DEV];
    size_t ndev;
    mg_fit_opts opts;           /* as used: ram filled in when it was 0 (available RAM + free swap) */
    int fits;                   /* the exit status's question: it fits on the GPUs as asked */
    /* GGUF */
    mg_fit_plan plan;           /* the best placement */
    uint64_t max_ctx;           /* the largest context at that placement */
    uint32_t n_layer;
    uint64_t weights;           /* bytes of all tensors */
    int moe;                    /* routed experts */
    mg_fit_verdict verdict;
    /* safetensors */
    mg_fit_st st;
    uint64_t context;           /* the context st is for */
    uint64_t usable;            /* the GPUs' memory after headroom */
    const struct mg_st_model *stm;   /* the checkpoint (m->st): a pipeline's components */
    size_t big;                 /* a pipeline: the GPU it is judged on (the one with the most usable memory) */
    uint64_t big_usable;
} mg_fit_report;

/*
 * Fits model m on dev[0..nd) (GPUs without memory are left out; none: a CPU-only run), with -ot
 * REGEX=CPU patterns ot[0..n_ot). With err: the model's read error (MG_E_IO, MG_E_FORMAT,
 * MG_E_TRUNCATED, MG_E_LIMIT, ...) when it cannot be read or sized; MG_E_ARG for a bad pattern or more
 * than MG_FIT_MAX_DEV GPUs; MG_E_NOMEM. r->model points at m's path: keep m while r is used.
 */
MG_API int mg_fit(const mg_model *m, const mg_target *dev, size_t nd, const mg_fit_opts *o,
                  const char *const *ot, size_t n_ot, mg_fit_report *out, char *err, size_t errlen);
/* `mlgate fit --json` (docs/json.md). */
MG_API void mg_fit_json(FILE *f, const mg_fit_report *r);
/* "f16", "q8_0" ... -> the ggml type of a KV cache; -1 if llama.cpp has no such cache type. */
MG_API int mg_cache_type(const char *name, uint32_t *type);

/* ==== `mlgate fit hf://ORG/REPO`: which file of a hub repository fits, before download (lib/models/hub.c) ==== */

#define MG_HUB_MAX_FILES 20000      /* tree entries read at most (every page together) */
#define MG_HUB_MAX_CANDIDATES 256   /* GGUF candidates (a split set is one) fitted at most */
#define MG_HUB_MAX_MMPROJ 32

/* A repository on a hub: where, which, at what revision. */
typedef struct mg_hub_ref {
    char endpoint[512];     /* "https://huggingface.co" or HF_ENDPOINT, without a trailing '/' */
    char repo[256];         /* "ORG/REPO" */
    char revision[256];     /* "main", a tag, a commit sha, "refs/pr/1" */
} mg_hub_ref;

/*
 * hf://ORG/REPO[@REVISION], or the repository's page on the endpoint (https://huggingface.co/ORG/REPO,
 * .../tree/REVISION) -> 1 with ref filled in (endpoint from HF_ENDPOINT, else huggingface.co);
 * 0 when s names no repository (a file URL such as .../resolve/main/x.gguf, a path); -1 with err
 * for an hf:// reference that is malformed.
 */
MG_API int mg_hub_parse(const char *s, mg_hub_ref *ref, char *err, size_t errlen);

/* How the repository is read. */
typedef struct mg_hub_opts {
    int threads;            /* candidates read at once: 1..16 (0: 4) */
    double deadline_at;     /* mg_now() time by which every read ends (0: 300 s from the call) */
    const char *cache_dir;  /* read headers kept here; NULL: $XDG_CACHE_HOME/mlgate/hub, else
                               ~/.cache/mlgate/hub; "": no cache */
    uint64_t cache_max;     /* bytes the cache may hold before the oldest entries go (0: 1 GiB) */
} mg_hub_opts;

/* Where a candidate goes, best first (the table's column). */
typedef enum mg_hub_place {
    MG_HUB_FULL = 0,        /* every layer on the GPUs */
    MG_HUB_MOE,             /* every layer on the GPUs, experts of some blocks in RAM */
    MG_HUB_PARTIAL,         /* -ngl N: some layers on the CPU */
    MG_HUB_CPU,             /* no GPUs: a CPU-only run (fits RAM or not) */
    MG_HUB_NONE,            /* does not fit at the context, even on the CPU */
    MG_HUB_ERROR            /* could not be read or sized: msg says why */
} mg_hub_place;

/* One candidate: a GGUF file, a split set, or a safetensors checkpoint. */
typedef struct mg_hub_row {
    char file[512];         /* its path in the repository (the first shard of a split set) */
    char quant[32];         /* "Q4_K_M", from the file name, else general.file_type; safetensors: the dtype */
    char file_type[16];     /* general.file_type's name ("Q4_K_M"), or "" */
    size_t nfiles;          /* shards */
    uint64_t size;          /* bytes of all its files, from the tree */
    double bpw;             /* bits per weight, from the header */
    mg_hub_place place;
    int err;                /* MG_E_* when place is MG_HUB_ERROR */
    char msg[384];
    int cached;             /* every header came from the cache */
    mg_fetch_stats remote;  /* what reading it took */
    mg_fit_report fit;      /* the placement (fit.model points at file) */
} mg_hub_row;

typedef struct mg_hub_report {
    mg_hub_ref ref;
    mg_format format;       /* GGUF candidates, else a safetensors checkpoint */
    size_t files;           /* files the tree listed */
    size_t nrows;
    mg_hub_row *rows;       /* best first (docs/models.md: the order) */
    size_t nmmproj;
    char mmproj[MG_HUB_MAX_MMPROJ][512];   /* projectors (mmproj*.gguf): listed, not candidates */
    size_t skipped;         /* candidates past MG_HUB_MAX_CANDIDATES, not read */
    mg_fetch_stats remote;  /* every request: the tree and the headers */
    size_t cache_hits;      /* headers read from the cache */
} mg_hub_report;

/*
 * Lists ref's files through the hub's tree API (following its pages), reads each GGUF candidate's
 * header by Range (a split set as one; mmproj files apart), in parallel and from the cache where
 * it can, and fits each on dev[0..nd) with o (mg_fit); a repository without GGUF files is fitted
 * as one safetensors checkpoint (config.json + the index or model.safetensors). A candidate that
 * cannot be read is an error row; the others still report. Returns MG_E_NOTFOUND (no such
 * repository or revision, or gated: err says to set HF_TOKEN), MG_E_IO, MG_E_FORMAT (no GGUF and
 * no safetensors model there, or a tree that is not the API's), MG_E_LIMIT, MG_E_ARG, MG_E_NOMEM,
 * with err; *out is NULL then. Free *out with mg_hub_report_free.
 */
MG_API int mg_hub_fit(const mg_hub_ref *ref, const mg_target *dev, size_t nd, const mg_fit_opts *o,
                      const mg_hub_opts *ho, mg_hub_report **out, char *err, size_t errlen);
MG_API void mg_hub_report_free(mg_hub_report *r);
/* `mlgate fit hf://... --json` (docs/json.md). */
MG_API void mg_hub_json(FILE *f, const mg_hub_report *r);
/* "full", "moe", "partial", "cpu", "none", "error". */
MG_API const char *mg_hub_place_name(mg_hub_place p);
/* 1 when no llama.cpp build mlgate has read loads this GGUF model (mg_llama_cpp_need: build 0); 0 for a
 * projector (architecture 'clip'), an adapter, or a file whose first shard could not be read. */
MG_API int mg_llama_cpp_refuses(const mg_gguf_model *m);
/* llama.cpp's name of a general.file_type (llama_ftype): 15 -> "Q4_K_M"; "?" when unknown. */
MG_API const char *mg_gguf_ftype_name(uint64_t ftype);

#endif
