/* test_lock.c - the lock file and drift: round trips, byte-identical locks of one state, hostile lock files (cut
 * short, wrong types, huge, deep), every change drift knows on constructed states, and the smoke stage's share. */
#define _GNU_SOURCE
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

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "gate/gate_int.h"
#include "lock/lock_int.h"
#include "mlgate/mlgate.h"

/* ==== Helpers ==== */

static char *text_of(const mg_lock *l, size_t *n)
{
    char *p = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&p, &len);
    assert_non_null(f);
    mg_lock_json(f, l);
    assert_int_equal(fclose(f), 0);
    if (n)
        *n = len;
    return p;
}

static mg_lock *parse_ok(const char *text)
{
    mg_lock *l = NULL;
    char err[1024] = "";
    int rc = mg_lock_parse(text, strlen(text), "t.lock", &l, err, sizeof err);
    if (rc)
        fail_msg("parse: %s (%s)", mg_strerror((mg_err)rc), err);
    return l;
}

static int parse_rc(const char *text, size_t len, char *err, size_t errlen)
{
    mg_lock *l = NULL;
    int rc = mg_lock_parse(text, len, "t.lock", &l, err, errlen);
    if (rc && l)
        fail_msg("a lock returned with an error");
    mg_lock_free(l);
    return rc;
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/test_lock.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void copy(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    assert_int_equal(fclose(b), 0);
}

static void mkdirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void rm_rf(const char *d)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* A state in a directory: two libraries, an environment with dist-infos, a model. */
static char *make_state(void)
{
    char *d = tmpdir(), p[1100], q[1024];
    snprintf(p, sizeof p, "%s/bin", d);
    mkdirs(p);
    snprintf(p, sizeof p, "%s/bin/libfish.so", d);
    copy(FIXTURES "/sass_100a_120.o", p);
    snprintf(p, sizeof p, "%s/bin/libptx.so", d);
    copy(FIXTURES "/ptx88_120.o", p);
    static const char *const dists[] = {"requests-2.32.3", "Flash_Attn-2.8.3", "numpy-2.1.0", "zzz-1", "torch-2.10.0+cpu"};
    for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++) {
        snprintf(q, sizeof q, "%s/venv/lib/python3.12/site-packages/%s.dist-info", d, dists[i]);
        mkdirs(q);
        snprintf(p, sizeof p, "%s/METADATA", q);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fprintf(f, "Metadata-Version: 2.1\nName: %s\n", dists[i]);
        fclose(f);
    }
    snprintf(p, sizeof p, "%s/venv/lib/python3.12/site-packages/torch", d);   /* a CPU-only torch */
    mkdirs(p);
    snprintf(p, sizeof p, "%s/venv/lib/python3.12/site-packages/torch/version.py", d);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("__version__ = '2.10.0+cpu'\ncuda = None\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/models", d);
    mkdirs(p);
    snprintf(p, sizeof p, "%s/models/tiny.gguf", d);
    copy(FIXTURES "/tiny.gguf", p);
    return d;
}

static mg_lock *collect(const char *dir, int reversed, const char *driver)
{
    char a[1024], b[1024], m[1024];
    snprintf(a, sizeof a, "%s/bin", dir);
    snprintf(b, sizeof b, "%s/venv/", dir);   /* a trailing slash is the same path */
    snprintf(m, sizeof m, "%s/models/tiny.gguf", dir);
    const char *paths[2] = {reversed ? b : a, reversed ? a : b}, *models[1] = {m};
    mg_lock_opts o = {.paths = paths, .npaths = 2, .models = models, .nmodels = 1, .gpus = "RTX 5090,H100",
                      .driver = driver, .threads = reversed ? 1 : 0};
    mg_lock *l = NULL;
    char err[512] = "";
    int rc = mg_lock_collect(&o, &l, err, sizeof err);
    if (rc)
        fail_msg("collect: %s", err);
    return l;
}

/* ==== The format ==== */

static void round_trip_and_determinism(void **state)
{
    (void)state;
    char *d = make_state();
    mg_lock *a = collect(d, 0, "580"), *b = collect(d, 1, "580");
    size_t na, nb;
    char *ta = text_of(a, &na), *tb = text_of(b, &nb);
    assert_string_equal(ta, tb);   /* the same state, inputs in another order, other threads: the same bytes */
    mg_lock *c = parse_ok(ta);
    char *tc = text_of(c, NULL);
    assert_string_equal(ta, tc);   /* read back and written again: the same bytes */
    assert_int_equal(a->ngpus, 2);
    assert_int_equal(a->nbins, 2);
    assert_string_equal(strrchr(a->bins[0].path, '/'), "/libfish.so");   /* sorted by path */
    assert_string_equal(strrchr(a->bins[1].path, '/'), "/libptx.so");
    assert_int_equal(a->nenvs, 1);
    assert_int_equal(a->envs[0].npackages, 5);
    assert_string_equal(a->envs[0].packages[0].name, "flash-attn");   /* normalised, sorted by name */
    assert_string_equal(a->envs[0].packages[0].version, "2.8.3");
    /* the CPU-only torch: the scan's own verdict of it, none on both GPUs, is the package's */
    assert_string_equal(a->envs[0].packages[3].name, "torch");
    assert_int_equal(a->envs[0].packages[3].nverdicts, 2);
    assert_int_equal(a->envs[0].packages[3].verdicts[0].status, MG_STATUS_NONE);
    assert_int_equal(a->envs[0].packages[0].nverdicts, 0);
    assert_string_equal(a->envs[0].packages[4].name, "zzz");
    assert_int_equal(a->nfiles, 1);
    assert_string_equal(a->files[0].format, "gguf");
    assert_int_equal(a->files[0].header_bytes, 512);
    assert_non_null(a->files[0].header_sha256);
    assert_null(a->files[0].sha256);   /* no --hash-models */
    /* the digest is the file's: sha256 of libfish.so as a reference tool computes it */
    char cmd[1200], out[128] = "";
    snprintf(cmd, sizeof cmd, "sha256sum '%s/bin/libfish.so'", d);
    FILE *p = popen(cmd, "r");
    if (p && fgets(out, sizeof out, p) && strlen(out) > 64) {
        out[64] = 0;
        assert_string_equal(a->bins[0].sha256, out);
    }
    if (p)
        pclose(p);
    /* libfish.so: sm_120 SASS (native on the RTX 5090), nothing for the H100 */
    assert_int_equal(a->bins[0].nverdicts, 2);
    assert_int_equal(a->bins[0].verdicts[0].status, MG_STATUS_NATIVE);
    assert_int_equal(a->bins[0].verdicts[1].status, MG_STATUS_NONE);
    /* no timestamps: nothing in the text changes with the clock */
    assert_null(strstr(ta, "created"));
    assert_non_null(strstr(ta, "\"lock_version\": 1,\n"));
    assert_non_null(strstr(ta, "        {\"name\": \"requests\", \"version\": \"2.32.3\", \"verdicts\": []}"));   /* a line each */
    free(ta), free(tb), free(tc);
    mg_lock_free(a), mg_lock_free(b), mg_lock_free(c);
    rm_rf(d);
    free(d);
}

