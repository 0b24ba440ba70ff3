/*
 * http.c - serve's endpoints over libmicrohttpd: a table of routes, each answering from the live
 * state's newest view (documents rendered once per run), with ETags, bearer tokens compared in
 * constant time, and limits on connections, headers, bodies and idle clients.
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define MAX_BODY 4096               /* a POST needs none: a larger one is refused */
#define CONNECTIONS 1000            /* in all */
#define PER_IP 100                  /* from one address: a slowloris needs more than ten hosts */
#define THREADS 4                   /* a slow /v1/runs or a client that reads slowly holds one */
#define IDLE_SECONDS 10             /* a client that sends nothing for this long is dropped */
#define HEADER_MEMORY (32 << 10)    /* request line and headers of one connection */

static const char json_type[] = "application/json";

/* A header beside Content-Type and Cache-Control (ETag, Allow, WWW-Authenticate), or none. */
typedef struct header {
    const char *name, *value;
} header;

/* A response over bytes that stay valid until `done(cls)` is called (a view put back, a buffer freed). */
static enum MHD_Result reply_bytes(struct MHD_Connection *c, unsigned status, const char *type, const char *p,
                                   size_t n, MHD_ContentReaderFreeCallback done, void *cls, header extra)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(n, (void *)p, done, cls);
    if (!r) {
        if (done)
            done(cls);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (extra.name)
        MHD_add_response_header(r, extra.name, extra.value);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* What a writer printed, sent and then freed. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type, char *text, size_t n)
{
    if (!text)
        return MHD_NO;
    return reply_bytes(c, status, type, text, n, free, text, (header){0});
}

/* {"mlgate", "command": "serve", "ok": false, "error": {"code", "message"}} with the status (and a header). */
__attribute__((format(printf, 5, 6))) static enum MHD_Result
reply_error_with(struct MHD_Connection *c, unsigned status, header extra, mg_err e, const char *fmt, ...)
{
    char msg[512], *text = NULL;
    size_t n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return MHD_NO;
    mg_json_error(f, "serve", e, msg);
    if (fclose(f)) {
        free(text);
        return MHD_NO;
    }
    return reply_bytes(c, status, json_type, text, n, free, text, extra);
}

#define reply_error(c, status, ...) reply_error_with(c, status, (header){0}, __VA_ARGS__)

static void view_done(void *v) { mg_live_put(v); }

/* If-None-Match names etag: "*", or a list of tags, weak (W/"...") or strong, compared weakly (RFC 9110 13.1.2). */
static int none_match(const char *inm, const char *etag)
{
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (!strncmp(p, "W/", 2))
            p += 2;
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == el && !memcmp(p, etag, n))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* A document of the view (kept until the response is sent), or 304 when the client has it already. */
static enum MHD_Result reply_doc(struct MHD_Connection *c, mg_live_view *v, unsigned status, const char *p, size_t n,
                                 const char *etag)
{
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (etag && inm && none_match(inm, etag)) {
        p = "", n = 0;
        status = MHD_HTTP_NOT_MODIFIED;
    }
    return reply_bytes(c, status, json_type, p, n, view_done, v, (header){MHD_HTTP_HEADER_ETAG, etag});
}

/* ==== The endpoints ==== */

typedef enum MHD_Result (*handler)(serve *s, struct MHD_Connection *c, const char *rest);

static enum MHD_Result healthz(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)s, (void)rest;
    static const char alive[] = "{\"mlgate\": \"" MLGATE_VERSION "\", \"command\": \"healthz\", \"alive\": true}\n";
    return reply_bytes(c, MHD_HTTP_OK, json_type, alive, sizeof alive - 1, NULL, NULL, (header){0});
}

/* A document of the newest view: 200, or 503 with why when the view has none yet. */
static enum MHD_Result doc_reply(serve *s, struct MHD_Connection *c, mg_live_doc d, const char *missing)
{
    mg_live_view *v = mg_live_get(s->live);
    size_t n;
    const char *p = mg_live_view_doc(v, d, &n);
    if (!p) {
        mg_live_put(v);
        return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, MG_E_NOTFOUND, "%s", missing);
    }
    return reply_doc(c, v, MHD_HTTP_OK, p, n, mg_live_view_etag(v, d));
}

static enum MHD_Result readyz(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    mg_live_view *v = mg_live_get(s->live);
    size_t n;
    const char *p = mg_live_view_doc(v, MG_DOC_READY, &n);
    unsigned status = mg_live_view_ready(v) ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    return reply_bytes(c, status, json_type, p, n, view_done, v, (header){0});
}

