/*
 * http.c - mlgate-probe's HTTP/1.1 client over POSIX sockets: http:// only; numeric IPv4/IPv6, names
 * through getaddrinfo (in a thread, so that the deadline holds), "localhost" without any file;
 * Content-Length, chunked and read-to-close answers; every wait a poll() against one total deadline;
 * the answer capped; no redirects, no keep-alive.
 */
#define _GNU_SOURCE
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "mlgate/core.h"

#define MAX_ADDRS 8
#define MAX_LINE 8192          /* a status, header or chunk-size line */
#define MAX_HEADERS 200        /* lines in one header block */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* ==== The URL ==== */

int probe_url_parse(const char *url, probe_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    if (!strncasecmp(url, "https://", 8))
        return fail(err, errlen, -1, "https:// is not supported: mlgate-probe speaks plain http:// only (a health "
                                     "check runs next to the server; use its http:// port)");
    if (strncasecmp(url, "http://", 7))
        return fail(err, errlen, -1, "the URL must start with http:// (e.g. http://127.0.0.1:8080/v1)");
    const char *p = url + 7, *end = p + strcspn(p, "/");
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
            return fail(err, errlen, -1, "the URL holds a space, a control character, a query or a fragment: give the "
                                         "endpoint's base, e.g. http://127.0.0.1:8080/v1");
    if (memchr(p, '@', (size_t)(end - p)))
        return fail(err, errlen, -1, "user:password@ in the URL is not supported (use --api-key-env)");
    const char *hs = p, *he, *ps = NULL;
    if (*p == '[') {   /* [v6]:port */
        hs = p + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (!he)
            return fail(err, errlen, -1, "an IPv6 address without its closing ']'");
        if (he + 1 < end && he[1] != ':')
            return fail(err, errlen, -1, "text after the IPv6 address's ']'");
        ps = he + 1 < end ? he + 2 : NULL;
    } else {
        he = memchr(hs, ':', (size_t)(end - hs));
        if (he)
            ps = he + 1;
        else
            he = end;
    }
    size_t hl = (size_t)(he - hs);
    if (!hl || hl >= sizeof u->host)
        return fail(err, errlen, -1, hl ? "the host name is too long" : "no host in the URL");
    memcpy(u->host, hs, hl);
    if (ps) {
        size_t pl = (size_t)(end - ps);
        unsigned long port = 0;
        for (size_t i = 0; i < pl; i++) {
            if (ps[i] < '0' || ps[i] > '9' || port > 65535)
                break;
            port = port * 10 + (unsigned long)(ps[i] - '0');
        }
        if (!pl || pl > 5 || strspn(ps, "0123456789") < pl || port == 0 || port > 65535)
            return fail(err, errlen, -1, "the port must be a number from 1 to 65535");
        snprintf(u->port, sizeof u->port, "%lu", port);
    } else {
        snprintf(u->port, sizeof u->port, "80");
    }
    size_t path_len = strlen(end);
    while (path_len && end[path_len - 1] == '/')
        path_len--;
    if (path_len >= sizeof u->path)
        return fail(err, errlen, -1, "the URL's path is too long");
    memcpy(u->path, end, path_len);
    int v6 = strchr(u->host, ':') != NULL;
    snprintf(u->authority, sizeof u->authority, "%s%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
             strcmp(u->port, "80") ? ":" : "", strcmp(u->port, "80") ? u->port : "");
    return 0;
}

/* ==== Addresses: numeric, localhost, or a name looked up in a thread under the deadline ==== */

typedef struct addrs {
    struct sockaddr_storage a[MAX_ADDRS];
    socklen_t len[MAX_ADDRS];
    size_t n;
} addrs;

static void add_v4(addrs *as, const struct in_addr *in, unsigned port)
{
    struct sockaddr_in *s = (struct sockaddr_in *)&as->a[as->n];
    memset(s, 0, sizeof *s);
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    s->sin_addr = *in;
    as->len[as->n++] = sizeof *s;
}

static void add_v6(addrs *as, const struct in6_addr *in, unsigned port)
{
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&as->a[as->n];
    memset(s, 0, sizeof *s);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    s->sin6_addr = *in;
    as->len[as->n++] = sizeof *s;
}