static void written_atomically_and_loaded(void **state)
{
    (void)state;
    char *d = make_state(), path[1100], err[512] = "";
    mg_lock *a = collect(d, 0, NULL), *b = NULL;
    snprintf(path, sizeof path, "%s/mlgate.lock", d);
    assert_int_equal(mg_lock_write(a, path, 0, err, sizeof err), MG_OK);
    assert_int_equal(mg_lock_write(a, path, 0, err, sizeof err), MG_OK);   /* over itself */
    assert_int_equal(mg_lock_load(path, &b, err, sizeof err), MG_OK);
    char *ta = text_of(a, NULL), *tb = text_of(b, NULL);
    assert_string_equal(ta, tb);
    mg_lock_free(b);
    b = NULL;
    snprintf(path, sizeof path, "%s/no/such/dir/x.lock", d);
    assert_int_equal(mg_lock_write(a, path, 0, err, sizeof err), MG_E_IO);
    assert_non_null(strstr(err, "does not exist"));
    assert_int_not_equal(mg_lock_load(d, &b, err, sizeof err), MG_OK);   /* a directory is not a lock */
    assert_null(b);
    free(ta), free(tb);
    mg_lock_free(a);
    rm_rf(d);
    free(d);
}

/* ==== Hostile lock files ==== */

#define GOOD                                                                                                         \
    "{\"lock_version\": 1, \"mlgate\": \"0.1.0\",\n"                                                                 \
    " \"inputs\": {\"matrix\": null, \"paths\": [\"bin\"], \"models\": [\"m.gguf\"], \"gpus\": \"H100\", "          \
    "\"driver\": null, \"arch\": null, \"hash_models\": false},\n"                                                  \
    " \"host\": {\"source\": \"given\", \"backend\": null, \"driver\": \"580\", \"cuda_driver\": null, "             \
    "\"kernel\": \"6.1\", \"cpu_arch\": \"x86_64\", \"gpus\": [{\"name\": \"H100\", \"uuid\": null, \"cc\": \"9.0\", " \
    "\"index\": null}]},\n"                                                                                          \
    " \"binaries\": [{\"path\": \"bin/a.so\", \"size\": 10, \"sha256\": "                                            \
    "\"0000000000000000000000000000000000000000000000000000000000000000\", \"error\": null, \"verdicts\": "         \
    "[{\"gpu\": \"H100\", \"status\": \"jit\", \"need_isa\": \"8.8\"}]}],\n"                                          \
    " \"python\": [{\"path\": \"sp\", \"packages\": [{\"name\": \"torch\", \"version\": \"2.9.1\", \"verdicts\": []}]}],\n" \
    " \"models\": [{\"path\": \"m.gguf\", \"format\": \"gguf\", \"size\": 896, \"header_bytes\": 512, "              \
    "\"header_sha256\": null, \"sha256\": null, \"error\": null}]}\n"

/* GOOD with its first `from` replaced by `to`. */
static char *mutated(const char *from, const char *to)
{
    const char *at = strstr(GOOD, from);
    if (!at)
        fail_msg("no '%s' in GOOD", from);
    char *s = NULL;
    if (asprintf(&s, "%.*s%s%s", (int)(at - GOOD), GOOD, to, at + strlen(from)) < 0)
        fail_msg("asprintf");
    return s;
}

static void good_parses_and_every_prefix_is_refused(void **state)
{
    (void)state;
    mg_lock *l = parse_ok(GOOD);
    assert_int_equal(l->bins[0].verdicts[0].need_isa, 88);
    assert_int_equal(l->gpus_[0].cc, 90);
    assert_int_equal(l->gpus_[0].index, -1);
    mg_lock_free(l);
    size_t n = strlen(GOOD);
    char err[512];
    for (size_t k = 0; k < n - 1; k++) {   /* cut anywhere (the last byte is a newline) */
        int rc = parse_rc(GOOD, k, err, sizeof err);
        if (rc == MG_OK)
            fail_msg("a lock cut at %zu bytes parsed", k);
        assert_true(rc == MG_E_FORMAT);
        assert_non_null(strstr(err, "t.lock: "));
    }
}

