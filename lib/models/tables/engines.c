/*
 * engines.c - which llama.cpp builds load which model architectures and ggml
 * tensor types: the tables of real builds, read from their Debian and Ubuntu
 * packages by scripts/llama-builds.py (which also checks this file: --check).
 */
#include <ctype.h>
#include <string.h>

#include "mlgate/models.h"

/* The builds read, oldest first; "bN or newer" below means the first of these that has it. */
static const struct {
    int build;
    const char *release;  /* llama.cpp's 0.x release name, "" before they existed */
    const char *from;     /* the package the table was read from */
} builds[] = {
    {5882, "", "Ubuntu 25.10 llama.cpp 5882+dfsg-2"},
    {8681, "", "Ubuntu 26.04 libllama0 8681+dfsg-1"},
    {10438, "", "Ubuntu 26.10 libllama0 10438+dfsg-1ubuntu1"},
    {10964, "0.4.1", "Debian libllama0 0.4.1+dfsg-1"},
    {11146, "0.5.0", "Debian libllama0 0.5.0+dfsg-2"},
    {11429, "0.6.0", "Debian libllama0 0.6.0+dfsg-1"},
    {11669, "0.7.0", "Debian libllama0 0.7.0+dfsg-2"},
};

/*
 * general.architecture values (LLM_ARCH_NAMES, compared exactly, as llama.cpp does) and the
 * first build above that has each. 5882 means "b5882 or older": it is the oldest build read.
 * Not here: "clip", the name of multimodal projector files, which llama.cpp loads only through
 * --mmproj beside a language model.
 */
static const struct {
    const char *name;
    int since;
} archs[] = {
    {"llama", 5882}, {"llama4", 5882}, {"deci", 5882}, {"falcon", 5882}, {"grok", 5882}, {"gpt2", 5882},
    {"gptj", 5882}, {"gptneox", 5882}, {"mpt", 5882}, {"baichuan", 5882}, {"starcoder", 5882}, {"refact", 5882},
    {"bert", 5882}, {"nomic-bert", 5882}, {"nomic-bert-moe", 5882}, {"neo-bert", 5882}, {"jina-bert-v2", 5882},
    {"bloom", 5882}, {"stablelm", 5882}, {"qwen", 5882}, {"qwen2", 5882}, {"qwen2moe", 5882}, {"qwen2vl", 5882},
    {"qwen3", 5882}, {"qwen3moe", 5882}, {"phi2", 5882}, {"phi3", 5882}, {"phimoe", 5882}, {"plamo", 5882},
    {"codeshell", 5882}, {"orion", 5882}, {"internlm2", 5882}, {"minicpm", 5882}, {"minicpm3", 5882},
    {"gemma", 5882}, {"gemma2", 5882}, {"gemma3", 5882}, {"gemma3n", 5882}, {"starcoder2", 5882}, {"mamba", 5882},
    {"mamba2", 5882}, {"jamba", 5882}, {"falcon-h1", 5882}, {"xverse", 5882}, {"command-r", 5882},
    {"cohere2", 5882}, {"dbrx", 5882}, {"olmo", 5882}, {"olmo2", 5882}, {"olmoe", 5882}, {"openelm", 5882},
    {"arctic", 5882}, {"deepseek", 5882}, {"deepseek2", 5882}, {"chatglm", 5882}, {"glm4", 5882}, {"bitnet", 5882},
    {"t5", 5882}, {"t5encoder", 5882}, {"jais", 5882}, {"nemotron", 5882}, {"exaone", 5882}, {"rwkv6", 5882},
    {"rwkv6qwen2", 5882}, {"rwkv7", 5882}, {"arwkv7", 5882}, {"granite", 5882}, {"granitemoe", 5882},
    {"granitehybrid", 5882}, {"chameleon", 5882}, {"wavtokenizer-dec", 5882}, {"plm", 5882}, {"bailingmoe", 5882},
    {"dots1", 5882}, {"arcee", 5882}, {"ernie4_5", 5882}, {"hunyuan-moe", 5882}, {"smollm3", 5882}, {"lfm2", 5882},
    {"modern-bert", 8681}, {"jina-bert-v3", 8681}, {"eurobert", 8681}, {"qwen3next", 8681}, {"qwen3vl", 8681},
    {"qwen3vlmoe", 8681}, {"qwen35", 8681}, {"qwen35moe", 8681}, {"plamo2", 8681}, {"plamo3", 8681},
    {"gemma4", 8681}, {"gemma-embedding", 8681}, {"deepseek2-ocr", 8681}, {"glm4moe", 8681}, {"glm-dsa", 8681},
    {"jais2", 8681}, {"nemotron_h", 8681}, {"nemotron_h_moe", 8681}, {"exaone4", 8681}, {"exaone-moe", 8681},
    {"bailingmoe2", 8681}, {"afmoe", 8681}, {"ernie4_5-moe", 8681}, {"hunyuan-dense", 8681}, {"gpt-oss", 8681},
    {"lfm2moe", 8681}, {"dream", 8681}, {"smallthinker", 8681}, {"llada", 8681}, {"llada-moe", 8681},
    {"seed_oss", 8681}, {"grovemoe", 8681}, {"apertus", 8681}, {"minimax-m2", 8681}, {"cogvlm", 8681},
    {"rnd1", 8681}, {"pangu-embedded", 8681}, {"mistral3", 8681}, {"mistral4", 8681}, {"paddleocr", 8681},
    {"mimo2", 8681}, {"step35", 8681}, {"llama-embed", 8681}, {"maincoder", 8681}, {"kimi-linear", 8681},
    {"gemma4-assistant", 10438}, {"cohere2moe", 10438}, {"muse-glimmer", 10438}, {"deepseek32", 10438},
    {"deepseek4", 10438}, {"graniteswitch", 10438}, {"laguna", 10438}, {"hunyuan_vl", 10438}, {"hy_v3", 10438},
    {"minimax-01", 10438}, {"minimax-m3", 10438}, {"eagle3", 10438}, {"dflash", 10438}, {"talkie", 10438},
    {"mellum", 10438}, {"nanbeige", 10438}, {"qwen3tts", 10438}, {"pockettts", 10438},
    {"qwen4exp", 10964}, {"maple", 10964}, {"granite_swa", 10964}, {"bailingmoe3", 10964}, {"dots3note", 10964},
    {"hy_v4", 10964}, {"spark2_5", 10964}, {"kimi-k3", 10964},
    {"hrm_text", 11146},
    {"clef", 11429}, {"glm5-next", 11429},
    {"vllm-decision2", 11669}, {"gemma-embedding2", 11669}, {"maion-coder", 11669}, {"k2-horizon", 11669},
};

