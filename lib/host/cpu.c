/* cpu.c - CPU model, core counts and the ISA features that decide CPU inference speed (/proc/cpuinfo). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "mlgate/binaries.h"
#include "mlgate/host.h"
#include "host/sysfs.h"

#define CPUINFO_MAX (4u << 20)

/* cpuinfo flag (x86 "flags" or arm "Features") -> our bit; one table for both. */
static const struct { const char *flag; uint64_t bit; } features[] = {
    {"avx", MG_CPU_AVX},           {"avx2", MG_CPU_AVX2},           {"fma", MG_CPU_FMA},
    {"f16c", MG_CPU_F16C},         {"avx512f", MG_CPU_AVX512F},     {"avx512bw", MG_CPU_AVX512BW},
    {"avx512cd", MG_CPU_AVX512CD}, {"avx512dq", MG_CPU_AVX512DQ},   {"avx512vl", MG_CPU_AVX512VL},
    {"avx512_bf16", MG_CPU_AVX512BF16}, {"avx512_fp16", MG_CPU_AVX512FP16},
    {"avx512_vnni", MG_CPU_AVX512VNNI}, {"avx_vnni", MG_CPU_AVXVNNI}, {"amx_tile", MG_CPU_AMX_TILE},
    {"amx_int8", MG_CPU_AMX_INT8}, {"amx_bf16", MG_CPU_AMX_BF16},
    {"asimd", MG_CPU_NEON},        {"sve", MG_CPU_SVE},             {"sve2", MG_CPU_SVE2},
    {"i8mm", MG_CPU_I8MM},         {"asimddp", MG_CPU_DOTPROD},     {"bf16", MG_CPU_BF16},
};

const char *mg_cpu_feature_name(uint64_t bit)
{
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        if (features[i].bit == bit)
            return features[i].flag;
    return "?";
}

static uint64_t parse_flags(const char *list)
{
    uint64_t bits = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t l = strcspn(p, " ");
        for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
            if (strlen(features[i].flag) == l && strncmp(p, features[i].flag, l) == 0)
                bits |= features[i].bit;
        p += l;
    }
    return bits;
}

int mg_cpu_read(const mg_host_paths *hp, mg_cpu *out)
{
    memset(out, 0, sizeof *out);
    const char *root = hp && hp->root ? hp->root : "";
    char *txt = mg_malloc(CPUINFO_MAX);
    if (!txt)
        return MG_E_NOMEM;
    if (mg_read_file(root, "/proc/cpuinfo", txt, CPUINFO_MAX) <= 0) {
        free(txt);
        return MG_E_IO;
    }
    char v[4096];
    if (mg_field(txt, "flags", v, sizeof v) == 0) {
        snprintf(out->arch, sizeof out->arch, "x86_64");
        out->features = parse_flags(v);
    } else if (mg_field(txt, "Features", v, sizeof v) == 0) {
        snprintf(out->arch, sizeof out->arch, "aarch64");
        out->features = parse_flags(v);
    }
    if (mg_field(txt, "model name", out->model, sizeof out->model) != 0 &&
        mg_field(txt, "Hardware", out->model, sizeof out->model) != 0) {
        char impl[32] = "", part[32] = "";
        if (mg_field(txt, "CPU implementer", impl, sizeof impl) == 0 && mg_field(txt, "CPU part", part, sizeof part) == 0)
            snprintf(out->model, sizeof out->model, "Arm implementer %s part %s", impl, part);
    }
    /* Logical CPUs: "processor" lines. Cores: distinct (physical id, core id) pairs on x86. */
    enum { MAXPAIRS = 8192 };
    int phys = -1;
    int *pairs = mg_malloc(sizeof(int) * 2 * MAXPAIRS);
    size_t npairs = 0;
    for (char *line = txt; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, "processor", 9) == 0)
            out->logical++;
        else if (strncmp(line, "physical id", 11) == 0)
            phys = atoi(strchr(line, ':') ? strchr(line, ':') + 1 : "0");
        else if (strncmp(line, "core id", 7) == 0 && pairs) {
            int core = atoi(strchr(line, ':') ? strchr(line, ':') + 1 : "0");
            size_t k = 0;
            while (k < npairs && !(pairs[2 * k] == phys && pairs[2 * k + 1] == core))
                k++;
            if (k == npairs && npairs < MAXPAIRS) {
                pairs[2 * npairs] = phys;
                pairs[2 * npairs + 1] = core;
                npairs++;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    out->physical = npairs ? (int)npairs : out->logical;
    free(pairs);
    free(txt);
    return MG_OK;
}