static void wrong_types_and_values(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *says;
        int rc;
    } cases[] = {
        {"\"lock_version\": 1", "\"lock_version\": 2", "lock_version 2 is not 1", MG_E_UNSUPPORTED},
        {"\"lock_version\": 1", "\"lock_version\": \"1\"", "\"lock_version\" must be a whole number", MG_E_FORMAT},
        {"\"lock_version\": 1", "\"lock_version\": 1.5", "\"lock_version\" must be a whole number", MG_E_FORMAT},
        {"\"lock_version\": 1, ", "", "no \"lock_version\"", MG_E_FORMAT},
        {"\"paths\": [\"bin\"]", "\"paths\": \"bin\"", "inputs: \"paths\" must be a list", MG_E_FORMAT},
        {"\"paths\": [\"bin\"]", "\"paths\": [7]", "\"paths\"[0] must be a string", MG_E_FORMAT},
        {"\"hash_models\": false", "\"hash_models\": 0", "\"hash_models\" must be true or false", MG_E_FORMAT},
        {"\"source\": \"given\"", "\"source\": \"guessed\"", "is not detected or given", MG_E_FORMAT},
        {"\"cc\": \"9.0\"", "\"cc\": 90", "host.gpus[0]: \"cc\" must be a string or null", MG_E_FORMAT},
        {"\"cc\": \"9.0\"", "\"cc\": \"9.x\"", "is not a version like", MG_E_FORMAT},
        {"\"cc\": \"9.0\"", "\"cc\": \"09.0\"", "is not a version like", MG_E_FORMAT},
        {"\"index\": null", "\"index\": -1", "\"index\" must be a whole number", MG_E_FORMAT},
        {"\"size\": 10", "\"size\": -10", "binaries[0]: \"size\" must be a whole number", MG_E_FORMAT},
        {"\"size\": 10", "\"size\": 1e300", "binaries[0]: \"size\" must be a whole number", MG_E_FORMAT},
        {"\"size\": 10", "\"size\": \"10\"", "binaries[0]: \"size\" must be a whole number", MG_E_FORMAT},
        {"\"sha256\": \"0000", "\"sha256\": \"ZZ00", "must be 64 lowercase hex digits", MG_E_FORMAT},
        {"\"error\": null, \"verdicts\"", "\"error\": [], \"verdicts\"", "\"error\" must be a string or null", MG_E_FORMAT},
        {"\"status\": \"jit\"", "\"status\": \"fast\"", "is not native, jit, partial or none", MG_E_FORMAT},
        {"{\"gpu\": \"H100\", \"status\"", "{\"gpu\": \"B200\", \"status\"", "'B200' is not a GPU of host.gpus",
         MG_E_FORMAT},
        {"\"need_isa\": \"8.8\"", "\"need_isa\": true", "\"need_isa\" must be a string or null", MG_E_FORMAT},
        {"\"packages\": [{", "\"packages\": [7, {", "python[0].packages[0]: must be an object", MG_E_FORMAT},
        {"\"version\": \"2.9.1\"", "\"version\": null", "\"version\" must be a string", MG_E_FORMAT},
        {"\"format\": \"gguf\"", "\"format\": \"onnx\"", "is not gguf or safetensors", MG_E_FORMAT},
        {"\"header_bytes\": 512, ", "", "models[0]: no \"header_bytes\"", MG_E_FORMAT},
        {"\"binaries\": [", "\"binaries\": 7, \"b\": [", "\"binaries\" must be a list", MG_E_FORMAT},
        {"\"host\": {", "\"host\": 7, \"h\": {", "\"host\" must be an object", MG_E_FORMAT},
        {"\"path\": \"bin/a.so\"", "\"path\": \"bin/\\u0000a.so\"", "NUL", MG_E_FORMAT},
        {"{\"lock_version\"", "[{\"lock_version\"", "a lock file is a JSON object", MG_E_FORMAT},
        {"\"driver\": null, \"arch\"", "\"driver\": null,, \"arch\"", "not a lock file", MG_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = NULL;
        if (!strcmp(cases[i].from, "{\"lock_version\"")) {
            if (asprintf(&s, "[%s]", GOOD) < 0)
                fail_msg("asprintf");
        } else
            s = mutated(cases[i].from, cases[i].to);
        char err[512] = "";
        int rc = parse_rc(s, strlen(s), err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].says))
            fail_msg("case %zu (%s -> %s): %s, '%s', want %s with '%s'", i, cases[i].from, cases[i].to,
                     mg_strerror((mg_err)rc), err, mg_strerror((mg_err)cases[i].rc), cases[i].says);
        free(s);
    }
    /* a second verdict for one GPU, a GPU named twice, a path twice */
    char *s = mutated("{\"gpu\": \"H100\", \"status\": \"jit\", \"need_isa\": \"8.8\"}",
                      "{\"gpu\": \"H100\", \"status\": \"jit\", \"need_isa\": \"8.8\"}, {\"gpu\": \"H100\", \"status\": "
                      "\"none\", \"need_isa\": null}");
    char err[512];
    assert_int_equal(parse_rc(s, strlen(s), err, sizeof err), MG_E_FORMAT);
    assert_non_null(strstr(err, "a second verdict"));
    free(s);
    s = mutated("\"index\": null}]", "\"index\": null}, {\"name\": \"H100\", \"uuid\": null, \"cc\": null, \"index\": 1}]");
    assert_int_equal(parse_rc(s, strlen(s), err, sizeof err), MG_E_FORMAT);
    assert_non_null(strstr(err, "given twice"));
    free(s);
    s = mutated("\"models\": [{", "\"models\": [{\"path\": \"m.gguf\", \"format\": null, \"size\": 0, \"header_bytes\": 0, "
                                  "\"header_sha256\": null, \"sha256\": null, \"error\": \"gone\"}, {");
    assert_int_equal(parse_rc(s, strlen(s), err, sizeof err), MG_E_FORMAT);
    assert_non_null(strstr(err, "listed twice"));
    free(s);
    /* keys it does not know are ignored; images are read when there */
    s = mutated("\"mlgate\": \"0.1.0\"", "\"mlgate\": \"0.1.0\", \"future\": {\"x\": [1, 2]}, \"images\": [{\"path\": "
                                         "\"img.tar\", \"digest\": \"sha256:ab\"}]");
    mg_lock *l = parse_ok(s);
    assert_int_equal(l->nimages, 1);
    assert_string_equal(l->images[0].digest, "sha256:ab");
    char *t = text_of(l, NULL);
    assert_non_null(strstr(t, "\"images\": [\n    {\"path\": \"img.tar\", \"digest\": \"sha256:ab\"}\n  ]"));
    assert_null(strstr(t, "future"));
    free(t);
    mg_lock_free(l);
    free(s);
}

