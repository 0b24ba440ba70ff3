/*
 * hub.c - `mlgate fit hf://ORG/REPO`: which file of a hub repository fits these GPUs and this RAM,
 * before any download. The tree API lists the files (every page), GGUF split sets are grouped and
 * projectors set apart, each candidate's header is read by Range (in parallel, under a deadline,
 * from a cache of headers where it can) and fitted; the rows are ordered best first.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/arith.h"
#include "core/json.h"
#include "core/jsonscan.h"
#include "core/net.h"
#include "core/sha256.h"
#include "mlgate/host.h"
#include "models/formats.h"

#define TREE_PAGE_MAX (16u << 20)   /* one page of the tree API */
#define TREE_PAGES_MAX 64
#define DEFAULT_THREADS 4
#define MAX_THREADS 16
#define DEFAULT_DEADLINE 300.0      /* seconds for the whole repository */
#define DEFAULT_CACHE_MAX (1ull << 30)
#define HUB_MAX_SHARDS 512          /* shards of one split set (model.c reads as many locally) */
#define CACHE_MAGIC "MGHUB1\n"      /* 8 bytes with its NUL */
#define CACHE_HEAD 56               /* magic, file size, payload length, sha256 of the payload */

/* ---- names ---------------------------------------------------------------- */

/* llama_ftype (llama.h), by value. */
static const char *const ftypes[] = {
    "ALL_F32", "MOSTLY_F16", "Q4_0", "Q4_1", "Q4_1_SOME_F16", "?", "?", "Q8_0", "Q5_0", "Q5_1", "Q2_K",
    "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS",
    "Q2_K_S", "IQ3_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M",
    "BF16", "?", "?", "?", "TQ1_0", "TQ2_0", "MXFP4_MOE", "NVFP4", "Q1_0", "Q2_0"};

const char *mg_gguf_ftype_name(uint64_t f)
{
    return f < sizeof ftypes / sizeof ftypes[0] ? ftypes[f] : f == 1024 ? "GUESSED" : "?";
}

const char *mg_hub_place_name(mg_hub_place p)
{
    static const char *const n[] = {"full", "moe", "partial", "cpu", "none", "error"};
    return (unsigned)p < sizeof n / sizeof n[0] ? n[p] : "error";
}

/* Whole-token float types in file names, and what they are called in the table. */
static const struct { const char *tok, *name; } float_names[] = {
    {"F32", "F32"}, {"FP32", "F32"}, {"F16", "F16"}, {"FP16", "F16"}, {"BF16", "BF16"},
    {"MXFP4", "MXFP4"}, {"MXFP4_MOE", "MXFP4_MOE"}};

/* "Q4_K_M", "IQ2_XXS", "TQ1_0", "Q8_0": [IT]?Q<digits>_<letters, digits and _>, not ending in '_'. */
static int is_quant_token(const char *t)
{
    if ((t[0] == 'I' || t[0] == 'T') && t[1] == 'Q')
        t++;
    if (*t++ != 'Q' || *t < '0' || *t > '9')
        return 0;
    while (*t >= '0' && *t <= '9')
        t++;
    if (*t++ != '_' || !*t)
        return 0;
    for (; *t; t++)
        if (!((*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || (*t == '_' && t[1])))
            return 0;
    return 1;
}

/* The quantization a file's name says ("Llama-8B-Q4_K_M.gguf", "UD-Q2_K_XL/x-00001-of-00003.gguf"):
 * the last token, between '-' or '.', that is one; unsloth's "UD-" kept before it. 0 when none. */
static int quant_from_name(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", base);
    size_t l = strlen(buf);
    if (l > 5 && !strcasecmp(buf + l - 5, ".gguf"))
        buf[l -= 5] = 0;
    if (l > 15 && !strncmp(buf + l - 15, "-", 1) && !strncmp(buf + l - 9, "-of-", 4))
        buf[l - 15] = 0;   /* "-00001-of-00003" */
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    int found = 0, ud = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "-.", &save); t; t = strtok_r(NULL, "-.", &save)) {
        const char *name = is_quant_token(t) ? t : NULL;
        for (size_t i = 0; !name && i < sizeof float_names / sizeof float_names[0]; i++)
            if (!strcmp(t, float_names[i].tok))
                name = float_names[i].name;
        if (name) {
            snprintf(out, n, "%s%s", ud ? "UD-" : "", name);
            found = 1;
        }
        ud = !strcmp(t, "UD");
    }
    return found;
}

/* A projector (mmproj-model-f16.gguf, Qwen2.5-VL-7B-mmproj-F16.gguf): used beside a model, not alone. */
static int is_mmproj(const char *path)
{
    const char *base = strrchr(path, '/');
    return strcasestr(base ? base + 1 : path, "mmproj") != NULL;
}

/* "x-00002-of-00009.gguf" -> 2, 9 and the length of "x"; 0 when the name is not a shard's. */
static int shard_of(const char *path, int *index, int *total, size_t *stem)
{
    size_t l = strlen(path);
    if (l < 20 || strcasecmp(path + l - 5, ".gguf"))
        return 0;
    const char *p = path + l - 20;   /* "-00002-of-00009.gguf" */
    if (p[0] != '-' || strncmp(p + 6, "-of-", 4))
        return 0;
    int a = 0, b = 0;
    for (int i = 1; i <= 5; i++) {
        if (p[i] < '0' || p[i] > '9' || p[i + 9] < '0' || p[i + 9] > '9')
            return 0;
        a = a * 10 + (p[i] - '0');
        b = b * 10 + (p[i + 9] - '0');
    }
    if (a < 1 || a > b)
        return 0;
    *index = a, *total = b, *stem = (size_t)(p - path);
    return 1;
}

/* ---- references ----------------------------------------------------------- */

