/* test_publish.c - what a gate run publishes for fleets: Kubernetes node labels (an NFD local-source file), Prometheus metrics and OpenTelemetry traces, on a fake GPU. */
#define _GNU_SOURCE   /* mkdtemp, setenv, strptime, timegm, open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/jsonscan.h"
#include "gate/gate_int.h"
#include "mlgate/mlgate.h"

static int valid_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int an = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!an && ((i == 0 || i == n - 1) || (c != '-' && c != '_' && c != '.')))
            return 0;
    }
    return 1;
}

static void label_names_and_values(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(mg_k8s_label(out, "cap.voice.synthesize"), 20);
    assert_string_equal(out, "cap.voice.synthesize");
    mg_k8s_label(out, "cap.Vision/Describe!");
    assert_string_equal(out, "cap.Vision-Describe");
    mg_k8s_label(out, "--a  b--");
    assert_string_equal(out, "a-b");
    mg_k8s_label(out, "caf\xc3\xa9 au lait");   /* not ASCII: a '-' for the run */
    assert_string_equal(out, "caf-au-lait");
    assert_int_equal(mg_k8s_label(out, "?!"), 0);
    assert_int_equal(mg_k8s_label(out, ""), 0);
    assert_string_equal(out, "");
    /* too long: 54 characters, '-', 8 hex digits of the whole text; two such texts stay two labels */
    char a[200], b[200], la[64], lb[64];
    memset(a, 'x', 150), a[150] = 0;
    memcpy(b, a, sizeof b), b[149] = 'y';
    assert_int_equal(mg_k8s_label(la, a), 63);
    assert_int_equal(mg_k8s_label(lb, b), 63);
    assert_true(valid_label(la) && valid_label(lb));
    assert_memory_equal(la, a, 54);
    assert_int_equal(la[54], '-');
    assert_string_not_equal(la, lb);
    /* a name that is long only before cleaning stays whole */
    char c[200];
    snprintf(c, sizeof c, "cap.%s", "chat////////////////////////////////////////////////////////////////////////x");
    mg_k8s_label(out, c);
    assert_string_equal(out, "cap.chat-x");
    /* longer than the cleaning buffer: still a valid label */
    char *huge = malloc(5000);
    assert_non_null(huge);
    memset(huge, '.', 4999), huge[4999] = 0;
    huge[0] = 'q';
    assert_int_equal(mg_k8s_label(out, huge), 10);   /* "q", "-", the hash */
    assert_true(valid_label(out));
    free(huge);
}

/* A matrix of two exec models: talk (chat) passes, speak (voice.synthesize) fails. */
static mg_matrix *talk_and_speak(void)
{
    const char *yaml = "models:\n"
                       "  - {name: talk, kind: llm, exec: [echo, hello], capability: chat}\n"
                       "  - {name: speak, kind: tts, exec: [false], capability: voice.synthesize}\n";
    mg_matrix *m;
    char err[512];
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
    return m;
}

