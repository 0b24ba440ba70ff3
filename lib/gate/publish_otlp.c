/* publish_otlp.c - every gate run as an OpenTelemetry trace over OTLP/HTTP JSON: a root span for the run, a span per model, a span per stage that ran; sent by one thread from a bounded queue, retried on 429/502/503/504, never blocking the gate. */
#define _GNU_SOURCE   /* getrandom, strncasecmp, open_memstream, explicit_bzero */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/json.h"
#include "core/net.h"
#include "gate/gate_int.h"
#include "mlgate/explain.h"

#define MAX_URL 2048
#define MAX_HEADER 8192
#define MAX_BODY ((size_t)8 << 20)   /* 256 models' spans take under 2 MiB; about 7 MiB if every model's
                                        reason were 4.5 KiB of quotes (each escaped, in two spans) */
#define MAX_QUEUED ((size_t)32 << 20) /* the bodies queued, all together: the oldest go first */
#define TRIES 4                       /* one request and up to three retries */
#define RETRY_AFTER_MAX 30            /* seconds: a collector asking for longer is asked again sooner */
#define REQUEST_TIMEOUT_MS 10000L

/* ---- the trace of one run ---- */

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[2 * i] = digits[b[i] >> 4], out[2 * i + 1] = digits[b[i] & 15];
    out[2 * n] = 0;
}

/* n random bytes (the kernel's CSPRNG); -1 when there are none. */
static int random_bytes(uint8_t *b, size_t n)
{
    /* up to 256 bytes come whole from getrandom once the kernel's pool is ready (Linux 3.17, glibc 2.25);
       before that (early boot) it fails at once rather than block the gate: the run is not exported */
    ssize_t r;
    while ((r = getrandom(b, n, GRND_NONBLOCK)) < 0 && errno == EINTR)
        ;
    return r == (ssize_t)n ? 0 : -1;
}

/* A trace id (16 bytes) or span id (8): random, never all zero (OTLP's "invalid"). */
static int new_id(char *out, size_t n)
{
    uint8_t b[16] = {0};
    if (random_bytes(b, n))
        return -1;
    int zero = 1;
    for (size_t i = 0; i < n; i++)
        zero &= b[i] == 0;
    if (zero)
        b[n - 1] = 1;
    hex(out, b, n);
    return 0;
}

/* Unix seconds as OTLP's decimal string of nanoseconds. */
static void nanos(jw *w, const char *key, double unix_seconds)
{
    char s[32];
    double ns = unix_seconds > 0 ? unix_seconds * 1e9 : 0;
    snprintf(s, sizeof s, "%llu", ns < 1.8e19 ? (unsigned long long)ns : 0ULL);
    jw_kstr(w, key, s);
}

static void attr_begin(jw *w, const char *key)
{
    jw_begin_obj(w);
    jw_kstr(w, "key", key);
    jw_key(w, "value");
    jw_begin_obj(w);
}

static void attr_end(jw *w)
{
    jw_end_obj(w);
    jw_end_obj(w);
}

static void attr_str(jw *w, const char *key, const char *v)
{
    if (!v)
        return;
    attr_begin(w, key);
    jw_kstr(w, "stringValue", v);
    attr_end(w);
}

static void attr_int(jw *w, const char *key, long long v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", v);
    attr_begin(w, key);
    jw_kstr(w, "intValue", s);   /* int64 is a string in OTLP/JSON */
    attr_end(w);
}

static void attr_double(jw *w, const char *key, double v)
{
    attr_begin(w, key);
    jw_knum(w, "doubleValue", v);
    attr_end(w);
}

static void attr_bool(jw *w, const char *key, int v)
{
    attr_begin(w, key);
    jw_kbool(w, "boolValue", v);
    attr_end(w);
}

/* The span's head: ids, name, kind INTERNAL, times; its attributes array is left open. */
static void span_begin(jw *w, const char *trace, const char *span, const char *parent, const char *name, double start,
                       double end)
{
    jw_begin_obj(w);
    jw_kstr(w, "traceId", trace);
    jw_kstr(w, "spanId", span);
    if (parent)
        jw_kstr(w, "parentSpanId", parent);
    jw_kstr(w, "name", name);
    jw_kint(w, "kind", 1);
    nanos(w, "startTimeUnixNano", start);
    nanos(w, "endTimeUnixNano", end > start ? end : start);
    jw_key(w, "attributes");
    jw_begin_arr(w);
}

