/* fit.c - `mlgate fit`: will this model fit on these GPUs and this RAM (a GGUF as llama.cpp would place it)? */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char help[] =
    "usage: mlgate fit [options] MODEL.gguf | CHECKPOINT(.safetensors, index or directory)\n"
    "       mlgate fit [options] hf://ORG/REPO[@REVISION] | https://huggingface.co/ORG/REPO\n"
    "\n"
    "Where a llama.cpp run of MODEL puts its memory: weights per GPU for -ngl and\n"
    "--tensor-split (the output head counts as one of n_layer+1 slots; token_embd stays in\n"
    "RAM), the KV cache with the architecture's rules, compute buffers (estimated), what\n"
    "stays in RAM; then the most layers that fit and the largest context at that placement.\n"
    "For a safetensors checkpoint (config.json beside it): weights, KV cache and the peak of\n"
    "one prompt pass as transformers loads it, against the GPUs' memory; on several GPUs\n"
    "tensor-parallel (even shares) and split by layers (by memory), each per GPU. For a\n"
    "diffusers pipeline (a directory with model_index.json): every component, all on the\n"
    "GPU, with enable_model_cpu_offload and with enable_sequential_cpu_offload.\n"
    "\n"
    "A hub repository (hf://, or its page's URL; a .../resolve/... URL is one file): every GGUF\n"
    "file and split set is read by its header alone (Range requests, in parallel, cached in\n"
    "$XDG_CACHE_HOME/mlgate/hub) and fitted; the table says, best first, where each quantization\n"
    "goes and the largest context that fits (mmproj files are listed apart). HF_TOKEN is sent\n"
    "to the hub (HF_ENDPOINT, default https://huggingface.co) only.\n"
    "\n";
/* the options (two strings: C11 promises string literals of 4095 bytes only) */
static const char help_options[] =
    "  -g, --gpu LIST        GPUs by name or sm_XY, memory from the GPU table ('RTX PRO 6000,RTX 5090')\n"
    "      --vram LIST       GPU memory sizes instead (96G,32G)\n"
    "                        default: this machine's GPUs and their free memory (NVML, else libcuda)\n"
    "      --ram SIZE        RAM (+swap) for what stays on the host (default: available + free swap)\n"
    "  -c, --ctx N           context (default: the model's)\n"
    "      --ctk/--ctv TYPE  cache type: f16 (default), f32, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl\n"
    "      --ngl N           layers on the GPUs, as llama.cpp's -ngl (default: the most that fit)\n"
    "      --tensor-split L  proportions per GPU (default: by free memory)\n"
    "      --n-cpu-moe N     keep the experts of the first N blocks in RAM, as llama.cpp (MoE models;\n"
    "                        default: the fewest that let every layer onto the GPUs)\n"
    "      --cpu-moe         keep all experts in RAM\n"
    "  -ot, --override-tensor REGEX=CPU\n"
    "                        tensors whose name REGEX finds stay in RAM (repeatable, or comma-separated)\n"
    "      --parallel N      sequences (default 1)\n"
    "  -fa, --flash-attn on|off|auto\n"
    "                        as llama.cpp (default auto: on where CUDA has a kernel for the head\n"
    "                        size); off keeps the attention scores, ubatch x context x heads floats\n"
    "      --no-op-offload   as llama.cpp: weights kept in RAM are not copied to the first GPU for\n"
    "                        large batches (by default that GPU's compute buffer holds the largest of\n"
    "                        them: an expert tensor with --n-cpu-moe, a block with a partial -ngl)\n"
    "      --mmproj FILE     a VLM's projector GGUF (-mm), on the first GPU as llama.cpp's clip puts it\n"
    "      --no-mmproj-offload  the projector stays in RAM\n"
    "  -md, --model-draft FILE  a draft model for speculative decoding: its weights, KV cache at the same\n"
    "                        context and compute on the same GPUs\n"
    "  -ngld, --n-gpu-layers-draft N  the draft's -ngl (default: all)\n"
    "      --lora FILE       a LoRA adapter GGUF (repeatable): its tensors where their base layer is\n"
    "      --kv-unified      one KV cache shared by the sequences (llama-server -kvu, its default\n"
    "                        when -np is not given; default here: one stream per sequence)\n"
    "      --headroom F      fraction of each GPU kept free (default 0.10)\n"
    "      --no-cache        hub: read every header again (the cache is not read or written)\n"
    "      --deadline SECS   hub: for the whole repository (default 300); a header not read by\n"
    "                        then is an error row\n"
    "      --json            machine-readable answer\n"
    "  -h, --help            this help\n"
    "safetensors only:\n"
    "      --engine E        vllm (default; also sglang) or transformers: whose KV layout DeepSeek's MLA\n"
    "                        has (the compressed latent, or K and V per head)\n"
    "      --kv-cache-dtype T\n"
    "                        auto (torch_dtype's), fp8, fp8_e4m3, fp8_e5m2, bfloat16, float16, float32\n"
    "\n"
    "Exit status: 0 it fits on the GPUs as asked, 1 it does not (or only with layers or experts moved\n"
    "to RAM; a repository: no file of it does, or it cannot be listed), 2 usage error.\n";