static int name_ok(const char *s, size_t n)
{
    if (!n || n > 96 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

static int revision_ok(const char *s)
{
    if (!*s || strlen(s) >= 256 || strstr(s, "..") || s[0] == '/')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_' || *s == '.' || *s == '/'))
            return 0;
    return 1;
}

/* "ORG/REPO" then the rest into ref; -1 when malformed. */
static int take_repo(const char *s, size_t n, mg_hub_ref *ref)
{
    const char *slash = memchr(s, '/', n);
    if (!slash || !name_ok(s, (size_t)(slash - s)) || !name_ok(slash + 1, n - (size_t)(slash + 1 - s)))
        return -1;
    snprintf(ref->repo, sizeof ref->repo, "%.*s", (int)n, s);
    return 0;
}

/* The hub's own pages and other kinds of repository, whose URLs look like ORG/REPO. */
static int not_a_model(const char *org, size_t n)
{
    static const char *const words[] = {"api", "datasets", "spaces", "docs", "blog", "collections", "organizations",
                                        "papers", "settings", "models", "tasks", "learn", "join", "login", "chat"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && !strncmp(org, words[i], n))
            return 1;
    return 0;
}

int mg_hub_parse(const char *s, mg_hub_ref *ref, char *err, size_t errlen)
{
    memset(ref, 0, sizeof *ref);
    mg_hub_endpoint(ref->endpoint, sizeof ref->endpoint);
    snprintf(ref->revision, sizeof ref->revision, "main");
    if (!strncmp(s, "hf://", 5)) {
        const char *r = s + 5, *at = strchr(r, '@');
        size_t n = at ? (size_t)(at - r) : strlen(r);
        while (n && r[n - 1] == '/')
            n--;
        if (take_repo(r, n, ref) || (at && !revision_ok(at + 1))) {
            snprintf(err, errlen, "'%s' is not hf://ORG/REPO[@REVISION]", s);
            return -1;
        }
        if (at)
            snprintf(ref->revision, sizeof ref->revision, "%s", at + 1);
        return 1;
    }
    /* The repository's page on the hub (or on HF_ENDPOINT): ORG/REPO, or ORG/REPO/tree/REVISION. */
    const char *hosts[] = {"https://huggingface.co", ref->endpoint};
    for (size_t h = 0; h < 2; h++) {
        size_t hl = strlen(hosts[h]);
        if (strncmp(s, hosts[h], hl) || s[hl] != '/')
            continue;
        const char *r = s + hl + 1, *q = r + strcspn(r, "?#");
        const char *slash = memchr(r, '/', (size_t)(q - r));
        if (!slash)
            return 0;
        const char *end = slash + 1 + strcspn(slash + 1, "/?#");
        if (take_repo(r, (size_t)(end - r), ref) || not_a_model(r, (size_t)(slash - r)))
            return 0;   /* api/..., datasets/..., a user page: not a model repository */
        if (end >= q || (end + 1 == q))
            return 1;   /* ORG/REPO or ORG/REPO/ */
        if (!strncmp(end, "/tree/", 6) && end + 6 < q) {
            snprintf(ref->revision, sizeof ref->revision, "%.*s", (int)(q - end - 6), end + 6);
            size_t l = strlen(ref->revision);
            while (l && ref->revision[l - 1] == '/')
                ref->revision[--l] = 0;
            return revision_ok(ref->revision) ? 1 : 0;
        }
        return 0;   /* .../resolve/main/x.gguf and other pages: a file, read as today */
    }
    return 0;
}

/* Percent-encodes s into out; '/' kept when keep_slash. -1 when it does not fit. */
static int url_encode(const char *s, int keep_slash, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                    *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/');
        if (o + 4 > n)
            return -1;
        if (plain)
            out[o++] = (char)*p;
        else
            out[o++] = '%', out[o++] = hex[*p >> 4], out[o++] = hex[*p & 15];
    }
    out[o] = 0;
    return 0;
}

/* {endpoint}/{repo}/resolve/{revision}/{path} */
static int resolve_url(const mg_hub_ref *ref, const char *path, char *out, size_t n)
{
    char rev[800], p[1600];
    if (url_encode(ref->revision, 0, rev, sizeof rev) || url_encode(path, 1, p, sizeof p))
        return -1;
    int w = snprintf(out, n, "%s/%s/resolve/%s/%s", ref->endpoint, ref->repo, rev, p);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* ---- the tree API ------------------------------------------------------- */

typedef struct page {
    char *buf;
    size_t len, cap;
    int over;               /* the page is larger than cap */
    char next[2048];        /* Link: <...>; rel="next" of the last response */
} page;

static size_t page_data(char *p, size_t size, size_t n, void *ud)
{
    page *g = ud;
    size_t bytes = size * n;
    if (bytes > g->cap - g->len) {
        g->over = 1;
        return 0;
    }
    memcpy(g->buf + g->len, p, bytes);
    g->len += bytes;
    return bytes;
}

int mg_link_next(const char *p, size_t len, char *out, size_t n)
{
    if (len < 6 || strncasecmp(p, "link:", 5) || !n)
        return 0;
    const char *end = p + len;
    for (const char *q = p + 5; q < end;) {
        const char *lt = memchr(q, '<', (size_t)(end - q));
        const char *gt = lt ? memchr(lt, '>', (size_t)(end - lt)) : NULL;
        if (!gt)
            return 0;
        const char *comma = memchr(gt, ',', (size_t)(end - gt));
        const char *pend = comma ? comma : end;
        char params[256];
        size_t pl = (size_t)(pend - gt - 1) < sizeof params - 1 ? (size_t)(pend - gt - 1) : sizeof params - 1;
        memcpy(params, gt + 1, pl);
        params[pl] = 0;
        size_t ul = (size_t)(gt - lt - 1);
        if ((strstr(params, "rel=\"next\"") || strstr(params, "rel=next")) && ul < n && !memchr(lt + 1, 0, ul)) {
            memcpy(out, lt + 1, ul);
            out[ul] = 0;
            return 1;
        }
        q = comma ? comma + 1 : end;
    }
    return 0;
}

/* Link: <https://huggingface.co/api/models/x/y/tree/main?recursive=true&cursor=...>; rel="next" */
static size_t page_header(char *p, size_t size, size_t n, void *ud)
{
    page *g = ud;
    size_t len = size * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5))
        g->next[0] = 0;   /* a new response: a redirect's Link is not this one's */
    else
        mg_link_next(p, len, g->next, sizeof g->next);
    return len;
}

