/* test_matrix.c - the model matrix: the example files, every error at its line and column, the YAML reader's caps
 * against hostile files, and plans for the seed hosts. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "mlgate/mlgate.h"
#include "gguf_writer.h"
#include <unistd.h>

#define GIB (1024ull * 1024 * 1024)

/* A fresh plan in *p (the previous one freed). */
static int replan(mg_plan **p, const mg_matrix *m, const mg_target *d, size_t n, double headroom)
{
    mg_plan_free(*p);
    *p = NULL;
    return mg_plan_make(m, d, n, headroom, p);
}

static mg_matrix *load(const char *name)
{
    char path[512], err[512];
    mg_matrix *m = NULL;
    snprintf(path, sizeof path, "%s/matrix/%s", FIXTURES, name);
    int rc = mg_matrix_load(path, &m, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    return m;
}

static void reads_the_workstation_example(void **state)
{
    (void)state;
    mg_matrix *m = load("workstation.yaml");
    assert_int_equal(mg_matrix_count(m), 4);
    assert_true(mg_matrix_get_host(m)->headroom > 0.099 && mg_matrix_get_host(m)->headroom < 0.101);
    assert_true(mg_matrix_get_host(m)->deadline > 119.9 && mg_matrix_get_host(m)->deadline < 120.1);
    assert_string_equal(mg_matrix_get_host(m)->gpus, "RTX 5090");
    assert_string_equal(mg_matrix_get_host(m)->receipts, "/var/lib/mlgate/receipts.db");
    const mg_matrix_model *tts = mg_matrix_model_at(m, 0), *llm = mg_matrix_model_at(m, 2), *img = mg_matrix_model_at(m, 3);
    assert_string_equal(tts->name, "kokoro");
    assert_int_equal(tts->kind, MG_MODEL_TTS);
    assert_int_equal(tts->memory, 2 * GIB);
    assert_string_equal(tts->probe.voice, "af_heart");
    assert_true(tts->timeout > 19.9 && tts->timeout < 20.1);
    assert_int_equal(llm->probe.max_tokens, 8);
    assert_string_equal(llm->binaries[0], "/usr/local/bin/llama-server");
    assert_string_equal(llm->api_key_env, "LLAMA_API_KEY");
    assert_true(llm->timeout > 29.9 && llm->timeout < 30.1);   /* the default */
    assert_int_equal(llm->gpu, -1);
    assert_true(img->on_demand);
    assert_int_equal(img->probe.width, 256);
    assert_false(llm->on_demand);
    mg_matrix_free(m);
}

/* Each bad matrix is refused with the place and the reason. */
static void errors_name_line_and_column(void **state)
{
    (void)state;
    static const struct { const char *yaml, *want; } cases[] = {
        {"models:\n  - name: a\n    kind: llm\n    endpoint: http://x\n    memroy: 4G\n",
         "m.yaml:5:5: unknown key 'memroy' in a model (did you mean 'memory'?)"},
        {"models:\n  - {name: a, kind: chat, endpoint: http://x}\n", "m.yaml:2:21: kind 'chat'"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, memory: lots}\n", "m.yaml:2:54: memory: 'lots' is not a size"},
        {"models:\n  - {name: a, kind: tts, endpoint: http://x, exec: [say, hi]}\n", "m.yaml:2:5: model 'a': give exactly one of"},
        {"models:\n  - {name: a, kind: tts}\n", "give exactly one of endpoint: and exec:"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x}\n  - {name: a, kind: llm, endpoint: http://y}\n",
         "m.yaml:3:5: model 'a' is defined twice (first at line 2)"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, capability: c}\n"
         "  - {name: b, kind: llm, endpoint: http://y, capability: c}\n", "capability 'c' is backed by 'a' already"},
        {"host:\n  headroom: 10\nmodels: []\n", "m.yaml:2:13: headroom '10'"},
        {"host:\n  deadline: forever\nmodels: []\n", "m.yaml:2:13: deadline: 'forever' is not a duration"},
        {"models:\n  - name: a\n    kind: llm\n   endpoint: x\n", "m.yaml:4:4: did not find expected '-' indicator"},
        {"", "m.yaml:1:1: empty matrix"},
        {"models: 3\n", "models: must be a list"},
        {"models:\n  - {name: a, kind: llm, endpoint: ftp://x}\n", "endpoint 'ftp://x'"},
        {"models:\n  - {name: 'a b', kind: llm, endpoint: http://x}\n", "name 'a b'"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, residency: sometimes}\n", "residency 'sometimes'"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, probe: {max_tokens: -1}}\n", "probe.max_tokens: '-1'"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, probe: {temperature: 0}}\n",
         "unknown key 'temperature' in probe"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, gpu: 99}\n", "gpu: '99' is not a whole number"},
        {"hosts:\n  vram: 1G\nmodels: []\n", "m.yaml:1:1: unknown key 'hosts' in the matrix (did you mean 'host'?)"},
        {"models:\n  - {name: a, kind: llm, endpoint: [http://x]}\n", "endpoint must be a single value, not a list"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mg_matrix *m = NULL;
        char err[512] = "";
        int rc = mg_matrix_parse(cases[i].yaml, strlen(cases[i].yaml), "m.yaml", &m, err, sizeof err);
        if (rc != MG_E_FORMAT || !strstr(err, cases[i].want))
            fail_msg("case %zu: rc %d, '%s' lacks '%s'", i, rc, err, cases[i].want);
        assert_null(m);
    }
    /* caps: more than 32 exec arguments */
    char big[2048] = "models:\n  - {name: a, kind: tts, exec: [";
    for (int i = 0; i < 40; i++)
        strcat(big, i ? ", x" : "x");
    strcat(big, "]}\n");
    mg_matrix *m = NULL;
    char err[512];
    assert_int_equal(mg_matrix_parse(big, strlen(big), "m.yaml", &m, err, sizeof err), MG_E_FORMAT);
    assert_non_null(strstr(err, "more than 32 items"));
}

