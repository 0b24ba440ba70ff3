/* inspect.c - `mlgate inspect`: what a model file really is, read from its headers (the library writes the JSON). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: mlgate inspect [options] MODEL...\n"
    "\n"
    "Reads a model's headers and says what it really is: architecture, parameters, true\n"
    "size and bits per weight, types, context length and shape. MODEL is a GGUF file\n"
    "(split GGUFs, -00001-of-00009.gguf, are read shard by shard and totalled; llama.cpp's\n"
    "own checks are applied), or a safetensors checkpoint: a .safetensors file, a\n"
    "model.safetensors.index.json, or a directory (diffusers: transformer/, unet/), with\n"
    "config.json read beside it. Validated like the reference implementations. For a GGUF it\n"
    "says which llama.cpp builds load it (\"b8681 or newer\"), from the builds mlgate has read.\n"
    "MODEL may be an http(s):// URL (hub /resolve/main/ URLs too): only the header bytes\n"
    "are fetched, with Range requests; HF_TOKEN (or MLGATE_TOKEN) is sent for gated files.\n"
    "\n"
    "      --json        machine-readable report\n"
    "      --tensors     list every tensor\n"
    "      --metadata    list every metadata key\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 every file read, 1 some file is malformed or truncated, 2 usage error.\n";

static const char *ftype_name(uint64_t f)
{
    static const char *const t[] = {"ALL_F32", "MOSTLY_F16", "Q4_0", "Q4_1", "Q4_1_SOME_F16", "?", "?", "Q8_0",
                                    "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M",
                                    "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "Q2_K_S", "IQ3_XS", "IQ3_XXS",
                                    "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M",
                                    "BF16", "?", "?", "?", "TQ1_0", "TQ2_0", "MXFP4_MOE", "NVFP4", "Q1_0", "Q2_0"};
    return f < sizeof t / sizeof t[0] ? t[f] : f == 1024 ? "GUESSED" : "?";
}

/* "b10964 (0.4.1)" */
static const char *build_name(int build, char *buf, size_t n)
{
    const char *rel = mg_llama_cpp_release(build);
    snprintf(buf, n, "b%d%s%s%s", build, rel ? " (" : "", rel ? rel : "", rel ? ")" : "");
    return buf;
}

/* Which llama.cpp builds load it, from the builds mlgate has read (lib/models/tables/engines.c). */
static void print_llama_cpp(const mg_gguf_model *md, const char *arch)
{
    mg_llama_need need;
    char b1[32], b2[32];
    mg_llama_cpp_need(md, &need);
    if (need.build && !need.before)
        printf("  llama.cpp %s or newer loads this (the oldest build mlgate has read; older ones may too)\n",
               build_name(need.build, b1, sizeof b1));
    else if (need.build && need.by_type)
        printf("  llama.cpp %s or newer loads this: %s tensors are not in %s\n", build_name(need.build, b1, sizeof b1),
               mg_ggml_type_get(need.type)->name, build_name(need.before, b2, sizeof b2));
    else if (need.build)
        printf("  llama.cpp %s or newer loads this: architecture '%s' is not in %s\n",
               build_name(need.build, b1, sizeof b1), shown(arch), build_name(need.before, b2, sizeof b2));
    else if (arch && mg_llama_cpp_spelling(arch))
        printf("  %sllama.cpp%s: no build mlgate has read, up to %s, loads architecture '%s'; llama.cpp spells it "
               "'%s': the file was written by another tool or version\n", col(C_RED), col(C_RESET),
               build_name(mg_llama_cpp_newest(), b1, sizeof b1), shown(arch), mg_llama_cpp_spelling(arch));
    else
        printf("  %sllama.cpp%s: no build mlgate has read, up to %s, loads architecture '%s' "
               "(\"unknown model architecture\")\n", col(C_RED), col(C_RESET),
               build_name(mg_llama_cpp_newest(), b1, sizeof b1), arch ? shown(arch) : "");
}