static void print_place(const mg_fit_report *r, int kind)
{
    const mg_fit_st_place *pl = &r->st.place[kind];
    char a[32], b[32], c[32], d[32], e[32];
    if (kind == MG_ST_TP)
        printf("  tensor-parallel over %zu GPUs (vLLM --tensor-parallel-size %zu): %s%s%s%s%s\n", r->st.ndev, r->st.ndev,
               pl->fits ? col(C_GREEN) : col(C_RED), pl->fits ? "fits" : "does not fit", col(C_RESET),
               pl->why[0] ? ": " : "", pl->why);
    else
        printf("  layers split by memory (transformers device_map=\"auto\" with max_memory; vLLM "
               "--pipeline-parallel-size %zu): %s%s%s%s%s\n", r->st.ndev, pl->fits ? col(C_GREEN) : col(C_RED),
               pl->fits ? "fits" : "does not fit", col(C_RESET), pl->why[0] ? ": " : "", pl->why);
    if (!pl->shape_ok && kind == MG_ST_LAYERS)
        return;
    for (size_t i = 0; i < r->st.ndev; i++) {
        const mg_fit_st_gpu *g = &pl->gpu[i];
        printf("    %-26s %4u layers  weights %9s  KV %9s  act %9s  = %9s of %9s usable%s\n", r->dev[i].name, g->layers,
               mg_human(g->weights, a), mg_human(g->kv, b), mg_human(g->activations, c), mg_human(g->need, d),
               mg_human(g->usable, e), g->fits ? "" : "  OVER");
    }
    if (kind == MG_ST_LAYERS && pl->fits) {   /* vLLM's stages are even unless told */
        printf("    (vLLM splits layers evenly by default: VLLM_PP_LAYER_PARTITION=");
        for (size_t i = 0; i < r->st.ndev; i++)
            printf("%s%u", i ? "," : "", pl->gpu[i].layers);
        printf(")\n");
    }
}

static void print_pipeline(const mg_fit_report *r)
{
    const mg_fit_st *f = &r->st;
    const mg_st_model *sm = r->stm;
    char a[32], b[32], c[32];
    printf("%s%s%s: diffusers %s, %zu components, weights %s\n", col(C_BOLD), r->model, col(C_RESET),
           sm->pipeline_class[0] ? shown(sm->pipeline_class) : "pipeline", f->ncomp, mg_human(f->weights, a));
    for (size_t i = 0; i < f->ncomp && i < sm->ncomp; i++) {
        const mg_st_component *k = &sm->comp[i];
        printf("  %-16s %-28s %9s  largest module %9s", shown(k->name), shown(k->class_name), mg_human(f->comp[i].weights, a),
               mg_human(f->comp[i].largest_module, b));
        if (f->comp[i].activations)
            printf("  activations ~%s", mg_human(f->comp[i].activations, c));
        printf("%s%s\n", k->variant[0] ? "  variant " : "", shown(k->variant));
    }
    if (f->image_tokens)
        printf("  one 1024x1024 step: %llu image + %llu text tokens in the denoiser (activations estimated)\n",
               (unsigned long long)f->image_tokens, (unsigned long long)f->text_tokens);
    const char *gpu = r->ndev ? r->dev[r->big].name : "no GPU";
    struct { const char *how; uint64_t g, ram; } p[] = {
        {"all on the GPU", f->gpu_all, f->ram_all},
        {"enable_model_cpu_offload()", f->gpu_model_offload, f->ram_offload},
        {"enable_sequential_cpu_offload()", f->gpu_seq_offload, f->ram_offload},
    };
    for (size_t i = 0; i < 3; i++) {
        int fits = r->ndev && p[i].g <= r->big_usable && (!r->opts.ram || p[i].ram <= r->opts.ram);
        printf("  %-32s GPU %9s  RAM %9s  %s%s%s\n", p[i].how, mg_human(p[i].g, a), mg_human(p[i].ram, b),
               fits ? col(C_GREEN) : col(C_RED), fits ? "fits" : "does not fit", col(C_RESET));
    }
    printf("  on %s with %s usable (%.0f%% headroom)%s%s\n", gpu, mg_human(r->big_usable, a), r->opts.headroom * 100,
           r->opts.ram ? "; RAM available " : "", r->opts.ram ? mg_human(r->opts.ram, b) : "");
    printf("  (700 MiB of CUDA context and 5%% allocator slack counted; a UNet's activations are not estimated)\n");
}