/* Parses len bytes of text as m.yaml: rc want_rc and, for an error, want in the message. */
static void parses_as(const char *text, size_t len, int want_rc, const char *want)
{
    mg_matrix *m = NULL;
    char err[512] = "";
    int rc = mg_matrix_parse(text, len, "m.yaml", &m, err, sizeof err);
    if (rc != want_rc || (want && !strstr(err, want)))
        fail_msg("rc %d (want %d), '%s' lacks '%s' in: %.200s", rc, want_rc, err, want ? want : "", text);
    assert_true(rc ? m == NULL : m != NULL);
    mg_matrix_free(m);
}

/* host: lock: (drift in the smoke stage) and a model's image: (scanned with its binaries:). */
static void lock_and_image_keys(void **state)
{
    (void)state;
    static const char ok[] = "host:\n  lock: /var/lib/mlgate/mlgate.lock\nmodels:\n"
                             "  - {name: a, kind: llm, endpoint: http://x, image: images/vllm.tar, binaries: [/opt/a]}\n"
                             "  - {name: b, kind: llm, endpoint: http://y}\n";
    mg_matrix *m = NULL;
    char err[512] = "";
    assert_int_equal(mg_matrix_parse(ok, sizeof ok - 1, "m.yaml", &m, err, sizeof err), MG_OK);
    assert_string_equal(mg_matrix_get_host(m)->lock, "/var/lib/mlgate/mlgate.lock");
    assert_string_equal(mg_matrix_model_at(m, 0)->image, "images/vllm.tar");
    assert_null(mg_matrix_model_at(m, 1)->image);
    mg_matrix *c = NULL;   /* a copy keeps them */
    assert_int_equal(mg_matrix_copy(m, &c, err, sizeof err), MG_OK);
    assert_string_equal(mg_matrix_get_host(c)->lock, "/var/lib/mlgate/mlgate.lock");
    assert_string_equal(mg_matrix_model_at(c, 0)->image, "images/vllm.tar");
    mg_matrix_free(c);
    mg_matrix_free(m);
    static const char none[] = "models:\n  - {name: a, kind: llm, endpoint: http://x}\n";
    assert_int_equal(mg_matrix_parse(none, sizeof none - 1, "m.yaml", &m, err, sizeof err), MG_OK);
    assert_null(mg_matrix_get_host(m)->lock);
    mg_matrix_free(m);
    static const struct { const char *yaml, *want; } cases[] = {
        {"host: {lock: ''}\nmodels: []\n", "m.yaml:1:14: lock: the path of a lock file (mlgate lock -o FILE), not empty"},
        {"host: {lock: [a, b]}\nmodels: []\n", "m.yaml:1:14: lock must be a single value, not a list"},
        {"host:\n  lock: a\n  lock: b\nmodels: []\n", "m.yaml:3:3: key 'lock' given twice in host (first at line 2)"},
        {"host: {lokc: a}\nmodels: []\n", "m.yaml:1:8: unknown key 'lokc' in host (did you mean 'lock'?)"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, image: ''}\n",
         "m.yaml:2:53: image '': a path to a container image (a docker save tarball or an OCI layout directory), "
         "not empty"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, image: 'docker://vllm/vllm:latest'}\n",
         "m.yaml:2:53: image 'docker://vllm/vllm:latest': a path to a container image (a docker save tarball or an OCI "
         "layout directory), not a URL"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, image: {path: a}}\n",
         "m.yaml:2:53: image must be a single value, not a mapping"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, image: a, image: b}\n",
         "m.yaml:2:56: key 'image' given twice in a model (first at line 2)"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, imgae: a}\n",
         "m.yaml:2:46: unknown key 'imgae' in a model (did you mean 'image'?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parses_as(cases[i].yaml, strlen(cases[i].yaml), MG_E_FORMAT, cases[i].want);
}