/* One GET of url into g (whole body, at most g->cap bytes). MG_OK with *code, or an error with err. */
static int get_page(const char *url, double until, page *g, long *code, mg_fetch_stats *st, char *err,
                    size_t errlen)
{
    double left = until - mg_now();
    if (left <= 0) {
        snprintf(err, errlen, "the deadline passed before the file list was read");
        return MG_E_TIMEOUT;
    }
    const mg_curl_api *cu = mg_curl(err, errlen);
    if (!cu)
        return MG_E_IO;
    CURL *c = cu->easy_init();
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    long ms = left > 120 ? 120000 : (long)(left * 1000) + 1;
    struct curl_slist *hdr = cu->slist_append(NULL, "Accept: application/json");
    const char *tok = mg_remote_token(url);   /* the endpoint's origin only; libcurl drops it on a redirect away */
    if (tok) {
        char *h = mg_malloc(strlen(tok) + 32);
        if (h) {
            sprintf(h, "Authorization: Bearer %s", tok);
            hdr = cu->slist_append(hdr, h);
            memset(h, 0, strlen(h));
            free(h);
        }
    }
    g->len = 0, g->over = 0, g->next[0] = 0;
    cu->easy_setopt(c, CURLOPT_URL, url);
    cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu->easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 10000 ? ms : 10000L);
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    cu->easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 64L);
    cu->easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 15L);
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, page_data);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, g);
    cu->easy_setopt(c, CURLOPT_HEADERFUNCTION, page_header);
    cu->easy_setopt(c, CURLOPT_HEADERDATA, g);
    cu->easy_setopt(c, CURLOPT_USERAGENT, "mlgate/" MLGATE_VERSION);
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    CURLcode rc = cu->easy_perform(c);
    long redirects = 0;
    *code = 0;
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    cu->easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &redirects);
    st->requests += 1 + redirects;
    st->bytes += g->len;
    cu->easy_cleanup(c);
    cu->slist_free_all(hdr);
    if (g->over) {
        snprintf(err, errlen, "a page of the file list is larger than %u MiB", TREE_PAGE_MAX >> 20);
        return MG_E_LIMIT;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", cu->easy_strerror(rc));
        return rc == CURLE_OPERATION_TIMEDOUT ? MG_E_TIMEOUT : MG_E_IO;
    }
    return MG_OK;
}


/* The value after a key: a string into out (cap n), a number into *u. */
static int take_str(mg_json_token *v, char *out, size_t n)
{
    return v->type == MG_JSON_STRING && mg_json_copy(v, out, n, NULL) == MG_JSON_OK ? 0 : -1;
}

/* One page: [{"type":"file","oid":..,"size":..,"path":..,"lfs":{"oid":..,"size":..}}, {"type":"directory"..}] */
int mg_hub_tree_parse(const char *buf, size_t len, mg_hub_files *l, char *err, size_t errlen)
{
    mg_json_scanner s;
    mg_json_token t, v;
    mg_json_init(&s, (const uint8_t *)buf, len, 16);
    if (mg_json_next(&s, &t) != MG_JSON_ARRAY_BEGIN)
        goto bad;
    for (;;) {
        mg_json_type k = mg_json_next(&s, &t);
        if (k == MG_JSON_ARRAY_END)
            break;
        if (k != MG_JSON_OBJECT_BEGIN)
            goto bad;
        mg_hub_file f = {{0}, 0, {0}};
        char type[16] = "", git_oid[72] = "";
        int path_ok = 0;
        unsigned seen = 0, lfs_oid = 0;
        for (;;) {
            if ((k = mg_json_next(&s, &t)) == MG_JSON_OBJECT_END)
                break;
            if (k != MG_JSON_KEY || mg_json_next(&s, &v) == MG_JSON_FAIL)
                goto bad;
            /* the first of each name counts, as a lookup finds it */
            if (mg_json_eq(&t, "type") && !(seen & 1))
                seen |= 1, take_str(&v, type, sizeof type);
            else if (mg_json_eq(&t, "path") && !(seen & 2))   /* longer than 511 bytes: not listed */
                seen |= 2, path_ok = take_str(&v, f.path, sizeof f.path) == 0 && f.path[0];
            else if (mg_json_eq(&t, "oid") && !(seen & 4))
                seen |= 4, take_str(&v, git_oid, sizeof git_oid);
            else if (mg_json_eq(&t, "size") && v.type == MG_JSON_NUMBER && !(seen & 8))
                seen |= 8, mg_json_u64(&v, &f.size);
            else if (mg_json_eq(&t, "lfs") && v.type == MG_JSON_OBJECT_BEGIN && !(seen & 16)) {
                seen |= 16;
                mg_json_token a, b;
                for (;;) {
                    if ((k = mg_json_next(&s, &a)) == MG_JSON_OBJECT_END)
                        break;
                    if (k != MG_JSON_KEY || mg_json_next(&s, &b) == MG_JSON_FAIL)
                        goto bad;
                    if (mg_json_eq(&a, "oid") && !lfs_oid)
                        lfs_oid = 1, take_str(&b, f.oid, sizeof f.oid);
                    if (mg_json_skip(&s, &b))
                        goto bad;
                }
                continue;
            }
            if (mg_json_skip(&s, &v))
                goto bad;
        }
        if (strcmp(type, "file") || !path_ok)
            continue;
        if (!f.oid[0])
            memcpy(f.oid, git_oid, sizeof f.oid);
        if (l->n >= MG_HUB_MAX_FILES) {
            snprintf(err, errlen, "the repository lists more than %d files", MG_HUB_MAX_FILES);
            return MG_E_LIMIT;
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 64;
            mg_hub_file *more = mg_realloc(l->f, cap * sizeof *more);
            if (!more) {
                snprintf(err, errlen, "out of memory");
                return MG_E_NOMEM;
            }
            l->f = more, l->cap = cap;
        }
        l->f[l->n++] = f;
    }
    if (mg_json_next(&s, &t) == MG_JSON_END)
        return MG_OK;
bad:
    snprintf(err, errlen, "the file list is not the hub API's (a JSON array of files): %s at byte %zu",
             s.err ? s.err : "unexpected value", s.err_off);
    return MG_E_FORMAT;
}