static void print_st(const mg_fit_report *r)
{
    char a[32], b[32], c[32], d[32], e[32];
    const mg_fit_st *f = &r->st;
    if (f->pipeline) {
        print_pipeline(r);
        return;
    }
    printf("%s%s%s: safetensors, weights %s, KV %s at context %llu (%s per token%s), activations %s for "
           "one pass over %llu prompt tokens, ~%s in all with the CUDA context and allocator slack\n",
           col(C_BOLD), r->model, col(C_RESET), mg_human(f->weights, a), mg_human(f->kv, b), (unsigned long long)r->context,
           mg_human(f->kv_per_token, c),
           !f->mla ? "" : f->engine == MG_ENGINE_TRANSFORMERS ? ", MLA decompressed per head as transformers keeps it"
                                                            : ", MLA's compressed latent as vLLM/SGLang keep it",
           mg_human(f->activations, e), (unsigned long long)r->context, mg_human(f->need, d));
    if (r->ndev == 1)
        printf("  %s%s%s on 1 GPU with %s usable (%.0f%% headroom)\n", r->fits ? col(C_GREEN) : col(C_RED),
               r->fits ? "fits" : "does not fit", col(C_RESET), mg_human(r->usable, a), r->opts.headroom * 100);
    if (f->ndev > 1) {
        print_place(r, MG_ST_TP);
        print_place(r, MG_ST_LAYERS);
    }
    printf("  loaders that materialise the whole checkpoint in RAM need at least %s of RAM%s\n", mg_human(f->weights, a),
           r->opts.ram && f->weights > r->opts.ram ? " - more than is available" : "");
    if (!f->kv_per_token)
        printf("  no config.json beside it: the KV cache is not counted\n");
    printf("  (activations are those of transformers; vLLM instead reserves --gpu-memory-utilization of the GPU\n"
           "   and fills what the weights leave with KV cache)\n");
}