/* A lookup shared by the thread doing it and the caller waiting for it: the last one out frees it. */
typedef struct lookup {
    atomic_int refs;
    char host[256], port[8];
    struct addrinfo *res;
    int rc;
    int pipe[2];
} lookup;

static void lookup_release(lookup *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    if (l->res)
        freeaddrinfo(l->res);
    close(l->pipe[0]);
    close(l->pipe[1]);
    free(l);
}

static void *lookup_run(void *arg)
{
    lookup *l = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    l->rc = getaddrinfo(l->host, l->port, &hints, &l->res);
    ssize_t w = write(l->pipe[1], "x", 1);
    (void)w;
    lookup_release(l);
    return NULL;
}

static int resolve(const probe_url *u, double deadline, addrs *as, char *err, size_t errlen)
{
    unsigned port = (unsigned)atoi(u->port);
    struct in_addr v4;
    struct in6_addr v6;
    as->n = 0;
    if (inet_pton(AF_INET, u->host, &v4) == 1) {
        add_v4(as, &v4, port);
        return 0;
    }
    if (inet_pton(AF_INET6, u->host, &v6) == 1) {
        add_v6(as, &v6, port);
        return 0;
    }
    if (!strcasecmp(u->host, "localhost") || !strcasecmp(u->host, "localhost.")) {
        /* an empty chroot or a distroless image has no /etc/hosts: loopback, as RFC 6761 asks */
        inet_pton(AF_INET, "127.0.0.1", &v4);
        inet_pton(AF_INET6, "::1", &v6);
        add_v4(as, &v4, port);
        add_v6(as, &v6, port);
        return 0;
    }
    lookup *l = calloc(1, sizeof *l);
    if (!l)
        return fail(err, errlen, MG_E_NOMEM, "out of memory");
    snprintf(l->host, sizeof l->host, "%s", u->host);
    snprintf(l->port, sizeof l->port, "%s", u->port);
    if (pipe(l->pipe)) {
        free(l);
        return fail(err, errlen, MG_E_IO, "looking up %.100s: %s", u->host, strerror(errno));
    }
    atomic_init(&l->refs, 2);
    pthread_t t;
    if (pthread_create(&t, NULL, lookup_run, l)) {
        close(l->pipe[0]);
        close(l->pipe[1]);
        free(l);
        return fail(err, errlen, MG_E_IO, "looking up %.100s: no thread", u->host);
    }
    pthread_detach(t);
    for (;;) {
        double left = deadline - mg_now();
        struct pollfd pf = {l->pipe[0], POLLIN, 0};
        int k = left > 0 ? poll(&pf, 1, (int)(left * 1000) + 1) : 0;
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 && mg_now() >= deadline) {
            lookup_release(l);   /* the thread frees it when its lookup ends */
            return fail(err, errlen, MG_E_TIMEOUT, "looking up %.100s took longer than the timeout", u->host);
        }
        if (k > 0)
            break;
    }
    int rc = 0;
    if (l->rc)
        rc = fail(err, errlen, MG_E_IO, "cannot resolve %.100s: %s (in an image with no resolver, use an IP address "
                                        "or localhost)", u->host, gai_strerror(l->rc));
    for (struct addrinfo *a = l->res; !rc && a && as->n < MAX_ADDRS; a = a->ai_next)
        if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && a->ai_addrlen <= sizeof as->a[0]) {
            memcpy(&as->a[as->n], a->ai_addr, a->ai_addrlen);
            as->len[as->n++] = a->ai_addrlen;
        }
    if (!rc && !as->n)
        rc = fail(err, errlen, MG_E_IO, "%.100s has no IPv4 or IPv6 address", u->host);
    lookup_release(l);
    return rc;
}

/* ==== Connect and send ==== */

static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - mg_now();
        if (left <= 0)
            return 0;
        struct pollfd pf = {fd, events, 0};
        int k = poll(&pf, 1, (int)(left * 1000) + 1);
        if (k > 0)
            return 1;
        if (k < 0 && errno != EINTR)
            return -1;
    }
}