/* A key given twice is an error at the second, with the first's line, in every mapping of the matrix. */
static void duplicate_keys_at_every_level(void **state)
{
    (void)state;
    static const struct { const char *yaml, *want; } cases[] = {
        {"models: []\nmodels: []\n", "m.yaml:2:1: key 'models' given twice in the matrix (first at line 1)"},
        {"host:\n  gpus: RTX 5090\nhost:\n  vram: 1G\nmodels: []\n",
         "m.yaml:3:1: key 'host' given twice in the matrix (first at line 1)"},
        {"host:\n  gpus: RTX 5090\n  gpus: H200\nmodels: []\n", "m.yaml:3:3: key 'gpus' given twice in host (first at line 2)"},
        /* the issue's: the second exec: used to run with the first one's stale words after its own */
        {"models:\n  - name: a\n    kind: tts\n    exec: [say, -v, en, hello]\n    exec: [true]\n",
         "m.yaml:5:5: key 'exec' given twice in a model (first at line 4)"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, binaries: [/a, /b], binaries: /c}\n",
         "m.yaml:2:66: key 'binaries' given twice in a model (first at line 2)"},
        {"models:\n  - {name: a, kind: llm, endpoint: http://x, probe: {prompt: a, prompt: b}}\n",
         "m.yaml:2:65: key 'prompt' given twice in probe (first at line 2)"},
        {"models:\n  - name: a\n    name: b\n    kind: llm\n    endpoint: http://x\n",
         "m.yaml:3:5: key 'name' given twice in a model (first at line 2)"},
        /* the same key spelt another way: quoted, explicit, through an alias */
        {"models:\n  - {name: a, kind: llm, \"endpoint\": http://x, 'endpoint': http://y}\n",
         "m.yaml:2:48: key 'endpoint' given twice in a model (first at line 2)"},
        {"models:\n  - name: a\n    kind: llm\n    ? endpoint\n    : http://x\n    endpoint: http://y\n",
         "m.yaml:6:5: key 'endpoint' given twice in a model (first at line 4)"},
        {"models:\n  - {name: a, kind: tts, &k exec: [a], *k : [b]}\n",
         "m.yaml:2:40: key 'exec' given twice in a model (first at line 2)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parses_as(cases[i].yaml, strlen(cases[i].yaml), MG_E_FORMAT, cases[i].want);
    /* once each is fine, and a single exec is the whole argv */
    static const char once[] = "models:\n  - {name: a, kind: tts, exec: [say, hi], probe: {expect: hi}}\n";
    mg_matrix *m = NULL;
    char err[512];
    assert_int_equal(mg_matrix_parse(once, strlen(once), "m.yaml", &m, err, sizeof err), MG_OK);
    const mg_matrix_model *md = mg_matrix_model_at(m, 0);
    assert_int_equal(md->nexec, 2);
    assert_string_equal(md->exec[1], "hi");
    assert_null(md->exec[2]);
    mg_matrix_free(m);
}

/* Depth, node and anchor caps at their exact edges; aliases shared, never expanded; tags ignored. */
static void yaml_caps_aliases_and_tags(void **state)
{
    (void)state;
    buf b = {0};
    char line[64];
    /* 32 levels are read (the walker refuses the list), 33 are not: flow and block */
    for (int depth = 32; depth <= 33; depth++) {
        b.n = 0;
        put(&b, "host: {gpus: ", 13);
        for (int i = 2; i < depth; i++)
            put(&b, "[", 1);
        for (int i = 2; i < depth; i++)
            put(&b, "]", 1);
        put(&b, "}\n", 3);
        parses_as((char *)b.p, b.n - 1, depth == 32 ? MG_E_FORMAT : MG_E_LIMIT,
                  depth == 32 ? "gpus must be a single value, not a list" : "m.yaml:1:44: nested deeper than 32 levels");
        b.n = 0;
        for (int i = 0; i < depth; i++) {
            snprintf(line, sizeof line, "%*sk:\n", i, "");
            put(&b, line, strlen(line) + 1);
            b.n--;
        }
        put(&b, "", 1);
        parses_as((char *)b.p, b.n - 1, depth == 32 ? MG_E_FORMAT : MG_E_LIMIT,
                  depth == 32 ? "unknown key 'k' in the matrix" : "m.yaml:33:33: nested deeper than 32 levels");
    }
    /* 100,000 nodes are read, one more is not: a mapping, a key, a list and its items */
    for (size_t items = 99997; items <= 99998; items++) {
        b.n = 0;
        put(&b, "models: [", 9);
        for (size_t i = 0; i < items; i++)
            put(&b, i ? ", x" : "x", i ? 3 : 1);
        put(&b, "]\n", 3);
        parses_as((char *)b.p, b.n - 1, items == 99997 ? MG_E_FORMAT : MG_E_LIMIT,
                  items == 99997 ? "more than 256 models" : "more than 100000 YAML nodes");
    }
    /* 1024 anchors, not 1025 */
    for (int n = 1024; n <= 1025; n++) {
        b.n = 0;
        put(&b, "models: [", 9);
        for (int i = 0; i < n; i++) {
            snprintf(line, sizeof line, "%s&a%d x", i ? ", " : "", i);
            put(&b, line, strlen(line));
        }
        put(&b, "]\n", 3);
        parses_as((char *)b.p, b.n - 1, n == 1024 ? MG_E_FORMAT : MG_E_LIMIT,
                  n == 1024 ? "more than 256 models" : "more than 1024 anchors");
    }
    free(b.p);

    /* aliases share their node: a probe and an endpoint given once, used twice */
    static const char shared[] =
        "host: &h {gpus: RTX 5090, vram: &v 32G}\n"
        "models:\n"
        "  - {name: a, kind: llm, endpoint: &e http://x, probe: &p {prompt: &t hello, max_tokens: 8}}\n"
        "  - {name: b, kind: llm, endpoint: *e, probe: *p, model: *t}\n";
    mg_matrix *m = NULL;
    char err[512];
    assert_int_equal(mg_matrix_parse(shared, strlen(shared), "m.yaml", &m, err, sizeof err), MG_OK);
    assert_string_equal(mg_matrix_model_at(m, 1)->endpoint, "http://x");
    assert_string_equal(mg_matrix_model_at(m, 1)->probe.prompt, "hello");
    assert_string_equal(mg_matrix_model_at(m, 1)->model, "hello");
    assert_int_equal(mg_matrix_model_at(m, 1)->probe.max_tokens, 8);
    assert_string_equal(mg_matrix_get_host(m)->vram, "32G");
    mg_matrix_free(m);
    /* tags, on values, lists, mappings and keys, with a %TAG directive: read and ignored */
    static const char tagged[] =
        "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\n"
        "!!map\nmodels: !e!list\n  - !!map {!!str name: !!str a, kind: !custom llm, endpoint: !<tag:x> http://x,"
        " probe: !e!p {max_tokens: !!int 8}}\n...\n";
    parses_as(tagged, strlen(tagged), MG_OK, NULL);
    static const struct { const char *yaml, *want; } bad[] = {
        /* a model given twice through an alias: said where the alias is */
        {"models:\n  - &m {name: a, kind: llm, endpoint: http://x}\n  - *m\n", "m.yaml:3:5: model 'a' is defined twice"},
        {"models: [*nowhere]\n", "m.yaml:1:10: alias '*nowhere' names no anchor before it"},
        {"models: &l [*l]\n", "m.yaml:1:13: alias '*l' inside the node it names"},
        {"models:\n  - &m {name: a, kind: llm, endpoint: http://x, probe: &m {}}\n",
         "m.yaml:2:56: anchor '&m' defined twice (first at line 2)"},
        /* a billion laughs (10^9 'lol's by expansion) is 100 nodes to the reader, refused where it is used */
        {"models:\n  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
         "  - &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n  - &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\n"
         "  - &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n  - &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\n"
         "  - &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n  - &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\n"
         "  - &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]\n  - &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]\n"
         "host: {gpus: [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]}\n",
         "m.yaml:11:14: gpus must be a single value, not a list"},
        {"models: [{name: \"a\\0b\", kind: llm, endpoint: http://x}]\n", "m.yaml:1:17: a value with a NUL character in it"},
        {"models: []\n---\nmodels: []\n", "m.yaml:2:1: a second YAML document (a matrix is one)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parses_as(bad[i].yaml, strlen(bad[i].yaml), MG_E_FORMAT, bad[i].want);
    parses_as("\xFF\xFEm\0o\0", 6, MG_E_UNSUPPORTED, "m.yaml:1:1: the matrix is UTF-16");
    parses_as("\xEF\xBB\xBFmodels: []\n", 14, MG_OK, NULL);   /* a UTF-8 byte order mark is fine */
    parses_as("models: []\n...\n", 15, MG_OK, NULL);           /* and so is the end-of-document marker */
}

/* A hostile shape of matrix: head (built by the caller into b), then pre, the repeat's index (with
 * mod: i % mod) and post, count times or while they and tail fit in size bytes, then tail. */
typedef struct shape {
    const char *what, *head, *pre, *post, *tail;
    size_t mod, count, size;
    int rc;
    const char *want;
} shape;

static void fill(buf *b, const shape *h)
{
    char unit[256];
    size_t size = h->size ? h->size : 1u << 20, tl = strlen(h->tail);
    if (h->head && *h->head)
        put(b, h->head, strlen(h->head));
    int n = snprintf(unit, sizeof unit, "%s%s", h->pre, h->post);
    for (size_t i = 0; !h->count || i < h->count; i++) {
        if (h->mod)
            n = snprintf(unit, sizeof unit, "%s%zu%s", h->pre, i % h->mod, h->post);
        if (!n || b->n + (size_t)n + tl > size)
            break;
        put(b, unit, (size_t)n);
    }
    put(b, h->tail, tl + 1);
    b->n--;
}

/* Every shape that makes libyaml quadratic, or a tree walker exponential, at up to the 1 MiB cap: refused
 * (or read) and timed. The times are printed, not asserted. */
static void hostile_inputs_up_to_the_cap(void **state)
{
    (void)state;
    static const char *const nothing = "";
    const size_t all = SIZE_MAX;
    const shape shapes[] = {
        {"80,000 levels of '['", nothing, "[", "", "", 0, 0, 80000, MG_E_LIMIT, "m.yaml:1:33: nested deeper than 32 levels"},
        {"1 MiB of '['", nothing, "[", "", "", 0, 0, 0, MG_E_LIMIT, "m.yaml:1:33: nested deeper than 32 levels"},
        {"1 MiB of '{a: '", nothing, "{a: ", "", "", 0, 0, 0, MG_E_LIMIT, "m.yaml:1:129: nested deeper than 32 levels"},
        {"1 MiB of '[{a: '", nothing, "[{a: ", "", "", 0, 0, 0, MG_E_LIMIT, "m.yaml:1:81: nested deeper than 32 levels"},
        {"1 MiB of '- ' (block lists)", nothing, "- ", "", "x\n", 0, 0, 0, MG_E_LIMIT, "m.yaml:1:65: nested deeper"},
        {"1 MiB of '? ' (explicit keys)", nothing, "? ", "", "x\n", 0, 0, 0, MG_E_LIMIT, "m.yaml:1:65: nested deeper"},
        {"block mappings indented to 1 MiB", NULL, "", "", "", 0, 0, 0, MG_E_LIMIT, "m.yaml:33:33: nested deeper"},
        {"a flow list of 1 MiB", "models: [", "x, ", "", "x]\n", 0, 0, 0, MG_E_LIMIT, "more than 100000 YAML nodes"},
        {"a flow mapping of 1 MiB", "models: [{", "k", ": v, ", "k: v}]\n", all, 0, 0, MG_E_LIMIT,
         "more than 100000 YAML nodes"},
        {"1 MiB of keys", nothing, "k", ": v\n", "", all, 0, 0, MG_E_LIMIT, "more than 100000 YAML nodes"},
        {"1 MiB of lists 31 deep", "models: [", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], ",
         "x]\n", 0, 0, 0, MG_E_LIMIT, "more than 100000 YAML nodes"},
        {"1 MiB of tagged values", "models: [", "!!str x, ", "", "x]\n", 0, 0, 0, MG_E_LIMIT,
         "more than 100000 YAML nodes"},
        {"a 1 MiB value", "host: {gpus: ", "x", "", "}\n", 0, 0, 0, MG_E_FORMAT, "m.yaml:1:14: gpus is longer than 4096"},
        {"a 1 MiB quoted value of escapes", "host: {gpus: \"", "\\x41\\u00e9", "", "\"}\n", 0, 0, 0, MG_E_FORMAT,
         "m.yaml:1:14: gpus is longer than 4096"},
        {"a 1 MiB key", "? ", "k", "", "\n: v\nmodels: []\n", 0, 0, 0, MG_E_FORMAT, "m.yaml:1:3: unknown key 'kkk"},
        {"1 MiB of anchors", "models: [", "&a", " x, ", "x]\n", all, 0, 0, MG_E_LIMIT, "more than 1024 anchors"},
        {"1,000 anchors, 1 MiB of aliases", NULL, "*a", ", ", "x]\n", 1000, 0, 0, MG_E_LIMIT,
         "more than 100000 YAML nodes"},
        {"a billion laughs, 1 MiB of them", NULL, "*a8, ", "", "x]}\n", 0, 0, 0, MG_E_LIMIT,
         "more than 100000 YAML nodes"},
        {"1 MiB of %TAG directives", nothing, "%TAG !t", "! tag:x:\n", "---\nmodels: []\n", all, 0, 0, MG_E_LIMIT,
         "m.yaml:17:1: more than 16 YAML directives"},
        {"1 MiB of %TAG lines ending in CR", nothing, "%TAG !t", "! tag:x:\r", "---\rmodels: []\r", all, 0, 0,
         MG_E_LIMIT, "m.yaml:17:1: more than 16 YAML directives"},
        {"1 MiB of %TAG lines ending in NEL", nothing, "%TAG !t", "! tag:x:\xC2\x85", "---\nmodels: []\n", all, 0, 0,
         MG_E_LIMIT, "m.yaml:17:1: more than 16 YAML directives"},
        {"1 MiB of '---' documents", nothing, "---\n", "", "", 0, 0, 0, MG_E_FORMAT,
         "m.yaml:2:1: a second YAML document"},
        {"1 MiB of comments, then a matrix", nothing, "# a comment, as long as a line of a matrix could be .......\n",
         "", "models: []\n", 0, 0, 0, MG_OK, NULL},
        {"256 models sharing argv and probe", NULL, "  - {name: m", ", kind: tts, exec: *argv, probe: *p}\n", "",
         all, 255, 0, MG_OK, NULL},
    };
    buf b = {0};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *h = &shapes[i];
        b.n = 0;
        if (!h->head && i == 6) {           /* k: at indentation 0, 1, 2, ... */
            char line[2048];
            for (int ind = 0; b.n + (size_t)ind + 4 <= 1u << 20; ind++) {
                snprintf(line, sizeof line, "%*sk:\n", ind, "");
                put(&b, line, strlen(line));
            }
        } else if (!h->head && h->mod == 1000) {
            put(&b, "models: [", 9);
            for (int a = 0; a < 1000; a++) {
                char anchor[32];
                snprintf(anchor, sizeof anchor, "&a%d x, ", a);
                put(&b, anchor, strlen(anchor));
            }
        } else if (!h->head && h->count) {
            static const char first[] =
                "models:\n  - {name: m, kind: tts, exec: &argv [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,"
                " a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31],"
                " probe: &p {expect: ok, prompt: hi}}\n";
            put(&b, first, sizeof first - 1);
        } else if (!h->head) {              /* 10 lists of 10 aliases to the one before: 10^9 'lol's expanded */
            static const char a0[] = "host: {gpus: [&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]";
            put(&b, a0, sizeof a0 - 1);
            for (int l = 1; l <= 8; l++) {
                char level[128];
                int n = snprintf(level, sizeof level, ", &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]",
                                 l, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1);
                put(&b, level, (size_t)n);
            }
            put(&b, ", ", 2);
        }
        fill(&b, h);
        assert_true(b.n <= (h->size ? h->size : 1u << 20));
        mg_matrix *m = NULL;
        char err[512] = "";
        double t0 = mg_now();
        int rc = mg_matrix_parse((char *)b.p, b.n, "m.yaml", &m, err, sizeof err);
        double ms = (mg_now() - t0) * 1e3;
        print_message("  %-36s %8zu bytes %8.3f ms  %.70s\n", h->what, b.n, ms, rc ? err : "read");
        if (rc != h->rc || (h->want && !strstr(err, h->want)))
            fail_msg("%s: rc %d (want %d), '%s' lacks '%s'", h->what, rc, h->rc, err, h->want ? h->want : "");
        if (!rc && h->count) {
            assert_int_equal(mg_matrix_count(m), 256);
            assert_int_equal(mg_matrix_model_at(m, 255)->nexec, 32);
            assert_string_equal(mg_matrix_model_at(m, 255)->exec[31], "a31");
            assert_string_equal(mg_matrix_model_at(m, 255)->probe.expect, "ok");
        }
        mg_matrix_free(m);
    }
    free(b.p);
}

/* Fault injection: each allocation of a parse failing in turn gives an error or the matrix, never a crash
 * or a leak (ASan); libyaml's own allocations are not counted. */
static void every_allocation_failing(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/matrix/workstation.yaml", FIXTURES);
    buf b = {0};   /* and one with anchors, aliases and more items open at once than the reader first holds */
    static const char head[] = "host: {gpus: &g RTX 5090, vram: *g}\nmodels:\n"
                               "  - {name: m, kind: llm, endpoint: &e http://x, probe: &p {prompt: hi}}\n";
    put(&b, head, sizeof head - 1);
    const shape more = {"", "", "  - {name: m", ", kind: llm, endpoint: *e, probe: *p, binaries: [a, b, c]}\n", "", SIZE_MAX,
                        100, 0, 0, NULL};
    fill(&b, &more);
    for (int which = 0; which < 2; which++) {
        long n = 1;
        for (;; n++) {
            mg_matrix *m = NULL;
            char err[512] = "";
            mg_fail_alloc_at(n);
            int rc = which ? mg_matrix_parse((char *)b.p, b.n, "m.yaml", &m, err, sizeof err)
                           : mg_matrix_load(path, &m, err, sizeof err);
            mg_fail_alloc_at(0);
            if (rc == MG_OK) {
                assert_int_equal(mg_matrix_count(m), which ? 101 : 4);
                mg_matrix_free(m);
                break;
            }
            if (rc != MG_E_NOMEM || m || !err[0])
                fail_msg("allocation %ld failing: rc %d, '%s'", n, rc, err);
            assert_true(n < 100000);
        }
        print_message("  %s: read after each of its first %ld allocations failed\n", which ? "101 aliased models" :
                      "workstation.yaml", n - 1);
        assert_true(n > 1);
    }
    free(b.p);
}

static int targets(const char *names, mg_target *d)
{
    size_t n = 0;
    char list[256];
    snprintf(list, sizeof list, "%s", names);
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
        const mg_gpu_info *g = mg_gpu_find(t);
        assert_non_null(g);
        snprintf(d[n].name, sizeof d[n].name, "%s", g->name);
        d[n].mem_total = d[n].mem_free = (uint64_t)g->mem_mib << 20;
        n++;
    }
    return (int)n;
}