/* Every page of {endpoint}/api/models/{repo}/tree/{revision}?recursive=true. */
static int list_tree(const mg_hub_ref *ref, double until, mg_hub_files *l, mg_fetch_stats *st, char *err,
                     size_t errlen)
{
    char rev[800], url[2048];
    if (url_encode(ref->revision, 0, rev, sizeof rev) ||
        snprintf(url, sizeof url, "%s/api/models/%s/tree/%s?recursive=true", ref->endpoint, ref->repo, rev) >=
            (int)sizeof url) {
        snprintf(err, errlen, "the revision is too long");
        return MG_E_ARG;
    }
    page g = {mg_malloc(TREE_PAGE_MAX), 0, TREE_PAGE_MAX, 0, {0}};
    if (!g.buf) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    int rc = MG_OK;
    for (int pages = 0; !rc; pages++) {
        if (pages == TREE_PAGES_MAX) {
            snprintf(err, errlen, "the file list has more than %d pages", TREE_PAGES_MAX);
            rc = MG_E_LIMIT;
            break;
        }
        long code;
        if ((rc = get_page(url, until, &g, &code, st, err, errlen)))
            break;
        if (code == 401 || code == 403 || code == 404) {
            snprintf(err, errlen, "%s at revision '%s': HTTP %ld from %s: no such repository or revision, or a "
                     "private or gated one (set HF_TOKEN)", ref->repo, ref->revision, code, ref->endpoint);
            rc = MG_E_NOTFOUND;
            break;
        }
        if (code != 200) {
            snprintf(err, errlen, "%s: HTTP %ld from the tree API at %s", ref->repo, code, ref->endpoint);
            rc = MG_E_IO;
            break;
        }
        if ((rc = mg_hub_tree_parse(g.buf, g.len, l, err, errlen)) || !g.next[0])
            break;
        /* The next page: relative to the endpoint, on it, or (a mirror echoing the hub's links) moved onto it. */
        const char *hub = "https://huggingface.co";
        if (g.next[0] == '/')
            rc = snprintf(url, sizeof url, "%s%s", ref->endpoint, g.next) >= (int)sizeof url ? MG_E_LIMIT : MG_OK;
        else if (!strncmp(g.next, hub, strlen(hub)) && g.next[strlen(hub)] == '/' && !mg_same_origin(g.next, ref->endpoint))
            rc = snprintf(url, sizeof url, "%s%s", ref->endpoint, g.next + strlen(hub)) >= (int)sizeof url ? MG_E_LIMIT
                                                                                                           : MG_OK;
        else if (mg_is_url(g.next) && mg_same_origin(g.next, ref->endpoint))
            snprintf(url, sizeof url, "%s", g.next);
        else   /* a page on another host is not followed: no token of ours goes there */
            break;
        if (rc)
            snprintf(err, errlen, "the next page's address is too long");
    }
    free(g.buf);
    return rc;
}

/* ---- the header cache ----------------------------------------------------- */

typedef struct cache {
    char dir[1024];         /* "" : none */
    uint64_t max;
} cache;

static void cache_init(cache *c, const mg_hub_opts *ho)
{
    c->dir[0] = 0;
    c->max = ho && ho->cache_max ? ho->cache_max : DEFAULT_CACHE_MAX;
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (ho && ho->cache_dir)
        snprintf(c->dir, sizeof c->dir, "%s", ho->cache_dir);
    else if (x && x[0] == '/')
        snprintf(c->dir, sizeof c->dir, "%s/mlgate/hub", x);
    else if (home && home[0] == '/')
        snprintf(c->dir, sizeof c->dir, "%s/.cache/mlgate/hub", home);
}

/* The entry's name: sha256 of what identifies the bytes (the content's oid when the tree gives one). */
static void cache_key(const mg_hub_ref *ref, const mg_hub_file *f, char hex[65])
{
    mg_sha256 s;
    uint8_t d[32];
    char size[32];
    snprintf(size, sizeof size, "%llu", (unsigned long long)f->size);
    const char *parts[] = {"mlgate-hub-v1", ref->endpoint, ref->repo, f->oid[0] ? "" : ref->revision, f->path,
                           f->oid, size};
    mg_sha256_init(&s);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        mg_sha256_update(&s, parts[i], strlen(parts[i]) + 1);
    mg_sha256_final(&s, d);
    mg_sha256_hex(d, hex);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* An entry's header bytes (*out, free it) for a file of `size` bytes; -1 when absent, another size or
 * damaged in any way (then it is as if absent: the header is read again and the entry replaced). */
static int cache_get(const cache *c, const char *key, uint64_t size, uint8_t **out, size_t *len)
{
    char path[1200];
    if (!c->dir[0] || snprintf(path, sizeof path, "%s/%s.hdr", c->dir, key) >= (int)sizeof path)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return -1;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < CACHE_HEAD || (uint64_t)st.st_size > CACHE_HEAD + MG_REMOTE_MAX ||
        !(buf = mg_malloc((size_t)st.st_size))) {
        close(fd);
        return -1;
    }
    size_t have = 0, want = (size_t)st.st_size;
    while (have < want) {
        ssize_t r = read(fd, buf + have, want - have);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    close(fd);
    uint8_t d[32];
    uint64_t plen = have >= CACHE_HEAD ? get_u64(buf + 16) : 0;
    if (have != want || memcmp(buf, CACHE_MAGIC, 8) || get_u64(buf + 8) != size || plen != want - CACHE_HEAD) {
        free(buf);
        return -1;
    }
    mg_sha256 s;
    mg_sha256_init(&s);
    mg_sha256_update(&s, buf + CACHE_HEAD, (size_t)plen);
    mg_sha256_final(&s, d);
    if (memcmp(d, buf + 24, 32)) {
        free(buf);
        return -1;
    }
    memmove(buf, buf + CACHE_HEAD, (size_t)plen);
    *out = buf;
    *len = (size_t)plen;
    utimensat(AT_FDCWD, path, NULL, 0);   /* recently used: pruned last */
    return 0;
}

static int mkdirs(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0700) && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
}

