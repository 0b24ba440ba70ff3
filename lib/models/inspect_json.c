/* inspect_json.c - `mlgate inspect --json`: what each model file really is (docs/json.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "mlgate/models.h"
#include "models/formats.h"

/* A pipeline component's identity: name, library, class, variant (inspect and fit write the same). */
void mg_component_json(jw *w, const mg_st_component *c)
{
    jw_kstr(w, "name", c->name);
    jw_kstr(w, "library", c->library);
    jw_kstr(w, "class", c->class_name);
    jw_kstr(w, "variant", c->variant[0] ? c->variant : NULL);
}

static void build_or_null(jw *w, int build)
{
    if (build)
        jw_uint(w, (uint64_t)build);
    else
        jw_null(w);
}

static void json_remote(jw *w, const mg_fetch_stats *r)
{
    jw_key(w, "remote");
    jw_begin_obj(w);
    jw_kint(w, "requests", r->requests);
    jw_kuint(w, "bytes", r->bytes);
    jw_end_obj(w);
}

static void json_shard(jw *w, const char *path, const char *error, uint64_t tensors, uint64_t header_bytes)
{
    jw_begin_obj(w);
    jw_kstr(w, "path", path);
    jw_kstr(w, "error", error);
    jw_kuint(w, "tensors", tensors);
    jw_kuint(w, "header_bytes", header_bytes);
    jw_end_obj(w);
}

static void json_totals(jw *w, const char *name, uint64_t bytes, uint64_t params)
{
    jw_key(w, name);
    jw_begin_obj(w);
    jw_kuint(w, "bytes", bytes);
    jw_kuint(w, "parameters", params);
    jw_end_obj(w);
}

static void json_model(jw *w, const mg_gguf_model *md, const mg_model_summary *sm)
{
    const mg_gguf_file *first = &md->shards[0];
    jw_begin_obj(w);
    jw_kstr(w, "path", first->path);
    jw_kstr(w, "format", "gguf");
    json_remote(w, &md->remote);
    jw_key(w, "shards");
    jw_begin_arr(w);
    for (size_t i = 0; i < md->nshards; i++) {
        const mg_gguf_file *s = &md->shards[i];
        json_shard(w, s->path, s->err ? s->msg : NULL, s->err ? 0 : s->g.n_tensors, s->err ? 0 : s->g.header_bytes);
    }
    jw_end_arr(w);
    if (!first->err) {
        const mg_gguf *g = &first->g;
        jw_kuint(w, "version", g->version);
        jw_kstr(w, "architecture", sm->arch);
        jw_kstr(w, "name", sm->name);
        jw_kuint(w, "parameters", sm->params);
        jw_kuint(w, "tensor_bytes", sm->bytes);
        jw_kuint(w, "tensors", sm->tensors);
        jw_knum(w, "bits_per_weight", sm->bpw);
        jw_kuint(w, "context_length", sm->context);
        jw_kuint(w, "block_count", sm->layers);
        jw_kuint(w, "embedding_length", sm->embedding);
        jw_kuint(w, "head_count", sm->heads);
        jw_kuint(w, "head_count_kv", sm->heads_kv);
        jw_kuint(w, "vocabulary", sm->vocab);
        jw_kuint(w, "metadata_keys", g->n_kv);
        jw_key(w, "kv_cache_f16");
        if (sm->has_kv) {
            jw_begin_obj(w);
            jw_kuint(w, "8192", sm->kv_8k);
            jw_kuint(w, "32768", sm->kv_32k);
            jw_kuint(w, "131072", sm->kv_128k);
            jw_end_obj(w);
        } else {
            jw_null(w);
        }
        mg_llama_need need;
        mg_llama_cpp_need(md, &need);
        const char *arch = sm->arch;
        jw_key(w, "llama_cpp");
        jw_begin_obj(w);
        jw_kbool(w, "known", arch && mg_llama_cpp_knows(arch));
        jw_kstr(w, "spelling", arch ? mg_llama_cpp_spelling(arch) : NULL);
        jw_key(w, "since");
        build_or_null(w, need.build);
        jw_kstr(w, "since_release", mg_llama_cpp_release(need.build));
        jw_key(w, "not_in");
        build_or_null(w, need.before);
        jw_kstr(w, "decided_by", !need.build ? NULL : need.by_type ? mg_ggml_type_get(need.type)->name : "architecture");
        jw_kuint(w, "newest_read", (uint64_t)mg_llama_cpp_newest());
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
            if (!sm->type_params[t] && !sm->type_bytes[t])
                continue;
            const mg_ggml_type *ty = mg_ggml_type_get(t);
            char nm[16];
            snprintf(nm, sizeof nm, "%u", t);
            json_totals(w, ty ? ty->name : nm, sm->type_bytes[t], sm->type_params[t]);
        }
        jw_end_obj(w);
        jw_key(w, "tensor_list");
        jw_begin_arr(w);
        for (size_t i = 0; i < md->nshards; i++)
            for (uint64_t t = 0; t < md->shards[i].g.n_tensors; t++) {
                const mg_gguf_tensor *x = &md->shards[i].g.tensors[t];
                jw_begin_obj(w);
                jw_kstr(w, "name", x->name);
                jw_kuint(w, "type", x->type);
                jw_kuints(w, "shape", x->ne, x->n_dims);
                jw_kuint(w, "bytes", x->nbytes);
                jw_kuint(w, "offset", x->offset);
                jw_end_obj(w);
            }
        jw_end_arr(w);
    }
    jw_end_obj(w);
}