/* Closes the attributes, writes the status (1 OK, 2 ERROR with its message) and closes the span. */
static void span_end(jw *w, int ok, const char *message)
{
    jw_end_arr(w);
    jw_key(w, "status");
    jw_begin_obj(w);
    if (!ok && message && *message)
        jw_kstr(w, "message", message);
    jw_kint(w, "code", ok ? 1 : 2);
    jw_end_obj(w);
    jw_end_obj(w);
}

static void resource(jw *w, const mg_gate *g)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1))
        host[0] = 0;
    host[sizeof host - 1] = 0;
    jw_key(w, "resource");
    jw_begin_obj(w);
    jw_key(w, "attributes");
    jw_begin_arr(w);
    attr_str(w, "service.name", "mlgate");
    attr_str(w, "service.version", MLGATE_VERSION);
    if (host[0])
        attr_str(w, "host.name", host);
    /* The GPUs the run judged against (this machine's, or those named) and this machine's driver. */
    const mg_targets *t = mg_gate_targets(g);
    mg_driver drv = {0, 0, 0};
    attr_begin(w, "mlgate.gpu.names");
    jw_key(w, "arrayValue");
    jw_begin_obj(w);
    jw_key(w, "values");
    jw_begin_arr(w);
    for (size_t i = 0; i < t->n; i++) {
        jw_begin_obj(w);
        jw_kstr(w, "stringValue", t->t[i].name);
        jw_end_obj(w);
        if (t->t[i].source == MG_TARGET_DETECTED && mg_driver_known(t->t[i].driver))
            drv = t->t[i].driver;
    }
    jw_end_arr(w);
    jw_end_obj(w);
    attr_end(w);
    attr_bool(w, "mlgate.gpu.detected", t->n && t->t[0].source == MG_TARGET_DETECTED);
    if (mg_driver_known(drv)) {
        char v[64];
        mg_driver_str(drv, v, sizeof v);
        attr_str(w, "mlgate.driver.version", v);
    }
    jw_end_arr(w);
    jw_end_obj(w);
}

/* A model's span covers its stages. */
static void model_times(const mg_check_result *r, double run_start, double *start, double *end)
{
    *start = *end = 0;
    for (int s = 0; s < MG_NSTAGES; s++) {
        const mg_stage_result *st = &r->stage[s];
        if (!st->ran || st->started <= 0)
            continue;
        if (!*start || st->started < *start)
            *start = st->started;
        if (st->started + st->seconds > *end)
            *end = st->started + st->seconds;
    }
    if (!*start)
        *start = *end = run_start;
}

