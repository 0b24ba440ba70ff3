/*
 * frameworks.c - what ML frameworks need that no fatbin shows: which ones must carry CUDA code (a
 * copy without any is a CPU-only build), their compute-capability floors, per-CUDA libraries of which
 * only one is loaded, and the GPUs each official PyTorch build (release x CUDA) has code for.
 * Sources: docs/compat-rules.md, "Frameworks". Applied by the scan (walk.c) and doctor.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mlgate/binaries.h"

/*
 * One row per framework, recognised by its distribution name (the `NAME-VERSION.dist-info` of an
 * environment or a wheel; `-`, `.` and case do not matter). To add one: a row here, a line of
 * docs/compat-rules.md with the source, a case in tests/test_frameworks.sh.
 */
static const mg_framework frameworks[] = {
    /* dist, name, code_dirs, cuda_via, needs_cuda, min_cc, only_cc, per_cuda_lib, fix, rule, below_floor,
       floor_effect */
    {"torch", "torch", "torch", NULL, 1, 0, 0, NULL, NULL, NULL, MG_STATUS_NONE, NULL},
    {"vllm", "vLLM", "vllm", NULL, 1, 0, 0, NULL, "pip install vllm (the PyPI wheel is the CUDA build)", NULL,
     MG_STATUS_NONE, NULL},
    /* jaxlib itself is CPU-only since JAX 0.4.26: its CUDA code comes in plugin packages beside it */
    {"jaxlib", "jaxlib", "jaxlib|jax_cuda12_plugin|jax_cuda13_plugin|jax_plugins",
     "jax_cuda12_plugin|jax_cuda13_plugin|jax_cuda12_pjrt|jax_cuda13_pjrt", 1, 0, 0, NULL,
     "pip install -U \"jax[cuda13]\" (or jax[cuda12]: the CUDA plugin packages)", NULL, MG_STATUS_NONE, NULL},
    {"jax_cuda12_plugin", "jax-cuda12-plugin", NULL, NULL, 0, 0, 0, NULL, NULL, NULL, MG_STATUS_NONE, NULL},
    {"jax_cuda13_plugin", "jax-cuda13-plugin", NULL, NULL, 0, 0, 0, NULL, NULL, NULL, MG_STATUS_NONE, NULL},
    {"jax_cuda12_pjrt", "jax-cuda12-pjrt", NULL, NULL, 0, 0, 0, NULL, NULL, NULL, MG_STATUS_NONE, NULL},
    {"jax_cuda13_pjrt", "jax-cuda13-pjrt", NULL, NULL, 0, 0, 0, NULL, NULL, NULL, MG_STATUS_NONE, NULL},
    /* a model that imports flash_attn fails outright: none */
    {"flash_attn", "FlashAttention 2", NULL, NULL, 0, 80, 0, NULL,
     "use PyTorch's SDPA attention on this GPU (attn_implementation=\"sdpa\"), or a GPU of sm_80+",
     "FlashAttention 2 needs sm_80+ (Ampere, Ada, Hopper)", MG_STATUS_NONE, NULL},
    {"flash_attn_3", "FlashAttention 3", NULL, NULL, 0, 0, 90, NULL,
     "use FlashAttention 2 or PyTorch's SDPA attention off Hopper",
     "FlashAttention 3 runs only on Hopper (sm_90a: H100, H800)", MG_STATUS_NONE, NULL},
    /* every Linux x86-64 torch wheel depends on triton: below its floor only what compiles through it fails */
    {"triton", "Triton", NULL, NULL, 0, 70, 0, NULL,
     "run without Triton (no torch.compile: TORCHDYNAMO_DISABLE=1, eager mode), or use a GPU of compute capability 7.0+",
     "Triton needs compute capability 7.0+", MG_STATUS_PARTIAL, "torch.compile and Triton kernels fail; eager PyTorch runs"},
    {"bitsandbytes", "bitsandbytes", "bitsandbytes", NULL, 0, 0, 0, "libbitsandbytes_cuda",
     "pip install -U bitsandbytes (0.50.0+ loads the newest library of the same CUDA major), or set BNB_CUDA_VERSION "
     "to a CUDA version it ships", NULL, MG_STATUS_NONE, NULL},
};