static void print_gguf(const mg_fit_report *r)
{
    const mg_fit_plan *p = &r->plan;
    const mg_fit_opts *o = &r->opts;
    size_t nd = r->ndev;
    char a[32], b[32], x[32], y[32], z[32];
    printf("%s%s%s: %s of weights, %u layers, context %llu, KV %s/%s, %u sequence%s\n", col(C_BOLD), r->model,
           col(C_RESET), mg_human(r->weights, a), r->n_layer, (unsigned long long)p->n_ctx,
           mg_ggml_type_get(o->type_k) ? mg_ggml_type_get(o->type_k)->name : "?",
           mg_ggml_type_get(o->type_v) ? mg_ggml_type_get(o->type_v)->name : "?", o->n_seq, o->n_seq == 1 ? "" : "s");
    for (size_t i = 0; i < nd; i++)
        printf("  %-28s %2d slots  weights %9s  KV %9s  compute %9s  = %9s of %9s usable%s\n", r->dev[i].name,
               p->layers[i], mg_human(p->weights[i], a), mg_human(p->kv[i], b), mg_human(p->compute[i], x),
               mg_human(p->need[i], y), mg_human(p->usable[i], z), p->need[i] > p->usable[i] ? "  OVER" : "");
    for (size_t i = 0; i < nd; i++)
        if (p->draft[i] || p->mmproj[i])
            printf("  %-28s   of which  draft model %9s  projector %9s\n", "", mg_human(p->draft[i], a),
                   mg_human(p->mmproj[i], b));
    if (p->lora_bytes)
        printf("  LoRA adapters: %s, with their base layers\n", mg_human(p->lora_bytes, a));
    if (p->ram_draft || p->ram_mmproj)
        printf("  RAM beside the model: draft %s, projector %s (in the RAM need)\n", mg_human(p->ram_draft, a),
               mg_human(p->ram_mmproj, b));
    printf("  %-28s           weights %9s  KV %9s  other   %9s  = %9s", "RAM", mg_human(p->ram_weights, a),
           mg_human(p->ram_kv, b), mg_human(p->ram_other, x), mg_human(p->ram_need, y));
    if (o->ram)
        printf(" of %s available%s", mg_human(o->ram, z), p->fits_ram ? "" : "  OVER");
    printf("\n");
    const char *s = nd > 1 ? "s" : "";
    unsigned long long max_ctx = r->max_ctx, ctx = p->n_ctx;
    char ts[16 * MG_FIT_MAX_DEV + 8] = "";   /* " -ts 57,5" when the split was searched */
    for (size_t i = 0, n = 0; p->split_searched && i < nd; i++)
        n += (size_t)snprintf(ts + n, sizeof ts - n, "%s%d", i ? "," : " -ts ", p->layers[i]);
    switch (r->verdict) {
    case MG_FIT_FULL:
        printf("%sFits on the GPU%s%s with %.0f%% headroom: -ngl %d%s%s; largest context there %llu.\n", col(C_GREEN), s,
               col(C_RESET), o->headroom * 100, p->ngl, ts, p->n_cpu_moe ? " with the experts asked for in RAM" : "", max_ctx);
        break;
    case MG_FIT_CPU:
        printf("%s%s in RAM%s for a CPU-only run at context %llu; largest context that fits: %llu.\n",
               p->fits_ram ? col(C_GREEN) : col(C_RED), p->fits_ram ? "Fits" : "Does not fit", col(C_RESET), ctx, max_ctx);
        break;
    case MG_FIT_MOE:
        printf("%sDoes not fit fully:%s every layer fits on the GPU%s with the experts of the first %d of %u "
               "blocks in RAM: -ngl %d --n-cpu-moe %d%s; largest context at that placement %llu.\n",
               col(C_YELLOW), col(C_RESET), s, p->n_cpu_moe, r->n_layer, p->ngl, p->n_cpu_moe, ts, max_ctx);
        break;
    case MG_FIT_PARTIAL:
        printf("%sDoes not fit fully:%s best is -ngl %d%s of %u (%u slots stay on the CPU); largest context at that "
               "placement %llu.\n", col(C_YELLOW), col(C_RESET), p->ngl, ts, r->n_layer + 1,
               r->n_layer + 1 - (unsigned)p->ngl, max_ctx);
        break;
    case MG_FIT_NONE: {
        /* name the parts that are over: which GPU (need vs usable), the RAM */
        char over[1024] = "";
        size_t n = 0;
        for (size_t i = 0; i < nd && n < sizeof over - 160; i++)
            if (p->need[i] > p->usable[i]) {
                char id[32];
                snprintf(id, sizeof id, "GPU%zu", i);
                n += (size_t)snprintf(over + n, sizeof over - n, "%s%s%s%s%s needs %s of %s usable", n ? "; " : "", id,
                                      strcmp(id, r->dev[i].name) ? " (" : "", strcmp(id, r->dev[i].name) ? r->dev[i].name : "",
                                      strcmp(id, r->dev[i].name) ? ")" : "", mg_human(p->need[i], a), mg_human(p->usable[i], b));
            }
        if (!p->fits_ram && n < sizeof over - 160)
            n += (size_t)snprintf(over + n, sizeof over - n, "%sRAM needs %s of %s available", n ? "; " : "",
                                  mg_human(p->ram_need, x), mg_human(o->ram, y));
        if (o->ngl >= 0 || o->n_cpu_moe >= 0 || o->nsplit)
            printf("%sDoes not fit%s at context %llu as placed (-ngl %d%s): %s; largest context at this placement: "
                   "%llu.\n", col(C_RED), col(C_RESET), ctx, p->ngl, p->n_cpu_moe ? " with experts in RAM" : "",
                   n ? over : "nothing over", max_ctx);
        else
            printf("%sDoes not fit%s at context %llu with any -ngl (the last tried, -ngl %d: %s); largest context "
                   "there: %llu.\n", col(C_RED), col(C_RESET), ctx, p->ngl, n ? over : "nothing over", max_ctx);
        break;
    }
    }
    if (nd > 1) {   /* the slots per GPU: exactly this placement when pasted (llama.cpp normalises -ts) */
        printf("  --tensor-split");
        for (size_t i = 0; i < nd; i++)
            printf("%s%d", i ? "," : " ", p->layers[i]);
        printf("  (slots per GPU; as fractions");
        for (size_t i = 0; i < nd; i++)
            printf("%s%.2f", i ? "," : " ", p->split[i]);
        printf("%s)\n", p->split_searched ? "; searched: the split by free memory holds less, pass this -ts"
                                           : o->nsplit ? "" : "; by free memory");
    }
    printf("  (compute: 700 MiB of CUDA runtime per GPU and llama.cpp's reservation as measured on an H100%s)\n",
           p->flash_attn ? "" : "; flash attention off: the attention scores count");
}

