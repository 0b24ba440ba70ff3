/*
 * serve.c - `mlgate serve`: the gate kept live. A runner thread runs the gate at start, every
 * interval, on SIGHUP (re-reading the matrix) and on an authenticated POST, one run at a time; the
 * HTTP threads (daemon/http.c) answer from the newest run; the main thread waits for signals.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

#define DEFAULT_LISTEN "127.0.0.1:9464"
#define DEFAULT_NFD_DIR "/etc/kubernetes/node-feature-discovery/features.d"
#define MAX_TOKEN 4096

static const char help[] =
    "usage: mlgate serve [options] MATRIX.yaml\n"
    "\n"
    "The gate kept live (docs/api.md): runs `mlgate check` on the matrix at start, every --interval,\n"
    "on SIGHUP (which also re-reads the matrix; one that no longer parses keeps the old one and says\n"
    "so) and on POST /v1/check; one run at a time, and no request waits for one. Between runs it\n"
    "answers from the last run:\n"
    "  GET  /healthz              200: the daemon is alive\n"
    "  GET  /readyz               200 when every resident model passed the last run, else 503 with\n"
    "                             the failing models, stages and reasons (503 before the first run)\n"
    "  GET  /v1/capabilities[/NAME]  the capability file's JSON (ETag / If-None-Match: 304)\n"
    "  GET  /v1/models            each model's status, stages and last change\n"
    "  GET  /v1/runs?limit=N      recent runs from the receipts database\n"
    "  GET  /v1/doctor            the host audit, refreshed with each run\n"
    "  GET  /v1/drift             drift since the matrix's host: lock: (mlgate drift --json; 404 without one)\n"
    "  GET  /v1/check             the last run as `mlgate check --json` prints it\n"
    "  POST /v1/check             start a run now (202 with its number; needs the token)\n"
    "  GET  /metrics              Prometheus text: mlgate_model_up, stage seconds, runs, mlgate_drift,\n"
    "                             GPU memory\n"
    "  GET  /openapi.json         this API, described\n"
    "\n"
    "  -l, --listen ADDR:PORT  where to listen (default " DEFAULT_LISTEN "; [::1]:PORT for IPv6);\n"
    "                        any address but loopback needs --token-file\n"
    "  -i, --interval DUR    between runs (default 5m; 30s, 1h)\n"
    "      --token-file FILE the bearer token POST needs (one line; without it POST is refused)\n"
    "      --nfd-dir DIR     Kubernetes node labels for Node Feature Discovery in DIR/mlgate,\n"
    "                        expiring two intervals and a deadline after each run (default:\n"
    "                        " DEFAULT_NFD_DIR "\n"
    "                        when that directory exists; 'none': never)\n"
    "      --otlp URL        export every run as an OpenTelemetry trace to URL/v1/traces (OTLP/HTTP JSON)\n"
    "      --otlp-header K=V a header for the collector (repeatable; its value is never printed)\n"
    "      --capabilities F  write the capability file here (default: the matrix's)\n"
    "      --receipts DB     store runs in this SQLite database (default: the matrix's receipts:)\n"
    "  -g, --gpu LIST        judge binaries and the plan against these GPUs, not this machine's\n"
    "      --vram LIST       GPU sizes for the plan (96G,32G)\n"
    "      --deadline SECS   each run (default: the matrix's, else 120)\n"
    "      --no-smoke        skip the smoke stage\n"
    "      --allow-shared-dir  publish also in a directory other users can write\n"
    "  -h, --help            this help\n"
    "\n"
    "Signals: SIGHUP re-reads the matrix and runs; SIGTERM or SIGINT cancel a run in progress (nothing\n"
    "half-written: every file is replaced whole) and stop.\n"
    "Exit status: 0 stopped by a signal, 2 usage error (a matrix that does not parse, an address in use).\n";

typedef struct serve_opts {
    const char *matrix, *listen, *token_file, *otlp, *receipts, *nfd_dir;
    const char *otlp_headers[MG_OTLP_MAX_HEADERS];
    size_t notlp_headers;
    double interval;
    mg_gate_opts gate;
} serve_opts;

/* The runner's view: the options, the matrix to run (replaced on SIGHUP), the exporter. */
typedef struct runner {
    serve *s;
    const serve_opts *o;
    mg_matrix *matrix;
    mg_otlp *otlp;
    uint64_t otlp_lost;         /* runs the exporter failed or dropped, as last said */
} runner;

static atomic_int stopping;

