/*
 * remote.c - read byte ranges of a model file over HTTP(S) with libcurl: only
 * the header bytes, never the whole file. Redirects followed (hub URLs), every
 * request bounded in time and size, a server that ignores Range read only as
 * far as needed, and a bearer token from the environment sent (HF_TOKEN to the hub only), never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/net.h"
#include "models/formats.h"

typedef struct sink {
    uint8_t *buf;
    size_t len, cap;        /* cap: the most we accept from this response */
    int full;               /* stopped on purpose after cap bytes */
    uint64_t off;           /* where the range asked for starts */
    uint64_t total;         /* the file's size, from Content-Range */
    int ranged;             /* the answer carries a Content-Range */
    int no_range;           /* stopped at once: a range from off > 0 answered with the whole file */
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t bytes = size * n, take = bytes;
    if (s->off && !s->ranged) {   /* the body starts at 0, not at off: not one byte of it is wanted */
        s->no_range = 1;
        return 0;
    }
    if (s->len + take > s->cap) {
        take = s->cap - s->len;
        s->full = 1;
    }
    memcpy(s->buf + s->len, p, take);
    s->len += take;
    return s->full ? 0 : bytes;   /* 0 aborts: endless or Range-ignoring servers stop here */
}

int mg_content_range_total(const char *p, size_t len, uint64_t *total)
{
    /* header lines from libcurl are not NUL-terminated: every read stays inside len */
    if (len < 15 || strncasecmp(p, "content-range:", 14))
        return 0;
    const char *slash = memchr(p, '/', len), *end = p + len;
    if (!slash || slash + 1 >= end || slash[1] < '0' || slash[1] > '9')
        return 0;
    uint64_t v = 0;
    for (const char *d = slash + 1; d < end && *d >= '0' && *d <= '9'; d++) {
        if (v > (UINT64_MAX - (uint64_t)(*d - '0')) / 10)
            return 0;   /* a size that does not fit is no size */
        v = v * 10 + (uint64_t)(*d - '0');
    }
    *total = v;
    return 1;
}

/* Content-Range: bytes 0-99/12345 -> the file's size. A redirect's headers come first: the last
   response's line is the one that counts, and a redirect carries none. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5))
        s->ranged = 0, s->total = 0;   /* a new response begins */
    else if (mg_content_range_total(p, len, &s->total))
        s->ranged = 1;
    return len;
}

int mg_is_url(const char *p) { return !strncmp(p, "http://", 7) || !strncmp(p, "https://", 8); }

const char *mg_hub_endpoint(char *buf, size_t n)
{
    const char *e = getenv("HF_ENDPOINT");
    snprintf(buf, n, "%s", e && mg_is_url(e) ? e : "https://huggingface.co");
    for (size_t l = strlen(buf); l > 0 && buf[l - 1] == '/'; l--)
        buf[l - 1] = 0;
    return buf;
}