static enum MHD_Result capabilities(serve *s, struct MHD_Connection *c, const char *rest)
{
    if (!*rest)
        return doc_reply(s, c, MG_DOC_CAPABILITIES, "not checked yet: the first run has not ended");
    mg_live_view *v = mg_live_get(s->live);
    size_t n;
    const char *etag, *p = mg_live_view_capability(v, rest, &n, &etag);
    if (!p) {
        int checked = mg_live_view_run(v) != 0;
        mg_live_put(v);
        if (!checked)
            return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, MG_E_NOTFOUND, "not checked yet");
        return reply_error(c, MHD_HTTP_NOT_FOUND, MG_E_NOTFOUND, "no capability '%.200s' in the matrix", rest);
    }
    return reply_doc(c, v, MHD_HTTP_OK, p, n, etag);
}

static enum MHD_Result models(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    return doc_reply(s, c, MG_DOC_MODELS, "");
}

static enum MHD_Result doctor(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    return doc_reply(s, c, MG_DOC_DOCTOR, "not audited yet: the first run has not ended");
}

/* Drift since the matrix's host: lock:, as the last run's smoke stage judged it (computed on the runner's thread,
 * never here): 404 when that run's matrix names no lock. */
static enum MHD_Result drift(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    mg_live_view *v = mg_live_get(s->live);
    size_t n;
    const char *p = mg_live_view_doc(v, MG_DOC_DRIFT, &n);
    if (!p) {
        int checked = mg_live_view_run(v) != 0;
        mg_live_put(v);
        if (!checked)
            return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, MG_E_NOTFOUND,
                               "not checked yet: the first run has not ended");
        return reply_error(c, MHD_HTTP_NOT_FOUND, MG_E_NOTFOUND,
                           "no lock configured: set host: lock: FILE in the matrix (a file mlgate lock wrote)");
    }
    return reply_doc(c, v, MHD_HTTP_OK, p, n, mg_live_view_etag(v, MG_DOC_DRIFT));
}

static enum MHD_Result runs(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    long limit = 20;
    if (arg) {
        char *end;
        limit = strtol(arg, &end, 10);
        if (!*arg || *end || limit < 1 || limit > MG_RUNS_MAX)
            return reply_error(c, MHD_HTTP_BAD_REQUEST, MG_E_ARG, "limit must be a number from 1 to %d", MG_RUNS_MAX);
    }
    char db[sizeof s->receipts];
    pthread_mutex_lock(&s->mu);
    memcpy(db, s->receipts, sizeof db);
    pthread_mutex_unlock(&s->mu);
    if (!db[0])
        return reply_error(c, MHD_HTTP_NOT_FOUND, MG_E_NOTFOUND,
                           "no receipts database: set host: receipts: in the matrix, or serve --receipts DB");
    char *text = NULL, err[512];
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return MHD_NO;
    int rc = mg_runs_json(f, db, (int)limit, err, sizeof err);
    if (fclose(f) || rc) {
        free(text);
        return rc ? reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, (mg_err)rc, "%s", err) : MHD_NO;
    }
    return reply_text(c, MHD_HTTP_OK, json_type, text, n);
}

static enum MHD_Result metrics(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return MHD_NO;
    mg_live_metrics(s->live, f);
    if (fclose(f)) {
        free(text);
        return MHD_NO;
    }
    return reply_text(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, n);
}

static enum MHD_Result openapi(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)s, (void)rest;
    size_t n;
    const char *doc = serve_openapi(&n);
    return reply_bytes(c, MHD_HTTP_OK, json_type, doc, n, NULL, NULL, (header){0});
}

/* given equals the token, in a time that depends on the lengths only, never on where they differ. */
static int same_secret(const char *given, size_t ng, const char *token, size_t nt)
{
    unsigned d = ng != nt;
    for (size_t i = 0; i < nt; i++)
        d |= (unsigned char)token[i] ^ (unsigned char)(i < ng ? given[i] : 0);
    return d == 0;
}

static enum MHD_Result last_run(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    return doc_reply(s, c, MG_DOC_RUN, "not checked yet: the first run has not ended");
}