#define MAX_OT 16

/* A hub row's placement, as the table says it. */
static const char *placement(const mg_hub_row *x, char *buf, size_t n)
{
    const mg_fit_plan *p = &x->fit.plan;
    switch (x->place) {
    case MG_HUB_FULL:
        if (x->fit.format == MG_FORMAT_SAFETENSORS)
            snprintf(buf, n, "full (transformers)");
        else
            snprintf(buf, n, "full -ngl %d", p->ngl);
        break;
    case MG_HUB_MOE: snprintf(buf, n, "MoE experts in RAM --n-cpu-moe %d", p->n_cpu_moe); break;
    case MG_HUB_PARTIAL: snprintf(buf, n, "partial -ngl %d/%u", p->ngl, x->fit.n_layer + 1); break;
    case MG_HUB_CPU: snprintf(buf, n, "CPU%s", p->fits_ram || x->fit.format == MG_FORMAT_SAFETENSORS ? "" : " (RAM too small)"); break;
    case MG_HUB_NONE: snprintf(buf, n, "none"); break;
    default: snprintf(buf, n, "error"); break;
    }
    return buf;
}

static void print_hub(const mg_hub_report *r, size_t ndev, uint64_t usable)
{
    char a[32], b[32], pl[64];
    const mg_hub_row *first = NULL;
    for (size_t i = 0; i < r->nrows && !first; i++)
        if (r->rows[i].place != MG_HUB_ERROR)
            first = &r->rows[i];
    printf("%s%s@%s%s: %zu %s candidate%s of %zu files", col(C_BOLD), shown(r->ref.repo), shown(r->ref.revision),
           col(C_RESET), r->nrows, r->format == MG_FORMAT_SAFETENSORS ? "safetensors" : "GGUF", r->nrows == 1 ? "" : "s",
           r->files);
    if (ndev)
        printf(" on %zu GPU%s (%s)", ndev, ndev == 1 ? "" : "s", mg_human(usable, a));
    else
        printf(", CPU only");
    if (first)
        printf(", context %llu", (unsigned long long)(first->fit.format == MG_FORMAT_SAFETENSORS ? first->fit.context
                                                                                                 : first->fit.plan.n_ctx));
    printf("; best first\n  %-12s %10s %6s  %-34s %9s  %s\n", "QUANT", "SIZE", "BPW", "PLACEMENT", "MAX CTX", "FILE");
    for (size_t i = 0; i < r->nrows; i++) {
        const mg_hub_row *x = &r->rows[i];
        colour c = x->place == MG_HUB_FULL ? C_GREEN : x->place == MG_HUB_MOE || x->place == MG_HUB_PARTIAL ? C_YELLOW
                                                                                                            : C_RED;
        unsigned long long ctx = x->fit.format == MG_FORMAT_SAFETENSORS ? (x->fit.fits ? x->fit.context : 0)
                                                                        : x->fit.max_ctx;
        printf("  %-12s %10s %6.2f  %s%-34s%s ", shown(x->quant), mg_human(x->size, a), x->bpw, col(c),
               placement(x, pl, sizeof pl), col(C_RESET));
        if (x->place == MG_HUB_ERROR)   /* the message names the file */
            printf("%9s  %s\n", "-", shown(x->msg));
        else
            printf("%9llu  %s%s%s%s\n", ctx, shown(x->file), x->nfiles > 1 ? " (" : "",
                   x->nfiles > 1 ? plural(x->nfiles, "shard", "shards", b, sizeof b) : "", x->nfiles > 1 ? ")" : "");
    }
    if (r->skipped)
        printf("  (%zu more candidates not read: at most %d)\n", r->skipped, MG_HUB_MAX_CANDIDATES);
    for (size_t i = 0; i < r->nmmproj; i++)
        printf("  projector (not a candidate): %s\n", shown(r->mmproj[i]));
    printf("  read over HTTP: %ld request%s, %s; %zu header%s from the cache\n", r->remote.requests,
           r->remote.requests == 1 ? "" : "s", mg_human(r->remote.bytes, a), r->cache_hits, r->cache_hits == 1 ? "" : "s");
}

/* What the command line asked for. */
typedef struct args {
    mg_fit_opts o;
    mg_target_spec ts;
    char ot_buf[MAX_OT][256];   /* -ot patterns, '=CPU' cut off */
    const char *ot[MAX_OT];
    size_t n_ot;
    const char *model;
    const char *mmproj, *draft, *lora[MG_FIT_MAX_LORA];   /* files loaded beside the model */
    size_t n_lora;
    int json;
    int no_cache;           /* hub: --no-cache */
    double deadline;        /* hub: --deadline seconds (0: the library's) */
} args;