/* A connected socket to one of the addresses, or -1 with err. */
static int connect_any(const addrs *as, const probe_url *u, double deadline, int *rc, char *err, size_t errlen)
{
    const char *why = "no address";
    for (size_t i = 0; i < as->n; i++) {
        int fd = socket(as->a[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            why = strerror(errno);
            continue;
        }
        int e = connect(fd, (const struct sockaddr *)&as->a[i], as->len[i]) ? errno : 0;
        if (e == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline);
            socklen_t el = sizeof e;
            if (w == 0) {
                close(fd);
                *rc = fail(err, errlen, MG_E_TIMEOUT, "no connection to %.100s:%s within the timeout", u->host, u->port);
                return -1;
            }
            e = 0;
            if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el))
                e = errno;
        }
        if (!e) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        why = strerror(e);
        close(fd);
    }
    *rc = fail(err, errlen, MG_E_IO, "cannot connect to %.100s:%s: %s", u->host, u->port, why);
    return -1;
}

/* Sends all n bytes; 0, or an errno (ETIMEDOUT at the deadline). */
static int send_all(int fd, const uint8_t *p, size_t n, double deadline)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(fd, POLLOUT, deadline);
            if (w <= 0)
                return w ? errno : ETIMEDOUT;
        } else if (k < 0 && errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

/* ==== The answer ==== */

typedef struct reader {
    int fd;
    double deadline, t0;
    uint8_t b[16384];
    size_t at, end;
    int eof;
    double first;            /* mg_now() of the first byte (0: none yet) */
    size_t came;             /* bytes received in all */
    probe_response *r;
    size_t max;
    size_t cap;              /* of r->body */
    const char *key;         /* masked in whatever of the answer is quoted */
} reader;

/* More bytes into the buffer (only when it is used up): 1, 0 at the end of the stream, or an mg_err < 0. */
static int fill(reader *d)
{
    if (d->eof)
        return 0;
    for (;;) {
        int w = wait_fd(d->fd, POLLIN, d->deadline);
        if (w == 0)
            return -fail(d->r->err, sizeof d->r->err, MG_E_TIMEOUT, "no complete answer within %.1f s (%zu bytes came)",
                         d->deadline - d->t0, d->came);
        if (w < 0)
            return -fail(d->r->err, sizeof d->r->err, MG_E_IO, "poll: %s", strerror(errno));
        ssize_t k = recv(d->fd, d->b, sizeof d->b, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (k < 0)
            return -fail(d->r->err, sizeof d->r->err, MG_E_IO, "receiving the answer: %s (%zu bytes came)",
                         strerror(errno), d->came);
        if (!d->first)
            d->first = mg_now();
        if (k == 0) {
            d->eof = 1;
            return 0;
        }
        d->at = 0;
        d->end = (size_t)k;
        d->came += (size_t)k;
        return 1;
    }
}

/* A line up to LF (CR before it dropped) into out: its length, or an mg_err < 0 (MG_E_TRUNCATED: the
 * stream ended first). */
static long get_line(reader *d, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        if (d->at == d->end) {
            int k = fill(d);
            if (k < 0)
                return k;
            if (k == 0 && !d->came)
                return -fail(d->r->err, sizeof d->r->err, MG_E_TRUNCATED, "the server closed the connection without an answer");
            if (k == 0)
                return -fail(d->r->err, sizeof d->r->err, MG_E_TRUNCATED,
                             "the connection closed in the middle of the answer (%zu bytes came)", d->came);
        }
        uint8_t c = d->b[d->at++];
        if (c == '\n')
            break;
        if (n + 1 >= cap)
            return -fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "a header or chunk line of more than %zu bytes", cap);
        out[n++] = (char)c;
    }
    if (n && out[n - 1] == '\r')
        n--;
    out[n] = 0;
    return (long)n;
}