/* A gate run on a fake two-GPU machine (sm_120, driver 580.95.05) with one model failing. */
static void gate_writes_node_labels(void **state)
{
    (void)state;
    const char *yaml = "models:\n"
                       "  - {name: talk, kind: llm, exec: [echo, hello], capability: chat}\n"
                       "  - {name: speak, kind: tts, exec: [false], capability: voice.synthesize}\n"
                       "  - {name: see, kind: vlm, exec: [echo, a cat], capability: 'Vision/Describe!'}\n"
                       "  - {name: plain, kind: llm, exec: [echo, hi]}\n";
    mg_matrix *m;
    char err[512];
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
    char dir[] = "/tmp/mlgate-nfd-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("FAKE_NVML_SCENARIO", "pro6000_5090", 1);
    mg_host_paths host = {.root = "", .nvml_lib = FAKE_NVML};
    mg_gate_opts o = {.skip_smoke = 1, .host = &host, .nfd_dir = dir, .nfd_expiry = 600};
    mg_gate *g;
    time_t before = time(NULL);
    assert_int_equal(mg_gate_run(m, &o, &g, err, sizeof err), MG_OK);
    assert_int_equal(mg_gate_passed(g), 3);
    assert_int_equal(mg_gate_npublished(g), 1);
    assert_string_equal(mg_gate_published(g, 0)->what, "nfd");
    assert_true(mg_gate_published(g, 0)->ok);

    char path[128], text[4096];
    snprintf(path, sizeof path, "%s/mlgate", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "\nmlgate.io/gate=failed\n"));
    assert_non_null(strstr(text, "\nmlgate.io/models.passed=3\nmlgate.io/models.total=4\n"));
    assert_non_null(strstr(text, "\nmlgate.io/cap.chat=true\n"));
    assert_non_null(strstr(text, "\nmlgate.io/cap.Vision-Describe=true\n"));
    assert_null(strstr(text, "voice"));                       /* a failed capability is not offered */
    assert_non_null(strstr(text, "\nmlgate.io/compute-capability=12.0\n"));
    assert_non_null(strstr(text, "\nmlgate.io/driver=580.95.05\n"));
    assert_null(strstr(text, "nvidia.com/"));                 /* GPU Feature Discovery's, not ours */
    /* the expiry: 600 s after the run, RFC 3339 in UTC */
    const char *e = strstr(text, "\n# +expiry-time=");
    assert_non_null(e);
    struct tm tm = {0};
    assert_non_null(strptime(e + 16, "%Y-%m-%dT%H:%M:%SZ", &tm));
    time_t until = timegm(&tm);
    assert_true(until >= before + 600 && until <= time(NULL) + 600);
    /* every label line NAME=VALUE valid; nothing else but comments */
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        if (l[0] == '#')
            continue;
        assert_memory_equal(l, "mlgate.io/", 10);
        char *eq = strchr(l, '=');
        assert_non_null(eq);
        *eq = 0;
        assert_true(valid_label(l + 10));
        assert_true(valid_label(eq + 1));
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    mg_gate_free(g);

    /* every model passing; no expiry asked: no expiry line; nothing else left in the directory */
    const char *ok = "models:\n  - {name: talk, kind: llm, exec: [echo, hello], capability: chat}\n";
    mg_matrix *m2;
    assert_int_equal(mg_matrix_parse(ok, strlen(ok), "ok.yaml", &m2, err, sizeof err), MG_OK);
    o.nfd_expiry = 0;
    assert_int_equal(mg_gate_run(m2, &o, &g, err, sizeof err), MG_OK);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "\nmlgate.io/gate=passed\n"));
    assert_null(strstr(text, "expiry"));
    mg_gate_free(g);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s)\" = mlgate", dir);
    assert_int_equal(system(cmd), 0);
    unlink(path);
    rmdir(dir);
    mg_matrix_free(m);
    mg_matrix_free(m2);
}

/* A directory that cannot hold the file is found before any model runs. */
static void unwritable_nfd_dir_is_refused_first(void **state)
{
    (void)state;
    const char *yaml = "models:\n  - {name: talk, kind: llm, exec: [echo, hello], capability: chat}\n";
    mg_matrix *m;
    char err[512];
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
    mg_host_paths host = {.root = "", .nvml_lib = FAKE_NVML};
    mg_gate_opts o = {.skip_smoke = 1, .host = &host, .nfd_dir = "/nonexistent/features.d"};
    mg_gate *g;
    assert_int_equal(mg_gate_run(m, &o, &g, err, sizeof err), MG_E_IO);
    assert_null(g);
    assert_non_null(strstr(err, "nfd: "));
    assert_non_null(strstr(err, "/nonexistent/features.d/mlgate"));
    mg_matrix_free(m);
}

/* Each line of Prometheus text: a comment (# HELP / # TYPE of the family that follows) or
 * NAME{LABELS} VALUE, its family declared before it; 0 when a line breaks the format. */