static void huge_and_deep(void **state)
{
    (void)state;
    char err[512];
    /* larger than the cap: refused before anything is read */
    assert_int_equal(parse_rc(GOOD, (size_t)MG_LOCK_MAX_BYTES + 1, err, sizeof err), MG_E_LIMIT);
    assert_non_null(strstr(err, "larger than"));
    /* deep nesting: 11 levels, and 100,000 */
    for (size_t depth = 11; depth <= 100000; depth = depth == 11 ? 100000 : depth + 1) {
        char *s = malloc(2 * depth + 1);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = 0;
        assert_int_equal(parse_rc(s, 2 * depth, err, sizeof err), MG_E_LIMIT);
        assert_non_null(strstr(err, "nested too deep"));
        free(s);
    }
    /* ten levels are fine for the tokenizer: refused as not a lock, not as too deep */
    assert_int_equal(parse_rc("[[[[[[[[[[]]]]]]]]]]", 20, err, sizeof err), MG_E_FORMAT);
    /* a huge array: 1,000,001 values (4 MB) is refused before cJSON builds 64 MB of nodes */
    size_t count = 1000001, len = 2 * count + 64;
    char *s = malloc(len);
    size_t at = (size_t)snprintf(s, len, "{\"lock_version\": 1, \"binaries\": [");
    for (size_t i = 0; i < count - 1; i++)
        s[at++] = '0', s[at++] = ',';
    s[at++] = '0';
    at += (size_t)snprintf(s + at, len - at, "]}");
    assert_int_equal(parse_rc(s, at, err, sizeof err), MG_E_LIMIT);
    assert_non_null(strstr(err, "more than 1000000 JSON values"));
    /* and 100,000 binaries that are only numbers: under the cap, refused by their type */
    at = (size_t)snprintf(s, len, "%.*s", (int)(strstr(GOOD, "\"binaries\": [") - GOOD + 13), GOOD);
    for (size_t i = 0; i < 100000; i++)
        s[at++] = '0', s[at++] = ',';
    at += (size_t)snprintf(s + at, len - at, "0], \"python\": [], \"models\": []}");
    assert_int_equal(parse_rc(s, at, err, sizeof err), MG_E_FORMAT);
    assert_non_null(strstr(err, "binaries[0]: must be an object"));
    free(s);
}

static void every_allocation_failing(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        mg_lock *l = NULL;
        char err[512] = "";
        mg_fail_alloc_at(n);
        int rc = mg_lock_parse(GOOD, strlen(GOOD), "t.lock", &l, err, sizeof err);
        mg_fail_alloc_at(0);
        if (rc == MG_OK) {
            assert_true(n > 3);
            mg_lock_free(l);
            break;
        }
        assert_int_equal(rc, MG_E_NOMEM);
        assert_null(l);
        assert_non_null(strstr(err, "out of memory"));
    }
    mg_lock *a = parse_ok(GOOD), *b = parse_ok(GOOD);
    for (long n = 1;; n++) {   /* the comparison too */
        char *s = mutated("\"version\": \"2.9.1\"", "\"version\": \"2.10.0\"");
        mg_lock *c = parse_ok(s);
        mg_drift *d = NULL;
        mg_fail_alloc_at(n);
        int rc = mg_drift_compare(a, c, "t.lock", &d);
        mg_fail_alloc_at(0);
        mg_lock_free(c);
        free(s);
        if (rc == MG_OK) {
            assert_int_equal(mg_drift_count(d), 1);
            mg_drift_free(d);
            break;
        }
        assert_int_equal(rc, MG_E_NOMEM);
        assert_null(d);
    }
    mg_lock_free(a), mg_lock_free(b);
}

/* ==== Drift on constructed states ==== */

/* A lock of host H (its driver, gpus), binaries B, packages P (of one environment "sp"), models M. */
static char *state_text(const char *driver, const char *gpus, const char *bins, const char *pkgs, const char *models)
{
    char *s = NULL;
    if (asprintf(&s,
                 "{\"lock_version\": 1, \"mlgate\": \"0.1.0\", \"inputs\": {\"matrix\": null, \"paths\": [], \"models\": "
                 "[], \"gpus\": null, \"driver\": null, \"arch\": null, \"hash_models\": false}, \"host\": {\"source\": "
                 "\"detected\", \"backend\": \"nvml\", \"driver\": %s, \"cuda_driver\": \"13.0\", \"kernel\": \"6.1\", "
                 "\"cpu_arch\": \"x86_64\", \"gpus\": [%s]}, \"binaries\": [%s], \"python\": [%s], \"models\": [%s]}",
                 driver, gpus, bins, pkgs ? pkgs : "", models ? models : "") < 0)
        fail_msg("asprintf");
    return s;
}

/* The first `from` in t becomes `to` (the same length). Out of line: gcc's -Wdangling-pointer took the
 * pointer into a string state_text returned for one into its local. */
__attribute__((noinline)) static void patch(char *t, const char *from, const char *to)
{
    char *k = strstr(t, from);
    assert_non_null(k);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(k, to, strlen(to));
}

#define G5090 "{\"name\": \"GPU0 RTX 5090\", \"uuid\": \"GPU-5090\", \"cc\": \"12.0\", \"index\": 0}"
#define GH100 "{\"name\": \"GPU1 H100\", \"uuid\": \"GPU-H100\", \"cc\": \"9.0\", \"index\": 1}"
#define SHA_A "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
#define SHA_B "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\""

static char *bin(const char *path, const char *sha, const char *verdicts)
{
    char *s = NULL;
    if (asprintf(&s, "{\"path\": \"%s\", \"size\": 100, \"sha256\": %s, \"error\": null, \"verdicts\": [%s]}", path, sha,
                 verdicts) < 0)
        fail_msg("asprintf");
    return s;
}

static char *env(const char *pkgs)
{
    char *s = NULL;
    if (asprintf(&s, "{\"path\": \"venv/lib/python3.12/site-packages\", \"packages\": [%s]}", pkgs) < 0)
        fail_msg("asprintf");
    return s;
}

static char *model(const char *path, const char *header, unsigned long long size)
{
    char *s = NULL;
    if (asprintf(&s, "{\"path\": \"%s\", \"format\": \"gguf\", \"size\": %llu, \"header_bytes\": 512, \"header_sha256\": "
                 "%s, \"sha256\": null, \"error\": null}", path, size, header) < 0)
        fail_msg("asprintf");
    return s;
}

/* The drift from a to b (texts, freed here). */
static mg_drift *drift_of(char *a, char *b)
{
    mg_lock *x = parse_ok(a), *y = parse_ok(b);
    mg_drift *d = NULL;
    assert_int_equal(mg_drift_compare(x, y, "t.lock", &d), MG_OK);
    mg_lock_free(x), mg_lock_free(y);
    free(a), free(b);
    return d;
}