static enum MHD_Result check(serve *s, struct MHD_Connection *c, const char *rest)
{
    (void)rest;
    if (!s->token)
        return reply_error(c, MHD_HTTP_FORBIDDEN, MG_E_ARG, "POST is off: start serve with --token-file FILE");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *given = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
    if (!given || !same_secret(given, strlen(given), s->token, s->token_len))
        return reply_error_with(c, MHD_HTTP_UNAUTHORIZED,
                                (header){MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mlgate\""}, MG_E_ARG,
                                "a valid bearer token is needed (Authorization: Bearer TOKEN)");
    int running;
    uint64_t id = serve_request_run(s, &running);
    char *text = NULL;
    int n = asprintf(&text, "{\"mlgate\": \"%s\", \"command\": \"check\", \"run\": %llu, \"status\": \"%s\"}\n",
                     MLGATE_VERSION, (unsigned long long)id, running ? "queued" : "starting");
    return n < 0 ? MHD_NO : reply_text(c, MHD_HTTP_ACCEPTED, json_type, text, (size_t)n);
}

/* The routes: a path (a prefix when it ends in '/'), its method, its handler. */
static const struct route {
    const char *path;
    const char *method;
    handler fn;
} routes[] = {
    {"/healthz", "GET", healthz},
    {"/readyz", "GET", readyz},
    {"/metrics", "GET", metrics},
    {"/v1/capabilities", "GET", capabilities},
    {"/v1/capabilities/", "GET", capabilities},
    {"/v1/models", "GET", models},
    {"/v1/runs", "GET", runs},
    {"/v1/doctor", "GET", doctor},
    {"/v1/drift", "GET", drift},
    {"/v1/check", "GET", last_run},
    {"/v1/check", "POST", check},
    {"/openapi.json", "GET", openapi},
};

#define NROUTES (sizeof routes / sizeof routes[0])

static int matches(const struct route *r, const char *url, const char **rest)
{
    size_t n = strlen(r->path);
    int prefix = r->path[n - 1] == '/';
    if (!(prefix ? !strncmp(url, r->path, n) && url[n] : !strcmp(url, r->path)))
        return 0;
    *rest = url + n;
    return 1;
}

/* The route for url and method (HEAD as GET), and what follows a prefix route's path; NULL when none
 * matches, *allow then what the path takes (NULL: no such path). */
static const struct route *route_of(const char *url, const char *method, const char **rest, const char **allow)
{
    int head = !strcmp(method, "HEAD");
    *allow = NULL;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!matches(&routes[i], url, rest))
            continue;
        if (!strcmp(method, routes[i].method) || (head && !strcmp(routes[i].method, "GET")))
            return &routes[i];
        *allow = *allow ? "GET, HEAD, POST" : !strcmp(routes[i].method, "GET") ? "GET, HEAD" : routes[i].method;
    }
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
    (void)version, (void)upload;
    serve *s = cls;
    /* *req_cls holds 1 + the body bytes counted so far (a POST's are counted, never kept): nothing is
       allocated per request */
    uintptr_t seen = (uintptr_t)*req_cls;
    if (!seen) {   /* the headers are in: a body announced too large is refused before it is read */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > MAX_BODY)
            return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, MG_E_LIMIT, "a request body may be %d bytes at most",
                               MAX_BODY);
        *req_cls = (void *)(uintptr_t)1;
        return MHD_YES;
    }
    if (*upload_size) {   /* past the cap (chunked: no length said) the connection ends, so this cannot wrap */
        seen += *upload_size;
        *req_cls = (void *)seen;
        *upload_size = 0;
        return seen - 1 > MAX_BODY ? MHD_NO : MHD_YES;
    }
    const char *rest = "", *allow;
    const struct route *r = route_of(url, method, &rest, &allow);
    if (r)
        return r->fn(s, c, rest);
    if (!allow)
        return reply_error(c, MHD_HTTP_NOT_FOUND, MG_E_NOTFOUND, "no such endpoint (GET /openapi.json lists them)");
    return reply_error_with(c, MHD_HTTP_METHOD_NOT_ALLOWED, (header){MHD_HTTP_HEADER_ALLOW, allow}, MG_E_ARG,
                            "%.16s is not allowed here: %s", method, allow);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls, (void)fmt, (void)ap;   /* libmicrohttpd's own messages (a client that went away) are noise here */
}

struct MHD_Daemon *serve_http_start(serve *s, int fd, char *err, size_t errlen)
{
    unsigned threads = THREADS;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HEADER_MEMORY, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "libmicrohttpd could not start on the socket");
    return d;
}

void serve_http_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