/* -ot 'REGEX=CPU[,REGEX=CPU...]', as llama.cpp: only overrides to the CPU are modelled. */
static int add_overrides(args *a, const char *arg)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(t, '=');
        if (!eq || eq == t || strcasecmp(eq + 1, "CPU"))
            return cli_usage("fit", a->json, "-ot '%s': only REGEX=CPU overrides are modelled (like -ot 'exps=CPU')", t);
        if (a->n_ot == MAX_OT || (size_t)(eq - t) >= sizeof a->ot_buf[0])
            return cli_usage("fit", a->json, "too many or too long -ot patterns");
        *eq = 0;
        snprintf(a->ot_buf[a->n_ot], sizeof a->ot_buf[0], "%s", t);
        a->ot[a->n_ot] = a->ot_buf[a->n_ot];
        a->n_ot++;
    }
    return -1;
}

/* -fa on|off|auto (or 1|0) */
static int flash_attn(const char *s, int *out)
{
    static const struct { const char *word; int mode; } w[] = {
        {"auto", MG_FA_AUTO}, {"on", MG_FA_ON}, {"1", MG_FA_ON}, {"off", MG_FA_OFF}, {"0", MG_FA_OFF}};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (!strcmp(s, w[i].word)) {
            *out = w[i].mode;
            return 0;
        }
    return -1;
}

/* --kv-cache-dtype as vLLM spells it -> bytes per element (0: auto, the checkpoint's torch_dtype). */
static int kv_dtype(const char *s, unsigned *bytes)
{
    static const struct { const char *name; unsigned bytes; } t[] = {
        {"auto", 0}, {"fp8", 1}, {"fp8_e4m3", 1}, {"fp8_e5m2", 1}, {"bfloat16", 2}, {"float16", 2}, {"half", 2},
        {"float32", 4}, {"float", 4}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) {
            *bytes = t[i].bytes;
            return 0;
        }
    return 1;
}

