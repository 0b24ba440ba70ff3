/* test_rules.c - the compatibility rules, the version tables and target parsing, one case per rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "binaries/compat.h"

static mg_arch A(uint16_t sm, uint8_t v) { return (mg_arch){sm, v}; }

static void sass_rules(void **state)
{
    (void)state;
    /* plain: same major, minor >= */
    assert_true(mg_sass_runs(A(80, 0), 80));
    assert_true(mg_sass_runs(A(80, 0), 86));
    assert_true(mg_sass_runs(A(80, 0), 89));
    assert_false(mg_sass_runs(A(86, 0), 80));
    assert_false(mg_sass_runs(A(80, 0), 90));
    assert_false(mg_sass_runs(A(90, 0), 100));
    assert_true(mg_sass_runs(A(120, 0), 121));   /* GB10 runs sm_120 SASS */
    assert_true(mg_sass_runs(A(100, 0), 103));   /* B300 runs sm_100 SASS */
    assert_false(mg_sass_runs(A(121, 0), 120));
    /* a: exactly one capability */
    assert_true(mg_sass_runs(A(90, MG_VAR_A), 90));
    assert_false(mg_sass_runs(A(100, MG_VAR_A), 103));
    assert_false(mg_sass_runs(A(120, MG_VAR_A), 121));
    /* f: the family */
    assert_true(mg_sass_runs(A(100, MG_VAR_F), 103));
    assert_true(mg_sass_runs(A(120, MG_VAR_F), 121));
    assert_false(mg_sass_runs(A(100, MG_VAR_F), 110));
    assert_false(mg_sass_runs(A(103, MG_VAR_F), 100));
    /* Thor: sm_101 (CUDA 12.x) is sm_110 under CUDA 13 */
    assert_true(mg_sass_runs(A(101, 0), 110));
}

static void ptx_rules(void **state)
{
    (void)state;
    assert_true(mg_ptx_jits(A(90, 0), 90));
    assert_true(mg_ptx_jits(A(90, 0), 120));
    assert_true(mg_ptx_jits(A(75, 0), 121));
    assert_false(mg_ptx_jits(A(90, 0), 89));
    assert_true(mg_ptx_jits(A(90, MG_VAR_A), 90));
    assert_false(mg_ptx_jits(A(90, MG_VAR_A), 100));   /* a PTX is not forward-compatible */
    assert_true(mg_ptx_jits(A(120, MG_VAR_F), 121));
    assert_false(mg_ptx_jits(A(100, MG_VAR_F), 120));
}

static void driver_table(void **state)
{
    (void)state;
    mg_driver d;
    assert_int_equal(mg_driver_parse("580.65.06", &d), MG_OK);
    assert_int_equal(d.major, 580);
    assert_int_equal(d.minor, 65);
    assert_int_equal(d.patch, 6);
    assert_int_not_equal(mg_driver_parse("580.x", &d), MG_OK);
    assert_int_not_equal(mg_driver_parse("", &d), MG_OK);
    assert_int_not_equal(mg_driver_parse("99999999", &d), MG_OK);
    /* PTX ISA -> CUDA -> driver */
    const mg_cuda_release *r = mg_cuda_for_ptx(90);
    assert_non_null(r);
    assert_int_equal(r->cuda, 130);
    assert_int_equal(r->min_driver.major, 580);
    assert_int_equal(mg_cuda_for_ptx(87)->cuda, 128);
    assert_int_equal(mg_cuda_for_ptx(86)->cuda, 128);   /* ISA 8.6 first shipped in 12.8 */
    assert_null(mg_cuda_for_ptx(99));
    /* driver -> newest CUDA it runs */
    assert_int_equal(mg_driver_parse("570.124.06", &d), MG_OK);
    assert_int_equal(mg_cuda_for_driver(d)->cuda, 128);
    assert_int_equal(mg_driver_parse("580", &d), MG_OK);   /* a branch */
    assert_int_equal(mg_cuda_for_driver(d)->cuda, 130);
    assert_int_equal(mg_driver_parse("575.51.02", &d), MG_OK);   /* just before 12.9 GA */
    assert_int_equal(mg_cuda_for_driver(d)->cuda, 128);
    assert_false(mg_driver_knows_isa(d, 90));
    assert_true(mg_driver_knows_isa(d, 87));
    mg_driver unknown = {0, 0, 0};
    assert_true(mg_driver_knows_isa(unknown, 92));
}

static void table_is_sorted(void **state)
{
    (void)state;
    size_t n;
    const mg_cuda_release *t = mg_cuda_table(&n);
    for (size_t i = 1; i < n; i++) {
        assert_true(t[i].cuda > t[i - 1].cuda);
        assert_true(t[i].ptx_isa >= t[i - 1].ptx_isa);
        assert_true(mg_driver_cmp(t[i].min_driver, t[i - 1].min_driver) > 0);
    }
}