static void json_st(jw *w, const mg_st_model *m, const mg_model_summary *sm)
{
    jw_begin_obj(w);
    jw_kstr(w, "path", m->path);
    jw_kstr(w, "format", "safetensors");
    json_remote(w, &m->remote);
    jw_key(w, "shards");
    jw_begin_arr(w);
    for (size_t i = 0; i < m->nshards; i++) {
        const mg_st_file *s = &m->shards[i];
        json_shard(w, s->path, s->err ? s->msg : NULL, s->err ? 0 : s->st.n, s->err ? 0 : 8 + s->st.header_len);
    }
    jw_end_arr(w);
    jw_kstr(w, "architecture", m->architecture[0] ? m->architecture : NULL);
    jw_kstr(w, "model_type", m->model_type[0] ? m->model_type : NULL);
    jw_kuint(w, "parameters", sm->params);
    jw_kuint(w, "tensor_bytes", sm->bytes);
    jw_kuint(w, "tensors", sm->tensors);
    jw_key(w, "config");
    if (!m->has_config) {
        jw_null(w);
    } else {
        jw_begin_obj(w);
        jw_kuint(w, "hidden_size", m->hidden_size);
        jw_kuint(w, "num_hidden_layers", m->layers);
        jw_kuint(w, "num_attention_heads", m->heads);
        jw_kuint(w, "num_key_value_heads", m->kv_heads);
        jw_kuint(w, "max_position_embeddings", m->context);
        jw_kstr(w, "torch_dtype", m->torch_dtype[0] ? m->torch_dtype : NULL);
        jw_kstr(w, "quant_method", m->quant_method[0] ? m->quant_method : NULL);
        if (m->kv_lora_rank) {   /* DeepSeek's MLA */
            jw_kuint(w, "kv_lora_rank", m->kv_lora_rank);
            jw_kuint(w, "qk_rope_head_dim", m->qk_rope_head_dim);
            jw_kuint(w, "qk_nope_head_dim", m->qk_nope_head_dim);
            jw_kuint(w, "v_head_dim", m->v_head_dim);
        }
        jw_end_obj(w);
    }
    if (m->pipeline) {   /* diffusers: model_index.json's components with weights */
        jw_key(w, "pipeline");
        jw_begin_obj(w);
        jw_kstr(w, "class", m->pipeline_class);
        jw_key(w, "components");
        jw_begin_arr(w);
        for (size_t c = 0; c < m->ncomp; c++) {
            jw_begin_obj(w);
            mg_component_json(w, &m->comp[c]);
            jw_kuint(w, "files", m->comp[c].nshards);
            jw_kuint(w, "tensor_bytes", m->comp[c].bytes);
            jw_end_obj(w);
        }
        jw_end_arr(w);
        jw_end_obj(w);
    }
    jw_key(w, "dtypes");
    jw_begin_obj(w);
    for (unsigned d = 0; d < MG_DTYPE_COUNT; d++)
        if (sm->type_bytes[d])
            json_totals(w, mg_st_dtype_name((uint8_t)d), sm->type_bytes[d], sm->type_params[d]);
    jw_end_obj(w);
    jw_key(w, "tensor_list");
    jw_begin_arr(w);
    for (size_t i = 0; i < m->nshards; i++)
        for (size_t t = 0; t < m->shards[i].st.n; t++) {
            const mg_st_tensor *x = &m->shards[i].st.tensors[t];
            jw_begin_obj(w);
            jw_kstr(w, "name", x->name);
            jw_kstr(w, "dtype", mg_st_dtype_name(x->dtype));
            jw_kuints(w, "shape", x->shape, x->ndims);
            jw_key(w, "data_offsets");
            jw_begin_arr(w);
            jw_uint(w, x->begin);
            jw_uint(w, x->end);
            jw_end_arr(w);
            jw_kbool(w, "aux", x->aux);
            jw_end_obj(w);
        }
    jw_end_arr(w);
    jw_end_obj(w);
}

void mg_inspect_json(FILE *f, const mg_model *const *models, size_t n)
{
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_kstr(&w, "mlgate", MLGATE_VERSION);
    jw_kstr(&w, "command", "inspect");
    jw_key(&w, "models");
    jw_begin_arr(&w);
    for (size_t i = 0; i < n; i++) {
        mg_model_summary sm;
        mg_model_summarize(models[i], &sm);
        if (models[i]->gguf)
            json_model(&w, models[i]->gguf, &sm);
        else
            json_st(&w, models[i]->st, &sm);
    }
    jw_end_arr(&w);
    jw_end_obj(&w);
}