static int cancelled(void *ctx)
{
    (void)ctx;
    return atomic_load(&stopping);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fprintf(stderr, "%s mlgate serve: ", when);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

uint64_t serve_request_run(serve *s, int *running)
{
    pthread_mutex_lock(&s->mu);
    s->trigger = 1;
    *running = s->running;
    uint64_t id = s->started + 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    return id;
}

/* The database /v1/runs reads: --receipts, else the matrix's receipts:. */
static void set_receipts(runner *r)
{
    const char *db = r->o->gate.receipts ? r->o->gate.receipts : mg_matrix_get_host(r->matrix)->receipts;
    pthread_mutex_lock(&r->s->mu);
    snprintf(r->s->receipts, sizeof r->s->receipts, "%s", db ? db : "");
    pthread_mutex_unlock(&r->s->mu);
}

/* SIGHUP: the matrix file read again; one that no longer parses leaves the old one. */
static void reload(runner *r)
{
    mg_matrix *m;
    char err[512];
    if (mg_matrix_load(r->o->matrix, &m, err, sizeof err)) {
        say("the matrix no longer parses; keeping the one read before: %s", err);
        mg_live_matrix_error(r->s->live, err);
        return;
    }
    mg_matrix_free(r->matrix);
    r->matrix = m;
    set_receipts(r);
    mg_live_matrix_error(r->s->live, NULL);
    say("re-read %s: %zu models", r->o->matrix, mg_matrix_count(m));
}

/* One line per run: how it went, and each failing model. */
static void report(uint64_t id, const mg_gate *g)
{
    const mg_matrix *m = mg_gate_matrix(g);
    say("run %llu: %zu of %zu models passed in %.2f s", (unsigned long long)id, mg_gate_passed(g), mg_matrix_count(m),
        mg_gate_seconds(g));
    for (size_t i = 0; i < mg_matrix_count(m); i++) {
        const mg_check_result *x = mg_gate_result(g, i);
        for (int st = 0; !x->ok && st < MG_NSTAGES; st++)
            if (x->stage[st].ran && !x->stage[st].ok)
                say("  %s: %s: %s", mg_matrix_model_at(m, i)->name, mg_stage_name(st), x->stage[st].reason);
    }
    for (size_t i = 0; i < mg_gate_npublished(g); i++)
        if (!mg_gate_published(g, i)->ok)
            say("  %s: %s", mg_gate_published(g, i)->what, mg_gate_published(g, i)->error);
}

static void run_once(runner *r, uint64_t id)
{
    mg_matrix *m;
    mg_gate *g;
    char err[512];
    int rc = mg_matrix_copy(r->matrix, &m, err, sizeof err);
    mg_gate_opts go = r->o->gate;
    go.cancelled = cancelled;
    /* the labels outlive the next run's end: two intervals and that run's whole deadline */
    go.nfd_expiry = 2 * r->o->interval + mg_gate_deadline(r->matrix, &go);
    go.otlp = r->otlp;   /* the gate hands the run to the exporter's queue: never waits for the collector */
    if (!rc && (rc = mg_gate_run(m, &go, &g, err, sizeof err)))
        mg_matrix_free(m);
    if (rc == MG_E_CANCELLED)
        return;
    if (rc) {
        say("run %llu could not start: %s", (unsigned long long)id, err);
        mg_live_record_error(r->s->live, err);
        return;
    }
    report(id, g);
    mg_otlp_counts oc;
    if (r->otlp && (mg_otlp_stats(r->otlp, &oc), oc.failed + oc.dropped != r->otlp_lost)) {
        r->otlp_lost = oc.failed + oc.dropped;
        say("otlp: %llu runs not delivered so far: %s", (unsigned long long)r->otlp_lost, oc.error);
    }
    mg_doctor_opts dopt = {.no_common_envs = 1, .no_scan = 1, .no_cuda = 1};   /* cheap: no scans, no CUDA context */
    mg_doctor *d = cancelled(NULL) ? NULL : mg_doctor_run(r->o->gate.host, &dopt);
    if (mg_live_record(r->s->live, id, m, g, d))
        say("run %llu: out of memory: the previous run is still shown", (unsigned long long)id);
}

/* The runner thread: waits for the interval, a POST or SIGHUP, then runs; ends on stop. */
static void *run_loop(void *arg)
{
    runner *r = arg;
    serve *s = r->s;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);   /* the first run now */
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!atomic_load(&stopping) && !s->trigger &&
               pthread_cond_timedwait(&s->wake, &s->mu, &next) != ETIMEDOUT)
            ;
        if (atomic_load(&stopping)) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        int again = s->reload;
        s->trigger = s->reload = 0;
        s->running = 1;
        uint64_t id = ++s->started;
        pthread_mutex_unlock(&s->mu);
        if (again)
            reload(r);
        run_once(r, id);
        pthread_mutex_lock(&s->mu);
        s->running = 0;
        pthread_mutex_unlock(&s->mu);
        clock_gettime(CLOCK_MONOTONIC, &next);
        double whole;
        double frac = modf(r->o->interval, &whole);
        next.tv_sec += (time_t)whole;
        next.tv_nsec += (long)(frac * 1e9);
        if (next.tv_nsec >= 1000000000L)
            next.tv_sec++, next.tv_nsec -= 1000000000L;
    }
    return NULL;
}