static const mg_drift_change *only(const mg_drift *d, const char *kind)
{
    if (mg_drift_count(d) != 1) {
        for (size_t i = 0; i < mg_drift_count(d); i++)
            print_message("  change: %s\n", mg_drift_at(d, i)->text);
        fail_msg("%zu changes, want 1 (%s)", mg_drift_count(d), kind);
    }
    const mg_drift_change *c = mg_drift_at(d, 0);
    assert_string_equal(c->kind, kind);
    return c;
}

#define V(gpu, st, isa) "{\"gpu\": \"" gpu "\", \"status\": \"" st "\", \"need_isa\": " isa "}"

static void drift_of_the_host(void **state)
{
    (void)state;
    char *b1 = bin("bin/libptx.so", SHA_A, V("GPU0 RTX 5090", "none", "null"));
    char *b2 = bin("bin/libptx.so", SHA_A, V("GPU0 RTX 5090", "jit", "\"8.8\""));
    /* nothing changed */
    mg_drift *d = drift_of(state_text("\"575.64\"", G5090, b1, NULL, NULL), state_text("\"575.64\"", G5090, b1, NULL, NULL));
    assert_int_equal(mg_drift_count(d), 0);
    assert_int_equal(mg_drift_exit_status(d), 0);
    mg_drift_free(d);
    /* a newer driver JITs the PTX: the driver's line says so; better is not a change that matters */
    d = drift_of(state_text("\"570.10\"", G5090, b1, NULL, NULL), state_text("\"580.95.05\"", G5090, b2, NULL, NULL));
    const mg_drift_change *c = only(d, "driver");
    assert_string_equal(c->text, "driver 570.10 -> 580.95.05: PTX ISA 8.8 now JITs (bin/libptx.so)");
    assert_string_equal(c->before, "570.10");
    assert_string_equal(c->after, "580.95.05");
    assert_string_equal(c->verdict_change, "PTX ISA 8.8 now JITs (bin/libptx.so)");
    assert_false(c->matters);
    assert_int_equal(mg_drift_exit_status(d), 0);
    mg_drift_free(d);
    /* and back: it no longer JITs, which matters */
    d = drift_of(state_text("\"580.95.05\"", G5090, b2, NULL, NULL), state_text("\"570.10\"", G5090, b1, NULL, NULL));
    c = only(d, "driver");
    assert_string_equal(c->verdict_change, "PTX ISA 8.8 no longer JITs (bin/libptx.so)");
    assert_true(c->matters);
    assert_int_equal(mg_drift_exit_status(d), 1);
    mg_drift_free(d);
    /* a driver change that changes no verdict: said, not mattering; the kernel and CUDA driver too */
    char *s = state_text("\"580.95.05\"", G5090, b2, NULL, NULL), *t = state_text("\"590.12\"", G5090, b2, NULL, NULL);
    patch(t, "\"kernel\": \"6.1\"", "\"kernel\": \"6.2\"");
    patch(t, "\"13.0\"", "\"13.1\"");
    d = drift_of(s, t);
    assert_int_equal(mg_drift_count(d), 3);
    assert_string_equal(mg_drift_at(d, 0)->text, "driver 580.95.05 -> 590.12");
    assert_null(mg_drift_at(d, 0)->verdict_change);
    assert_string_equal(mg_drift_at(d, 1)->text, "CUDA driver 13.0 -> 13.1");
    assert_string_equal(mg_drift_at(d, 2)->text, "kernel 6.1 -> 6.2");
    assert_int_equal(mg_drift_matters(d), 0);
    mg_drift_free(d);
    /* the driver gone (NVML broke): that matters */
    d = drift_of(state_text("\"580.95.05\"", G5090, b2, NULL, NULL), state_text("null", G5090, b2, NULL, NULL));
    c = only(d, "driver");
    assert_string_equal(c->text, "driver 580.95.05 -> unknown");
    assert_true(c->matters);
    mg_drift_free(d);
    free(b1), free(b2);
}

static void drift_of_the_gpus(void **state)
{
    (void)state;
    char *two = bin("bin/libfish.so", SHA_A, V("GPU0 RTX 5090", "native", "null") ", " V("GPU1 H100", "native", "null"));
    char *one = bin("bin/libfish.so", SHA_A, V("GPU0 RTX 5090", "native", "null"));
    /* a GPU removed: a checked thing is gone */
    mg_drift *d = drift_of(state_text("\"580\"", G5090 ", " GH100, two, NULL, NULL), state_text("\"580\"", G5090, one, NULL, NULL));
    const mg_drift_change *c = only(d, "gpu_removed");
    assert_string_equal(c->text, "GPU removed: GPU1 H100 (sm_90, GPU-H100)");
    assert_true(c->matters);
    mg_drift_free(d);
    /* a GPU added on which everything runs: said, not mattering */
    d = drift_of(state_text("\"580\"", G5090, one, NULL, NULL), state_text("\"580\"", G5090 ", " GH100, two, NULL, NULL));
    c = only(d, "gpu_added");
    assert_false(c->matters);
    assert_string_equal(c->text, "GPU added: GPU1 H100 (sm_90, GPU-H100)");
    mg_drift_free(d);
    /* ... and one on which a library has nothing */
    char *bad = bin("bin/libfish.so", SHA_A, V("GPU0 RTX 5090", "native", "null") ", " V("GPU1 H100", "none", "null"));
    d = drift_of(state_text("\"580\"", G5090, one, NULL, NULL), state_text("\"580\"", G5090 ", " GH100, bad, NULL, NULL));
    c = only(d, "gpu_added");
    assert_true(c->matters);
    assert_string_equal(c->text, "GPU added: GPU1 H100 (sm_90, GPU-H100): 1 thing does not run on it (bin/libfish.so: none)");
    mg_drift_free(d);
    /* the same GPU (its UUID) under another index: renamed, verdicts followed to it */
    char *moved = bin("bin/libfish.so", SHA_A, V("GPU1 RTX 5090", "native", "null"));
    d = drift_of(state_text("\"580\"", G5090, one, NULL, NULL),
                 state_text("\"580\"", "{\"name\": \"GPU1 RTX 5090\", \"uuid\": \"GPU-5090\", \"cc\": \"12.0\", \"index\": 1}",
                            moved, NULL, NULL));
    c = only(d, "gpu_changed");
    assert_false(c->matters);
    mg_drift_free(d);
    free(two), free(one), free(bad), free(moved);
}