/* want bytes of body (SIZE_MAX: to the end of the stream) appended to r->body, within max. */
static int take(reader *d, size_t want)
{
    probe_response *r = d->r;
    char cap_s[32];
    while (want) {
        if (d->at == d->end) {
            int k = fill(d);
            if (k < 0)
                return -k;
            if (k == 0) {
                if (want == SIZE_MAX)
                    return 0;
                return fail(r->err, sizeof r->err, MG_E_TRUNCATED,
                            "the connection closed in the middle of the answer (%zu bytes of body came)", r->n);
            }
        }
        size_t n = d->end - d->at;
        if (n > want)
            n = want;
        if (n > d->max - r->n)
            return fail(r->err, sizeof r->err, MG_E_LIMIT, "the answer passed %s, the most this kind's answer may be; "
                                                           "stopped", mg_human(d->max, cap_s));
        if (r->n + n + 1 > d->cap) {
            size_t cap = d->cap ? d->cap : 65536;
            while (cap < r->n + n + 1)
                cap *= 2;
            if (cap > d->max + 1)
                cap = d->max + 1;
            uint8_t *p = mg_realloc(r->body, cap);
            if (!p)
                return fail(r->err, sizeof r->err, MG_E_NOMEM, "out of memory for the answer");
            r->body = p;
            d->cap = cap;
        }
        memcpy(r->body + r->n, d->b + d->at, n);
        r->n += n;
        r->body[r->n] = 0;
        d->at += n;
        if (want != SIZE_MAX)
            want -= n;
    }
    return 0;
}

/* The status line and headers of one answer (1xx ones skipped): status, length (-1: none), chunked. */
static int head(reader *d, long long *length, int *chunked)
{
    char line[MAX_LINE];
    for (;;) {
        long n = get_line(d, line, sizeof line);
        if (n < 0)
            return (int)-n;
        int st = 0;
        if (strncmp(line, "HTTP/1.", 7) || !line[7] || line[8] != ' ' || sscanf(line + 9, "%3d", &st) != 1 ||
            st < 100 || st > 999) {
            char said[64];
            return fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "not an HTTP answer: %s",
                        mg_text_clean(said, sizeof said, line, (size_t)n, d->key));
        }
        *length = -1;
        *chunked = 0;
        for (int i = 0;; i++) {
            if (i > MAX_HEADERS)
                return fail(d->r->err, sizeof d->r->err, MG_E_LIMIT, "more than %d header lines", MAX_HEADERS);
            n = get_line(d, line, sizeof line);
            if (n < 0)
                return (int)-n;
            if (!n)
                break;
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            *colon = 0;
            char *v = colon + 1;
            v += strspn(v, " \t");
            if (!strcasecmp(line, "Content-Length")) {
                unsigned long long x = 0;
                size_t k = 0;
                for (; v[k] >= '0' && v[k] <= '9'; k++) {
                    if (x > (1ull << 62) / 10)
                        return fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "a Content-Length past 2^62");
                    x = x * 10 + (unsigned)(v[k] - '0');
                }
                if (!k || v[k + strspn(v + k, " \t")])
                    return fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "a Content-Length that is no number");
                if (*length >= 0 && (unsigned long long)*length != x)
                    return fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "two different Content-Lengths");
                *length = (long long)x;
            } else if (!strcasecmp(line, "Transfer-Encoding")) {
                *chunked = strcasestr(v, "chunked") != NULL;
            }
        }
        d->r->status = st;
        if (st >= 200 || st == 101)
            return 0;
    }
}

static int chunks(reader *d)
{
    char line[MAX_LINE];
    for (;;) {
        long n = get_line(d, line, sizeof line);
        if (n < 0)
            return (int)-n;
        unsigned long long size = 0;
        size_t k = 0;
        for (;; k++) {
            char c = line[k];
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (v < 0)
                break;
            if (size >> 56)
                return fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "a chunk size past 2^60");
            size = size << 4 | (unsigned)v;
        }
        if (!k || (line[k] && line[k] != ';' && line[k] != ' ' && line[k] != '\t'))
            return fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "a chunk size that is no hex number");
        if (!size)
            break;
        if (size > d->max - d->r->n) {   /* no use reading it: it does not fit */
            char cap_s[32];
            return fail(d->r->err, sizeof d->r->err, MG_E_LIMIT,
                        "the answer passed %s, the most this kind's answer may be; stopped", mg_human(d->max, cap_s));
        }
        int rc = take(d, (size_t)size);
        if (rc)
            return rc;
        if ((n = get_line(d, line, sizeof line)) != 0)
            return n < 0 ? (int)-n : fail(d->r->err, sizeof d->r->err, MG_E_FORMAT, "a chunk longer than its size");
    }
    for (int i = 0; i <= MAX_HEADERS; i++) {   /* trailers, up to the empty line */
        long n = get_line(d, line, sizeof line);
        if (n <= 0)
            return n < 0 && n != -MG_E_TRUNCATED ? (int)-n : 0;
    }
    return fail(d->r->err, sizeof d->r->err, MG_E_LIMIT, "more than %d trailer lines", MAX_HEADERS);
}