/* The seed: 96 GB + 32 GB, residents of 167 GB -> rejected, by how much, and no false fix. */
static void oversubscribed_two_gpu_host(void **state)
{
    (void)state;
    mg_matrix *m = load("two-gpu-oversubscribed.yaml");
    mg_target d[3];
    int n = targets(mg_matrix_get_host(m)->gpus, d);
    assert_int_equal(n, 2);
    mg_plan *p = NULL;
    assert_int_equal(replan(&p, m, d, 2, mg_matrix_get_host(m)->headroom), MG_OK);
    assert_false(mg_plan_ok(p));
    assert_int_equal(mg_plan_resident_need(p), 167 * GIB);
    assert_true(mg_plan_usable(p) < 128 * GIB * 9 / 10 + GIB);
    int added = 0;
    for (size_t f = 0; f < mg_plan_nfixes(p); f++) {
        added += strstr(mg_plan_fix(p, f), "add ") != NULL;
        assert_null(strstr(mg_plan_fix(p, f), "on-demand"));   /* qwen-vl-32b would not fit when loaded either */
    }
    assert_int_equal(added, 1);
    /* with a third GPU of 96 GB it fits, and the 66 GB model lands on a 96 GB card */
    d[2] = d[0];
    assert_int_equal(replan(&p, m, d, 3, mg_matrix_get_host(m)->headroom), MG_OK);
    assert_true(mg_plan_ok(p));
    assert_int_not_equal(mg_plan_model_at(p, 1)->gpu, 1);
    mg_plan_free(p);
    mg_matrix_free(m);
}