static void drift_of_binaries(void **state)
{
    (void)state;
    char *a = bin("bin/libfish.so", SHA_A, V("GPU0 RTX 5090", "native", "null"));
    char *b = bin("bin/libfish.so", SHA_B, V("GPU0 RTX 5090", "none", "null"));
    char *same_v = bin("bin/libfish.so", SHA_B, V("GPU0 RTX 5090", "native", "null"));
    /* rebuilt without the GPU's code */
    mg_drift *d = drift_of(state_text("\"580\"", G5090, a, NULL, NULL), state_text("\"580\"", G5090, b, NULL, NULL));
    const mg_drift_change *c = only(d, "binary_changed");
    assert_string_equal(c->text, "bin/libfish.so sha256 changed: sm_120 no longer covered");
    assert_string_equal(c->verdict_change, "sm_120 no longer covered");
    assert_string_equal(c->before, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_true(c->matters);
    mg_drift_free(d);
    /* rebuilt, the same verdicts: said, not mattering */
    d = drift_of(state_text("\"580\"", G5090, a, NULL, NULL), state_text("\"580\"", G5090, same_v, NULL, NULL));
    c = only(d, "binary_changed");
    assert_string_equal(c->text, "bin/libfish.so sha256 changed");
    assert_null(c->verdict_change);
    assert_false(c->matters);
    mg_drift_free(d);
    /* removed (matters), added and fine (does not), added and failing (does) */
    char *other = bin("bin/libz.so", SHA_B, V("GPU0 RTX 5090", "partial", "null"));
    char *both = NULL;
    if (asprintf(&both, "%s, %s", a, other) < 0)
        fail_msg("asprintf");
    d = drift_of(state_text("\"580\"", G5090, a, NULL, NULL), state_text("\"580\"", G5090, "", NULL, NULL));
    c = only(d, "binary_removed");
    assert_string_equal(c->text, "bin/libfish.so removed");
    assert_true(c->matters);
    mg_drift_free(d);
    d = drift_of(state_text("\"580\"", G5090, a, NULL, NULL), state_text("\"580\"", G5090, both, NULL, NULL));
    c = only(d, "binary_added");
    assert_string_equal(c->text, "bin/libz.so added: partial on GPU0 RTX 5090");
    assert_true(c->matters);
    mg_drift_free(d);
    /* the same file judged worse with the host unchanged (a newer mlgate's rules): a verdict line */
    char *worse = bin("bin/libfish.so", SHA_A, V("GPU0 RTX 5090", "jit", "\"9.0\""));
    d = drift_of(state_text("\"580\"", G5090, a, NULL, NULL), state_text("\"580\"", G5090, worse, NULL, NULL));
    c = only(d, "verdict");
    assert_string_equal(c->text, "bin/libfish.so: sm_120 now needs PTX JIT");
    assert_string_equal(c->before, "GPU0 RTX 5090: native");
    assert_string_equal(c->after, "GPU0 RTX 5090: jit");
    assert_true(c->matters);
    mg_drift_free(d);
    /* unreadable now */
    char *err = strdup("{\"path\": \"bin/libfish.so\", \"size\": 0, \"sha256\": null, \"error\": \"io: Permission denied\", "
                       "\"verdicts\": []}");
    d = drift_of(state_text("\"580\"", G5090, a, NULL, NULL), state_text("\"580\"", G5090, err, NULL, NULL));
    c = only(d, "binary_changed");
    assert_string_equal(c->text, "bin/libfish.so cannot be read now: io: Permission denied");
    assert_true(c->matters);
    mg_drift_free(d);
    free(a), free(b), free(same_v), free(other), free(both), free(worse), free(err);
}

static void drift_of_python(void **state)
{
    (void)state;
    char *e1 = env("{\"name\": \"requests\", \"version\": \"2.32.3\", \"verdicts\": []}, "
                   "{\"name\": \"torch\", \"version\": \"2.9.1+cu128\", \"verdicts\": []}");
    char *e2 = env("{\"name\": \"requests\", \"version\": \"2.32.4\", \"verdicts\": []}, "
                   "{\"name\": \"torch\", \"version\": \"2.10.0+cpu\", \"verdicts\": [" V("GPU0 RTX 5090", "none", "null") "]}");
    mg_drift *d = drift_of(state_text("\"580\"", G5090, "", e1, NULL), state_text("\"580\"", G5090, "", e2, NULL));
    assert_int_equal(mg_drift_count(d), 2);
    const mg_drift_change *r = mg_drift_at(d, 0), *t = mg_drift_at(d, 1);
    assert_string_equal(r->text, "requests 2.32.3 -> 2.32.4");
    assert_false(r->matters);
    assert_string_equal(r->in, "venv/lib/python3.12/site-packages");
    assert_string_equal(t->kind, "package_changed");
    assert_string_equal(t->text, "torch 2.9.1+cu128 -> 2.10.0+cpu: CUDA gone");
    assert_string_equal(t->verdict_change, "CUDA gone");
    assert_string_equal(t->before, "2.9.1+cu128");
    assert_string_equal(t->after, "2.10.0+cpu");
    assert_true(t->matters);
    assert_int_equal(mg_drift_matters(d), 1);
    mg_drift_free(d);
    /* a CPU-only torch with no local version: its verdict says it (needs CUDA, runs on sm_120 otherwise) */
    char *e3 = env("{\"name\": \"requests\", \"version\": \"2.32.3\", \"verdicts\": []}, "
                   "{\"name\": \"torch\", \"version\": \"2.10.0\", \"verdicts\": [" V("GPU0 RTX 5090", "none", "null") "]}");
    char *e4 = env("{\"name\": \"requests\", \"version\": \"2.32.3\", \"verdicts\": []}, "
                   "{\"name\": \"torch\", \"version\": \"2.9.1\", \"verdicts\": []}");
    char *t128 = env("{\"name\": \"torch\", \"version\": \"2.9.1+cu128\", \"verdicts\": []}");
    char *t130 = env("{\"name\": \"torch\", \"version\": \"2.9.1+cu130\", \"verdicts\": []}");
    d = drift_of(state_text("\"580\"", G5090, "", e4, NULL), state_text("\"580\"", G5090, "", e3, NULL));
    assert_string_equal(only(d, "package_changed")->text, "torch 2.9.1 -> 2.10.0: CUDA gone");
    mg_drift_free(d);
    /* another CUDA build */
    d = drift_of(state_text("\"580\"", G5090, "", t128, NULL), state_text("\"580\"", G5090, "", t130, NULL));
    const mg_drift_change *c = only(d, "package_changed");
    assert_string_equal(c->text, "torch 2.9.1+cu128 -> 2.9.1+cu130: CUDA 12.8 -> 13.0");
    assert_false(c->matters);
    mg_drift_free(d);
    /* removed (matters), added (does not), the environment gone (matters) */
    d = drift_of(state_text("\"580\"", G5090, "", e1, NULL), state_text("\"580\"", G5090, "", t128, NULL));
    c = only(d, "package_removed");
    assert_string_equal(c->text, "package requests 2.32.3 removed from venv/lib/python3.12/site-packages");
    assert_true(c->matters);
    mg_drift_free(d);
    d = drift_of(state_text("\"580\"", G5090, "", t128, NULL), state_text("\"580\"", G5090, "", e1, NULL));
    assert_false(only(d, "package_added")->matters);
    mg_drift_free(d);
    d = drift_of(state_text("\"580\"", G5090, "", e1, NULL), state_text("\"580\"", G5090, "", NULL, NULL));
    c = only(d, "python_removed");
    assert_true(c->matters);
    assert_string_equal(c->text, "Python environment venv/lib/python3.12/site-packages removed (2 packages)");
    mg_drift_free(d);
    free(e1), free(e2), free(e3), free(e4), free(t128), free(t130);
}

static void drift_of_models(void **state)
{
    (void)state;
    char *m1 = model("models/qwen.gguf", SHA_A, 1000), *m2 = model("models/qwen.gguf", SHA_B, 1000);
    char *m3 = model("models/qwen.gguf", SHA_A, 2000), *m4 = model("models/new.gguf", SHA_A, 10);
    mg_drift *d = drift_of(state_text("\"580\"", G5090, "", NULL, m1), state_text("\"580\"", G5090, "", NULL, m2));
    const mg_drift_change *c = only(d, "model_changed");
    assert_string_equal(c->text, "model models/qwen.gguf header changed");
    assert_true(c->matters);
    mg_drift_free(d);
    d = drift_of(state_text("\"580\"", G5090, "", NULL, m1), state_text("\"580\"", G5090, "", NULL, m3));
    c = only(d, "model_changed");
    assert_string_equal(c->text, "model models/qwen.gguf size changed: 1000 -> 2000 bytes");
    assert_true(c->matters);
    mg_drift_free(d);
    d = drift_of(state_text("\"580\"", G5090, "", NULL, m1), state_text("\"580\"", G5090, "", NULL, m4));
    assert_int_equal(mg_drift_count(d), 2);   /* sorted by path: new.gguf added, qwen.gguf removed */
    assert_string_equal(mg_drift_at(d, 0)->text, "model models/new.gguf added");
    assert_false(mg_drift_at(d, 0)->matters);
    assert_string_equal(mg_drift_at(d, 1)->text, "model models/qwen.gguf removed");
    assert_true(mg_drift_at(d, 1)->matters);
    mg_drift_free(d);
    free(m1), free(m2), free(m3), free(m4);
}

static void drift_json_and_order(void **state)
{
    (void)state;
    char *a = bin("bin/libfish.so", SHA_A, V("GPU0 RTX 5090", "native", "null"));
    char *b = bin("bin/libfish.so", SHA_B, V("GPU0 RTX 5090", "none", "null"));
    char *m1 = model("m.gguf", SHA_A, 1), *m2 = model("m.gguf", SHA_B, 1);
    /* every kind of section at once: host first, then binaries, Python, models */
    char *x1 = env("{\"name\": \"x\", \"version\": \"1\", \"verdicts\": []}");
    char *x2 = env("{\"name\": \"x\", \"version\": \"2\", \"verdicts\": []}");
    mg_drift *d = drift_of(state_text("\"580\"", G5090 ", " GH100, a, x1, m1), state_text("\"590\"", G5090, b, x2, m2));
    static const char *const kinds[] = {"gpu_removed", "driver", "binary_changed", "package_changed", "model_changed"};
    assert_int_equal(mg_drift_count(d), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(mg_drift_at(d, i)->kind, kinds[i]);
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    mg_drift_json(f, d);
    fclose(f);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "command")->valuestring, "drift");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
    assert_int_equal(cJSON_GetObjectItem(j, "matters")->valueint, 3);   /* the GPU, the library, the model */
    const cJSON *ch = cJSON_GetObjectItem(j, "changes");
    assert_int_equal(cJSON_GetArraySize(ch), 5);
    const cJSON *x = cJSON_GetArrayItem(ch, 2);
    static const char *const keys[] = {"kind", "subject", "before", "after", "matters", "verdict_change"};
    for (size_t i = 0; i < 6; i++)
        assert_non_null(cJSON_GetObjectItem(x, keys[i]));
    assert_string_equal(cJSON_GetObjectItem(x, "verdict_change")->valuestring, "sm_120 no longer covered");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(x, "matters")));
    cJSON_Delete(j);
    free(text);
    /* the error document serve shows for a lock it cannot read */
    f = open_memstream(&text, &n);
    mg_drift_error_json(f, "x.lock", MG_E_FORMAT, "x.lock: not a lock file");
    fclose(f);
    j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring, "malformed");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "changes")), 0);
    cJSON_Delete(j);
    free(text);
    mg_drift_free(d);
    free(a), free(b), free(m1), free(m2), free(x1), free(x2);
}