/* ==== Set-up ==== */

/* "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:80", "localhost:9464" -> a bound, listening socket; -1 with err. */
static int listen_on(const char *spec, int *loopback, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host) {
        snprintf(err, errlen, "--listen wants ADDR:PORT (127.0.0.1:9464, [::1]:9464), not '%s'", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(err, errlen, "--listen: '%s' is not a port (0 to 65535)", colon + 1);
        return -1;
    }
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    size_t hl = strlen(host);
    if (host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6, a->sin6_port = htons((uint16_t)port), sl = sizeof *a;
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) {
            snprintf(err, errlen, "--listen: '%s' is not an IPv6 address", host + 1);
            return -1;
        }
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET, a->sin_port = htons((uint16_t)port), sl = sizeof *a;
        if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a->sin_addr) != 1) {
            snprintf(err, errlen, "--listen: '%s' is not an IPv4 address (or [IPv6], or localhost)", host);
            return -1;
        }
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 512)) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* The port the kernel gave (for --listen ...:0). */
static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl))
        return -1;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* The token: one line of a regular file, at most cap (4 KiB) bytes, no spaces in it; tok holds cap + 2. */
static int read_token(const char *path, char *tok, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    struct stat st;
    if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--token-file %s: %s", path, f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    size_t n = fread(tok, 1, cap + 1, f);   /* tok holds cap + 2: the token, a newline, the NUL */
    int more = fgetc(f) != EOF;
    fclose(f);
    while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' || tok[n - 1] == '\t'))
        n--;
    more |= n > cap;
    tok[n] = 0;
    if (more || !n || strcspn(tok, " \t\r\n") != n) {
        snprintf(err, errlen, "--token-file %s: %s", path,
                 more ? "larger than 4 KiB" : !n ? "empty" : "the token must be one word on one line");
        return -1;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH))
        say("warning: %s can be read by other users of this machine (chmod 600 it)", path);
    return 0;
}

static int parse(int argc, char **argv, serve_opts *o)
{
    enum { O_TOKEN = 256, O_NFD, O_OTLP, O_OTLP_HEADER, O_CAPS, O_RECEIPTS, O_VRAM, O_DEADLINE, O_NOSMOKE, O_SHARED };
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},          {"interval", required_argument, 0, 'i'},
        {"token-file", required_argument, 0, O_TOKEN},  {"nfd-dir", required_argument, 0, O_NFD},
        {"otlp", required_argument, 0, O_OTLP},         {"otlp-header", required_argument, 0, O_OTLP_HEADER},
        {"capabilities", required_argument, 0, O_CAPS}, {"receipts", required_argument, 0, O_RECEIPTS},
        {"gpu", required_argument, 0, 'g'},             {"vram", required_argument, 0, O_VRAM},
        {"deadline", required_argument, 0, O_DEADLINE}, {"no-smoke", no_argument, 0, O_NOSMOKE},
        {"allow-shared-dir", no_argument, 0, O_SHARED}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (serve_opts){.listen = DEFAULT_LISTEN, .interval = 300};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:i:g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen = optarg; break;
        case 'i':
            if (mg_parse_duration(optarg, &o->interval) || o->interval < 0.01)
                return cli_usage("serve", 0, "--interval wants a duration of 10 ms or more (30s, 5m, 1h)");
            break;
        case O_TOKEN: o->token_file = optarg; break;
        case O_NFD: o->nfd_dir = optarg; break;
        case O_OTLP: o->otlp = optarg; break;
        case O_OTLP_HEADER:
            if (o->notlp_headers == MG_OTLP_MAX_HEADERS)
                return cli_usage("serve", 0, "at most %d --otlp-header", MG_OTLP_MAX_HEADERS);
            o->otlp_headers[o->notlp_headers++] = optarg;
            break;
        case O_CAPS: o->gate.capabilities = optarg; break;
        case O_RECEIPTS: o->gate.receipts = optarg; break;
        case 'g': o->gate.gpus = optarg; break;
        case O_VRAM: o->gate.vram = optarg; break;
        case O_DEADLINE:
            if (mg_parse_duration(optarg, &o->gate.deadline))
                return cli_usage("serve", 0, "--deadline wants seconds, more than 0 (30, 2m)");
            break;
        case O_NOSMOKE: o->gate.skip_smoke = 1; break;
        case O_SHARED: o->gate.allow_shared_dir = 1; break;
        case 'h': fputs(help, stdout); return -1;
        default: return cli_usage("serve", 0, "unknown option (see 'mlgate serve --help')");
        }
    }
    if (optind != argc - 1)
        return cli_usage("serve", 0, "give one MATRIX (see 'mlgate serve --help')");
    o->matrix = argv[optind];
    if (!o->nfd_dir) {
        struct stat st;
        o->nfd_dir = !stat(DEFAULT_NFD_DIR, &st) && S_ISDIR(st.st_mode) ? DEFAULT_NFD_DIR : NULL;
    } else if (!strcmp(o->nfd_dir, "none"))
        o->nfd_dir = NULL;
    o->gate.nfd_dir = o->nfd_dir;
    return 0;
}

