/*
 * engines.c - which engines know which model architectures. llama.cpp: the
 * names in src/llama-arch.cpp LLM_ARCH_NAMES at commit 00395eb (a 2026 build),
 * compared exactly with general.architecture. The first build of each name is
 * not recorded yet: the table answers "known to the newest llama.cpp mlgate
 * knows", not "b____ or newer".
 */
#include <ctype.h>
#include <string.h>

#include "mlgate/model.h"

static const char *const llama_cpp[] = {
    "llama", "llama4", "deci", "falcon", "grok", "gpt2", "gptj", "gptneox", "mpt", "baichuan", "starcoder",
    "refact", "bert", "modern-bert", "nomic-bert", "nomic-bert-moe", "neo-bert", "jina-bert-v2", "jina-bert-v3",
    "eurobert", "bloom", "stablelm", "qwen", "qwen2", "qwen2moe", "qwen2vl", "qwen3", "qwen3moe", "qwen3next",
    "qwen3vl", "qwen3vlmoe", "qwen35", "qwen35moe", "phi2", "phi3", "phimoe", "plamo", "plamo2", "plamo3",
    "codeshell", "orion", "internlm2", "minicpm", "minicpm3", "gemma", "gemma2", "gemma3", "gemma3n", "gemma4",
    "gemma4-assistant", "gemma-embedding", "starcoder2", "mamba", "mamba2", "jamba", "falcon-h1", "xverse",
    "command-r", "cohere2", "cohere2moe", "dbrx", "olmo", "olmo2", "olmoe", "openelm", "arctic", "deepseek",
    "deepseek2", "deepseek2-ocr", "deepseek32", "deepseek4", "chatglm", "glm4", "glm4moe", "glm-dsa", "bitnet", "t5",
    "t5encoder", "jais", "jais2", "nemotron", "nemotron_h", "nemotron_h_moe", "exaone", "exaone4", "exaone-moe",
    "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7", "granite", "granitemoe", "granitehybrid", "chameleon",
    "wavtokenizer-dec", "plm", "bailingmoe", "bailingmoe2", "dots1", "arcee", "afmoe", "laguna", "ernie4_5",
    "ernie4_5-moe", "hunyuan-moe", "hunyuan-dense", "hunyuan_vl", "hy_v3", "smollm3", "gpt-oss", "lfm2", "lfm2moe",
    "dream", "smallthinker", "llada", "llada-moe", "seed_oss", "grovemoe", "apertus", "minimax-m2", "cogvlm", "rnd1",
    "pangu-embedded", "mistral3", "eagle3", "dflash", "mistral4", "paddleocr", "mimo2", "step35", "llama-embed",
    "maincoder", "kimi-linear", "talkie", "mellum",
};

#define N (sizeof llama_cpp / sizeof llama_cpp[0])

int mg_llama_cpp_knows(const char *arch)
{
    for (size_t i = 0; i < N; i++)
        if (!strcmp(llama_cpp[i], arch))
            return 1;
    return 0;
}

/* Lower-case alphanumerics only: "deepseek3_2" and "DeepSeek-3.2" both become "deepseek32". */
static void squash(const char *s, char *out, size_t n)
{
    size_t j = 0;
    for (; *s && j + 1 < n; s++)
        if (isalnum((unsigned char)*s))
            out[j++] = (char)tolower((unsigned char)*s);
    out[j] = 0;
}

const char *mg_llama_cpp_spelling(const char *arch)
{
    char want[96], have[96];
    squash(arch, want, sizeof want);
    for (size_t i = 0; i < N; i++) {
        squash(llama_cpp[i], have, sizeof have);
        if (!strcmp(want, have) && strcmp(arch, llama_cpp[i]))
            return llama_cpp[i];
    }
    return NULL;
}

size_t mg_llama_cpp_count(void) { return N; }