static int render(FILE *f, const mg_gate *g)
{
    const mg_matrix *m = mg_gate_matrix(g);
    char trace[33], root[17], span[17], stage[17];
    if (new_id(trace, 16) || new_id(root, 8))
        return MG_E_IO;
    double start = mg_gate_started(g), end = start + mg_gate_seconds(g);
    size_t n = mg_matrix_count(m), passed = mg_gate_passed(g);
    jw w = jw_on(f);
    jw_begin_obj(&w);
    jw_key(&w, "resourceSpans");
    jw_begin_arr(&w);
    jw_begin_obj(&w);
    resource(&w, g);
    jw_key(&w, "scopeSpans");
    jw_begin_arr(&w);
    jw_begin_obj(&w);
    jw_key(&w, "scope");
    jw_begin_obj(&w);
    jw_kstr(&w, "name", "mlgate");
    jw_kstr(&w, "version", MLGATE_VERSION);
    jw_end_obj(&w);
    jw_key(&w, "spans");
    jw_begin_arr(&w);

    /* the run */
    span_begin(&w, trace, root, NULL, "gate", start, end);
    attr_str(&w, "mlgate.matrix", mg_matrix_get_host(m)->path);
    attr_int(&w, "mlgate.models", (long long)n);
    attr_int(&w, "mlgate.models.passed", (long long)passed);
    attr_double(&w, "mlgate.seconds", mg_gate_seconds(g));
    char why[600] = "";
    if (passed != n)
        snprintf(why, sizeof why, "%zu of %zu models failed", n - passed, n);
    for (size_t i = 0; i < mg_gate_npublished(g); i++) {
        const mg_publication *p = mg_gate_published(g, i);
        if (!p->ok && !why[0])
            snprintf(why, sizeof why, "%s not published: %.500s", p->what, p->error ? p->error : "");
    }
    span_end(&w, !why[0], why);

    for (size_t i = 0; i < n; i++) {
        const mg_matrix_model *md = mg_matrix_model_at(m, i);
        const mg_check_result *r = mg_gate_result(g, i);
        double ms, me;
        model_times(r, start, &ms, &me);
        if (new_id(span, 8))
            return MG_E_IO;
        span_begin(&w, trace, span, root, md->name, ms, me);
        attr_str(&w, "mlgate.model", md->name);
        attr_str(&w, "mlgate.kind", mg_model_kind_name(md->kind));
        attr_str(&w, "mlgate.capability", md->capability);
        attr_str(&w, "mlgate.served_model", md->model);
        attr_bool(&w, "mlgate.ok", r->ok);
        int failed_at;
        const char *reason = mg_check_failure(r, &failed_at);
        if (reason)
            attr_str(&w, "mlgate.failed_stage", mg_stage_name(failed_at));
        if (r->stage[MG_STAGE_INFERENCE].ran && r->ok) {
            attr_double(&w, "mlgate.first_byte_seconds", r->ttfb);
            attr_double(&w, "mlgate.inference_seconds", r->total);
            attr_int(&w, "mlgate.bytes", r->bytes > INT64_MAX ? INT64_MAX : (long long)r->bytes);
            if (r->tokens)
                attr_int(&w, "mlgate.tokens", r->tokens > INT64_MAX ? INT64_MAX : (long long)r->tokens);
            attr_str(&w, "mlgate.output", r->output);
        }
        span_end(&w, r->ok, reason);
        for (int s = 0; s < MG_NSTAGES; s++) {
            const mg_stage_result *st = &r->stage[s];
            if (!st->ran)
                continue;
            if (new_id(stage, 8))
                return MG_E_IO;
            double ss = st->started > 0 ? st->started : ms;
            span_begin(&w, trace, stage, span, mg_stage_name(s), ss, ss + st->seconds);
            attr_str(&w, "mlgate.model", md->name);
            attr_str(&w, "mlgate.stage", mg_stage_name(s));
            if (st->ok && st->reason[0])
                attr_str(&w, "mlgate.detail", st->reason);   /* what a passing stage saw */
            const mg_kb_entry *e = st->ok ? NULL : mg_explain_match(st->reason, strlen(st->reason));
            if (e)
                attr_str(&w, "mlgate.explain.id", mg_kb_id(e));   /* its known cause (mlgate explain) */
            span_end(&w, st->ok, st->reason[0] ? st->reason : "failed");
        }
    }
    jw_end_arr(&w);   /* spans */
    jw_end_obj(&w);
    jw_end_arr(&w);   /* scopeSpans */
    jw_end_obj(&w);
    jw_end_arr(&w);   /* resourceSpans */
    jw_end_obj(&w);
    return MG_OK;
}

int mg_gate_otlp_json(FILE *f, const mg_gate *g) { return render(f, g); }

/* ---- the exporter ---- */

typedef struct item {
    char *body;
    size_t len;
} item;

struct mg_otlp {
    char url[MAX_URL + 16];
    struct curl_slist *headers;
    const mg_curl_api *cu;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* the sender: a run queued, or stop */
    pthread_cond_t idle;        /* close: the queue drained */
    item q[MG_OTLP_QUEUE];
    size_t head, n;
    size_t bytes;               /* of the bodies queued (MAX_QUEUED) */
    int busy;                   /* the sender holds a run */
    atomic_int stop;
    mg_otlp_counts c;
};

static void set_error(mg_otlp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(mg_otlp *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->c.error, sizeof x->c.error, fmt, ap);
    va_end(ap);
}

static int token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/* "K=V" or "K: V" as "K: V" in out; the value is never quoted back in err. */
static int header_line(const char *h, size_t i, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t k = 0, len = strnlen(h, MAX_HEADER + 1);
    while (h[k] && h[k] != '=' && h[k] != ':' && token_char((unsigned char)h[k]))
        k++;
    if (len > MAX_HEADER) {
        snprintf(err, errlen, "otlp header %zu: longer than %d bytes", i + 1, MAX_HEADER);
        return MG_E_ARG;
    }
    if (!k || (h[k] != '=' && h[k] != ':')) {
        snprintf(err, errlen, "otlp header %zu: not NAME=VALUE or 'NAME: VALUE' (a name of letters, digits, -_.)",
                 i + 1);
        return MG_E_ARG;
    }
    const char *v = h + k + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            snprintf(err, errlen, "otlp header %zu (%.*s): its value holds a control character (CR, LF)", i + 1,
                     (int)(k < 64 ? k : 64), h);
            return MG_E_ARG;
        }
    snprintf(out, outlen, "%.*s: %s", (int)k, h, v);
    return MG_OK;
}