/* Writes an entry atomically (a temporary file renamed over it); failing to is not an error. */
static void cache_put(const cache *c, const char *key, uint64_t size, const uint8_t *p, size_t len)
{
    char path[1200], tmp[1200];
    if (!c->dir[0] || len > MG_REMOTE_MAX || mkdirs(c->dir) ||
        snprintf(path, sizeof path, "%s/%s.hdr", c->dir, key) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/.tmp.%s.XXXXXX", c->dir, key) >= (int)sizeof tmp)
        return;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    uint8_t head[CACHE_HEAD];
    memcpy(head, CACHE_MAGIC, 8);
    put_u64(head + 8, size);
    put_u64(head + 16, len);
    mg_sha256 s;
    mg_sha256_init(&s);
    mg_sha256_update(&s, p, len);
    mg_sha256_final(&s, head + 24);
    int ok = write(fd, head, sizeof head) == (ssize_t)sizeof head;
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = write(fd, p + done, len - done);
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path))
        unlink(tmp);
}

typedef struct centry {
    char name[96];
    time_t mtime;
    uint64_t size;
} centry;

static int by_age(const void *a, const void *b)
{
    const centry *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime ? 1 : strcmp(x->name, y->name);
}

/* Keeps the cache under its bound: the least recently used entries go first; temporary files an
 * interrupted run left behind go after an hour. */
