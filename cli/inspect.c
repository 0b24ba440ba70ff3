/* inspect.c - `mlgate inspect`: what a model file really is, read from its header (GGUF). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlgate/mlgate.h"

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

static const char *human(uint64_t b, char *buf, size_t n) { return human_bytes(b, buf, n); }

static const char *ftype_name(uint64_t f)
{
    static const char *const t[] = {"ALL_F32", "MOSTLY_F16", "Q4_0", "Q4_1", "Q4_1_SOME_F16", "?", "?", "Q8_0",
                                    "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M",
                                    "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "Q2_K_S", "IQ3_XS", "IQ3_XXS",
                                    "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M",
                                    "BF16", "?", "?", "?", "TQ1_0", "TQ2_0", "MXFP4_MOE", "NVFP4", "Q1_0", "Q2_0"};
    return f < sizeof t / sizeof t[0] ? t[f] : f == 1024 ? "GUESSED" : "?";
}

/* A per-architecture key: "{arch}.context_length". */
static uint64_t arch_u64(const mg_gguf *g, const char *arch, const char *key)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch ? arch : "", key);
    return mg_gguf_u64(g, k, 0);
}

/* "b10964 (0.4.1)" */
static const char *build_name(int build, char *buf, size_t n)
{
    const char *rel = mg_llama_cpp_release(build);
    snprintf(buf, n, "b%d%s%s%s", build, rel ? " (" : "", rel ? rel : "", rel ? ")" : "");
    return buf;
}

static void build_or_null(jw *w, int build)
{
    if (build)
        jw_uint(w, (uint64_t)build);
    else
        jw_null(w);
}

/* Which llama.cpp builds load it, from the builds mlgate has read (lib/tables/engines.c). */
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
               build_name(need.build, b1, sizeof b1), arch, build_name(need.before, b2, sizeof b2));
    else if (arch && mg_llama_cpp_spelling(arch))
        printf("  %sllama.cpp%s: no build mlgate has read, up to %s, loads architecture '%s'; llama.cpp spells it "
               "'%s': the file was written by another tool or version\n", col(C_RED), col(C_RESET),
               build_name(mg_llama_cpp_newest(), b1, sizeof b1), arch, mg_llama_cpp_spelling(arch));
    else
        printf("  %sllama.cpp%s: no build mlgate has read, up to %s, loads architecture '%s' "
               "(\"unknown model architecture\")\n", col(C_RED), col(C_RESET),
               build_name(mg_llama_cpp_newest(), b1, sizeof b1), arch ? arch : "");
}