static void print_shard_errors(const mg_model *m)
{
    size_t n = m->gguf ? m->gguf->nshards : m->st->nshards;
    for (size_t i = 0; i < n; i++) {
        const char *path = m->gguf ? m->gguf->shards[i].path : m->st->shards[i].path;
        const char *msg = m->gguf ? m->gguf->shards[i].msg : m->st->shards[i].msg;
        int err = m->gguf ? m->gguf->shards[i].err : m->st->shards[i].err;
        if (err)   /* the message is a whole sentence ("truncated: the tensors need ...") */
            printf("%s%s%s: %s\n", col(C_RED), shown(path), col(C_RESET), msg[0] ? shown(msg) : mg_strerror((mg_err)err));
    }
}

static void print_remote(const mg_model *m)
{
    const mg_fetch_stats *r = mg_model_remote(m);
    char b[32];
    if (r->requests)
        printf("  read over HTTP: %ld request%s, %s\n", r->requests, r->requests == 1 ? "" : "s", mg_human(r->bytes, b));
}

static void print_gguf(const mg_model *m, const mg_model_summary *s, int tensors, int metadata)
{
    const mg_gguf_model *md = m->gguf;
    const mg_gguf_file *first = &md->shards[0];
    char b1[32], b2[32], pc[32];
    print_shard_errors(m);
    if (first->err)
        return;
    const mg_gguf *g = &first->g;
    printf("%s%s%s: GGUF v%u, %s%s%s%s, %s parameters, %s of tensors, %.2f bits per weight\n", col(C_BOLD),
           shown(first->path), col(C_RESET), g->version, s->arch ? shown(s->arch) : "(no architecture)",
           s->name ? " (" : "", s->name ? shown(s->name) : "", s->name ? ")" : "", mg_human_count(s->params, pc), mg_human(s->bytes, b1), s->bpw);
    if (md->nshards > 1)
        printf("  split into %zu shards%s\n", md->nshards, s->partial ? " (some unreadable: totals are partial)" : "");
    const char *gtype = mg_gguf_str(g, "general.type");
    if (s->arch && !strcmp(s->arch, "clip"))
        printf("  a multimodal projector (mmproj, architecture 'clip'): used with a language model, not alone\n");
    else if (gtype && !strcmp(gtype, "adapter"))
        printf("  a LoRA adapter (general.type 'adapter'): applied to a base model, not loaded alone\n");
    else
        print_llama_cpp(md, s->arch);
    const mg_gguf_kv *ft = mg_gguf_find(g, "general.file_type");
    if (ft)
        printf("  file type: %s (%llu)\n", ftype_name(ft->v.u), (unsigned long long)ft->v.u);
    printf("  context %llu, %llu layers, embedding %llu, %llu heads (%llu KV), vocabulary %llu\n",
           (unsigned long long)s->context, (unsigned long long)s->layers, (unsigned long long)s->embedding,
           (unsigned long long)s->heads, (unsigned long long)(s->heads_kv ? s->heads_kv : s->heads),
           (unsigned long long)s->vocab);
    if (s->has_kv) {
        printf("  KV cache (f16, one sequence): 8k %s, 32k %s, 128k %s", mg_human(s->kv_8k, b1), mg_human(s->kv_32k, b2),
               mg_human(s->kv_128k, pc));
        if (s->context)
            printf("; at its context %llu: %s", (unsigned long long)s->context, mg_human(s->kv_at_context, b1));
        printf("%s%s\n", s->mla ? " (MLA: K only)" : "", s->swa ? " (sliding-window layers counted)" : "");
    }
    printf("  %llu tensors:", (unsigned long long)s->tensors);
    for (uint32_t t = 0; t < 64; t++)
        if (s->type_count[t]) {
            const mg_ggml_type *ty = mg_ggml_type_get(t);
            printf(" %s %s (%llu)", ty ? ty->name : "?", mg_human(s->type_bytes[t], b2), (unsigned long long)s->type_count[t]);
        }
    printf("\n  header %s, %llu metadata keys\n", mg_human(g->header_bytes, b1), (unsigned long long)g->n_kv);
    print_remote(m);
    for (size_t i = 0; i < md->nshards; i++)
        for (size_t k = 0; k < md->shards[i].g.nissues; k++)
            printf("  %swarning%s: %s\n", col(C_YELLOW), col(C_RESET), shown(md->shards[i].g.issues[k]));
    if (metadata)
        for (uint64_t i = 0; i < g->n_kv; i++) {
            const mg_gguf_kv *kv = &g->kv[i];
            char v[84];
            printf("    %-48s ", shown(kv->key));
            switch (kv->type) {
            case MG_GGUF_STRING:
                printf("\"%s\"\n", mg_text_clean(v, sizeof v, kv->str, kv->str ? strlen(kv->str) : 0, NULL));
                break;
            case MG_GGUF_ARRAY: printf("[%llu x type %u]\n", (unsigned long long)kv->arr_count, kv->arr_type); break;
            case MG_GGUF_F32: case MG_GGUF_F64: printf("%g\n", kv->v.f); break;
            case MG_GGUF_I8: case MG_GGUF_I16: case MG_GGUF_I32: case MG_GGUF_I64: printf("%lld\n", (long long)kv->v.i); break;
            default: printf("%llu\n", (unsigned long long)kv->v.u);
            }
        }
    if (tensors)
        for (size_t i = 0; i < md->nshards; i++)
            for (uint64_t t = 0; t < md->shards[i].g.n_tensors; t++) {
                const mg_gguf_tensor *x = &md->shards[i].g.tensors[t];
                const mg_ggml_type *ty = mg_ggml_type_get(x->type);
                printf("    %-48s %-8s [%llu, %llu, %llu, %llu] %s\n", shown(x->name), ty ? ty->name : "?",
                       (unsigned long long)x->ne[0], (unsigned long long)x->ne[1], (unsigned long long)x->ne[2],
                       (unsigned long long)x->ne[3], mg_human(x->nbytes, b1));
            }
}