static int url_ok(const char *url, char *err, size_t errlen)
{
    size_t n = strnlen(url, MAX_URL + 1);
    if (n > MAX_URL) {
        snprintf(err, errlen, "otlp: the URL is longer than %d bytes", MAX_URL);
        return MG_E_ARG;
    }
    size_t scheme = !strncasecmp(url, "http://", 7) ? 7 : !strncasecmp(url, "https://", 8) ? 8 : 0;
    if (!scheme || n == scheme || url[scheme] == '/') {
        snprintf(err, errlen, "otlp: the URL must be http://HOST[:PORT][/PATH] or https://...");
        return MG_E_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] == 0x7f) {
            snprintf(err, errlen, "otlp: the URL holds a space or control character");
            return MG_E_ARG;
        }
    return MG_OK;
}

static void free_headers(mg_otlp *x)
{
    for (struct curl_slist *s = x->headers; s; s = s->next)
        if (s->data)
            explicit_bzero(s->data, strlen(s->data));   /* API keys do not outlive the exporter */
    if (x->headers)
        x->cu->slist_free_all(x->headers);
    x->headers = NULL;
}

static void timespec_in(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (seconds < 0)
        seconds = 0;
    if (seconds > 86400)
        seconds = 86400;
    long long whole = (long long)seconds;
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L)
        ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

/* Sleeps up to `seconds`, woken early by close; 1 when stopped. Called with mu held. */
static int nap(mg_otlp *x, double seconds)
{
    struct timespec until;
    timespec_in(&until, seconds);
    while (!atomic_load(&x->stop))
        if (pthread_cond_timedwait(&x->wake, &x->mu, &until) == ETIMEDOUT)
            break;
    return atomic_load(&x->stop);
}

typedef struct reply {
    long retry_after;           /* seconds, -1: none */
} reply;

static size_t on_header(char *b, size_t size, size_t nitems, void *arg)
{
    reply *r = arg;
    size_t n = nitems;   /* size is always 1 */
    (void)size;
    if (n >= 5 && !memcmp(b, "HTTP/", 5))
        r->retry_after = -1;   /* a new response (after a 100 Continue): its own headers */
    if (n > 12 && !strncasecmp(b, "retry-after:", 12)) {
        size_t i = 12;
        while (i < n && (b[i] == ' ' || b[i] == '\t'))
            i++;
        long v = 0;
        size_t d = 0;
        for (; i < n && b[i] >= '0' && b[i] <= '9' && d < 9; i++, d++)
            v = v * 10 + (b[i] - '0');
        if (d)   /* the seconds form; an HTTP date falls back to the backoff */
            r->retry_after = v > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : v;
    }
    return n;
}

static size_t on_body(char *b, size_t size, size_t nitems, void *arg)
{
    (void)b, (void)arg, (void)size;
    return nitems;   /* the collector's answer is not needed */
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(&((mg_otlp *)arg)->stop) ? 1 : 0;   /* close aborts a hung request */
}

/* One POST: the HTTP status, or 0 with the transport's error in why. */
static long post(mg_otlp *x, const item *it, reply *r, char *why, size_t wlen)
{
    CURL *c = x->cu->easy_init();
    if (!c) {
        snprintf(why, wlen, "libcurl could not make a request");
        return 0;
    }
    r->retry_after = -1;
    x->cu->easy_setopt(c, CURLOPT_URL, x->url);
    x->cu->easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    x->cu->easy_setopt(c, CURLOPT_POST, 1L);
    x->cu->easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
    x->cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
    x->cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    x->cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    x->cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    x->cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    x->cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);   /* a redirect would carry the key elsewhere */
    x->cu->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    x->cu->easy_setopt(c, CURLOPT_HEADERDATA, r);
    x->cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    x->cu->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    x->cu->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    x->cu->easy_setopt(c, CURLOPT_XFERINFODATA, x);
    x->cu->easy_setopt(c, CURLOPT_USERAGENT, "mlgate/" MLGATE_VERSION);
    CURLcode e = x->cu->easy_perform(c);
    long code = 0;
    if (e == CURLE_OK)
        x->cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    else if (e == CURLE_ABORTED_BY_CALLBACK)
        snprintf(why, wlen, "the collector had not answered when the exporter closed");
    else if (e == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, wlen, "the collector did not answer within %ld s", REQUEST_TIMEOUT_MS / 1000);
    else
        snprintf(why, wlen, "%s", x->cu->easy_strerror(e));   /* curl's words name no header */
    x->cu->easy_cleanup(c);
    return code;
}