static int prometheus_ok(char *text)
{
    char family[128] = "", type[16] = "";
    int samples = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        char name[128], t[16];
        if (!strncmp(l, "# HELP ", 7)) {
            if (sscanf(l + 7, "%127s", family) != 1)
                return 0;
            type[0] = 0;
            continue;
        }
        if (!strncmp(l, "# TYPE ", 7)) {
            if (sscanf(l + 7, "%127s %15s", name, t) != 2 || strcmp(name, family) ||
                (strcmp(t, "gauge") && strcmp(t, "counter")))
                return 0;
            snprintf(type, sizeof type, "%s", t);
            continue;
        }
        size_t n = strspn(l, "abcdefghijklmnopqrstuvwxyz_");
        if (n != strlen(family) || strncmp(l, family, n) || !type[0])
            return 0;   /* a sample of the family its HELP and TYPE name */
        if (!strcmp(type, "counter") && (n < 6 || strcmp(family + n - 6, "_total")))
            return 0;
        const char *p = l + n;
        if (*p == '{') {   /* k="v" pairs, v with \\ \" \n escapes only */
            for (p++; *p != '}';) {
                size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
                if (!k || p[k] != '=' || p[k + 1] != '"')
                    return 0;
                for (p += k + 2; *p != '"'; p++) {
                    if (!*p || *p == '\n')
                        return 0;
                    if (*p == '\\' && (!p[1] || !strchr("\\\"n", p[1])))
                        return 0;
                    p += *p == '\\';
                }
                p++;
                if (*p == ',')
                    p++;
                else if (*p != '}')
                    return 0;
            }
            p++;
        }
        char *end;
        if (*p != ' ' || (strtod(p + 1, &end), *end))
            return 0;
        samples++;
    }
    return samples;
}