int probe_http(const probe_request *q, probe_response *r)
{
    memset(r, 0, sizeof *r);
    double t0 = mg_now();
    addrs as;
    int rc = resolve(q->url, q->deadline, &as, r->err, sizeof r->err);
    if (rc)
        return rc;
    int fd = connect_any(&as, q->url, q->deadline, &rc, r->err, sizeof r->err);
    if (fd < 0)
        return rc;
    /* the request in one buffer, one send: headers and body in one segment where they fit */
    char hdr[8192];
    int hn = snprintf(hdr, sizeof hdr, "%s %s/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mlgate-probe/%s\r\nAccept: */*\r\n"
                                       "Connection: close\r\n",
                      q->body ? "POST" : "GET", q->url->path, q->path, q->url->authority, MLGATE_VERSION);
    if (hn > 0 && (size_t)hn < sizeof hdr && q->body)
        hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, "Content-Type: %s\r\nContent-Length: %zu\r\n", q->ctype, q->n);
    if (hn > 0 && (size_t)hn < sizeof hdr && q->bearer)
        hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, "Authorization: Bearer %s\r\n", q->bearer);
    if (hn > 0 && (size_t)hn < sizeof hdr)
        hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, "\r\n");
    if (hn <= 0 || (size_t)hn >= sizeof hdr) {
        close(fd);
        return fail(r->err, sizeof r->err, MG_E_LIMIT, "the request's headers pass %zu bytes", sizeof hdr);
    }
    size_t bn = q->body ? q->n : 0, ml = (size_t)hn;
    char *msg = bn < SIZE_MAX - ml ? mg_malloc(ml + bn) : NULL;
    if (msg) {
        memcpy(msg, hdr, ml);
        if (bn)
            memcpy(msg + ml, q->body, bn);
        ml += bn;
    }
    explicit_bzero(hdr, sizeof hdr);   /* the key: a memset the compiler may drop */
    if (!msg) {
        close(fd);
        return fail(r->err, sizeof r->err, MG_E_NOMEM, "out of memory for the request");
    }
    int sent = send_all(fd, (const uint8_t *)msg, ml, q->deadline);
    explicit_bzero(msg, ml);
    free(msg);
    reader *d = mg_calloc(1, sizeof *d);
    if (!d) {
        close(fd);
        return fail(r->err, sizeof r->err, MG_E_NOMEM, "out of memory");
    }
    d->fd = fd;
    d->deadline = q->deadline;
    d->t0 = t0;
    d->r = r;
    d->max = q->max;
    d->key = q->bearer;
    if (sent == ETIMEDOUT) {
        rc = fail(r->err, sizeof r->err, MG_E_TIMEOUT, "the request was not taken within %.1f s", q->deadline - t0);
    } else {
        /* a server may answer (413, 401) and close before it read the whole request: its answer counts */
        long long length_h = -1;
        int chunked = 0;
        rc = head(d, &length_h, &chunked);
        if (rc && sent)
            rc = fail(r->err, sizeof r->err, MG_E_IO, "sending the request: %s", strerror(sent));
        else if (!rc && (r->status == 204 || r->status == 304))
            ;   /* no body */
        else if (!rc && chunked)
            rc = chunks(d);
        else if (!rc && length_h >= 0) {
            char cap_s[32];
            if ((unsigned long long)length_h > d->max)
                rc = fail(r->err, sizeof r->err, MG_E_LIMIT, "the answer passed %s, the most this kind's answer may be "
                                                             "(it announced %lld bytes); stopped",
                          mg_human(d->max, cap_s), length_h);
            else
                rc = take(d, (size_t)length_h);
        } else if (!rc) {
            rc = take(d, SIZE_MAX);
        }
    }
    r->ttfb = d->first ? d->first - t0 : 0;
    r->total = mg_now() - t0;
    free(d);
    close(fd);
    if (!rc && !r->body && (r->body = mg_malloc(1)))
        r->body[0] = 0;
    if (!rc && !r->body)
        rc = fail(r->err, sizeof r->err, MG_E_NOMEM, "out of memory");
    if (rc) {
        free(r->body);
        r->body = NULL;
        r->n = 0;
    }
    return rc;
}