static void print_st(const mg_model *mm, const mg_model_summary *s, int tensors)
{
    const mg_st_model *m = mm->st;
    char b1[32], b2[32], pc[32];
    print_shard_errors(mm);
    if (!m->nshards) {
        printf("%s%s%s: no safetensors or GGUF model found here\n", col(C_RED), m->path, col(C_RESET));
        return;
    }
    size_t unread = 0;
    for (size_t i = 0; i < m->nshards; i++)
        unread += m->shards[i].err != 0;
    if (unread == m->nshards)
        return;   /* nothing was read: the errors say it all */
    printf("%s%s%s: safetensors, %zu file%s, %s%s%s%s, %s parameters, %s of tensors\n", col(C_BOLD), shown(m->path),
           col(C_RESET), m->nshards, m->nshards == 1 ? "" : "s",
           m->architecture[0] ? shown(m->architecture) : "(no config.json)", m->model_type[0] ? " (" : "",
           shown(m->model_type), m->model_type[0] ? ")" : "", mg_human_count(s->params, pc),
           mg_human(s->bytes, b1));
    if (s->partial)
        printf("  some files could not be read: totals are partial\n");
    if (s->aux)
        printf("  %llu tensors are quantization scales or zero-points, not counted as parameters\n", (unsigned long long)s->aux);
    if (m->has_config)
        printf("  config: hidden %llu, %llu layers, %llu heads (%llu KV), context %llu, vocabulary %llu, dtype %s%s%s\n",
               (unsigned long long)m->hidden_size, (unsigned long long)m->layers, (unsigned long long)m->heads,
               (unsigned long long)(m->kv_heads ? m->kv_heads : m->heads), (unsigned long long)m->context,
               (unsigned long long)m->vocab, m->torch_dtype[0] ? shown(m->torch_dtype) : "?",
               m->quant_method[0] ? ", quantization " : "", shown(m->quant_method));
    if (m->kv_lora_rank)
        printf("  MLA: kv_lora_rank %llu, qk_rope_head_dim %llu, qk_nope_head_dim %llu, v_head_dim %llu\n",
               (unsigned long long)m->kv_lora_rank, (unsigned long long)m->qk_rope_head_dim,
               (unsigned long long)m->qk_nope_head_dim, (unsigned long long)m->v_head_dim);
    if (m->pipeline) {
        printf("  diffusers pipeline (model_index.json):");
        for (size_t i = 0; i < m->ncomp; i++) {
            printf("%s %s (%s, %s%s%s)", i ? "," : "", shown(m->comp[i].name), shown(m->comp[i].class_name),
                   mg_human(m->comp[i].bytes, b2), m->comp[i].variant[0] ? ", variant " : "", shown(m->comp[i].variant));
        }
        printf("\n");
    }
    printf("  %llu tensors:", (unsigned long long)s->tensors);
    for (unsigned d = 0; d < MG_DTYPE_COUNT; d++)
        if (s->type_bytes[d])
            printf(" %s %s (%s)", mg_st_dtype_name((uint8_t)d), mg_human(s->type_bytes[d], b2),
                   mg_human_count(s->type_params[d], pc));
    printf("\n");
    if (m->index_total_size && m->index_total_size != s->bytes && !s->partial)
        printf("  %swarning%s: the index says %llu bytes of tensors, the headers %llu\n", col(C_YELLOW), col(C_RESET),
               (unsigned long long)m->index_total_size, (unsigned long long)s->bytes);
    printf("  loaders that materialise the whole checkpoint in RAM need at least %s of RAM\n", mg_human(s->bytes, b1));
    print_remote(mm);
    if (tensors)
        for (size_t i = 0; i < m->nshards; i++)
            for (size_t t = 0; t < m->shards[i].st.n; t++) {
                const mg_st_tensor *x = &m->shards[i].st.tensors[t];
                printf("    %-56s %-8s %s%s\n", shown(x->name), mg_st_dtype_name(x->dtype), mg_human(x->end - x->begin, b1),
                       x->aux ? " (aux)" : "");
            }
}

