/* fuzz_st_index.c - libFuzzer target: any bytes as model.safetensors.index.json, beside two real shards and a config.json, opened as a directory and as the index file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_common.h"

static void setup(void)
{
    static int done;
    if (done++)
        return;
    fuzz_mkdir("idx");
    const char *shards[] = {"idx/model-00001-of-00002.safetensors", "idx/model-00002-of-00002.safetensors"};
    const char *names[] = {"model.embed_tokens.weight", "lm_head.weight"};
    for (int i = 0; i < 2; i++) {
        fuzz_buf b = fuzz_tiny_safetensors(names[i]);
        fuzz_write(shards[i], b.p, b.n);
        free(b.p);
    }
    static const char config[] = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
                                 "\"torch_dtype\":\"bfloat16\",\"hidden_size\":64,\"num_hidden_layers\":2,"
                                 "\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                                 "\"max_position_embeddings\":2048,\"vocab_size\":3,\"intermediate_size\":128}";
    fuzz_write("idx/config.json", config, sizeof config - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    fuzz_write("idx/model.safetensors.index.json", data, size);
    char dir[512], index[512];
    fuzz_path("idx", dir, sizeof dir);
    fuzz_path("idx/model.safetensors.index.json", index, sizeof index);
    fuzz_st_model(size & 1 ? index : dir, dir);   /* the directory, or the index named */
    return 0;
}