static void cache_prune(const cache *c)
{
    DIR *d = c->dir[0] ? opendir(c->dir) : NULL;
    if (!d)
        return;
    centry *e = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    time_t now = time(NULL);
    for (struct dirent *de; (de = readdir(d));) {
        struct stat st;
        size_t l = strlen(de->d_name);
        if (l >= sizeof e[0].name || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
            continue;
        if (!strncmp(de->d_name, ".tmp.", 5)) {
            if (now - st.st_mtime > 3600)
                unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (l < 5 || strcmp(de->d_name + l - 4, ".hdr"))
            continue;
        if (n == cap) {
            centry *more = mg_realloc(e, (cap = cap ? 2 * cap : 64) * sizeof *e);
            if (!more)
                break;
            e = more;
        }
        memcpy(e[n].name, de->d_name, l + 1);
        e[n].mtime = st.st_mtime;
        e[n].size = (uint64_t)st.st_size;
        total = mg_sat_add(total, e[n++].size);
    }
    if (total > c->max && e)
        qsort(e, n, sizeof *e, by_age);
    for (size_t i = 0; i < n && total > c->max; i++)
        if (!unlinkat(dirfd(d), e[i].name, 0))
            total -= e[i].size;
    free(e);
    closedir(d);
}

/* ---- candidates ----------------------------------------------------------- */

typedef struct cand {
    size_t first, n;        /* files[first .. first + n) */
    int incomplete;         /* a split set with shards missing */
} cand;

typedef struct job {
    const mg_hub_ref *ref;
    const mg_hub_file *files;
    const cand *cands;
    mg_hub_report *rep;
    const mg_target *dev;
    size_t nd;
    mg_fit_opts o;
    double until;
    cache cache;
    pthread_mutex_t lock;
    size_t next;
} job;

/* The row is an error: e, and why in r->msg (written before). */
static void row_error(mg_hub_row *r, int e)
{
    r->place = MG_HUB_ERROR;
    r->err = e;
}

/* One shard's header: from the cache when it holds it whole and sound, else over HTTP (and cached). */
static void read_shard(job *j, const mg_hub_file *f, size_t shard, mg_gguf_file *s, mg_arena *a, mg_hub_row *r,
                       int *cached)
{
    char key[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    cache_key(j->ref, f, key);
    if (cache_get(&j->cache, key, f->size, &buf, &len) == 0) {
        uint64_t need = 0;
        mg_gguf g;
        if (mg_gguf_parse_part(buf, len, f->size, a, &g, &need, s->msg, sizeof s->msg) == MG_OK) {
            s->g = g;
            s->size = f->size;
            s->err = MG_OK;
            s->msg[0] = 0;
            free(buf);
            mg_gguf_check_size(s);
            return;
        }
        free(buf);   /* an entry that does not parse is no entry */
        buf = NULL;
    }
    *cached = 0;
    mg_gguf_read_remote(s, a, &r->remote, j->until, shard ? MG_SHARD_FIRST_READ : 0, &buf, &len);
    if (!s->err && buf) {   /* the header alone, under the tree's size (what a lookup compares) */
        size_t keep = s->g.header_bytes < len ? (size_t)s->g.header_bytes : len;
        cache_put(&j->cache, key, f->size, buf, keep);
    }
    free(buf);
}

static void fit_gguf_cand(job *j, const cand *c, mg_hub_row *r)
{
    const mg_hub_file *f = j->files + c->first;
    snprintf(r->file, sizeof r->file, "%s", f->path);
    r->nfiles = c->n;
    for (size_t i = 0; i < c->n; i++)
        r->size = mg_sat_add(r->size, f[i].size);
    if (!quant_from_name(f->path, r->quant, sizeof r->quant))
        r->quant[0] = 0;
    if (c->incomplete) {
        snprintf(r->msg, sizeof r->msg, "%.300s: the split set lacks shards in the repository", f->path);
        row_error(r, MG_E_NOTFOUND);
        return;
    }
    if (c->n > HUB_MAX_SHARDS) {   /* as a local split GGUF: no more headers than that for one model */
        snprintf(r->msg, sizeof r->msg, "%.300s: %zu shards, more than the %d mlgate reads", f->path, c->n,
                 HUB_MAX_SHARDS);
        row_error(r, MG_E_LIMIT);
        return;
    }
    mg_model *m = mg_calloc(1, sizeof *m);
    mg_gguf_model *g = m ? mg_calloc(1, sizeof *g) : NULL;
    if (g)
        g->arena = mg_arena_new(), g->shards = mg_calloc(c->n, sizeof *g->shards);
    if (m)
        m->format = MG_FORMAT_GGUF, m->gguf = g, m->path = mg_strdup(f->path);
    if (!g || !g->arena || !g->shards || !m->path) {
        mg_model_free(m);   /* and g with it */
        snprintf(r->msg, sizeof r->msg, "%.300s: out of memory", f->path);
        row_error(r, MG_E_NOMEM);
        return;
    }
    g->nshards = c->n;
    int cached = 1;
    for (size_t i = 0; i < c->n; i++) {
        if (resolve_url(j->ref, f[i].path, g->shards[i].path, sizeof g->shards[i].path)) {
            g->shards[i].err = MG_E_LIMIT;
            snprintf(g->shards[i].msg, sizeof g->shards[i].msg, "the file's address is too long");
            cached = 0;
            continue;
        }
        read_shard(j, &f[i], i, &g->shards[i], g->arena, r, &cached);
    }
    r->cached = cached;
    for (size_t i = 0; i < c->n; i++)
        if (g->shards[i].err) {
            snprintf(r->msg, sizeof r->msg, "%.120s: %.250s", f[i].path, g->shards[i].msg);
            row_error(r, g->shards[i].err);
            mg_model_free(m);
            return;
        }
    const mg_gguf_kv *ft = mg_gguf_find(&g->shards[0].g, "general.file_type");
    if (ft && ft->type != MG_GGUF_STRING && ft->type != MG_GGUF_ARRAY)
        snprintf(r->file_type, sizeof r->file_type, "%s", mg_gguf_ftype_name(ft->v.u));
    if (!r->quant[0])
        snprintf(r->quant, sizeof r->quant, "%s", r->file_type[0] && strcmp(r->file_type, "?") ? r->file_type : "?");
    mg_model_summary sum;
    mg_model_summarize(m, &sum);
    r->bpw = sum.bpw;
    char err[384];
    int e = mg_fit(m, j->dev, j->nd, &j->o, NULL, 0, &r->fit, err, sizeof err);
    if (e) {
        snprintf(r->msg, sizeof r->msg, "%s", err);
        row_error(r, e);
    } else {
        static const mg_hub_place by_verdict[] = {MG_HUB_FULL, MG_HUB_MOE, MG_HUB_PARTIAL, MG_HUB_CPU, MG_HUB_NONE};
        r->place = by_verdict[r->fit.verdict];
    }
    r->fit.model = r->file;
    mg_model_free(m);
}

/* A repository without GGUF files: config.json and the index (or model.safetensors), as one checkpoint. */
static void fit_st_cand(job *j, const mg_hub_file *f, mg_hub_row *r)
{
    char url[2048], err[384];
    snprintf(r->file, sizeof r->file, "%s", f->path);
    if (resolve_url(j->ref, f->path, url, sizeof url)) {
        snprintf(r->msg, sizeof r->msg, "%.300s: the file's address is too long", f->path);
        row_error(r, MG_E_LIMIT);
        return;
    }
    mg_open_opts oo = {j->until};
    mg_model *m = mg_model_open_with(url, &oo);
    if (!m) {
        snprintf(r->msg, sizeof r->msg, "%.300s: out of memory", f->path);
        row_error(r, MG_E_NOMEM);
        return;
    }
    r->remote = *mg_model_remote(m);
    if (!m->st) {   /* the format is told by the name: a repository named x.gguf-... is not a GGUF file */
        snprintf(r->msg, sizeof r->msg, "%.300s: not read as safetensors", f->path);
        row_error(r, MG_E_FORMAT);
        mg_model_free(m);
        return;
    }
    r->nfiles = m->st->nshards;
    if (!m->st->has_config)
        snprintf(r->msg, sizeof r->msg, "no config.json: the KV cache is not counted");
    mg_model_summary sum;
    mg_model_summarize(m, &sum);
    r->bpw = sum.bpw;
    r->size = m->st->index_total_size ? m->st->index_total_size : sum.bytes;
    snprintf(r->quant, sizeof r->quant, "%s", m->st->quant_method[0] ? m->st->quant_method
                                              : m->st->torch_dtype[0] ? m->st->torch_dtype : "?");
    int e = mg_fit(m, j->dev, j->nd, &j->o, NULL, 0, &r->fit, err, sizeof err);
    if (e) {
        snprintf(r->msg, sizeof r->msg, "%s", err);
        row_error(r, e);
    } else {
        r->place = r->fit.fits ? MG_HUB_FULL : r->fit.ndev ? MG_HUB_NONE : MG_HUB_CPU;
    }
    r->fit.model = r->file;
    r->fit.stm = NULL;   /* m's: freed now */
    mg_model_free(m);
}

static void *worker(void *ud)
{
    job *j = ud;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->rep->nrows)
            return NULL;
        if (j->rep->format == MG_FORMAT_GGUF)
            fit_gguf_cand(j, &j->cands[i], &j->rep->rows[i]);
        else
            fit_st_cand(j, &j->files[j->cands[i].first], &j->rep->rows[i]);
    }
}

/* ---- order ---------------------------------------------------------------- */

static int cmp_num(double a, double b) { return a < b ? -1 : a > b ? 1 : 0; }

/*
 * Best first: by placement (full, experts in RAM, partial, CPU, none, error); among full ones the
 * higher bits per weight (quality) first, then the larger context; with experts in RAM the fewer
 * blocks in RAM, partial the more layers on the GPUs, CPU the ones that fit RAM, none the larger
 * context, then the higher bits per weight — except where nothing fits (none, CPU beyond RAM):
 * there the smaller file, the nearest to fitting, comes first; last the name.
 */
static int by_merit(const void *pa, const void *pb)
{
    const mg_hub_row *a = pa, *b = pb;
    int c = cmp_num(a->place, b->place);
    if (c || a->place == MG_HUB_ERROR)
        return c ? c : strcmp(a->file, b->file);
    const mg_fit_plan *x = &a->fit.plan, *y = &b->fit.plan;
    switch (a->place) {
    case MG_HUB_MOE: c = cmp_num(x->n_cpu_moe, y->n_cpu_moe); break;
    case MG_HUB_PARTIAL: c = cmp_num(y->ngl, x->ngl); break;
    case MG_HUB_CPU: c = cmp_num(y->fits_ram, x->fits_ram); break;
    case MG_HUB_NONE: c = cmp_num((double)b->fit.max_ctx, (double)a->fit.max_ctx); break;
    default: break;
    }
    int fits = a->place != MG_HUB_NONE && (a->place != MG_HUB_CPU || x->fits_ram);   /* b's is the same here */
    if (!c && !fits)
        c = cmp_num((double)a->size, (double)b->size);
    if (!c)
        c = cmp_num(b->bpw, a->bpw);
    if (!c && a->place == MG_HUB_FULL)
        c = cmp_num((double)b->fit.max_ctx, (double)a->fit.max_ctx);
    if (!c)
        c = cmp_num((double)a->size, (double)b->size);
    return c ? c : strcmp(a->file, b->file);
}

static int by_path(const void *a, const void *b) { return strcmp(((const mg_hub_file *)a)->path, ((const mg_hub_file *)b)->path); }

/* GGUF candidates (split sets grouped, projectors listed apart) into cands; how many. */
static size_t find_candidates(mg_hub_report *rep, const mg_hub_file *f, size_t n, cand *cands)
{
    size_t nc = 0;
    for (size_t i = 0; i < n;) {
        size_t l = strlen(f[i].path), stem;
        int idx, total;
        if (l < 5 || strcasecmp(f[i].path + l - 5, ".gguf")) {
            i++;
            continue;
        }
        if (is_mmproj(f[i].path)) {
            if (rep->nmmproj < MG_HUB_MAX_MMPROJ)
                snprintf(rep->mmproj[rep->nmmproj++], sizeof rep->mmproj[0], "%s", f[i].path);
            i++;
            continue;
        }
        cand c = {i, 1, 0};
        if (shard_of(f[i].path, &idx, &total, &stem)) {
            /* the shards of one set sort together: 00001 .. 0000N, each once */
            size_t k = i + 1;
            int s2, t2;
            size_t st2;
            while (k < n && shard_of(f[k].path, &s2, &t2, &st2) && st2 == stem && t2 == total &&
                   !strncmp(f[k].path, f[i].path, stem))
                k++;
            c.n = k - i;
            c.incomplete = idx != 1 || c.n != (size_t)total;
            for (size_t q = 0; q < c.n && !c.incomplete; q++)
                c.incomplete = !shard_of(f[i + q].path, &s2, &t2, &st2) || s2 != (int)q + 1;
        }
        i += c.n;
        if (nc < MG_HUB_MAX_CANDIDATES)
            cands[nc++] = c;
        else
            rep->skipped++;
    }
    return nc;
}

/* The safetensors checkpoint at the repository's root: its index, else model.safetensors. */
static int find_st(const mg_hub_file *f, size_t n, cand *c)
{
    const char *names[] = {"model.safetensors.index.json", "model.safetensors"};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(f[i].path, names[k])) {
                *c = (cand){i, 1, 0};
                return 1;
            }
    return 0;
}