int cmd_inspect(int argc, char **argv)
{
    enum { O_JSON = 256, O_TENSORS, O_META };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON}, {"tensors", no_argument, 0, O_TENSORS},
                                         {"metadata", no_argument, 0, O_META}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = wants_json(argc, argv), tensors = 0, metadata = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_TENSORS: tensors = 1; break;
        case O_META: metadata = 1; break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: return cli_usage("inspect", json, "unknown option (see 'mlgate inspect --help')");
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mlgate inspect: no MODEL given\n%s", help);
        return json ? cli_usage("inspect", json, "no MODEL given") : EXIT_USAGE;
    }
    out_colour_init("auto", stdout);
    size_t n = (size_t)(argc - optind);
    mg_model **models = calloc(n, sizeof *models);
    int status = models ? EXIT_PASS : EXIT_USAGE;
    for (size_t i = 0; models && i < n; i++) {
        if (!(models[i] = mg_model_open(argv[optind + (int)i]))) {
            status = cli_fail("inspect", json, EXIT_USAGE, MG_E_NOMEM, "out of memory");
            break;
        }
        if (mg_model_error(models[i]))
            status = EXIT_FAIL;
        if (json)
            continue;   /* all in one document, below */
        mg_model_summary s;
        mg_model_summarize(models[i], &s);
        if (models[i]->gguf)
            print_gguf(models[i], &s, tensors, metadata);
        else
            print_st(models[i], &s, tensors);
    }
    if (json && status != EXIT_USAGE)
        mg_inspect_json(stdout, (const mg_model *const *)models, n);
    for (size_t i = 0; models && i < n; i++)
        mg_model_free(models[i]);
    free(models);
    return status;
}