/* "https://Host:443/x" -> scheme "https", host "host", port 443; 0 when it is not an http(s) URL. */
static int origin(const char *u, char *scheme, size_t ns, char *host, size_t nh, long *port)
{
    const char *p = strstr(u, "://");
    if (!mg_is_url(u) || !p || (size_t)(p - u) >= ns)
        return 0;
    snprintf(scheme, ns, "%.*s", (int)(p - u), u);
    p += 3;
    const char *at = p + strcspn(p, "/?#"), *cred = memchr(p, '@', (size_t)(at - p));
    if (cred)
        p = cred + 1;   /* user:password@ is not part of the host */
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *hend = colon ? colon : at;
    if (hend == p || (size_t)(hend - p) >= nh)
        return 0;
    for (size_t i = 0; i < (size_t)(hend - p); i++)
        host[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    host[hend - p] = 0;
    *port = !strcmp(scheme, "https") ? 443 : 80;
    if (colon && colon + 1 < at) {
        char *end;
        *port = strtol(colon + 1, &end, 10);
        if (end != at || *port <= 0 || *port > 65535)
            return 0;
    }
    return 1;
}

int mg_same_origin(const char *a, const char *b)
{
    char sa[8], sb[8], ha[256], hb[256];
    long pa, pb;
    return origin(a, sa, sizeof sa, ha, sizeof ha, &pa) && origin(b, sb, sizeof sb, hb, sizeof hb, &pb) &&
           !strcmp(sa, sb) && !strcmp(ha, hb) && pa == pb;
}

const char *mg_remote_token(const char *url)
{
    const char *t = getenv("MLGATE_TOKEN");
    if (t && *t)
        return t;
    char ep[512];
    t = getenv("HF_TOKEN");
    return t && *t && mg_same_origin(url, mg_hub_endpoint(ep, sizeof ep)) ? t : NULL;
}

int mg_remote_read(const char *url, uint64_t off, uint64_t len, double deadline_at, uint8_t **out, size_t *got,
                   uint64_t *total, mg_fetch_stats *st, char *err, size_t errlen)
{
    *out = NULL;
    *got = 0;
    if (len == 0 || len > MG_REMOTE_MAX) {
        snprintf(err, errlen, "refusing to fetch %llu bytes of a header", (unsigned long long)len);
        return MG_E_LIMIT;
    }
    long ms = 120000;   /* every request ends: at 120 s, or at the deadline */
    if (deadline_at > 0) {
        double left = deadline_at - mg_now();
        if (left <= 0) {
            snprintf(err, errlen, "the deadline passed before this read");
            return MG_E_TIMEOUT;
        }
        if (left * 1000 < ms)
            ms = (long)(left * 1000) + 1;
    }
    const mg_curl_api *cu = mg_curl(err, errlen);
    if (!cu)
        return MG_E_IO;
    sink s = {mg_malloc((size_t)len), 0, (size_t)len, 0, off, 0, 0, 0};
    CURL *c = cu->easy_init();
    if (!s.buf || !c) {
        free(s.buf);
        if (c)
            cu->easy_cleanup(c);
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    char range[64];
    snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off, (unsigned long long)(off + len - 1));
    struct curl_slist *hdr = NULL;
    const char *tok = mg_remote_token(url);   /* libcurl drops it when a redirect leaves this origin */
    if (tok) {
        char *h = mg_malloc(strlen(tok) + 32);
        if (h) {
            sprintf(h, "Authorization: Bearer %s", tok);
            hdr = cu->slist_append(hdr, h);
            memset(h, 0, strlen(h));   /* the token lives in libcurl's copy only */
            free(h);
        }
    }
    cu->easy_setopt(c, CURLOPT_URL, url);
    cu->easy_setopt(c, CURLOPT_RANGE, range);
    cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu->easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 10000 ? ms : 10000L);
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    cu->easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 64L);   /* a slow drip is a failure, */
    cu->easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 15L);    /* not a 10-hour wait */
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, &s);
    cu->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    cu->easy_setopt(c, CURLOPT_HEADERDATA, &s);
    cu->easy_setopt(c, CURLOPT_USERAGENT, "mlgate/" MLGATE_VERSION);
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    CURLcode rc = cu->easy_perform(c);
    long code = 0, redirects = 0;
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    cu->easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_off_t clen = -1;
    cu->easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    if (st) {
        st->requests += 1 + redirects;
        st->bytes += s.len;
    }
    cu->easy_cleanup(c);
    cu->slist_free_all(hdr);
    int result = MG_OK;
    if (s.no_range || (code == 200 && off > 0)) {
        /* No Range support: the body starts at 0, not at off. Only a read from 0 can use it. */
        snprintf(err, errlen, "the server ignores Range requests; mlgate reads only headers, from offset 0");
        result = MG_E_UNSUPPORTED;
    } else if (rc == CURLE_OPERATION_TIMEDOUT && deadline_at > 0 && mg_now() >= deadline_at - 0.01) {
        snprintf(err, errlen, "the deadline passed during the read (%zu bytes came)", s.len);
        result = MG_E_TIMEOUT;
    } else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s.full)) {
        snprintf(err, errlen, "%s", cu->easy_strerror(rc));
        result = MG_E_IO;
    } else if (code == 401 || code == 403) {
        snprintf(err, errlen, "HTTP %ld: the file is gated or private; set HF_TOKEN (or MLGATE_TOKEN)", code);
        result = MG_E_IO;
    } else if (code != 206 && code != 200) {
        snprintf(err, errlen, "HTTP %ld", code);
        result = MG_E_IO;
    }
    if (result == MG_OK && total) {
        /* 206: Content-Range carries the total; 200: the body length is the file (when not cut short). */
        *total = code == 206 ? s.total : clen >= 0 ? (uint64_t)clen : 0;
    }
    if (result != MG_OK) {
        free(s.buf);
        return result;
    }
    *out = s.buf;
    *got = s.len;
    return MG_OK;
}