static char *metrics_text(const mg_gate *g, double finished, const mg_gate_counts *c, const mg_gpu_probe *gpus)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    mg_gate_metrics(f, g, finished, c, gpus);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void metrics_of_a_run(void **state)
{
    (void)state;
    mg_matrix *m = talk_and_speak();
    char err[512];
    char dir[] = "/tmp/mlgate-prom-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/mlgate.prom", dir);
    setenv("FAKE_NVML_SCENARIO", "pro6000_5090", 1);
    mg_host_paths host = {.root = "", .nvml_lib = FAKE_NVML};
    mg_gate_opts o = {.skip_smoke = 1, .host = &host, .metrics = path};
    mg_gate *g;
    assert_int_equal(mg_gate_run(m, &o, &g, err, sizeof err), MG_OK);
    mg_gpu_probe gpus;
    assert_int_equal(mg_gpu_detect(&host, &gpus), MG_OK);
    assert_int_equal(gpus.ngpus, 2);
    mg_gate_counts c = {7, 2, 1};
    char *t = metrics_text(g, 1796160000.5, &c, &gpus);
    assert_non_null(strstr(t, "mlgate_build_info{version=\"" MLGATE_VERSION "\"} 1\n"));
    assert_non_null(strstr(t, "mlgate_gate_runs_total{result=\"passed\"} 7\n"));
    assert_non_null(strstr(t, "mlgate_gate_runs_total{result=\"failed\"} 2\n"));
    assert_non_null(strstr(t, "mlgate_gate_runs_total{result=\"error\"} 1\n"));
    assert_non_null(strstr(t, "\nmlgate_last_run_timestamp_seconds 1796160000.500\n"));
    assert_non_null(strstr(t, "\nmlgate_model_up{model=\"talk\",capability=\"chat\",kind=\"llm\"} 1\n"));
    assert_non_null(strstr(t, "\nmlgate_model_up{model=\"speak\",capability=\"voice.synthesize\",kind=\"tts\"} 0\n"));
    assert_non_null(strstr(t, "\nmlgate_stage_duration_seconds{model=\"speak\",stage=\"inference\"} "));
    assert_null(strstr(t, "stage=\"smoke\""));                            /* skipped: not a duration */
    assert_non_null(strstr(t, "\nmlgate_model_first_byte_seconds{model=\"talk\"} "));
    assert_null(strstr(t, "first_byte_seconds{model=\"speak\"}"));        /* it did not answer */
    char want[256];
    snprintf(want, sizeof want, "\nmlgate_gpu_memory_total_bytes{gpu=\"1\",UUID=\"%s\"} %llu\n", gpus.gpus[1].uuid,
             (unsigned long long)gpus.gpus[1].mem_total);
    assert_non_null(strstr(t, want));
    snprintf(want, sizeof want, "\nmlgate_gpu_memory_used_bytes{gpu=\"0\",UUID=\"%s\"} %llu\n", gpus.gpus[0].uuid,
             (unsigned long long)gpus.gpus[0].mem_used);
    assert_non_null(strstr(t, want));
    assert_int_equal(t[strlen(t) - 1], '\n');
    assert_int_equal(prometheus_ok(t), 1 + 3 + 1 + 2 + 4 + 1 + 2 + 2);   /* every sample a valid line */
    free(t);

    /* before any run: the counts and the version only; a label value escaped */
    strcpy(gpus.gpus[0].uuid, "a\"b\\c\nd");
    gpus.ngpus = 1;
    t = metrics_text(NULL, 0, NULL, &gpus);
    assert_null(strstr(t, "mlgate_model_up"));
    assert_non_null(strstr(t, "mlgate_gate_runs_total{result=\"passed\"} 0\n"));
    assert_non_null(strstr(t, "UUID=\"a\\\"b\\\\c\\nd\"}"));
    assert_int_equal(prometheus_ok(t), 1 + 3 + 2);
    free(t);

    /* check --metrics: the same families in the file, this run counted once */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char file[8192];
    size_t n = fread(file, 1, sizeof file - 1, f);
    fclose(f);
    file[n] = 0;
    assert_non_null(strstr(file, "mlgate_gate_runs_total{result=\"failed\"} 1\n"));
    assert_non_null(strstr(file, "mlgate_model_up{model=\"talk\",capability=\"chat\",kind=\"llm\"} 1\n"));
    assert_int_equal(prometheus_ok(file), 1 + 3 + 1 + 2 + 4 + 1);
    mg_gate_free(g);
    unlink(path);
    rmdir(dir);
    mg_matrix_free(m);
}