/* The signals the main thread waits for; blocked in every thread (the ones started later inherit it). */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Until SIGTERM or SIGINT: SIGHUP asks for a re-read and a run. */
static void wait_signals(serve *s, const sigset_t *set)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig))
            continue;
        if (sig != SIGHUP) {
            say("%s: stopping (a second one ends the process at once)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            signal(SIGTERM, SIG_DFL);   /* a run that does not stop: the next signal is not waited for */
            signal(SIGINT, SIG_DFL);
            pthread_sigmask(SIG_UNBLOCK, set, NULL);
            pthread_mutex_lock(&s->mu);
            atomic_store(&stopping, 1);
            pthread_cond_signal(&s->wake);
            pthread_mutex_unlock(&s->mu);
            return;
        }
        pthread_mutex_lock(&s->mu);
        s->reload = s->trigger = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
    }
}

static int start(serve_opts *o, runner *r, int *fd, char *token)
{
    char err[512];
    int loopback = 0;
    if (mg_matrix_load(o->matrix, &r->matrix, err, sizeof err))
        return cli_fail("serve", 0, EXIT_USAGE, MG_E_FORMAT, "%s", err);
    if (o->token_file && read_token(o->token_file, token, MAX_TOKEN, err, sizeof err))
        return cli_fail("serve", 0, EXIT_USAGE, MG_E_ARG, "%s", err);
    if ((*fd = listen_on(o->listen, &loopback, err, sizeof err)) < 0)
        return cli_fail("serve", 0, EXIT_USAGE, MG_E_ARG, "%s", err);
    if (!loopback && !o->token_file)
        return cli_fail("serve", 0, EXIT_USAGE, MG_E_ARG,
                        "--listen %s is reachable from other machines: give --token-file FILE too", o->listen);
    if (o->otlp && mg_otlp_open(o->otlp, o->otlp_headers, o->notlp_headers, &r->otlp, err, sizeof err))
        return cli_fail("serve", 0, EXIT_USAGE, MG_E_ARG, "--otlp: %s", err);
    set_receipts(r);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    serve_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_PASS : rc;
#ifdef M_ARENA_MAX
    mallopt(M_ARENA_MAX, 1);   /* one heap for all threads: an arena per HTTP thread kept ~2 MB (bench/serve.sh) */
#endif
    static char token[MAX_TOKEN + 2];
    serve s = {.token = o.token_file ? token : NULL};
    runner r = {.s = &s, .o = &o};
    int fd = -1;
    sigset_t set;
    block_signals(&set);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s.wake, &ca);
    pthread_mutex_init(&s.mu, NULL);
    struct MHD_Daemon *http = NULL;
    pthread_t th;
    int ran = 0;
    char err[256];
    if (!(rc = start(&o, &r, &fd, token))) {
        s.token_len = strlen(token);
        if (!mg_live_new(o.gate.host, &s.live))
            mg_live_otlp(s.live, r.otlp);
        if (!s.live || !(http = serve_http_start(&s, fd, err, sizeof err)))
            rc = cli_fail("serve", 0, EXIT_USAGE, MG_E_NOMEM, "%s", s.live ? err : "out of memory");
        else if (!(ran = pthread_create(&th, NULL, run_loop, &r) == 0))
            rc = cli_fail("serve", 0, EXIT_USAGE, MG_E_NOMEM, "cannot start the runner thread");
    }
    if (!rc) {
        say("listening on http://%.*s:%d (matrix %s, %zu models, every %g s%s%s)",
            (int)(strrchr(o.listen, ':') - o.listen), o.listen, bound_port(fd), o.matrix, mg_matrix_count(r.matrix),
            o.interval, o.nfd_dir ? ", labels in " : "", o.nfd_dir ? o.nfd_dir : "");
        wait_signals(&s, &set);
    }
    if (ran)
        pthread_join(th, NULL);
    serve_http_stop(http);   /* after the runner: a request never sees the state go */
    if (r.otlp)
        mg_otlp_close(r.otlp, 5.0, NULL);
    mg_live_free(s.live);
    mg_matrix_free(r.matrix);
    if (fd >= 0)
        close(fd);
    pthread_cond_destroy(&s.wake);
    pthread_mutex_destroy(&s.mu);
    return rc;
}
