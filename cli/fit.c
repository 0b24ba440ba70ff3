/* fit.c - `mlgate fit`: will this GGUF fit on these GPUs and this RAM, as llama.cpp would place it? */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "mlgate/mlgate.h"

static const char help[] =
    "usage: mlgate fit [options] MODEL.gguf | CHECKPOINT(.safetensors, index or directory)\n"
    "\n"
    "Where a llama.cpp run of MODEL puts its memory: weights per GPU for -ngl and\n"
    "--tensor-split (the output head counts as one of n_layer+1 slots; token_embd stays in\n"
    "RAM), the KV cache with the architecture's rules, compute buffers (estimated), what\n"
    "stays in RAM; then the most layers that fit and the largest context at that placement.\n"
    "For a safetensors checkpoint (config.json beside it): weights, KV cache and the peak of\n"
    "one prompt pass as transformers loads it, against the GPUs' memory.\n"
    "\n"
    "  -g, --gpu LIST        GPUs by name or sm_XY, memory from the GPU table ('RTX PRO 6000,RTX 5090')\n"
    "      --vram LIST       GPU memory sizes instead (96G,32G)\n"
    "                        default: this machine's GPUs and their free memory (NVML)\n"
    "      --ram SIZE        RAM (+swap) for what stays on the host (default: available + free swap)\n"
    "  -c, --ctx N           context (default: the model's)\n"
    "      --ctk/--ctv TYPE  cache type: f16 (default), q8_0, q4_0, f32, bf16\n"
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
    "      --kv-unified      one KV cache shared by the sequences (llama-server -kvu, its default\n"
    "                        when -np is not given; default here: one stream per sequence)\n"
    "      --headroom F      fraction of each GPU kept free (default 0.10)\n"
    "      --json            machine-readable answer\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 it fits on the GPUs as asked, 1 it does not (or only with layers or experts moved\n"
    "to RAM), 2 usage error.\n";

static int cache_type(const char *s, uint32_t *t)
{
    static const struct { const char *n; uint32_t id; } c[] = {{"f16", 1}, {"f32", 0}, {"bf16", 30}, {"q8_0", 8},
                                                                {"q4_0", 2}, {"q4_1", 3}, {"q5_0", 6}, {"q5_1", 7},
                                                                {"iq4_nl", 20}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (!strcmp(s, c[i].n)) {
            *t = c[i].id;
            return 0;
        }
    return -1;
}

/* safetensors: what a transformers/vLLM-style load needs; all of it on the GPUs (or tensor-parallel over them). */
static int fit_safetensors(const char *path, const mg_fit_device *dev, size_t nd, const mg_fit_opts *o, int json)
{
    mg_st_model *m = mg_st_model_open(path);
    if (!m)
        return EXIT_USAGE;
    int bad = !m->nshards;
    for (size_t i = 0; i < m->nshards; i++)
        bad |= m->shards[i].err != 0;
    if (bad) {
        fprintf(stderr, "mlgate fit: %s: not a readable GGUF or safetensors model\n", path);
        mg_st_model_free(m);
        return EXIT_FAIL;
    }
    uint64_t ctx = o->n_ctx ? o->n_ctx : (m->context ? m->context : 4096);
    mg_fit_st f;
    mg_fit_safetensors(m, ctx, o->n_seq, &f);
    uint64_t usable = 0;
    for (size_t i = 0; i < nd; i++)
        usable += (uint64_t)((double)dev[i].free * (1.0 - o->headroom));
    uint64_t parts[] = {f.weights, f.kv, f.activations, (nd ? nd : 1) * (457ull << 20)}, need = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)   /* saturating: a hostile config.json */
        need = parts[i] > UINT64_MAX - need ? UINT64_MAX : need + parts[i];
    int fits = nd && need <= usable;
    char a[32], b[32], c[32], d[32];
    if (json) {
        jw w = {stdout, 0, {0}, 0};
        jw_begin_obj(&w);
        jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
        jw_key(&w, "command"); jw_str(&w, "fit");
        jw_key(&w, "model"); jw_str(&w, path);
        jw_key(&w, "format"); jw_str(&w, "safetensors");
        jw_key(&w, "context"); jw_uint(&w, ctx);
        jw_key(&w, "weights"); jw_uint(&w, f.weights);
        jw_key(&w, "kv_per_token"); jw_uint(&w, f.kv_per_token);
        jw_key(&w, "kv"); jw_uint(&w, f.kv);
        jw_key(&w, "activations"); jw_uint(&w, f.activations);
        jw_key(&w, "need"); jw_uint(&w, need);
        jw_key(&w, "usable"); jw_uint(&w, usable);
        jw_key(&w, "fits"); jw_bool(&w, fits);
        jw_key(&w, "ram_to_load"); jw_uint(&w, f.weights);
        jw_end_obj(&w);
    } else {
        char e[32];
        printf("%s%s%s: safetensors, weights %s, KV %s at context %llu (%s per token), activations %s for "
               "one pass over %llu prompt tokens, ~%s with CUDA contexts\n",
               col(C_BOLD), path, col(C_RESET), human_bytes(f.weights, a, sizeof a), human_bytes(f.kv, b, sizeof b),
               (unsigned long long)ctx, human_bytes(f.kv_per_token, c, sizeof c),
               human_bytes(f.activations, e, sizeof e), (unsigned long long)ctx, human_bytes(need, d, sizeof d));
        if (nd)
            printf("  %s%s%s on %zu GPU%s with %s usable (%.0f%% headroom)\n", fits ? col(C_GREEN) : col(C_RED),
                   fits ? "fits" : "does not fit", col(C_RESET), nd, nd == 1 ? "" : "s (tensor-parallel)",
                   human_bytes(usable, a, sizeof a), o->headroom * 100);
        printf("  loaders that materialise the whole checkpoint in RAM need at least %s of RAM%s\n",
               human_bytes(f.weights, a, sizeof a), o->ram && f.weights > o->ram ? " - more than is available" : "");
        if (!f.kv_per_token)
            printf("  no config.json beside it: the KV cache is not counted\n");
        printf("  (activations are those of transformers; vLLM instead reserves --gpu-memory-utilization of the GPU\n"
               "   and fills what the weights leave with KV cache)\n");
    }
    mg_st_model_free(m);
    return fits ? EXIT_PASS : EXIT_FAIL;
}