/* The options into a; -1 to go on, else the exit code (help printed, or a usage error said). */
static int parse(int argc, char **argv, args *a)
{
    enum { O_VRAM = 256, O_RAM, O_CTK, O_CTV, O_NGL, O_SPLIT, O_PAR, O_HEAD, O_JSON, O_NCMOE, O_CMOE, O_OT, O_KVU, O_FA, O_ENGINE,
           O_KVDT, O_NOOFF, O_MMPROJ, O_NOMMOFF, O_DRAFT, O_NGLD, O_LORA, O_NOCACHE,
           O_DEADLINE };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},       {"vram", required_argument, 0, O_VRAM},
        {"ram", required_argument, 0, O_RAM},     {"ctx", required_argument, 0, 'c'},
        {"ctk", required_argument, 0, O_CTK},     {"ctv", required_argument, 0, O_CTV},
        {"ngl", required_argument, 0, O_NGL},     {"tensor-split", required_argument, 0, O_SPLIT},
        {"parallel", required_argument, 0, O_PAR}, {"headroom", required_argument, 0, O_HEAD},
        {"json", no_argument, 0, O_JSON},         {"help", no_argument, 0, 'h'},
        {"n-cpu-moe", required_argument, 0, O_NCMOE}, {"cpu-moe", no_argument, 0, O_CMOE},
        {"override-tensor", required_argument, 0, O_OT}, {"kv-unified", no_argument, 0, O_KVU},
        {"flash-attn", required_argument, 0, O_FA}, {"engine", required_argument, 0, O_ENGINE},
        {"kv-cache-dtype", required_argument, 0, O_KVDT}, {"no-op-offload", no_argument, 0, O_NOOFF},
        {"mmproj", required_argument, 0, O_MMPROJ}, {"no-mmproj-offload", no_argument, 0, O_NOMMOFF},
        {"model-draft", required_argument, 0, O_DRAFT}, {"n-gpu-layers-draft", required_argument, 0, O_NGLD},
        {"gpu-layers-draft", required_argument, 0, O_NGLD}, {"spec-draft-ngl", required_argument, 0, O_NGLD},
        {"spec-draft-model", required_argument, 0, O_DRAFT}, {"lora", required_argument, 0, O_LORA},
        {"no-cache", no_argument, 0, O_NOCACHE}, {"deadline", required_argument, 0, O_DEADLINE},
        {0, 0, 0, 0}};
    mg_fit_opts *o = &a->o;
    int c, rc;
    for (int i = 1; i < argc; i++)   /* llama.cpp spells them -ot and -fa: accept that single-dash form too */
        if (!strcmp(argv[i], "-ot"))
            argv[i] = "--override-tensor";
        else if (!strcmp(argv[i], "-fa"))
            argv[i] = "--flash-attn";
        else if (!strcmp(argv[i], "-mm"))
            argv[i] = "--mmproj";
        else if (!strcmp(argv[i], "-md"))
            argv[i] = "--model-draft";
        else if (!strcmp(argv[i], "-ngld"))
            argv[i] = "--n-gpu-layers-draft";
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': a->ts.gpus = optarg; break;
        case O_VRAM: a->ts.vram = optarg; break;
        case O_RAM:
            if (mg_parse_size(optarg, &o->ram))
                return cli_usage("fit", a->json, "'%s' is not a size", optarg);
            break;
        case 'c': o->n_ctx = strtoull(optarg, NULL, 10); break;
        case O_CTK:
        case O_CTV:
            if (mg_cache_type(optarg, c == O_CTK ? &o->type_k : &o->type_v))
                return cli_usage("fit", a->json, "cache type '%s' is not one of f16 f32 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 "
                                 "iq4_nl", optarg);
            break;
        case O_NGL: o->ngl = atoi(optarg); break;
        case O_SPLIT: {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *t = strtok(buf, ",/"); t && o->nsplit < MG_FIT_MAX_DEV; t = strtok(NULL, ",/"))
                o->split[o->nsplit++] = atof(t);
            break;
        }
        case O_PAR: o->n_seq = (uint32_t)atoi(optarg); break;
        case O_HEAD: o->headroom = atof(optarg); break;
        case O_JSON: a->json = 1; break;
        case O_NCMOE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 100000)
                return cli_usage("fit", a->json, "--n-cpu-moe wants a number of blocks, not '%s'", optarg);
            o->n_cpu_moe = (int)v;
            break;
        }
        case O_CMOE: o->n_cpu_moe = 1 << 30; break;
        case O_KVU: o->kv_unified = 1; break;
        case O_NOCACHE: a->no_cache = 1; break;
        case O_DEADLINE:
            if (mg_parse_duration(optarg, &a->deadline))
                return cli_usage("fit", a->json, "--deadline wants seconds, more than 0 (30, 2m)");
            break;
        case O_NOOFF: o->no_op_offload = 1; break;
        case O_MMPROJ: a->mmproj = optarg; break;
        case O_NOMMOFF: o->no_mmproj_offload = 1; break;
        case O_DRAFT: a->draft = optarg; break;
        case O_NGLD:
            o->ngl_draft = !strcmp(optarg, "all") || !strcmp(optarg, "auto") ? -1 : atoi(optarg);
            break;
        case O_LORA:
            if (a->n_lora == MG_FIT_MAX_LORA)
                return cli_usage("fit", a->json, "at most %d --lora adapters", MG_FIT_MAX_LORA);
            a->lora[a->n_lora++] = optarg;
            break;
        case O_FA:
            if (flash_attn(optarg, &o->flash_attn))
                return cli_usage("fit", a->json, "--flash-attn takes on, off or auto, not '%s'", optarg);
            break;
        case O_ENGINE:
            if (!strcmp(optarg, "vllm") || !strcmp(optarg, "sglang"))
                o->st_engine = MG_ENGINE_VLLM;
            else if (!strcmp(optarg, "transformers"))
                o->st_engine = MG_ENGINE_TRANSFORMERS;
            else
                return cli_usage("fit", a->json, "--engine takes vllm, sglang or transformers, not '%s'", optarg);
            break;
        case O_KVDT:
            if ((rc = kv_dtype(optarg, &o->st_kv_bytes)))
                return cli_usage("fit", a->json, "--kv-cache-dtype takes auto, fp8, fp8_e4m3, fp8_e5m2, bfloat16, "
                                 "float16 or float32, not '%s'", optarg);
            break;
        case O_OT:
            if ((rc = add_overrides(a, optarg)) >= 0)
                return rc;
            break;
        case 'h': fputs(help, stdout); fputs(help_options, stdout); return EXIT_PASS;
        default: return cli_usage("fit", a->json, "unknown option (see 'mlgate fit --help')");
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mlgate fit: give one MODEL\n%s%s", help, help_options);
        return a->json ? cli_usage("fit", a->json, "give one MODEL") : EXIT_USAGE;
    }
    if (o->headroom < 0 || o->headroom >= 1 || o->n_seq < 1 || o->n_seq > 256)
        return cli_usage("fit", a->json, "--headroom wants 0..1 and --parallel 1..256");
    a->model = argv[optind];
    return -1;
}

