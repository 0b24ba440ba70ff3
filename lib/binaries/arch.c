/* arch.c - architecture names, driver versions, GPU-name lookup, and the names of the enums in scan reports. */
#include "mlgate/binaries.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mg_arch_str(mg_arch a, const char *prefix, char *buf, size_t n)
{
    static const char suffix[] = {0, 'a', 'f'};
    char s[2] = {a.variant <= MG_VAR_F ? suffix[a.variant] : '?', 0};
    snprintf(buf, n, "%s%u%s", prefix, (unsigned)a.sm, s);
    return buf;
}

/* ---- driver versions ---------------------------------------------------- */

static int parse_u16(const char **s, uint16_t *out)
{
    if (!isdigit((unsigned char)**s))
        return -1;
    unsigned long v = 0;
    while (isdigit((unsigned char)**s)) {
        v = v * 10 + (unsigned long)(**s - '0');
        if (v >= MG_DRIVER_ANY)
            return -1;
        (*s)++;
    }
    *out = (uint16_t)v;
    return 0;
}

int mg_driver_parse(const char *s, mg_driver *out)
{
    mg_driver d = {0, MG_DRIVER_ANY, MG_DRIVER_ANY};
    if (!s || parse_u16(&s, &d.major) || d.major == 0)
        return MG_E_ARG;
    if (*s == '.') {
        s++;
        if (parse_u16(&s, &d.minor))
            return MG_E_ARG;
        d.patch = 0;
        if (*s == '.') {
            s++;
            if (parse_u16(&s, &d.patch))
                return MG_E_ARG;
        }
    }
    if (*s)
        return MG_E_ARG;
    *out = d;
    return MG_OK;
}

const char *mg_driver_str(mg_driver d, char *buf, size_t n)
{
    if (!mg_driver_known(d))
        snprintf(buf, n, "unknown");
    else if (d.minor == MG_DRIVER_ANY)
        snprintf(buf, n, "%u", d.major);
    else
        snprintf(buf, n, "%u.%02u.%02u", d.major, d.minor, d.patch);
    return buf;
}

int mg_driver_cmp(mg_driver a, mg_driver b)
{
    if (a.major != b.major)
        return a.major < b.major ? -1 : 1;
    if (a.minor == MG_DRIVER_ANY || b.minor == MG_DRIVER_ANY)
        return 0;
    if (a.minor != b.minor)
        return a.minor < b.minor ? -1 : 1;
    if (a.patch != b.patch)
        return a.patch < b.patch ? -1 : 1;
    return 0;
}

/* ---- GPU names ---------------------------------------------------------- */

/* Lower-case alphanumerics only, without a leading vendor/brand word. */
static void norm(const char *in, char *out, size_t n)
{
    static const char *const brands[] = {"nvidia", "geforce", "tesla"};
    size_t j = 0;
    for (; *in && j + 1 < n; in++)
        if (isalnum((unsigned char)*in))
            out[j++] = (char)tolower((unsigned char)*in);
    out[j] = 0;
    for (int again = 1; again;) {
        again = 0;
        for (size_t b = 0; b < sizeof brands / sizeof brands[0]; b++) {
            size_t l = strlen(brands[b]);
            if (strncmp(out, brands[b], l) == 0 && out[l]) {
                memmove(out, out + l, strlen(out + l) + 1);
                again = 1;
            }
        }
    }
}

/* Calls fn for the normalised name and every alias of g; stops when fn returns nonzero. */
static int each_name(const mg_gpu_info *g, int (*fn)(const char *, void *), void *ud)
{
    char buf[128];
    norm(g->name, buf, sizeof buf);
    if (fn(buf, ud))
        return 1;
    for (const char *a = g->aliases; a && *a;) {
        const char *end = strchr(a, '|');
        size_t l = end ? (size_t)(end - a) : strlen(a);
        char tmp[128];
        if (l >= sizeof tmp)
            l = sizeof tmp - 1;
        memcpy(tmp, a, l);
        tmp[l] = 0;
        norm(tmp, buf, sizeof buf);
        if (fn(buf, ud))
            return 1;
        a = end ? end + 1 : a + l;
    }
    return 0;
}

struct match { const char *want; size_t best; };

static int is_exact(const char *n, void *ud) { return strcmp(n, ((struct match *)ud)->want) == 0; }

static int is_prefix(const char *n, void *ud)
{
    struct match *m = ud;
    size_t l = strlen(n);
    if (l >= 2 && l > m->best && strncmp(m->want, n, l) == 0)
        m->best = l;
    return 0;
}

const mg_gpu_info *mg_gpu_find(const char *name)
{
    char want[128];
    norm(name, want, sizeof want);
    if (!*want)
        return NULL;
    size_t n;
    const mg_gpu_info *t = mg_gpu_table(&n);
    struct match m = {want, 0};
    for (size_t i = 0; i < n; i++)
        if (each_name(&t[i], is_exact, &m))
            return &t[i];
    /* "NVIDIA H100 80GB HBM3" -> the longest table name that starts it. */
    const mg_gpu_info *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t before = m.best;
        each_name(&t[i], is_prefix, &m);
        if (m.best > before)
            best = &t[i];
    }
    return best;
}

const char *mg_gpu_label(int index, const char *reported, char *buf, size_t n)
{
    const mg_gpu_info *known = reported && reported[0] ? mg_gpu_find(reported) : NULL;
    snprintf(buf, n, "GPU%d %.50s", index, known ? known->name : reported ? reported : "");
    return buf;
}

/* Optimal-string-alignment distance: edits, with a swap of neighbours counting as one. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

struct near { const char *want; size_t best; };

static int nearest(const char *n, void *ud)
{
    struct near *s = ud;
    size_t d = edit_distance(s->want, n);
    if (d < s->best)
        s->best = d;
    return 0;
}

size_t mg_gpu_suggest(const char *name, const mg_gpu_info **out, size_t max)
{
    char want[128];
    norm(name, want, sizeof want);
    size_t n, k = 0;
    const mg_gpu_info *t = mg_gpu_table(&n);
    size_t limit = strlen(want) / 2 > 2 ? strlen(want) / 2 : 2;
    for (size_t d = 0; d <= limit && k < max; d++)
        for (size_t i = 0; i < n && k < max; i++) {
            struct near s = {want, (size_t)-1};
            each_name(&t[i], nearest, &s);
            if (s.best == d)
                out[k++] = &t[i];
        }
    return k;
}

/* ---- names of the enums in reports ------------------------------------- */

const char *mg_image_kind_str(mg_image_kind k)
{
    static const char *const s[MG_IMAGE_COUNT] = {"unknown", "sass", "ptx", "ltoir"};
    return (unsigned)k < MG_IMAGE_COUNT ? s[k] : "unknown";
}

const char *mg_codec_str(mg_codec c)
{
    static const char *const s[] = {"none", "lz4", "zstd", "unknown"};
    return (unsigned)c <= MG_CODEC_UNKNOWN ? s[c] : "unknown";
}

const char *mg_where_str(mg_where w)
{
    static const char *const s[] = {".nv_fatbin", "__nv_relfatbin", "embedded", "raw-cubin"};
    return (unsigned)w <= MG_IN_RAW_CUBIN ? s[w] : "unknown";
}

const char *mg_status_str(mg_status s)
{
    static const char *const t[] = {"native", "jit", "partial", "none"};
    return (unsigned)s <= MG_STATUS_NONE ? t[s] : "unknown";
}