/* ==== The gate's share: which model a change fails ==== */

static void smoke_stage_attribution(void **state)
{
    (void)state;
    static const char matrix[] = "host: {lock: /x/mlgate.lock, gpus: RTX 5090}\n"
                                 "models:\n"
                                 "  - {name: fish, kind: llm, endpoint: http://x, binaries: [bin/fish], image: img/fish.tar}\n"
                                 "  - {name: chat, kind: llm, endpoint: http://y, binaries: [venv], file: models/qwen.gguf}\n";
    mg_matrix *m = NULL;
    char err[512];
    assert_int_equal(mg_matrix_parse(matrix, sizeof matrix - 1, "m.yaml", &m, err, sizeof err), MG_OK);
    char *a = bin("bin/fish/libfish.so", SHA_A, V("GPU0 RTX 5090", "native", "null"));
    char *b = bin("bin/fish/libfish.so", SHA_B, V("GPU0 RTX 5090", "none", "null"));
    char *e1 = env("{\"name\": \"torch\", \"version\": \"2.9.1+cu128\", \"verdicts\": []}");
    char *e2 = env("{\"name\": \"torch\", \"version\": \"2.10.0+cpu\", \"verdicts\": []}");
    char *m1 = model("models/qwen.gguf", SHA_A, 1), *m2 = model("models/qwen.gguf", SHA_B, 1);
    mg_drift *d = drift_of(state_text("\"580\"", G5090, a, e1, m1), state_text("\"580\"", G5090, b, e2, m2));
    assert_int_equal(mg_drift_matters(d), 3);
    mg_check_opts o = {.lock = "/x/mlgate.lock", .drift = d};
    char r0[MG_STAGE_REASON_MAX], r1[MG_STAGE_REASON_MAX];
    mg_drift_reason(&o, m, 0, r0, sizeof r0);
    mg_drift_reason(&o, m, 1, r1, sizeof r1);
    assert_string_equal(r0, "drift since the lock: bin/fish/libfish.so sha256 changed: sm_120 no longer covered");
    assert_string_equal(r1, "drift since the lock: torch 2.9.1+cu128 -> 2.10.0+cpu: CUDA gone; model models/qwen.gguf "
                            "header changed");
    mg_drift_free(d);
    /* the host's changes are every model's; nothing that matters is no reason */
    d = drift_of(state_text("\"580\"", G5090 ", " GH100, a, e1, m1), state_text("\"580\"", G5090, a, e1, m1));
    o.drift = d;
    mg_drift_reason(&o, m, 0, r0, sizeof r0);
    mg_drift_reason(&o, m, 1, r1, sizeof r1);
    assert_string_equal(r0, "drift since the lock: GPU removed: GPU1 H100 (sm_90, GPU-H100)");
    assert_string_equal(r0, r1);
    mg_drift_free(d);
    d = drift_of(state_text("\"580\"", G5090, a, e1, m1), state_text("\"581\"", G5090, a, e1, m1));
    o.drift = d;
    mg_drift_reason(&o, m, 0, r0, sizeof r0);
    assert_string_equal(r0, "");
    mg_drift_free(d);
    /* a lock that cannot be read fails every model, saying why */
    o.drift = NULL, o.drift_error = "/x/mlgate.lock: not a regular file";
    mg_drift_reason(&o, m, 1, r1, sizeof r1);
    assert_string_equal(r1, "lock /x/mlgate.lock: /x/mlgate.lock: not a regular file");
    /* no lock configured: nothing */
    o.lock = NULL;
    mg_drift_reason(&o, m, 1, r1, sizeof r1);
    assert_string_equal(r1, "");
    mg_matrix_free(m);
    free(a), free(b), free(e1), free(e2), free(m1), free(m2);
}