/* ---- OpenTelemetry: the trace of a run (mg_gate_otlp_json) and the exporter's bounds ---- */

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Every "KEY":"..." value is n lowercase hex digits, not all zero; their number. */
static size_t hex_ids(const char *s, const char *key, size_t n)
{
    size_t found = 0;
    for (const char *p = s; (p = strstr(p, key)); p += strlen(key)) {
        const char *v = p + strlen(key);
        size_t i = 0, zero = 1;
        for (; v[i] && v[i] != '"'; i++) {
            assert_true((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'));
            zero &= v[i] == '0';
        }
        assert_int_equal(i, n);
        assert_false(zero);
        found++;
    }
    return found;
}

static void otlp_trace_of_a_run(void **state)
{
    (void)state;
    mg_matrix *m = talk_and_speak();
    char err[512];
    setenv("FAKE_NVML_SCENARIO", "pro6000_5090", 1);
    mg_host_paths host = {.root = "", .nvml_lib = FAKE_NVML};
    mg_gate_opts o = {.skip_smoke = 1, .host = &host};
    mg_gate *g;
    time_t before = time(NULL);
    assert_int_equal(mg_gate_run(m, &o, &g, err, sizeof err), MG_OK);
    assert_true(mg_gate_started(g) >= (double)before - 1 && mg_gate_started(g) <= (double)time(NULL) + 1);
    assert_true(mg_gate_result(g, 0)->stage[MG_STAGE_UP].started >= mg_gate_started(g));
    char *t = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&t, &len);
    assert_int_equal(mg_gate_otlp_json(f, g), MG_OK);
    fclose(f);
    mg_json_scanner sc;
    mg_json_token tok;
    mg_json_init(&sc, (const uint8_t *)t, len, 64);
    while (mg_json_next(&sc, &tok) > MG_JSON_END)
        ;
    assert_int_equal(tok.type, MG_JSON_END);   /* strict JSON */
    assert_memory_equal(t, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[", 45);
    assert_non_null(strstr(t, "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"mlgate\"}}"));
    assert_non_null(strstr(t, "{\"key\":\"service.version\",\"value\":{\"stringValue\":\"" MLGATE_VERSION "\"}}"));
    assert_non_null(strstr(t, "{\"key\":\"mlgate.gpu.names\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":"));
    assert_non_null(strstr(t, "{\"key\":\"mlgate.driver.version\",\"value\":{\"stringValue\":\"580.95.05\"}}"));
    assert_non_null(strstr(t, "\"scopeSpans\":[{\"scope\":{\"name\":\"mlgate\",\"version\":\"" MLGATE_VERSION "\"},\"spans\":["));
    /* 1 root + 2 models + 2 x 2 stages (no smoke): 7 spans, one trace id, 6 parents */
    assert_int_equal(hex_ids(t, "\"traceId\":\"", 32), 7);
    assert_int_equal(hex_ids(t, "\"spanId\":\"", 16), 7);
    assert_int_equal(hex_ids(t, "\"parentSpanId\":\"", 16), 6);
    const char *tid = strstr(t, "\"traceId\":\"") + 11;
    char one[48];
    snprintf(one, sizeof one, "\"traceId\":\"%.32s\"", tid);
    assert_int_equal(count(t, one), 7);
    assert_int_equal(count(t, "\"kind\":1,"), 7);
    assert_null(strstr(t, "\"name\":\"smoke\""));                                    /* it did not run */
    assert_int_equal(count(t, "\"name\":\"up\""), 2);
    assert_int_equal(count(t, "\"name\":\"inference\""), 2);
    assert_non_null(strstr(t, "\"status\":{\"message\":\"1 of 2 models failed\",\"code\":2}"));
    assert_int_equal(count(t, "\"status\":{\"message\":\"false exited with 1"), 2);   /* speak's span, its inference's */
    assert_int_equal(count(t, "\"code\":2}"), 3);
    assert_int_equal(count(t, "\"status\":{\"code\":1}"), 4);   /* talk, its up and inference; speak's up */
    assert_non_null(strstr(t, "{\"key\":\"mlgate.first_byte_seconds\",\"value\":{\"doubleValue\":"));
    assert_non_null(strstr(t, "{\"key\":\"mlgate.models\",\"value\":{\"intValue\":\"2\"}}"));
    assert_non_null(strstr(t, "{\"key\":\"mlgate.ok\",\"value\":{\"boolValue\":false}}"));
    /* times: decimal strings of nanoseconds, around now */
    const char *st = strstr(t, "\"startTimeUnixNano\":\"");
    assert_non_null(st);
    unsigned long long ns = strtoull(st + 21, NULL, 10);
    assert_true(ns / 1000000000ULL + 2 >= (unsigned long long)before && ns / 1000000000ULL <= (unsigned long long)time(NULL));
    /* new ids each time */
    char *t2 = NULL;
    size_t len2 = 0;
    f = open_memstream(&t2, &len2);
    assert_int_equal(mg_gate_otlp_json(f, g), MG_OK);
    fclose(f);
    assert_null(strstr(t2, one));
    free(t);
    free(t2);
    mg_gate_free(g);
    mg_matrix_free(m);
}

static void otlp_exporter_bounds(void **state)
{
    (void)state;
    mg_otlp *x = NULL;
    char err[256];
    const char *bad[] = {"Authorization=Bearer SECRET\r\nX-Evil: 1"};
    assert_int_equal(mg_otlp_open("ftp://h/x", NULL, 0, &x, err, sizeof err), MG_E_ARG);
    assert_int_equal(mg_otlp_open("http://", NULL, 0, &x, err, sizeof err), MG_E_ARG);
    assert_int_equal(mg_otlp_open("http://h x", NULL, 0, &x, err, sizeof err), MG_E_ARG);
    assert_int_equal(mg_otlp_open("http://127.0.0.1:9", bad, 1, &x, err, sizeof err), MG_E_ARG);
    assert_null(strstr(err, "SECRET"));
    assert_non_null(strstr(err, "Authorization"));
    const char *nosep[] = {"Bearer SECRET"};
    assert_int_equal(mg_otlp_open("http://127.0.0.1:9", nosep, 1, &x, err, sizeof err), MG_E_ARG);
    assert_null(strstr(err, "SECRET"));
    assert_null(x);

    /* a collector that takes the connection and never answers: the queue fills, the oldest runs go,
       and close returns within its bound with every run counted once */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 16), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    const char *h[] = {"Authorization=Bearer SECRET", "X-Scope-OrgID: t1"};
    assert_int_equal(mg_otlp_open(url, h, 2, &x, err, sizeof err), MG_OK);
    const char *yaml = "models:\n  - {name: talk, kind: llm, exec: [echo, hello]}\n";
    mg_matrix *m;
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
    mg_host_paths host = {.root = "", .nvml_lib = FAKE_NVML};
    mg_gate_opts o = {.skip_smoke = 1, .host = &host};
    mg_gate *g;
    assert_int_equal(mg_gate_run(m, &o, &g, err, sizeof err), MG_OK);
    for (int i = 0; i < MG_OTLP_QUEUE + 6; i++)
        mg_otlp_submit(x, g);
    mg_otlp_counts c;
    mg_otlp_stats(x, &c);
    assert_true(c.dropped == 5 || c.dropped == 6);   /* 64 queued, one maybe in flight */
    assert_true(c.queued == MG_OTLP_QUEUE || c.queued == MG_OTLP_QUEUE + 1);
    assert_int_equal(c.sent, 0);
    double t0 = mg_now();
    mg_otlp_close(x, 0.5, &c);
    double took = mg_now() - t0;
    assert_true(took < 3);   /* the request in flight aborted, not waited for (10 s) */
    assert_int_equal(c.sent + c.failed + c.dropped, MG_OTLP_QUEUE + 6);
    assert_non_null(strstr(c.error, "closed"));
    assert_null(strstr(c.error, "SECRET"));
    close(ls);

    /* through o.otlp: the gate submits the run itself; nothing listens, so it fails at once, unretried */
    assert_int_equal(mg_otlp_open("http://127.0.0.1:9/v1/traces/", NULL, 0, &o.otlp, err, sizeof err), MG_OK);
    mg_gate *g2;
    assert_int_equal(mg_gate_run(m, &o, &g2, err, sizeof err), MG_OK);
    mg_otlp_close(o.otlp, 5, &c);
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.retried, 0);
    assert_int_equal(c.sent + c.dropped, 0);
    assert_non_null(strstr(c.error, "after 1 try"));
    mg_otlp_close(NULL, 1, &c);   /* no exporter: nothing, zero counts */
    assert_int_equal(c.sent + c.failed + c.dropped, 0);
    mg_gate_free(g);
    mg_gate_free(g2);
    mg_matrix_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_names_and_values),
        cmocka_unit_test(gate_writes_node_labels),
        cmocka_unit_test(unwritable_nfd_dir_is_refused_first),
        cmocka_unit_test(metrics_of_a_run),
        cmocka_unit_test(otlp_trace_of_a_run),
        cmocka_unit_test(otlp_exporter_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
