/* test_publish.c - what a gate run publishes for fleets: Kubernetes node labels (an NFD local-source file) and Prometheus metrics, on a fake GPU. */
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
#include <unistd.h>

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
    const char *yaml = "models:\n"
                       "  - {name: talk, kind: llm, exec: [echo, hello], capability: chat}\n"
                       "  - {name: speak, kind: tts, exec: [false], capability: voice.synthesize}\n";
    mg_matrix *m;
    char err[512];
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_names_and_values),
        cmocka_unit_test(gate_writes_node_labels),
        cmocka_unit_test(unwritable_nfd_dir_is_refused_first),
        cmocka_unit_test(metrics_of_a_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