/*
 * Official PyTorch CUDA builds: the releases (major*100+minor; `last` 0: still built) and the SASS
 * each carries (sm_XY, 0-terminated), plus the PTX of the newest one where it ships some. `verified`
 * 0 marks a list taken from a third-party build matrix, not from PyTorch itself.
 */
static const mg_torch_build torch_builds[] = {
    /* first, last, cuda, sass, ptx, verified */
    {205, 205, 121, {50, 60, 70, 75, 80, 86, 90}, 0, 1},
    {205, 206, 124, {50, 60, 70, 75, 80, 86, 90}, 0, 1},
    {206, 211, 126, {50, 60, 70, 75, 80, 86, 90}, 0, 1},
    {207, 207, 128, {75, 80, 86, 90, 100, 120}, 120, 0},
    {208, 210, 128, {70, 75, 80, 86, 90, 100, 120}, 0, 1},
    {208, 208, 129, {70, 75, 80, 86, 90, 100, 120}, 120, 1},
    {211, 211, 128, {75, 80, 86, 90, 100, 120}, 0, 1},
    {209, 0, 130, {75, 80, 86, 90, 100, 110, 120}, 120, 1},
};

const mg_framework *mg_framework_table(size_t *n)
{
    *n = sizeof frameworks / sizeof frameworks[0];
    return frameworks;
}

/* PEP 503 normalisation, as far as matching goes: case, '-' and '.' as '_'. */
static int same_dist(const char *a, const char *b, size_t blen)
{
    size_t i = 0;
    for (; a[i] && i < blen; i++) {
        char x = (char)tolower((unsigned char)a[i]), y = (char)tolower((unsigned char)b[i]);
        if (x == '-' || x == '.')
            x = '_';
        if (y == '-' || y == '.')
            y = '_';
        if (x != y)
            return 0;
    }
    return !a[i] && i == blen;
}

const mg_framework *mg_framework_find(const char *dist, size_t len)
{
    for (size_t i = 0; i < sizeof frameworks / sizeof frameworks[0]; i++)
        if (same_dist(frameworks[i].dist, dist, len))
            return &frameworks[i];
    return NULL;
}

const mg_framework *mg_dist_info(const char *name, size_t len, const char **ver, size_t *vlen)
{
    static const char suffix[] = ".dist-info";
    size_t sl = sizeof suffix - 1;
    if (len <= sl || memcmp(name + len - sl, suffix, sl) != 0)
        return NULL;
    const char *dash = memchr(name, '-', len - sl);
    const mg_framework *fw = dash ? mg_framework_find(name, (size_t)(dash - name)) : NULL;
    if (fw) {
        *ver = dash + 1;
        *vlen = (size_t)(name + len - sl - *ver);
    }
    return fw;
}

int mg_framework_runs_on(const mg_framework *fw, uint16_t cc)
{
    return !(fw->min_cc && cc < fw->min_cc) && !(fw->only_cc && cc != fw->only_cc);
}

const char *mg_framework_floor_reason(const mg_framework *fw, const char *gpu, uint16_t cc, char *buf, size_t n)
{
    snprintf(buf, n, "%s (%s is %u.%u)%s%s", fw->rule ? fw->rule : "no rule", gpu, cc / 10u, cc % 10u,
             fw->floor_effect ? ": " : "", fw->floor_effect ? fw->floor_effect : "");
    return buf;
}

unsigned mg_cuda_tag_parse(const char *s)
{
    unsigned v = 0;
    size_t i = 0;
    if (!s)
        return 0;
    if (s[0] == 'c' && s[1] == 'u') {   /* cu128, cu92: the major, then one digit of minor */
        for (i = 2; i < 5 && s[i] >= '0' && s[i] <= '9'; i++)
            v = v * 10 + (unsigned)(s[i] - '0');
        return i >= 4 && !(s[i] >= '0' && s[i] <= '9') ? v : 0;
    }
    for (; i < 3 && s[i] >= '0' && s[i] <= '9'; i++)   /* 12.8, 12.4.131: digits counted, no wrap */
        v = v * 10 + (unsigned)(s[i] - '0');
    if (!i || v >= 100 || s[i] != '.' || !(s[i + 1] >= '0' && s[i + 1] <= '9') || (s[i + 2] >= '0' && s[i + 2] <= '9'))
        return 0;
    return v * 10 + (unsigned)(s[i + 1] - '0');
}

