/* explain_int.h - the knowledge-base row (lib/explain/tables/failures.c), and the matcher (match.c) explain.c uses. */
#ifndef MG_EXPLAIN_INT_H
#define MG_EXPLAIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mlgate/explain.h"

/* What the matched text carries, read by explain.c (one reader each). */
typedef enum kb_parse {
    P_NONE = 0,
    P_CUDA_CODE,        /* "error 209", "code=35", "(802)": the CUDA error number */
    P_TORCH_SM,         /* "NVIDIA GeForce RTX 5090 with CUDA capability sm_120", the supported list */
    P_TORCH_OOM,        /* "Tried to allocate 2.00 GiB", GPU, total capacity, free, reserved */
    P_LLAMA_ALLOC,      /* "allocating 35533.34 MiB on device 0" */
    P_LLAMA_ARCH,       /* "unknown model architecture: 'gemma4'" */
    P_MODULE,           /* "No module named 'vllm._C'", "libcudart.so.12: cannot open" */
    P_ABI_SYMBOL,       /* "undefined symbol: _ZN3c10...": the symbol, a demangled hint, the library */
    P_TRITON_CC,        /* "Found Tesla P100 ... your device is of CUDA capability 6.0" */
    P_NVCC_ARCH,        /* "Unsupported gpu architecture 'compute_120'", "Value 'sm_120' is not defined" */
    P_HF_ARCH,          /* "model type `deepseek_v32`" */
    P_NVML_VERSION,     /* "NVML library version: 570.124" */
} kb_parse;

/* What explain.c can check on this machine about it. */
typedef enum kb_check {
    K_NONE = 0,
    K_GPUS,             /* the GPUs here: names, compute capability, driver */
    K_NO_KERNEL,        /* GPUs; with --path, the scan naming the files without code for them */
    K_DRIVER_CUDA,      /* GPUs and the CUDA version the driver runs */
    K_NO_DEVICE,        /* GPUs, /dev/nvidia*, CUDA_VISIBLE_DEVICES, a container */
    K_UVM,              /* GPUs and whether nvidia_uvm is loaded */
    K_NVML,             /* the kernel module's version against libnvidia-ml's */
    K_TORCH,            /* the GPUs' sm against the torch installed (Python environments) */
    K_OOM,              /* the parsed numbers against the GPU's memory */
    K_LLAMA_ARCH,       /* does a llama.cpp build mlgate read know it; with --model, the GGUF */
    K_CC_MIN,           /* each GPU against the entry's min_cc (Triton 7.0, FlashAttention 8.0) */
    K_NVCC,             /* the CUDA toolkit installed against the architecture asked for */
    K_DOCKER_GPU,       /* is the NVIDIA container toolkit installed (nvidia-ctk, the runtime) */
    K_RAM,              /* RAM, swap, the cgroup's limit */
    K_CPU_ARCH,         /* this machine's CPU architecture */
    K_ZEN5,             /* is this CPU AMD Zen 5 with AVX-512 */
    K_WSL,              /* WSL2: /usr/lib/wsl/lib/libcuda.so present */
    K_PYTHON,           /* the Python environments found, and their torch */
    K_CPU_ISA,          /* this CPU's vector extensions (AVX, AVX2, AVX-512, AMX) */
    K_BUILD_TOOLS,      /* cmake, pkg-config, ninja, compilers, nvcc, git on PATH */
} kb_check;

struct mg_kb_entry {
    const char *id;                 /* stable, kebab-case (tests/explain/IDS.md) */
    const char *title;              /* one line */
    int rank;                       /* lower comes first when several match: causes before consequences */
    const char *const *patterns;    /* NULL-terminated; the syntax is at the top of tables/failures.c */
    const char *implies;            /* ids this failure explains when both match (space-separated), or NULL */
    const char *cause;
    const char *fix;
    const char *refs;               /* reference URLs, space-separated, the first the main one */
    const char *field;              /* field-report registry ids (F-0NN, S-0NN), space-separated, or NULL */
    uint8_t parse;                  /* kb_parse */
    uint8_t check;                  /* kb_check */
    uint16_t min_cc;                /* K_CC_MIN: the least compute capability it needs (70 = 7.0) */
};

/* The table (tables/failures.c). */
extern const struct mg_kb_entry mg_kb_table[];
extern const size_t mg_kb_table_len;

/* Where a pattern, then an entry, matched: its first occurrence and line (match.c). */
typedef struct mg_kb_hit {
    int64_t start, end, line_start;
    uint32_t line;
    int found;
} mg_kb_hit;

typedef struct mg_kb_match {
    mg_kb_hit h;            /* the entry's earliest valid pattern occurrence */
    int matched, dropped;   /* dropped: another matched entry implies it (its consequence) */
} mg_kb_match;

/* Matches text against every entry into m[0..mg_kb_table_len); returns how many matched and were not
 * dropped, or -1 when the matcher could not be built or memory ran out. */
long mg_kb_match_all(const char *text, size_t len, mg_kb_match *m);
/* Whether a's `implies` names b (whole ids): b is then a's consequence, not a match of its own. */
int mg_kb_implies(const struct mg_kb_entry *a, const struct mg_kb_entry *b);
/* Whether a comes before b: more specific (rank), then earlier in the text. */
int mg_kb_before(const struct mg_kb_entry *a, const mg_kb_match *ma, const struct mg_kb_entry *b, const mg_kb_match *mb);

#endif