int mg_hub_fit(const mg_hub_ref *ref, const mg_target *dev, size_t nd, const mg_fit_opts *o, const mg_hub_opts *ho,
               mg_hub_report **out, char *err, size_t errlen)
{
    *out = NULL;
    mg_hub_report *rep = mg_calloc(1, sizeof *rep);
    cand *cands = mg_calloc(MG_HUB_MAX_CANDIDATES, sizeof *cands);
    mg_hub_files l = {NULL, 0, 0};
    if (!rep || !cands) {
        free(rep);
        free(cands);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    rep->ref = *ref;
    double until = ho && ho->deadline_at > 0 ? ho->deadline_at : mg_now() + DEFAULT_DEADLINE;
    int rc = list_tree(ref, until, &l, &rep->remote, err, errlen);
    if (rc)
        goto fail;
    rep->files = l.n;
    if (l.n)
        qsort(l.f, l.n, sizeof *l.f, by_path);
    rep->format = MG_FORMAT_GGUF;
    rep->nrows = find_candidates(rep, l.f, l.n, cands);
    if (!rep->nrows && !rep->skipped && find_st(l.f, l.n, &cands[0])) {
        rep->format = MG_FORMAT_SAFETENSORS;
        rep->nrows = 1;
    }
    if (!rep->nrows) {
        snprintf(err, errlen, "%s at '%s': no GGUF file (projectors aside) and no model.safetensors(.index.json) "
                 "among its %zu files", ref->repo, ref->revision, l.n);
        rc = MG_E_FORMAT;
        goto fail;
    }
    if (!(rep->rows = mg_calloc(rep->nrows, sizeof *rep->rows))) {
        snprintf(err, errlen, "out of memory");
        rc = MG_E_NOMEM;
        goto fail;
    }
    job j = {.ref = ref, .files = l.f, .cands = cands, .rep = rep, .dev = dev, .nd = nd, .o = *o, .until = until};
    cache_init(&j.cache, ho);
    if (!j.o.ram) {   /* read once for every candidate: this machine's available RAM and free swap */
        mg_host_paths hp = {.root = ""};
        mg_memory mem;
        if (mg_memory_read(&hp, &mem) == MG_OK)
            j.o.ram = mem.available + mem.swap_free;
    }
    pthread_mutex_init(&j.lock, NULL);
    int nt = ho && ho->threads > 0 ? (ho->threads < MAX_THREADS ? ho->threads : MAX_THREADS) : DEFAULT_THREADS;
    if ((size_t)nt > rep->nrows)
        nt = (int)rep->nrows;
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (; started < nt; started++)
        if (pthread_create(&th[started], NULL, worker, &j))
            break;
    if (!started)
        worker(&j);   /* no thread could start: this one does it all */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.lock);
    for (size_t i = 0; i < rep->nrows; i++) {
        rep->remote.requests += rep->rows[i].remote.requests;
        rep->remote.bytes = mg_sat_add(rep->remote.bytes, rep->rows[i].remote.bytes);
        rep->cache_hits += rep->rows[i].cached ? rep->rows[i].nfiles : 0;
    }
    qsort(rep->rows, rep->nrows, sizeof *rep->rows, by_merit);
    for (size_t i = 0; i < rep->nrows; i++)
        rep->rows[i].fit.model = rep->rows[i].file;   /* the rows moved */
    cache_prune(&j.cache);
    free(l.f);
    free(cands);
    *out = rep;
    return MG_OK;
fail:
    free(l.f);
    free(cands);
    mg_hub_report_free(rep);
    return rc;
}