/* The seed: an on-demand image model that fits only while the vision model is unloaded. */
static void on_demand_models_that_exclude_each_other(void **state)
{
    (void)state;
    mg_matrix *m = load("on-demand-conflict.yaml");
    mg_target d = {.name = "32G", .mem_total = 32 * GIB, .mem_free = 32 * GIB};
    mg_plan *p = NULL;
    assert_int_equal(replan(&p, m, &d, 1, mg_matrix_get_host(m)->headroom), MG_OK);
    assert_true(mg_plan_ok(p));
    assert_true(mg_plan_model_at(p, 1)->fits && mg_plan_model_at(p, 2)->fits);
    assert_int_equal(mg_plan_model_at(p, 2)->nconflicts, 1);
    assert_int_equal(mg_plan_model_at(p, 2)->conflicts[0], 1);   /* image: not together with vision */
    assert_int_equal(mg_plan_model_at(p, 0)->nconflicts, 0);     /* residents have none */
    /* on two GPUs they no longer exclude each other */
    mg_target two[2] = {d, d};
    assert_int_equal(replan(&p, m, two, 2, mg_matrix_get_host(m)->headroom), MG_OK);
    assert_int_equal(mg_plan_model_at(p, 2)->nconflicts, 0);
    mg_plan_free(p);
    mg_matrix_free(m);
}