static void print_model(const mg_gguf_model *md, int tensors, int metadata)
{
    const mg_gguf_file *first = &md->shards[0];
    char b1[32], b2[32];
    uint64_t params = 0, bytes = 0, ntensors = 0, by_type[64] = {0}, cnt_type[64] = {0};
    int bad = 0;
    for (size_t i = 0; i < md->nshards; i++) {
        const mg_gguf_file *s = &md->shards[i];
        if (s->err) {
            printf("%s%s%s: %s: %s\n", col(C_RED), s->path, col(C_RESET), mg_strerror((mg_err)s->err), s->msg);
            bad = 1;
            continue;
        }
        params += s->g.params;
        ntensors += s->g.n_tensors;
        for (uint64_t t = 0; t < s->g.n_tensors; t++)
            bytes += s->g.tensors[t].nbytes;
        for (uint64_t t = 0; t < s->g.n_tensors; t++)
            if (s->g.tensors[t].type < 64) {
                by_type[s->g.tensors[t].type] += s->g.tensors[t].nbytes;
                cnt_type[s->g.tensors[t].type]++;
            }
    }
    if (first->err)
        return;
    const mg_gguf *g = &first->g;
    const char *arch = mg_gguf_str(g, "general.architecture");
    const char *name = mg_gguf_str(g, "general.name");
    char pc[32];
    printf("%s%s%s: GGUF v%u, %s%s%s%s, %s parameters, %s of tensors, %.2f bits per weight\n", col(C_BOLD),
           first->path, col(C_RESET), g->version, arch ? arch : "(no architecture)", name ? " (" : "",
           name ? name : "", name ? ")" : "", human_count(params, pc, sizeof pc), human(bytes, b1, sizeof b1),
           params ? 8.0 * (double)bytes / (double)params : 0.0);
    if (md->nshards > 1)
        printf("  split into %zu shards%s\n", md->nshards, bad ? " (some unreadable: totals are partial)" : "");
    const char *gtype = mg_gguf_str(g, "general.type");
    if (arch && !strcmp(arch, "clip"))
        printf("  a multimodal projector (mmproj, architecture 'clip'): used with a language model, not alone\n");
    else if (gtype && !strcmp(gtype, "adapter"))
        printf("  a LoRA adapter (general.type 'adapter'): applied to a base model, not loaded alone\n");
    else
        print_llama_cpp(md, arch);
    const mg_gguf_kv *ft = mg_gguf_find(g, "general.file_type");
    if (ft)
        printf("  file type: %s (%llu)\n", ftype_name(ft->v.u), (unsigned long long)ft->v.u);
    uint64_t ctxlen = arch_u64(g, arch, "context_length"), layers = arch_u64(g, arch, "block_count");
    uint64_t emb = arch_u64(g, arch, "embedding_length"), heads = arch_u64(g, arch, "attention.head_count");
    uint64_t kvh = arch_u64(g, arch, "attention.head_count_kv");
    const mg_gguf_kv *tok = mg_gguf_find(g, "tokenizer.ggml.tokens");
    printf("  context %llu, %llu layers, embedding %llu, %llu heads (%llu KV), vocabulary %llu\n",
           (unsigned long long)ctxlen, (unsigned long long)layers, (unsigned long long)emb, (unsigned long long)heads,
           (unsigned long long)(kvh ? kvh : heads), (unsigned long long)(tok ? tok->arr_count : 0));
    mg_kv_model *kvm = malloc(sizeof *kvm);
    if (kvm && mg_kv_from_gguf(g, kvm) == MG_OK) {
        static const uint64_t ctxs[] = {8192, 32768, 131072};
        printf("  KV cache (f16, one sequence):");
        for (size_t i = 0; i < 3; i++) {
            mg_kv_opts o = {ctxs[i], 1, 1, 1, 512, 0, 0};
            printf(" %lluk %s%s", (unsigned long long)(ctxs[i] / 1024), human(mg_kv_bytes(kvm, &o), b1, sizeof b1),
                   i < 2 ? "," : "");
        }
        if (ctxlen) {
            mg_kv_opts o = {ctxlen, 1, 1, 1, 512, 0, 0};
            printf("; at its context %llu: %s", (unsigned long long)ctxlen, human(mg_kv_bytes(kvm, &o), b1, sizeof b1));
        }
        printf("%s%s\n", kvm->mla ? " (MLA: K only)" : "", kvm->n_swa ? " (sliding-window layers counted)" : "");
    }
    free(kvm);
    printf("  %llu tensors:", (unsigned long long)ntensors);
    for (uint32_t t = 0; t < 64; t++)
        if (cnt_type[t]) {
            const mg_ggml_type *ty = mg_ggml_type_get(t);
            printf(" %s %s (%llu)", ty ? ty->name : "?", human(by_type[t], b2, sizeof b2),
                   (unsigned long long)cnt_type[t]);
        }
    printf("\n  header %s, %llu metadata keys\n", human(g->header_bytes, b1, sizeof b1), (unsigned long long)g->n_kv);
    if (md->remote.requests)
        printf("  read over HTTP: %ld request%s, %s\n", md->remote.requests, md->remote.requests == 1 ? "" : "s",
               human(md->remote.bytes, b1, sizeof b1));
    for (size_t i = 0; i < md->nshards; i++)
        for (size_t k = 0; k < md->shards[i].g.nissues; k++)
            printf("  %swarning%s: %s\n", col(C_YELLOW), col(C_RESET), md->shards[i].g.issues[k]);
    if (metadata)
        for (uint64_t i = 0; i < g->n_kv; i++) {
            const mg_gguf_kv *kv = &g->kv[i];
            printf("    %-48s ", kv->key);
            switch (kv->type) {
            case MG_GGUF_STRING: printf("\"%.80s\"\n", kv->str ? kv->str : ""); break;
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
                printf("    %-48s %-8s [%llu, %llu, %llu, %llu] %s\n", x->name, ty ? ty->name : "?",
                       (unsigned long long)x->ne[0], (unsigned long long)x->ne[1], (unsigned long long)x->ne[2],
                       (unsigned long long)x->ne[3], human(x->nbytes, b1, sizeof b1));
            }
}

/* ---- JSON pieces both model kinds share (docs/json.md) ---- */
static void json_remote(jw *w, const mg_fetch_stats *r)
{
    jw_key(w, "remote");
    jw_begin_obj(w);
    jw_key(w, "requests");
    jw_int(w, r->requests);
    jw_key(w, "bytes");
    jw_uint(w, r->bytes);
    jw_end_obj(w);
}

static void json_shard(jw *w, const char *path, const char *error, uint64_t tensors, uint64_t header_bytes)
{
    jw_begin_obj(w);
    jw_key(w, "path");
    jw_str(w, path);
    jw_key(w, "error");
    jw_str(w, error);
    jw_key(w, "tensors");
    jw_uint(w, tensors);
    jw_key(w, "header_bytes");
    jw_uint(w, header_bytes);
    jw_end_obj(w);
}

/* "Q4_K": {"bytes": ..., "parameters": ...} */
static void json_totals(jw *w, const char *name, uint64_t bytes, uint64_t params)
{
    jw_key(w, name);
    jw_begin_obj(w);
    jw_key(w, "bytes");
    jw_uint(w, bytes);
    jw_key(w, "parameters");
    jw_uint(w, params);
    jw_end_obj(w);
}

static void json_dims(jw *w, const char *key, const uint64_t *dims, uint32_t n)
{
    jw_key(w, key);
    jw_begin_arr(w);
    for (uint32_t d = 0; d < n; d++)
        jw_uint(w, dims[d]);
    jw_end_arr(w);
}

static void json_model(jw *w, const mg_gguf_model *md)
{
    const mg_gguf_file *first = &md->shards[0];
    jw_begin_obj(w);
    jw_key(w, "path");
    jw_str(w, first->path);
    jw_key(w, "format");
    jw_str(w, "gguf");
    json_remote(w, &md->remote);
    jw_key(w, "shards");
    jw_begin_arr(w);
    uint64_t params = 0, bytes = 0, ntensors = 0;
    for (size_t i = 0; i < md->nshards; i++) {
        const mg_gguf_file *s = &md->shards[i];
        json_shard(w, s->path, s->err ? s->msg : NULL, s->err ? 0 : s->g.n_tensors, s->err ? 0 : s->g.header_bytes);
        if (!s->err) {
            params += s->g.params;
            ntensors += s->g.n_tensors;
            for (uint64_t t = 0; t < s->g.n_tensors; t++)
                bytes += s->g.tensors[t].nbytes;
        }
    }
    jw_end_arr(w);
    if (!first->err) {
        const mg_gguf *g = &first->g;
        const char *arch = mg_gguf_str(g, "general.architecture");
        jw_key(w, "version");
        jw_uint(w, g->version);
        jw_key(w, "architecture");
        jw_str(w, arch);
        jw_key(w, "name");
        jw_str(w, mg_gguf_str(g, "general.name"));
        jw_key(w, "parameters");
        jw_uint(w, params);
        jw_key(w, "tensor_bytes");
        jw_uint(w, bytes);
        jw_key(w, "tensors");
        jw_uint(w, ntensors);
        jw_key(w, "bits_per_weight");
        jw_num(w, params ? 8.0 * (double)bytes / (double)params : 0.0);
        jw_key(w, "context_length");
        jw_uint(w, arch_u64(g, arch, "context_length"));
        jw_key(w, "block_count");
        jw_uint(w, arch_u64(g, arch, "block_count"));
        jw_key(w, "embedding_length");
        jw_uint(w, arch_u64(g, arch, "embedding_length"));
        jw_key(w, "head_count");
        jw_uint(w, arch_u64(g, arch, "attention.head_count"));
        jw_key(w, "head_count_kv");
        jw_uint(w, arch_u64(g, arch, "attention.head_count_kv"));
        const mg_gguf_kv *tok = mg_gguf_find(g, "tokenizer.ggml.tokens");
        jw_key(w, "vocabulary");
        jw_uint(w, tok ? tok->arr_count : 0);
        jw_key(w, "metadata_keys");
        jw_uint(w, g->n_kv);
        jw_key(w, "kv_cache_f16");
        mg_kv_model *kvm = malloc(sizeof *kvm);
        if (kvm && mg_kv_from_gguf(g, kvm) == MG_OK) {
            static const uint64_t ctxs[] = {8192, 32768, 131072};
            char k[24];
            jw_begin_obj(w);
            for (size_t i = 0; i < 3; i++) {
                mg_kv_opts o = {ctxs[i], 1, 1, 1, 512, 0, 0};
                snprintf(k, sizeof k, "%llu", (unsigned long long)ctxs[i]);
                jw_key(w, k);
                jw_uint(w, mg_kv_bytes(kvm, &o));
            }
            jw_end_obj(w);
        } else {
            jw_null(w);
        }
        free(kvm);
        mg_llama_need need;
        mg_llama_cpp_need(md, &need);
        jw_key(w, "llama_cpp");
        jw_begin_obj(w);
        jw_key(w, "known");
        jw_bool(w, arch && mg_llama_cpp_knows(arch));
        jw_key(w, "spelling");
        jw_str(w, arch ? mg_llama_cpp_spelling(arch) : NULL);
        jw_key(w, "since");
        build_or_null(w, need.build);
        jw_key(w, "since_release");
        jw_str(w, mg_llama_cpp_release(need.build));
        jw_key(w, "not_in");
        build_or_null(w, need.before);
        jw_key(w, "decided_by");
        jw_str(w, !need.build ? NULL : need.by_type ? mg_ggml_type_get(need.type)->name : "architecture");
        jw_key(w, "newest_read");
        jw_uint(w, (uint64_t)mg_llama_cpp_newest());
        jw_end_obj(w);
        jw_key(w, "issues");
        jw_begin_arr(w);
        for (size_t i = 0; i < md->nshards; i++)
            for (size_t k = 0; k < md->shards[i].g.nissues; k++)
                jw_str(w, md->shards[i].g.issues[k]);
        jw_end_arr(w);
        jw_key(w, "types");
        jw_begin_obj(w);
        for (uint32_t t = 0; t < 64; t++) {
            uint64_t b = 0, p = 0;
            for (size_t i = 0; i < md->nshards; i++)
                if (!md->shards[i].err) {
                    b += md->shards[i].g.bytes_by_type[t];
                    p += md->shards[i].g.params_by_type[t];
                }
            if (!p && !b)
                continue;
            const mg_ggml_type *ty = mg_ggml_type_get(t);
            char nm[16];
            snprintf(nm, sizeof nm, "%u", t);
            json_totals(w, ty ? ty->name : nm, b, p);
        }
        jw_end_obj(w);
        jw_key(w, "tensor_list");
        jw_begin_arr(w);
        for (size_t i = 0; i < md->nshards; i++)
            for (uint64_t t = 0; t < md->shards[i].g.n_tensors; t++) {
                const mg_gguf_tensor *x = &md->shards[i].g.tensors[t];
                jw_begin_obj(w);
                jw_key(w, "name");
                jw_str(w, x->name);
                jw_key(w, "type");
                jw_uint(w, x->type);
                json_dims(w, "shape", x->ne, x->n_dims);
                jw_key(w, "bytes");
                jw_uint(w, x->nbytes);
                jw_key(w, "offset");
                jw_uint(w, x->offset);
                jw_end_obj(w);
            }
        jw_end_arr(w);
    }
    jw_end_obj(w);
}

static void print_st(const mg_st_model *m, int tensors)
{
    char b1[32], b2[32];
    uint64_t params = 0, bytes = 0, aux = 0, n = 0, pb[MG_ST_NDTYPES] = {0}, bb[MG_ST_NDTYPES] = {0};
    int bad = 0;
    for (size_t i = 0; i < m->nshards; i++) {
        const mg_st_file *s = &m->shards[i];
        if (s->err) {
            printf("%s%s%s: %s: %s\n", col(C_RED), s->path, col(C_RESET), mg_strerror((mg_err)s->err), s->msg);
            bad = 1;
            continue;
        }
        params += s->st.params;
        bytes += s->st.data_bytes;
        n += s->st.n;
        for (size_t t = 0; t < s->st.n; t++)
            aux += s->st.tensors[t].aux;
        for (unsigned d = 0; d < MG_ST_NDTYPES; d++) {
            pb[d] += s->st.params_by_dtype[d];
            bb[d] += s->st.bytes_by_dtype[d];
        }
    }
    if (!m->nshards) {
        printf("%s%s%s: no safetensors or GGUF model found here\n", col(C_RED), m->path, col(C_RESET));
        return;
    }
    char pc[32];
    printf("%s%s%s: safetensors, %zu file%s, %s%s%s%s, %s parameters, %s of tensors\n", col(C_BOLD), m->path,
           col(C_RESET), m->nshards, m->nshards == 1 ? "" : "s", m->architecture[0] ? m->architecture : "(no config.json)",
           m->model_type[0] ? " (" : "", m->model_type, m->model_type[0] ? ")" : "", human_count(params, pc, sizeof pc),
           human(bytes, b1, sizeof b1));
    if (bad)
        printf("  some files could not be read: totals are partial\n");
    if (aux)
        printf("  %llu tensors are quantization scales or zero-points, not counted as parameters\n", (unsigned long long)aux);
    if (m->has_config)
        printf("  config: hidden %llu, %llu layers, %llu heads (%llu KV), context %llu, vocabulary %llu, dtype %s%s%s\n",
               (unsigned long long)m->hidden_size, (unsigned long long)m->layers, (unsigned long long)m->heads,
               (unsigned long long)(m->kv_heads ? m->kv_heads : m->heads), (unsigned long long)m->context,
               (unsigned long long)m->vocab, m->torch_dtype[0] ? m->torch_dtype : "?",
               m->quant_method[0] ? ", quantization " : "", m->quant_method);
    printf("  %llu tensors:", (unsigned long long)n);
    for (unsigned d = 0; d < MG_ST_NDTYPES; d++)
        if (bb[d])
            printf(" %s %s (%s)", mg_st_dtype_name((uint8_t)d), human(bb[d], b2, sizeof b2), human_count(pb[d], pc, sizeof pc));
    printf("\n");
    if (m->index_total_size && m->index_total_size != bytes && !bad)
        printf("  %swarning%s: the index says %llu bytes of tensors, the headers %llu\n", col(C_YELLOW), col(C_RESET),
               (unsigned long long)m->index_total_size, (unsigned long long)bytes);
    printf("  loaders that materialise the whole checkpoint in RAM need at least %s of RAM\n", human(bytes, b1, sizeof b1));
    if (m->remote.requests)
        printf("  read over HTTP: %ld request%s, %s\n", m->remote.requests, m->remote.requests == 1 ? "" : "s",
               human(m->remote.bytes, b1, sizeof b1));
    if (tensors)
        for (size_t i = 0; i < m->nshards; i++)
            for (size_t t = 0; t < m->shards[i].st.n; t++) {
                const mg_st_tensor *x = &m->shards[i].st.tensors[t];
                printf("    %-56s %-8s %s%s\n", x->name, mg_st_dtype_name(x->dtype), human(x->end - x->begin, b1, sizeof b1),
                       x->aux ? " (aux)" : "");
            }
}

static void json_st(jw *w, const mg_st_model *m)
{
    uint64_t params = 0, bytes = 0, n = 0;
    jw_begin_obj(w);
    jw_key(w, "path");
    jw_str(w, m->path);
    jw_key(w, "format");
    jw_str(w, "safetensors");
    json_remote(w, &m->remote);
    jw_key(w, "shards");
    jw_begin_arr(w);
    for (size_t i = 0; i < m->nshards; i++) {
        const mg_st_file *s = &m->shards[i];
        json_shard(w, s->path, s->err ? s->msg : NULL, s->err ? 0 : s->st.n, s->err ? 0 : 8 + s->st.header_len);
        if (!s->err) {
            params += s->st.params;
            bytes += s->st.data_bytes;
            n += s->st.n;
        }
    }
    jw_end_arr(w);
    jw_key(w, "architecture");
    jw_str(w, m->architecture[0] ? m->architecture : NULL);
    jw_key(w, "model_type");
    jw_str(w, m->model_type[0] ? m->model_type : NULL);
    jw_key(w, "parameters");
    jw_uint(w, params);
    jw_key(w, "tensor_bytes");
    jw_uint(w, bytes);
    jw_key(w, "tensors");
    jw_uint(w, n);
    jw_key(w, "config");
    if (!m->has_config) {
        jw_null(w);
    } else {
        jw_begin_obj(w);
        jw_key(w, "hidden_size");
        jw_uint(w, m->hidden_size);
        jw_key(w, "num_hidden_layers");
        jw_uint(w, m->layers);
        jw_key(w, "num_attention_heads");
        jw_uint(w, m->heads);
        jw_key(w, "num_key_value_heads");
        jw_uint(w, m->kv_heads);
        jw_key(w, "max_position_embeddings");
        jw_uint(w, m->context);
        jw_key(w, "torch_dtype");
        jw_str(w, m->torch_dtype[0] ? m->torch_dtype : NULL);
        jw_key(w, "quant_method");
        jw_str(w, m->quant_method[0] ? m->quant_method : NULL);
        jw_end_obj(w);
    }
    jw_key(w, "dtypes");
    jw_begin_obj(w);
    for (unsigned d = 0; d < MG_ST_NDTYPES; d++) {
        uint64_t b = 0, p = 0;
        for (size_t i = 0; i < m->nshards; i++)
            if (!m->shards[i].err) {
                b += m->shards[i].st.bytes_by_dtype[d];
                p += m->shards[i].st.params_by_dtype[d];
            }
        if (!b)
            continue;
        json_totals(w, mg_st_dtype_name((uint8_t)d), b, p);
    }
    jw_end_obj(w);
    jw_key(w, "tensor_list");
    jw_begin_arr(w);
    for (size_t i = 0; i < m->nshards; i++)
        for (size_t t = 0; t < m->shards[i].st.n; t++) {
            const mg_st_tensor *x = &m->shards[i].st.tensors[t];
            jw_begin_obj(w);
            jw_key(w, "name");
            jw_str(w, x->name);
            jw_key(w, "dtype");
            jw_str(w, mg_st_dtype_name(x->dtype));
            json_dims(w, "shape", x->shape, x->ndims);
            jw_key(w, "data_offsets");
            jw_begin_arr(w);
            jw_uint(w, x->begin);
            jw_uint(w, x->end);
            jw_end_arr(w);
            jw_key(w, "aux");
            jw_bool(w, x->aux);
            jw_end_obj(w);
        }
    jw_end_arr(w);
    jw_end_obj(w);
}

int cmd_inspect(int argc, char **argv)
{
    enum { O_JSON = 256, O_TENSORS, O_META };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON}, {"tensors", no_argument, 0, O_TENSORS},
                                         {"metadata", no_argument, 0, O_META}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, tensors = 0, metadata = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_TENSORS: tensors = 1; break;
        case O_META: metadata = 1; break;
        case 'h': fputs(help, stdout); return EXIT_PASS;
        default: fprintf(stderr, "Try 'mlgate inspect --help'.\n"); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mlgate inspect: no MODEL given\n%s", help);
        return EXIT_USAGE;
    }
    out_colour_init("auto", stdout);
    jw w = {stdout, 0, {0}, 0};
    if (json) {
        jw_begin_obj(&w);
        jw_key(&w, "mlgate");
        jw_str(&w, MLGATE_VERSION);
        jw_key(&w, "command");
        jw_str(&w, "inspect");
        jw_key(&w, "models");
        jw_begin_arr(&w);
    }
    int status = EXIT_PASS;
    for (int i = optind; i < argc; i++) {
        if (!path_is_gguf(argv[i])) {
            mg_st_model *sm = mg_st_model_open(argv[i]);
            if (!sm) {
                fprintf(stderr, "mlgate inspect: out of memory\n");
                return EXIT_USAGE;
            }
            if (!sm->nshards)
                status = EXIT_FAIL;
            for (size_t k = 0; k < sm->nshards; k++)
                if (sm->shards[k].err)
                    status = EXIT_FAIL;
            if (json)
                json_st(&w, sm);
            else
                print_st(sm, tensors);
            mg_st_model_free(sm);
            continue;
        }
        mg_gguf_model *md = mg_gguf_model_open(argv[i]);
        if (!md) {
            fprintf(stderr, "mlgate inspect: out of memory\n");
            return EXIT_USAGE;
        }
        for (size_t k = 0; k < md->nshards; k++)
            if (md->shards[k].err)
                status = EXIT_FAIL;
        if (json)
            json_model(&w, md);
        else
            print_model(md, tensors, metadata);
        mg_gguf_model_free(md);
    }
    if (json) {
        jw_end_arr(&w);
        jw_end_obj(&w);
    }
    return status;
}