void mg_hub_report_free(mg_hub_report *r)
{
    if (!r)
        return;
    free(r->rows);
    free(r);
}

/* ---- JSON ----------------------------------------------------------------- */

void mg_hub_json(FILE *f, const mg_hub_report *r)
{
    jw w = jw_on(f);
    jw_report(&w, "fit");
    jw_kstr(&w, "endpoint", r->ref.endpoint);
    jw_kstr(&w, "repo", r->ref.repo);
    jw_kstr(&w, "revision", r->ref.revision);
    jw_kstr(&w, "format", r->format == MG_FORMAT_SAFETENSORS ? "safetensors" : "gguf");
    jw_kuint(&w, "files", r->files);
    jw_kbool(&w, "fits", r->nrows && r->rows[0].place == MG_HUB_FULL);
    jw_key(&w, "candidates");
    jw_begin_arr(&w);
    for (size_t i = 0; i < r->nrows; i++) {
        const mg_hub_row *x = &r->rows[i];
        const mg_fit_report *fr = &x->fit;
        jw_begin_obj(&w);
        jw_kstr(&w, "file", x->file);
        jw_kuint(&w, "shards", x->nfiles);
        jw_kstr(&w, "quant", x->quant);
        jw_kstr(&w, "file_type", x->file_type[0] ? x->file_type : NULL);
        jw_kuint(&w, "size", x->size);
        jw_knum(&w, "bpw", x->bpw);
        jw_kstr(&w, "placement", mg_hub_place_name(x->place));
        if (x->place == MG_HUB_ERROR) {
            jw_key(&w, "error");
            jw_begin_obj(&w);
            jw_kstr(&w, "code", mg_strerror((mg_err)x->err));
            jw_kstr(&w, "message", x->msg);
            jw_end_obj(&w);
        } else if (r->format == MG_FORMAT_SAFETENSORS) {
            jw_kbool(&w, "fits_fully_on_gpus", fr->fits);
            jw_kuint(&w, "context", fr->context);
            jw_kuint(&w, "need", fr->st.need);
            jw_kuint(&w, "usable", fr->usable);
        } else {
            jw_kbool(&w, "fits_fully_on_gpus", fr->fits);
            jw_kint(&w, "ngl", fr->plan.ngl);
            jw_kint(&w, "n_cpu_moe", fr->plan.n_cpu_moe > (int)fr->n_layer ? (int)fr->n_layer : fr->plan.n_cpu_moe);
            jw_kuint(&w, "n_layer", fr->n_layer);
            jw_kuint(&w, "context", fr->plan.n_ctx);
            jw_kuint(&w, "max_context", fr->max_ctx);
            jw_kbool(&w, "fits_ram", fr->plan.fits_ram);
            jw_key(&w, "tensor_split");
            jw_begin_arr(&w);
            for (size_t d = 0; d < fr->ndev; d++)
                jw_num(&w, fr->plan.split[d]);
            jw_end_arr(&w);
        }
        jw_kbool(&w, "cached", x->cached);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "mmproj");
    jw_begin_arr(&w);
    for (size_t i = 0; i < r->nmmproj; i++)
        jw_str(&w, r->mmproj[i]);
    jw_end_arr(&w);
    jw_kuint(&w, "skipped", r->skipped);
    jw_key(&w, "remote");
    jw_begin_obj(&w);
    jw_kint(&w, "requests", r->remote.requests);
    jw_kuint(&w, "bytes", r->remote.bytes);
    jw_kuint(&w, "cache_hits", r->cache_hits);
    jw_end_obj(&w);
    jw_end_obj(&w);
}