/* Memory from a model file (fit's need, CUDA runtime included), a missing file, a bad pin. */
static void memory_from_files_and_bad_pins(void **state)
{
    (void)state;
    char yaml[1024], err[512];
    snprintf(yaml, sizeof yaml,
             "models:\n"
             "  - {name: tiny, kind: llm, endpoint: http://x, file: %s/tiny.gguf, ctx: 128}\n"
             "  - {name: gone, kind: llm, endpoint: http://x, file: /nonexistent/x.gguf}\n"
             "  - {name: pinned, kind: tts, endpoint: http://x, memory: 1G, gpu: 3}\n"
             "  - {name: nothing, kind: asr, endpoint: http://x}\n",
             FIXTURES);
    mg_matrix *m = NULL;
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
    mg_target d = {.name = "24G", .mem_total = 24 * GIB, .mem_free = 24 * GIB};
    mg_plan *p = NULL;
    replan(&p, m, &d, 1, 0.1);
    assert_string_equal(mg_plan_model_at(p, 0)->source, "gguf");
    assert_true(mg_plan_model_at(p, 0)->need > 700ull << 20 && mg_plan_model_at(p, 0)->need < 800ull << 20);
    assert_true(mg_plan_model_at(p, 0)->fits);
    assert_non_null(strstr(mg_plan_model_at(p, 1)->why, "cannot read /nonexistent/x.gguf"));
    assert_non_null(strstr(mg_plan_model_at(p, 2)->why, "pinned to GPU 3, but there are 1"));
    assert_string_equal(mg_plan_model_at(p, 3)->source, "none");          /* counted as 0, said, not refused */
    assert_true(mg_plan_model_at(p, 3)->fits && mg_plan_model_at(p, 3)->need == 0 && mg_plan_model_at(p, 3)->note);
    assert_false(mg_plan_ok(p));
    mg_matrix_free(m);
    /* an on-demand model whose file cannot be read does not pass either */
    static const char od[] = "models:\n  - {name: gone, kind: llm, endpoint: http://x, file: /nonexistent/x.gguf,"
                             " residency: on-demand}\n";
    assert_int_equal(mg_matrix_parse(od, strlen(od), "m.yaml", &m, err, sizeof err), MG_OK);
    replan(&p, m, &d, 1, 0.1);
    assert_false(mg_plan_model_at(p, 0)->fits);
    assert_false(mg_plan_ok(p));
    mg_plan_free(p);
    mg_matrix_free(m);
}

