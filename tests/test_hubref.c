/* test_hubref.c - what names a hub repository (mg_hub_parse), and to which origins a token goes (mg_remote_token). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers.h"
#include "models/formats.h"

static int parse(const char *s, mg_hub_ref *r)
{
    char err[256] = "";
    int rc = mg_hub_parse(s, r, err, sizeof err);
    if (rc < 0)
        assert_true(err[0] != 0);   /* a malformed reference always says why */
    return rc;
}

static void hf_references(void **state)
{
    (void)state;
    mg_hub_ref r;
    unsetenv("HF_ENDPOINT");
    assert_int_equal(parse("hf://TheBloke/Llama-2-7B-GGUF", &r), 1);
    assert_string_equal(r.repo, "TheBloke/Llama-2-7B-GGUF");
    assert_string_equal(r.revision, "main");
    assert_string_equal(r.endpoint, "https://huggingface.co");
    assert_int_equal(parse("hf://org/repo@v1.0", &r), 1);
    assert_string_equal(r.revision, "v1.0");
    assert_int_equal(parse("hf://org/repo@refs/pr/1", &r), 1);
    assert_string_equal(r.revision, "refs/pr/1");
    assert_int_equal(parse("hf://org/repo/", &r), 1);
    assert_string_equal(r.repo, "org/repo");
    const char *bad[] = {"hf://", "hf://org", "hf://org/repo/extra", "hf://org/repo@", "hf://org/repo@../../x",
                         "hf://../repo", "hf://org/re po", "hf://org/repo@a b", "hf:///repo"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], &r), -1);
}

static void page_urls(void **state)
{
    (void)state;
    mg_hub_ref r;
    unsetenv("HF_ENDPOINT");
    assert_int_equal(parse("https://huggingface.co/unsloth/Qwen3-8B-GGUF", &r), 1);
    assert_string_equal(r.repo, "unsloth/Qwen3-8B-GGUF");
    assert_int_equal(parse("https://huggingface.co/unsloth/Qwen3-8B-GGUF/", &r), 1);
    assert_int_equal(parse("https://huggingface.co/unsloth/Qwen3-8B-GGUF/tree/dev", &r), 1);
    assert_string_equal(r.revision, "dev");
    /* a file, another kind of repository, the hub's own pages, other hosts, paths: not a model repository */
    const char *no[] = {"https://huggingface.co/unsloth/Qwen3-8B-GGUF/resolve/main/x.gguf",
                        "https://huggingface.co/unsloth/Qwen3-8B-GGUF/blob/main/x.gguf",
                        "https://huggingface.co/datasets/org/set", "https://huggingface.co/spaces/org/app",
                        "https://huggingface.co/api/models", "https://huggingface.co/unsloth",
                        "https://huggingface.co.evil.example/org/repo", "https://example.com/org/repo",
                        "/models/org/repo", "org/repo.gguf"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(parse(no[i], &r), 0);
    setenv("HF_ENDPOINT", "http://mirror.local:8080/", 1);   /* a mirror: its pages too, no trailing '/' kept */
    assert_int_equal(parse("http://mirror.local:8080/org/repo", &r), 1);
    assert_string_equal(r.endpoint, "http://mirror.local:8080");
    assert_int_equal(parse("hf://org/repo", &r), 1);
    assert_string_equal(r.endpoint, "http://mirror.local:8080");
    unsetenv("HF_ENDPOINT");
}

static void tokens_stay_home(void **state)
{
    (void)state;
    unsetenv("HF_ENDPOINT");
    unsetenv("MLGATE_TOKEN");
    setenv("HF_TOKEN", "hf_secret", 1);
    const char *home[] = {"https://huggingface.co/org/repo/resolve/main/x.gguf", "https://HuggingFace.co:443/api/x"};
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(mg_remote_token(home[i]), "hf_secret");
    const char *away[] = {"https://evil.example/x.gguf", "http://huggingface.co/x", "https://huggingface.co:444/x",
                          "https://huggingface.co.evil.example/x", "https://huggingface.co@evil.example/x",
                          "https://user@evil.example/x", "ftp://huggingface.co/x", "https://cdn-lfs.hf.co/x"};
    for (size_t i = 0; i < sizeof away / sizeof away[0]; i++)
        assert_null(mg_remote_token(away[i]));
    setenv("HF_ENDPOINT", "http://127.0.0.1:8000", 1);
    assert_string_equal(mg_remote_token("http://127.0.0.1:8000/api/models/a/b/tree/main"), "hf_secret");
    assert_null(mg_remote_token("http://127.0.0.1:8001/blob"));
    assert_null(mg_remote_token("https://huggingface.co/x"));   /* the mirror is the hub now */
    setenv("MLGATE_TOKEN", "mine", 1);   /* mlgate's own token: for the URL it is given, any host */
    assert_string_equal(mg_remote_token("https://evil.example/x.gguf"), "mine");
    unsetenv("MLGATE_TOKEN");
    unsetenv("HF_TOKEN");
    unsetenv("HF_ENDPOINT");
    assert_null(mg_remote_token("https://huggingface.co/x"));
}

static void origins(void **state)
{
    (void)state;
    assert_true(mg_same_origin("https://a.example/x", "https://A.EXAMPLE:443/y?z"));
    assert_true(mg_same_origin("http://a.example:80/x", "http://a.example"));
    assert_false(mg_same_origin("http://a.example/x", "https://a.example/x"));
    assert_false(mg_same_origin("https://a.example:8443/", "https://a.example/"));
    assert_false(mg_same_origin("https://a.example:99999/", "https://a.example:99999/"));
    assert_false(mg_same_origin("https:///x", "https:///x"));
    assert_false(mg_same_origin("notaurl", "notaurl"));
}

static void ftype_names(void **state)
{
    (void)state;
    assert_string_equal(mg_gguf_ftype_name(15), "Q4_K_M");
    assert_string_equal(mg_gguf_ftype_name(7), "Q8_0");
    assert_string_equal(mg_gguf_ftype_name(1024), "GUESSED");
    assert_string_equal(mg_gguf_ftype_name(99999), "?");
    assert_string_equal(mg_hub_place_name(MG_HUB_PARTIAL), "partial");
    assert_string_equal(mg_hub_place_name((mg_hub_place)77), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hf_references), cmocka_unit_test(page_urls), cmocka_unit_test(tokens_stay_home),
        cmocka_unit_test(origins), cmocka_unit_test(ftype_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