static int retryable(long code) { return code == 429 || code == 502 || code == 503 || code == 504; }

/* One run: tries, backoff 1 s, 2 s, 4 s or what Retry-After asks (at most 30 s). Called with mu held. */
static void deliver(mg_otlp *x, const item *it)
{
    char why[200];
    for (int try = 1;; try++) {
        reply r;
        why[0] = 0;
        pthread_mutex_unlock(&x->mu);
        long code = post(x, it, &r, why, sizeof why);
        pthread_mutex_lock(&x->mu);
        if (code >= 200 && code < 300) {
            x->c.sent++;
            return;
        }
        if (code && why[0] == 0)
            snprintf(why, sizeof why, "HTTP %ld", code);
        if (atomic_load(&x->stop)) {   /* close's wait ran out during this try */
            x->c.dropped++;
            if (code)
                set_error(x, "%s, then the exporter closed", why);
            else
                set_error(x, "%s", why);
            return;
        }
        if (!retryable(code) || try == TRIES) {
            x->c.failed++;
            set_error(x, "%s after %d %s", why, try, try == 1 ? "try" : "tries");
            return;
        }
        x->c.retried++;
        if (nap(x, r.retry_after >= 0 ? (double)r.retry_after : (double)(1 << (try - 1)))) {
            x->c.dropped++;
            set_error(x, "%s after %d %s (the exporter closed before the next)", why, try,
                      try == 1 ? "try" : "tries");
            return;
        }
    }
}

static void *sender(void *arg)
{
    mg_otlp *x = arg;
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->n && !atomic_load(&x->stop))
            pthread_cond_wait(&x->wake, &x->mu);
        if (atomic_load(&x->stop))
            break;
        item it = x->q[x->head];
        x->head = (x->head + 1) % MG_OTLP_QUEUE;
        x->n--;
        x->bytes -= it.len;
        x->busy = 1;
        deliver(x, &it);
        free(it.body);
        x->busy = 0;
        pthread_cond_broadcast(&x->idle);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