/* The answers' checkers on hostile bytes: lying chunk sizes, truncation everywhere, odd formats. */
/* probe: {min_seconds: N}: speech's shortest answer, a number of seconds (default 0.5); a bad value names itself. */
static void min_seconds_of_speech(void **state)
{
    (void)state;
    static const char ok[] = "models:\n  - {name: a, kind: tts, endpoint: http://x, probe: {min_seconds: 1}}\n"
                             "  - {name: b, kind: tts, endpoint: http://y, probe: {min_seconds: 0.25}}\n"
                             "  - {name: c, kind: tts, endpoint: http://z}\n";
    mg_matrix *m = NULL;
    char err[512] = "";
    assert_int_equal(mg_matrix_parse(ok, strlen(ok), "m.yaml", &m, err, sizeof err), MG_OK);
    assert_true(mg_matrix_model_at(m, 0)->probe.min_seconds == 1.0);
    assert_true(mg_matrix_model_at(m, 1)->probe.min_seconds == 0.25);
    assert_true(mg_matrix_model_at(m, 2)->probe.min_seconds == 0);   /* unset: the check's 0.5 s */
    mg_matrix_free(m);
    static const struct { const char *value, *want; } bad[] = {
        {"0", "m.yaml:2:67: probe.min_seconds: '0' is not a number of seconds above 0 and at most 600"},
        {"-1", "probe.min_seconds: '-1' is not"}, {"1s", "probe.min_seconds: '1s' is not"},
        {"601", "'601' is not"}, {"nan", "'nan' is not"}, {"inf", "'inf' is not"}, {"1e999", "'1e999' is not"},
        {"0x10", "'0x10' is not"}, {"''", "'' is not"}, {"[1]", "probe.min_seconds must be a single value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "models:\n  - {name: a, kind: tts, endpoint: http://x, probe: {min_seconds: %s}}\n",
                 bad[i].value);
        parses_as(yaml, strlen(yaml), MG_E_FORMAT, bad[i].want);
    }
}

static void audio_and_image_headers(void **state)
{
    (void)state;
    char what[128], why[160];
    uint8_t w[44 + 16000] = "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data";
    uint32_t n = 16000;   /* 0.5 s of 16 kHz 16-bit mono */
    memcpy(w + 40, &n, 4);
    for (size_t i = 0; i < 8000; i++)
        w[44 + 2 * i + 1] = (i / 20) % 2 ? 0x30 : 0xd0;   /* a square wave */
    assert_true(mg_check_audio(w, sizeof w, 0.5, what, sizeof what, why, sizeof why));
    assert_non_null(strstr(what, "WAV 0.50 s"));
    assert_false(mg_check_audio(w, sizeof w, 0.6, what, sizeof what, why, sizeof why));
    for (size_t cut = 0; cut < 60; cut++)          /* every truncation of the header and some data */
        assert_false(mg_check_audio(w, cut, 0.5, what, sizeof what, why, sizeof why) && cut < sizeof w);
    uint8_t stream[sizeof w];                       /* espeak-ng --stdout: a placeholder data size */
    memcpy(stream, w, sizeof w);
    uint32_t ph = 0x7FFFF000u;
    memcpy(stream + 40, &ph, 4);
    assert_true(mg_check_audio(stream, sizeof stream, 0.5, what, sizeof what, why, sizeof why));
    uint32_t lie32 = 20000;                         /* a real size larger than what came: truncated */
    memcpy(stream + 40, &lie32, 4);
    assert_false(mg_check_audio(stream, sizeof stream, 0.5, what, sizeof what, why, sizeof why));
    assert_non_null(strstr(why, "truncated"));
    uint32_t huge = 0xFFFFFFF0u;                    /* a fmt chunk that claims 4 GiB */
    uint8_t lie[64];
    memcpy(lie, w, 64);
    memcpy(lie + 16, &huge, 4);
    assert_false(mg_check_audio(lie, sizeof lie, 0.5, what, sizeof what, why, sizeof why));
    assert_true(mg_check_audio((const uint8_t *)"OggS", 4, 0.5, what, sizeof what, why, sizeof why) == 0);
    assert_non_null(strstr(why, "Ogg"));           /* recognised, but 4 bytes is no audio */
    assert_false(mg_check_audio((const uint8_t *)"<html>", 6, 0.5, what, sizeof what, why, sizeof why));
    assert_non_null(strstr(why, "not audio"));

    const char *fmt;
    uint32_t iw, ih;
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 32, 0, 64, 3, 0, 0};
    assert_true(mg_image_size(jpeg, sizeof jpeg, &fmt, &iw, &ih));
    assert_string_equal(fmt, "JPEG");
    assert_int_equal(iw, 64);
    assert_int_equal(ih, 32);
    for (size_t cut = 0; cut < sizeof jpeg - 8; cut++)
        assert_false(mg_image_size(jpeg, cut, &fmt, &iw, &ih));
    static const uint8_t loop[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xE0, 0, 0, 0xFF, 0xE0};   /* length 0 */
    assert_false(mg_image_size(loop, sizeof loop, &fmt, &iw, &ih));
}