static void gpu_names(void **state)
{
    (void)state;
    struct { const char *name; uint16_t cc; } cases[] = {
        {"GTX 1080 Ti", 61}, {"v100", 70}, {"T4", 75}, {"A100", 80}, {"a10", 86}, {"RTX 3090", 86},
        {"rtx4090", 89}, {"L4", 89}, {"L40S", 89}, {"H100", 90}, {"NVIDIA H100 80GB HBM3", 90}, {"h200", 90},
        {"GH200", 90}, {"B200", 100}, {"B300", 103}, {"GB10", 121}, {"DGX Spark", 121}, {"RTX 5090", 120},
        {"NVIDIA GeForce RTX 5080", 120}, {"RTX PRO 6000 Blackwell", 120}, {"rtx pro 6000", 120},
        {"Jetson Orin", 87}, {"Jetson Thor", 110}, {"A100-SXM4-80GB", 80},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const mg_gpu_info *g = mg_gpu_find(cases[i].name);
        assert_non_null(g);
        if (g->cc != cases[i].cc)
            fail_msg("%s: cc %u, want %u", cases[i].name, g->cc, cases[i].cc);
    }
    assert_null(mg_gpu_find("Voodoo 2"));
    assert_null(mg_gpu_find(""));
}

static void targets(void **state)
{
    (void)state;
    mg_target t[64];
    size_t n;
    char err[256];
    assert_int_equal(mg_targets_parse("sm_90, 12.1,RTX 5090,sm_100a", t, 64, &n, err, sizeof err), MG_OK);
    assert_int_equal(n, 4);
    assert_int_equal(t[0].cc, 90);
    assert_int_equal(t[1].cc, 121);
    assert_int_equal(t[2].cc, 120);
    assert_string_equal(t[2].name, "RTX 5090");
    assert_int_equal(t[3].cc, 100);
    assert_int_equal(mg_targets_parse("RTX 5900", t, 64, &n, err, sizeof err), MG_E_NOTFOUND);
    assert_non_null(strstr(err, "RTX 5090"));   /* suggests the near name */
    assert_int_equal(mg_targets_parse("sm_9", t, 64, &n, err, sizeof err), MG_E_NOTFOUND);
    assert_int_equal(mg_targets_parse("", t, 64, &n, err, sizeof err), MG_E_ARG);
    assert_int_equal(mg_targets_parse("all", t, 64, &n, err, sizeof err), MG_OK);
    assert_true(n >= 12);
    assert_int_equal(mg_targets_parse("all", t, 3, &n, err, sizeof err), MG_E_LIMIT);
}

static mg_entry E(uint8_t kind, uint16_t sm, uint8_t var, uint16_t ver)
{
    mg_entry e = {0};
    e.kind = kind;
    e.arch = A(sm, var);
    e.version = ver;
    return e;
}

static void fatbin_judgment(void **state)
{
    (void)state;
    mg_target t = {.name = "sm_120", .cc = 120};
    mg_entry e[3] = {E(MG_IMAGE_SASS, 80, 0, 18), E(MG_IMAGE_SASS, 90, 0, 18), E(MG_IMAGE_PTX, 90, 0, 90)};
    mg_fb_judgment j = mg_judge_fatbin(e, 3, &t);
    assert_int_equal(j.level, MG_LV_JIT);
    assert_int_equal(j.isa, 90);
    /* a driver too old for ISA 9.0: error 222 */
    assert_int_equal(mg_driver_parse("575.51.03", &t.driver), MG_OK);
    j = mg_judge_fatbin(e, 3, &t);
    assert_int_equal(j.level, MG_LV_PTX_DRIVER);
    assert_int_equal(j.why, MG_WHY_PTX_DRIVER);
    /* SASS wins over PTX */
    t.cc = 90;
    assert_int_equal(mg_judge_fatbin(e, 3, &t).level, MG_LV_NATIVE);
    /* only arch-specific code for another GPU */
    mg_entry a[1] = {E(MG_IMAGE_SASS, 90, MG_VAR_A, 18)};
    t.cc = 100;
    j = mg_judge_fatbin(a, 1, &t);
    assert_int_equal(j.level, MG_LV_NONE);
    assert_int_equal(j.why, MG_WHY_ARCH_SPECIFIC);
    /* LTO-IR is never loadable by itself */
    mg_entry l[1] = {E(MG_IMAGE_LTOIR, 90, 0, 0)};
    t.cc = 90;
    assert_int_equal(mg_judge_fatbin(l, 1, &t).level, MG_LV_LTOIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sass_rules),      cmocka_unit_test(ptx_rules),   cmocka_unit_test(driver_table),
        cmocka_unit_test(table_is_sorted), cmocka_unit_test(gpu_names),   cmocka_unit_test(targets),
        cmocka_unit_test(fatbin_judgment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