int mg_otlp_open(const char *url, const char *const *headers, size_t nheaders, mg_otlp **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    if (!url) {
        snprintf(err, errlen, "otlp: no URL");
        return MG_E_ARG;
    }
    if (url_ok(url, err, errlen))
        return MG_E_ARG;
    if (nheaders > MG_OTLP_MAX_HEADERS || (nheaders && !headers)) {
        snprintf(err, errlen, "otlp: at most %d headers", MG_OTLP_MAX_HEADERS);
        return MG_E_ARG;
    }
    char *line = mg_malloc(MAX_HEADER + 4);
    if (!line) {
        snprintf(err, errlen, "out of memory");
        return MG_E_NOMEM;
    }
    for (size_t i = 0; i < nheaders; i++) {   /* every header checked before anything starts */
        int rc = header_line(headers[i] ? headers[i] : "", i, line, MAX_HEADER + 4, err, errlen);
        if (rc) {
            free(line);
            return rc;
        }
    }
    const mg_curl_api *cu = mg_curl(err, errlen);
    mg_otlp *x = cu ? mg_calloc(1, sizeof *x) : NULL;
    if (!x) {
        free(line);
        if (cu)
            snprintf(err, errlen, "out of memory");
        return cu ? MG_E_NOMEM : MG_E_UNSUPPORTED;
    }
    x->cu = cu;
    /* URL/v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT; a URL that already names it is kept */
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    int has_path = n >= 10 && !strncmp(url + n - 10, "/v1/traces", 10);
    snprintf(x->url, sizeof x->url, "%.*s%s", (int)n, url, has_path ? "" : "/v1/traces");
    int rc = MG_OK;
    struct curl_slist *s = NULL;
    static const char *const fixed[] = {"Content-Type: application/json", "Expect:"};
    for (size_t i = 0; i < 2 + nheaders && !rc; i++) {
        if (i < 2)
            snprintf(line, MAX_HEADER + 4, "%s", fixed[i]);
        else
            header_line(headers[i - 2], i - 2, line, MAX_HEADER + 4, err, errlen);
        if (!(s = cu->slist_append(x->headers, line)))
            rc = MG_E_NOMEM;
        else
            x->headers = s;
    }
    explicit_bzero(line, MAX_HEADER + 4);
    free(line);
    pthread_condattr_t ca;
    int mu = rc ? -1 : pthread_mutex_init(&x->mu, NULL), cv = -1, cv2 = -1;
    if (!rc && !mu && !pthread_condattr_init(&ca)) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        cv = pthread_cond_init(&x->wake, &ca);
        cv2 = pthread_cond_init(&x->idle, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (!rc && (mu || cv || cv2 || pthread_create(&x->thread, NULL, sender, x)))
        rc = MG_E_NOMEM;
    if (rc) {
        if (!cv)
            pthread_cond_destroy(&x->wake);
        if (!cv2)
            pthread_cond_destroy(&x->idle);
        if (!mu)
            pthread_mutex_destroy(&x->mu);
        free_headers(x);
        free(x);
        snprintf(err, errlen, "otlp: out of memory or threads");
        return rc;
    }
    *out = x;
    return MG_OK;
}

void mg_otlp_submit(mg_otlp *x, const mg_gate *g)
{
    if (!x || !g)
        return;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    int rc = f ? render(f, g) : MG_E_NOMEM;
    if (f && fclose(f))
        rc = rc ? rc : MG_E_NOMEM;
    if (!rc && (!body || len > MAX_BODY))
        rc = body ? MG_E_LIMIT : MG_E_NOMEM;
    pthread_mutex_lock(&x->mu);
    if (rc) {
        x->c.dropped++;
        set_error(x, "a run could not be rendered: %s", mg_strerror((mg_err)rc));
        free(body);
    } else {
        while (x->n == MG_OTLP_QUEUE || (x->n && x->bytes + len > MAX_QUEUED)) {   /* full: the oldest go */
            x->bytes -= x->q[x->head].len;
            free(x->q[x->head].body);
            x->head = (x->head + 1) % MG_OTLP_QUEUE;
            x->n--;
            x->c.dropped++;
            set_error(x, "the queue (%d runs, %zu MiB) was full: the oldest was dropped", MG_OTLP_QUEUE,
                      MAX_QUEUED >> 20);
        }
        x->q[(x->head + x->n) % MG_OTLP_QUEUE] = (item){body, len};
        x->n++;
        x->bytes += len;
        pthread_cond_signal(&x->wake);
    }
    pthread_mutex_unlock(&x->mu);
}

void mg_otlp_stats(mg_otlp *x, mg_otlp_counts *c)
{
    pthread_mutex_lock(&x->mu);
    *c = x->c;
    c->queued = x->n + (size_t)x->busy;
    pthread_mutex_unlock(&x->mu);
}

void mg_otlp_close(mg_otlp *x, double wait_seconds, mg_otlp_counts *last)
{
    if (!x) {
        if (last)
            memset(last, 0, sizeof *last);
        return;
    }
    struct timespec until;
    timespec_in(&until, wait_seconds);
    pthread_mutex_lock(&x->mu);
    while ((x->n || x->busy) && pthread_cond_timedwait(&x->idle, &x->mu, &until) != ETIMEDOUT)
        ;
    atomic_store(&x->stop, 1);
    pthread_cond_broadcast(&x->wake);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->thread, NULL);   /* a request in flight stops at its next progress call */
    if (x->n) {
        x->c.dropped += x->n;
        set_error(x, "%zu %s still queued when the exporter closed", x->n, x->n == 1 ? "run" : "runs");
    }
    for (; x->n; x->n--, x->head = (x->head + 1) % MG_OTLP_QUEUE)
        free(x->q[x->head].body);
    if (last) {
        *last = x->c;
        last->queued = 0;
    }
    free_headers(x);
    pthread_cond_destroy(&x->wake);
    pthread_cond_destroy(&x->idle);
    pthread_mutex_destroy(&x->mu);
    free(x);
}