/* A 2 GiB F16 model that fits a 2.5 GiB GPU only as Q4_K_M: plan offers exactly that (a sparse file:
 * only its header is read). */
static void quantize_fix(void **state)
{
    (void)state;
    char dir[] = "/tmp/mg-plan-XXXXXX", path[64], yaml[512], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/big.gguf", dir);
    buf b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, 1);
    u64(&b, 5);
    str(&b, "general.architecture"); u32(&b, MG_GGUF_STRING); str(&b, "llama");
    str(&b, "llama.block_count"); u32(&b, MG_GGUF_U32); u32(&b, 1);
    str(&b, "llama.embedding_length"); u32(&b, MG_GGUF_U32); u32(&b, 1024);
    str(&b, "llama.attention.head_count"); u32(&b, MG_GGUF_U32); u32(&b, 8);
    str(&b, "llama.context_length"); u32(&b, MG_GGUF_U32); u32(&b, 512);
    str(&b, "blk.0.ffn.weight"); u32(&b, 1); u64(&b, 1ull << 30); u32(&b, 1); u64(&b, 0);
    while (b.n % 32)
        put(&b, "", 1);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(b.p, 1, b.n, f);
    fclose(f);
    assert_int_equal(truncate(path, (off_t)(b.n + (2ull << 30))), 0);
    free(b.p);
    snprintf(yaml, sizeof yaml, "models:\n  - {name: big, kind: llm, endpoint: http://x, file: %s, ctx: 512}\n", path);
    mg_matrix *m = NULL;
    assert_int_equal(mg_matrix_parse(yaml, strlen(yaml), "m.yaml", &m, err, sizeof err), MG_OK);
    mg_target d = {.name = "2.5G", .mem_total = 5 * GIB / 2, .mem_free = 5 * GIB / 2};
    mg_plan *p = NULL;
    replan(&p, m, &d, 1, 0.0);
    assert_false(mg_plan_ok(p));
    assert_true(mg_plan_model_at(p, 0)->bpw > 15.9 && mg_plan_model_at(p, 0)->bpw < 16.1);
    int quant = 0;
    for (size_t i = 0; i < mg_plan_nfixes(p); i++)
        quant += strstr(mg_plan_fix(p, i), "quantize 'big' to Q4_K_M") != NULL;
    assert_int_equal(quant, 1);
    mg_target d2 = {.name = "1G", .mem_total = GIB, .mem_free = GIB};   /* too small even quantized (0.6 GiB + runtime) */
    replan(&p, m, &d2, 1, 0.0);
    for (size_t i = 0; i < mg_plan_nfixes(p); i++)
        assert_null(strstr(mg_plan_fix(p, i), "quantize"));
    mg_plan_free(p);
    mg_matrix_free(m);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_workstation_example), cmocka_unit_test(errors_name_line_and_column),
        cmocka_unit_test(oversubscribed_two_gpu_host), cmocka_unit_test(on_demand_models_that_exclude_each_other),
        cmocka_unit_test(memory_from_files_and_bad_pins), cmocka_unit_test(audio_and_image_headers),
        cmocka_unit_test(quantize_fix), cmocka_unit_test(duplicate_keys_at_every_level),
        cmocka_unit_test(lock_and_image_keys),
        cmocka_unit_test(yaml_caps_aliases_and_tags), cmocka_unit_test(hostile_inputs_up_to_the_cap),
        cmocka_unit_test(every_allocation_failing), cmocka_unit_test(min_seconds_of_speech),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