/* ggml tensor types newer than the oldest build (all others are in b5882's ggml); read from the
 * ggml each build was packaged with. */
static const struct {
    uint32_t type;
    int since;
} types[] = {
    {39, 8681},   /* MXFP4 */
    {40, 8681},   /* NVFP4 */
    {41, 10438},   /* Q1_0 */
    {42, 10438},   /* Q2_0 */
};

#define NB (sizeof builds / sizeof builds[0])
#define NA (sizeof archs / sizeof archs[0])

int mg_llama_cpp_since(const char *arch)
{
    for (size_t i = 0; arch && i < NA; i++)
        if (!strcmp(archs[i].name, arch))
            return archs[i].since;
    return 0;
}

int mg_llama_cpp_knows(const char *arch) { return mg_llama_cpp_since(arch) != 0; }

int mg_llama_cpp_type_since(uint32_t type)
{
    if (!mg_ggml_type_get(type))
        return 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == type)
            return types[i].since;
    return builds[0].build;
}

int mg_llama_cpp_before(int build)
{
    for (size_t i = 1; i < NB; i++)
        if (builds[i].build == build)
            return builds[i - 1].build;
    return 0;
}

int mg_llama_cpp_oldest(void) { return builds[0].build; }
int mg_llama_cpp_newest(void) { return builds[NB - 1].build; }

const char *mg_llama_cpp_release(int build)
{
    for (size_t i = 0; i < NB; i++)
        if (builds[i].build == build && builds[i].release[0])
            return builds[i].release;
    return NULL;
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
    for (size_t i = 0; i < NA; i++) {
        squash(archs[i].name, have, sizeof have);
        if (!strcmp(want, have) && strcmp(arch, archs[i].name))
            return archs[i].name;
    }
    return NULL;
}

size_t mg_llama_cpp_count(void) { return NA; }