int cmd_fit(int argc, char **argv)
{
    enum { O_VRAM = 256, O_RAM, O_CTK, O_CTV, O_NGL, O_SPLIT, O_PAR, O_HEAD, O_JSON, O_NCMOE, O_CMOE, O_OT, O_KVU, O_FA };
    static const struct option opts[] = {
        {"gpu", required_argument, 0, 'g'},       {"vram", required_argument, 0, O_VRAM},
        {"ram", required_argument, 0, O_RAM},     {"ctx", required_argument, 0, 'c'},
        {"ctk", required_argument, 0, O_CTK},     {"ctv", required_argument, 0, O_CTV},
        {"ngl", required_argument, 0, O_NGL},     {"tensor-split", required_argument, 0, O_SPLIT},
        {"parallel", required_argument, 0, O_PAR}, {"headroom", required_argument, 0, O_HEAD},
        {"json", no_argument, 0, O_JSON},         {"help", no_argument, 0, 'h'},
        {"n-cpu-moe", required_argument, 0, O_NCMOE}, {"cpu-moe", no_argument, 0, O_CMOE},
        {"override-tensor", required_argument, 0, O_OT}, {"kv-unified", no_argument, 0, O_KVU},
        {"flash-attn", required_argument, 0, O_FA},
        {0, 0, 0, 0}};
    mg_fit_device dev[MG_FIT_MAX_DEV];
    size_t nd = 0;
    mg_fit_opts o = {.type_k = 1, .type_v = 1, .n_seq = 1, .ngl = -1, .headroom = 0.10, .n_cpu_moe = -1};
    int json = 0, c, have_dev = 0;
    static char ot_buf[16][256];   /* -ot patterns, '=CPU' cut off */
    const char *ot[16];
    size_t n_ot = 0;
    /* llama.cpp spells it -ot: accept that single-dash form too */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-ot"))
            argv[i] = "--override-tensor";
        else if (!strcmp(argv[i], "-fa"))
            argv[i] = "--flash-attn";
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            if (targets_from_gpus("fit", optarg, dev, &nd))
                return EXIT_USAGE;
            have_dev = 1;
            break;
        case O_VRAM:
            if (targets_from_vram("fit", optarg, dev, &nd))
                return EXIT_USAGE;
            have_dev = 1;
            break;
        case O_RAM:
            if (parse_size(optarg, &o.ram)) {
                fprintf(stderr, "mlgate fit: '%s' is not a size\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'c': o.n_ctx = strtoull(optarg, NULL, 10); break;
        case O_CTK:
        case O_CTV:
            if (cache_type(optarg, c == O_CTK ? &o.type_k : &o.type_v)) {
                fprintf(stderr, "mlgate fit: cache type '%s' is not one of f16 f32 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 iq4_nl\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case O_NGL: o.ngl = atoi(optarg); break;
        case O_SPLIT: {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *t = strtok(buf, ",/"); t && o.nsplit < MG_FIT_MAX_DEV; t = strtok(NULL, ",/"))
                o.split[o.nsplit++] = atof(t);
            break;
        }
        case O_PAR: o.n_seq = (uint32_t)atoi(optarg); break;
        case O_HEAD: o.headroom = atof(optarg); break;
        case O_JSON: json = 1; break;
        case O_NCMOE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 100000) {
                fprintf(stderr, "mlgate fit: --n-cpu-moe wants a number of blocks, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            o.n_cpu_moe = (int)v;
            break;
        }
        case O_CMOE: o.n_cpu_moe = 1 << 30; break;
        case O_KVU: o.kv_unified = 1; break;
        case O_FA:
            if (!strcmp(optarg, "auto"))
                o.flash_attn = MG_FA_AUTO;
            else if (!strcmp(optarg, "on") || !strcmp(optarg, "1"))
                o.flash_attn = MG_FA_ON;
            else if (!strcmp(optarg, "off") || !strcmp(optarg, "0"))
                o.flash_attn = MG_FA_OFF;
            else {
                fprintf(stderr, "mlgate fit: --flash-attn takes on, off or auto, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case O_OT: {
            char buf[1024];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *eq = strrchr(t, '=');
                if (!eq || eq == t || strcasecmp(eq + 1, "CPU")) {
                    fprintf(stderr, "mlgate fit: -ot '%s': only REGEX=CPU overrides are modelled "
                                    "(like -ot 'exps=CPU')\n", t);
                    return EXIT_USAGE;
                }
                if (n_ot == sizeof ot / sizeof ot[0] || (size_t)(eq - t) >= sizeof ot_buf[0]) {
                    fprintf(stderr, "mlgate fit: too many or too long -ot patterns\n");
                    return EXIT_USAGE;
                }
                *eq = 0;
                snprintf(ot_buf[n_ot], sizeof ot_buf[0], "%s", t);
                ot[n_ot] = ot_buf[n_ot];
                n_ot++;
            }
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: fprintf(stderr, "Try 'mlgate fit --help'.\n"); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "mlgate fit: give one MODEL\n%s", help);
        return EXIT_USAGE;
    }
    if (o.headroom < 0 || o.headroom >= 1 || o.n_seq < 1 || o.n_seq > 256) {
        fprintf(stderr, "mlgate fit: --headroom wants 0..1 and --parallel 1..256\n");
        return EXIT_USAGE;
    }
    if (!have_dev && !(nd = targets_detect(dev)))   /* this machine's GPUs, with their free memory */
        fprintf(stderr, "mlgate fit: no GPU found here: judging a CPU-only run (give --gpu or --vram)\n");
    if (!o.ram) {
        mg_host_paths hp = {"", NULL};
        mg_memory mem;
        if (mg_memory_read(&hp, &mem) == MG_OK)
            o.ram = mem.available + mem.swap_free;
    }
    if (!path_is_gguf(argv[optind]))
        return fit_safetensors(argv[optind], dev, nd, &o, json);
    mg_gguf_model *m = mg_gguf_model_open(argv[optind]);
    mg_fit_model *fm = malloc(sizeof *fm);
    if (!m || !fm) {
        fprintf(stderr, "mlgate fit: out of memory\n");
        return EXIT_USAGE;
    }
    int rc = m->nshards && !m->shards[0].err ? mg_fit_model_from(m, fm) : MG_E_FORMAT;
    if (rc) {
        fprintf(stderr, "mlgate fit: %s: %s\n", argv[optind],
                m->nshards && m->shards[0].err ? m->shards[0].msg : "not a GGUF model with block_count (safetensors: see 'inspect')");
        mg_gguf_model_free(m);
        free(fm);
        return EXIT_FAIL;
    }
    char ot_err[256];
    if (n_ot && mg_fit_override_cpu(m, ot, n_ot, fm, ot_err, sizeof ot_err)) {
        fprintf(stderr, "mlgate fit: %s\n", ot_err);
        mg_gguf_model_free(m);
        free(fm);
        return EXIT_USAGE;
    }
    out_colour_init("auto", stdout);
    mg_fit_plan p;
    uint64_t max_ctx;
    mg_fit_search(fm, dev, nd, &o, &p, &max_ctx);
    /* Fully: every slot on the GPUs, with no experts moved to RAM beyond what was asked for. */
    int asked_moe = o.n_cpu_moe >= 0;
    int full = p.ngl == (int)fm->kv.n_layer + 1 && p.fits_gpu && p.fits_ram && (asked_moe || !p.n_cpu_moe);
    int moe_plan = !asked_moe && p.n_cpu_moe && p.fits_gpu && p.fits_ram;
    char a[32], b[32], x[32], y[32], z[32];
    if (json) {
        jw w = {stdout, 0, {0}, 0};
        jw_begin_obj(&w);
        jw_key(&w, "mlgate"); jw_str(&w, MLGATE_VERSION);
        jw_key(&w, "command"); jw_str(&w, "fit");
        jw_key(&w, "model"); jw_str(&w, argv[optind]);
        jw_key(&w, "fits_fully_on_gpus"); jw_bool(&w, full);
        jw_key(&w, "ngl"); jw_int(&w, p.ngl);
        jw_key(&w, "n_cpu_moe"); jw_int(&w, p.n_cpu_moe > (int)fm->kv.n_layer ? (int)fm->kv.n_layer : p.n_cpu_moe);
        jw_key(&w, "moe"); jw_bool(&w, fm->n_exps_tensors > 0);
        jw_key(&w, "flash_attn"); jw_bool(&w, p.flash_attn);
        jw_key(&w, "n_layer"); jw_uint(&w, fm->kv.n_layer);
        jw_key(&w, "context"); jw_uint(&w, p.n_ctx);
        jw_key(&w, "max_context"); jw_uint(&w, max_ctx);
        jw_key(&w, "tensor_split");
        jw_begin_arr(&w);
        for (size_t i = 0; i < nd; i++) jw_num(&w, p.split[i]);
        jw_end_arr(&w);
        jw_key(&w, "gpus");
        jw_begin_arr(&w);
        for (size_t i = 0; i < nd; i++) {
            jw_begin_obj(&w);
            jw_key(&w, "name"); jw_str(&w, dev[i].name);
            jw_key(&w, "slots"); jw_int(&w, p.layers[i]);
            jw_key(&w, "weights"); jw_uint(&w, p.weights[i]);
            jw_key(&w, "kv"); jw_uint(&w, p.kv[i]);
            jw_key(&w, "compute"); jw_uint(&w, p.compute[i]);
            jw_key(&w, "need"); jw_uint(&w, p.need[i]);
            jw_key(&w, "usable"); jw_uint(&w, p.usable[i]);
            jw_end_obj(&w);
        }
        jw_end_arr(&w);
        jw_key(&w, "ram");
        jw_begin_obj(&w);
        jw_key(&w, "weights"); jw_uint(&w, p.ram_weights);
        jw_key(&w, "kv"); jw_uint(&w, p.ram_kv);
        jw_key(&w, "other"); jw_uint(&w, p.ram_other);
        jw_key(&w, "need"); jw_uint(&w, p.ram_need);
        jw_key(&w, "available"); jw_uint(&w, o.ram);
        jw_key(&w, "fits"); jw_bool(&w, p.fits_ram);
        jw_end_obj(&w);
        jw_end_obj(&w);
    } else {
        printf("%s%s%s: %s of weights, %u layers, context %llu, KV %s/%s, %u sequence%s\n", col(C_BOLD), argv[optind],
               col(C_RESET), human_bytes(fm->total_bytes, a, sizeof a), fm->kv.n_layer, (unsigned long long)p.n_ctx,
               mg_ggml_type_get(o.type_k) ? mg_ggml_type_get(o.type_k)->name : "?",
               mg_ggml_type_get(o.type_v) ? mg_ggml_type_get(o.type_v)->name : "?", o.n_seq, o.n_seq == 1 ? "" : "s");
        for (size_t i = 0; i < nd; i++)
            printf("  %-28s %2d slots  weights %9s  KV %9s  compute %9s  = %9s of %9s usable%s\n", dev[i].name,
                   p.layers[i], human_bytes(p.weights[i], a, sizeof a), human_bytes(p.kv[i], b, sizeof b),
                   human_bytes(p.compute[i], x, sizeof x), human_bytes(p.need[i], y, sizeof y),
                   human_bytes(p.usable[i], z, sizeof z), p.need[i] > p.usable[i] ? "  OVER" : "");
        printf("  %-28s           weights %9s  KV %9s  other   %9s  = %9s", "RAM", human_bytes(p.ram_weights, a, sizeof a),
               human_bytes(p.ram_kv, b, sizeof b), human_bytes(p.ram_other, x, sizeof x), human_bytes(p.ram_need, y, sizeof y));
        if (o.ram)
            printf(" of %s available%s", human_bytes(o.ram, z, sizeof z), p.fits_ram ? "" : "  OVER");
        printf("\n");
        if (full)
            printf("%sFits on the GPU%s%s with %.0f%% headroom: -ngl %d%s; largest context there %llu.\n",
                   col(C_GREEN), nd > 1 ? "s" : "", col(C_RESET), o.headroom * 100, p.ngl,
                   p.n_cpu_moe ? " with the experts asked for in RAM" : "", (unsigned long long)max_ctx);
        else if (!nd)
            printf("%s%s in RAM%s for a CPU-only run at context %llu; largest context that fits: %llu.\n",
                   p.fits_ram ? col(C_GREEN) : col(C_RED), p.fits_ram ? "Fits" : "Does not fit", col(C_RESET),
                   (unsigned long long)p.n_ctx, (unsigned long long)max_ctx);
        else if (moe_plan)
            printf("%sDoes not fit fully:%s every layer fits on the GPU%s with the experts of the first %d of %u "
                   "blocks in RAM: -ngl %d --n-cpu-moe %d; largest context at that placement %llu.\n",
                   col(C_YELLOW), col(C_RESET), nd > 1 ? "s" : "", p.n_cpu_moe, fm->kv.n_layer, p.ngl, p.n_cpu_moe,
                   (unsigned long long)max_ctx);
        else if (p.fits_gpu && p.fits_ram)
            printf("%sDoes not fit fully:%s best is -ngl %d of %u (%u slots stay on the CPU); largest context at that "
                   "placement %llu.\n", col(C_YELLOW), col(C_RESET), p.ngl, fm->kv.n_layer + 1,
                   fm->kv.n_layer + 1 - (unsigned)p.ngl, (unsigned long long)max_ctx);
        else
            printf("%sDoes not fit%s at context %llu even with every layer on the CPU%s; largest context that fits: %llu.\n",
                   col(C_RED), col(C_RESET), (unsigned long long)p.n_ctx, p.fits_ram ? "" : " (RAM too small)",
                   (unsigned long long)max_ctx);
        if (nd > 1) {
            printf("  --tensor-split");
            for (size_t i = 0; i < nd; i++)
                printf("%s%.2f", i ? "," : " ", p.split[i]);
            printf("\n");
        }
        printf("  (compute: 700 MiB of CUDA runtime per GPU and llama.cpp's reservation as measured on an H100%s)\n",
               p.flash_attn ? "" : "; flash attention off: the attention scores count");
    }
    mg_gguf_model_free(m);
    free(fm);
    return full ? EXIT_PASS : EXIT_FAIL;
}