/* `mlgate fit hf://ORG/REPO`: the library reads and fits every candidate; this prints the table. */
static int fit_hub(const args *a, const mg_hub_ref *ref, const mg_targets *t)
{
    if (a->n_ot)
        return cli_usage("fit", a->json, "-ot is for one file, not a repository");
    mg_hub_opts ho = {.cache_dir = a->no_cache ? "" : NULL, .deadline_at = a->deadline > 0 ? mg_now() + a->deadline : 0};
    mg_hub_report *r;
    char err[512];
    int e = mg_hub_fit(ref, t->t, t->n, &a->o, &ho, &r, err, sizeof err);
    if (e)
        return cli_fail("fit", a->json, e == MG_E_ARG || e == MG_E_NOMEM ? EXIT_USAGE : EXIT_FAIL, (mg_err)e, "%s", err);
    size_t ndev = 0;
    uint64_t usable = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->t[i].mem_total)
            ndev++, usable += t->t[i].mem_free;
    if (!ndev && !a->ts.gpus && !a->ts.vram)
        fprintf(stderr, "mlgate fit: no GPU found here: judging a CPU-only run (give --gpu or --vram)\n");
    out_colour_init("auto", stdout);
    if (a->json)
        mg_hub_json(stdout, r);
    else
        print_hub(r, ndev, usable);
    int rc = r->nrows && r->rows[0].place == MG_HUB_FULL ? EXIT_PASS : EXIT_FAIL;
    mg_hub_report_free(r);
    return rc;
}

int cmd_fit(int argc, char **argv)
{
    args a = {.o = {.type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.10, .n_cpu_moe = -1, .ngl_draft = -1},
              .ts = {.need_memory = 1, .detect = 1},   /* without --gpu/--vram: this machine's GPUs, their free memory */
              .json = wants_json(argc, argv)};
    int rc = parse(argc, argv, &a);
    mg_targets t;
    if (rc >= 0 || cli_targets("fit", a.json, &a.ts, &t))
        return rc >= 0 ? rc : EXIT_USAGE;
    mg_hub_ref ref;
    char err[512] = "out of memory";
    int hub = mg_hub_parse(a.model, &ref, err, sizeof err);
    if (hub < 0)
        return cli_usage("fit", a.json, "%s", err);
    if (hub)
        return fit_hub(&a, &ref, &t);
    mg_model *m = mg_model_open(a.model);
    mg_model *mm = a.mmproj ? mg_model_open(a.mmproj) : NULL, *md = a.draft ? mg_model_open(a.draft) : NULL;
    mg_model *ml[MG_FIT_MAX_LORA] = {0};
    a.o.mmproj = mm;
    a.o.draft = md;
    for (size_t i = 0; i < a.n_lora; i++)
        a.o.lora[a.o.n_lora++] = ml[i] = mg_model_open(a.lora[i]);
    mg_fit_report *r = malloc(sizeof *r);
    snprintf(err, sizeof err, "out of memory");
    int opened = m && (!a.mmproj || mm) && (!a.draft || md);
    for (size_t i = 0; i < a.n_lora; i++)
        opened = opened && ml[i];
    int e = opened && r ? mg_fit(m, t.t, t.n, &a.o, a.ot, a.n_ot, r, err, sizeof err) : MG_E_NOMEM;
    if (e)   /* a file that is not a readable model: 1, like a model that does not fit; a bad -ot pattern: 2 */
        rc = cli_fail("fit", a.json, e == MG_E_ARG || e == MG_E_NOMEM ? EXIT_USAGE : EXIT_FAIL,
                      (mg_err)e, "%s", err);
    else {
        if (!r->ndev && !a.ts.gpus && !a.ts.vram)
            fprintf(stderr, "mlgate fit: no GPU found here: judging a CPU-only run (give --gpu or --vram)\n");
        out_colour_init("auto", stdout);
        if (a.json)
            mg_fit_json(stdout, r);
        else if (r->format == MG_FORMAT_SAFETENSORS)
            print_st(r);
        else
            print_gguf(r);
        rc = r->fits ? EXIT_PASS : EXIT_FAIL;
    }
    free(r);
    mg_model_free(m);
    mg_model_free(mm);
    mg_model_free(md);
    for (size_t i = 0; i < a.n_lora; i++)
        mg_model_free(ml[i]);
    return rc;
}