/* ==== Collected: drift from a lock on disk ==== */

static void drift_run_from_disk(void **state)
{
    (void)state;
    char *d = make_state(), path[1100], err[512] = "", p[1100];
    mg_lock *a = collect(d, 0, "580");
    snprintf(path, sizeof path, "%s/mlgate.lock", d);
    assert_int_equal(mg_lock_write(a, path, 0, err, sizeof err), MG_OK);
    mg_lock_free(a);
    mg_drift_opts o = {0};
    mg_drift *x = NULL;
    assert_int_equal(mg_drift_run(path, &o, &x, err, sizeof err), MG_OK);
    assert_int_equal(mg_drift_count(x), 0);   /* judged with the lock's own --gpu and --driver */
    mg_drift_free(x);
    /* libfish.so replaced by a library without sm_120 code */
    snprintf(p, sizeof p, "%s/bin/libfish.so", d);
    copy(FIXTURES "/libtwo.so", p);
    assert_int_equal(mg_drift_run(path, &o, &x, err, sizeof err), MG_OK);
    const mg_drift_change *c = only(x, "binary_changed");
    assert_non_null(strstr(c->text, "/bin/libfish.so sha256 changed: sm_120 no longer covered"));
    mg_drift_free(x);
    /* another driver asked for: the PTX fixture's verdict follows it */
    o.driver = "570";
    assert_int_equal(mg_drift_run(path, &o, &x, err, sizeof err), MG_OK);
    assert_int_equal(mg_drift_count(x), 2);
    assert_string_equal(mg_drift_at(x, 0)->kind, "driver");
    assert_non_null(strstr(mg_drift_at(x, 0)->text, "driver 580 -> 570: PTX ISA 8.8 no longer JITs ("));
    assert_true(mg_drift_at(x, 0)->matters);
    mg_drift_free(x);
    /* a lock that is not one */
    FILE *f = fopen(path, "w");
    fputs("{\"lock_version\": 1}", f);
    fclose(f);
    assert_int_equal(mg_drift_run(path, &o, &x, err, sizeof err), MG_E_FORMAT);
    assert_null(x);
    assert_non_null(strstr(err, "no \"inputs\""));
    rm_rf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_determinism), cmocka_unit_test(written_atomically_and_loaded),
        cmocka_unit_test(good_parses_and_every_prefix_is_refused), cmocka_unit_test(wrong_types_and_values),
        cmocka_unit_test(huge_and_deep), cmocka_unit_test(every_allocation_failing),
        cmocka_unit_test(drift_of_the_host), cmocka_unit_test(drift_of_the_gpus), cmocka_unit_test(drift_of_binaries),
        cmocka_unit_test(drift_of_python), cmocka_unit_test(drift_of_models), cmocka_unit_test(drift_json_and_order),
        cmocka_unit_test(smoke_stage_attribution), cmocka_unit_test(drift_run_from_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