const mg_torch_build *mg_torch_builds(size_t *n)
{
    *n = sizeof torch_builds / sizeof torch_builds[0];
    return torch_builds;
}

int mg_torch_build_runs(const mg_torch_build *b, uint16_t cc)
{
    for (size_t i = 0; i < sizeof b->sass / sizeof b->sass[0] && b->sass[i]; i++)
        if (b->sass[i] / 10 == cc / 10 && b->sass[i] % 10 <= cc % 10)
            return 1;   /* SASS sm_XY runs on X.m for m >= Y */
    return b->ptx && cc >= b->ptx;
}

/* The newest build (latest release, then newest CUDA) with code for cc. */
const mg_torch_build *mg_torch_build_for(uint16_t cc)
{
    const mg_torch_build *best = NULL;
    for (size_t i = 0; i < sizeof torch_builds / sizeof torch_builds[0]; i++) {
        const mg_torch_build *b = &torch_builds[i];
        if (!mg_torch_build_runs(b, cc))
            continue;
        unsigned last = b->last ? b->last : 9999, blast = best ? (best->last ? best->last : 9999) : 0;
        if (!best || last > blast || (last == blast && b->cuda > best->cuda))
            best = b;
    }
    return best;
}

const mg_torch_build *mg_torch_build_of(const char *version)
{
    unsigned maj, min, cuda;
    const char *plus = version ? strstr(version, "+cu") : NULL;
    if (!plus || sscanf(version, "%u.%u", &maj, &min) != 2 || sscanf(plus, "+cu%u", &cuda) != 1 || maj > 99 ||
        min > 99)
        return NULL;   /* numbers from a file: no product below can wrap */
    unsigned rel = maj * 100 + min;
    for (size_t i = 0; i < sizeof torch_builds / sizeof torch_builds[0]; i++) {
        const mg_torch_build *b = &torch_builds[i];
        if (b->cuda == cuda && rel >= b->first && (!b->last || rel <= b->last))
            return b;
    }
    return NULL;
}

const char *mg_torch_build_advice(uint16_t cc, char *buf, size_t n)
{
    const mg_torch_build *b = mg_torch_build_for(cc);
    if (!b) {
        snprintf(buf, n, "no official PyTorch build has code for sm_%u", cc);
        return buf;
    }
    unsigned last = b->last ? b->last : b->first;
    if (b->last)
        snprintf(buf, n, "torch %u.%u with CUDA %u.%u (cu%u) is the last build for sm_%u: pip install 'torch==%u.%u.*' "
                 "--index-url https://download.pytorch.org/whl/cu%u", last / 100, last % 100, b->cuda / 10, b->cuda % 10,
                 b->cuda, cc, last / 100, last % 100, b->cuda);
    else
        snprintf(buf, n, "torch %u.%u+ with CUDA %u.%u (cu%u) has code for sm_%u: pip install torch --index-url "
                 "https://download.pytorch.org/whl/cu%u", b->first / 100, b->first % 100, b->cuda / 10, b->cuda % 10,
                 b->cuda, cc, b->cuda);
    return buf;
}

/* A quoted value after `key` at the start of a line: __version__ = '2.9.0+cpu'; 1, or 2 for None, else 0. */
static int py_value(const char *text, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *p = text; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p != text && p[-1] != '\n') || (p[kl] != ' ' && p[kl] != '=' && p[kl] != ':'))
            continue;
        const char *eq = strchr(p, '=');
        const char *nl = strchr(p, '\n');
        if (!eq || (nl && eq > nl))
            continue;
        const char *q = eq + 1;
        while (*q == ' ')
            q++;
        if (strncmp(q, "None", 4) == 0) {
            out[0] = 0;
            return 2;
        }
        if (*q != '\'' && *q != '"')
            continue;
        char quote = *q++;
        size_t l = 0;
        while (q[l] && q[l] != quote && q[l] != '\n' && l + 1 < n)
            l++;
        memcpy(out, q, l);
        out[l] = 0;
        return 1;
    }
    return 0;
}

int mg_py_version_file(const char *text, char *version, size_t vn, char *cuda, size_t cn)
{
    int got = 0;
    if (vn && py_value(text, "__version__", version, vn))
        got |= 1;
    if (cn && py_value(text, "cuda", cuda, cn))
        got |= 2;
    return got;
}
