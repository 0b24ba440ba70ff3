/*
 * test_verdicts.c - the verdict of every fixture on eleven GPUs, derived by hand
 * from NVIDIA's rules (docs/compat-rules.md), and the driver (PTX ISA) cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers.h"

#define GPUS "sm_61,sm_70,sm_75,sm_86,sm_89,sm_90,sm_100,sm_103,sm_110,sm_120,sm_121"

/* One letter per target above: N native, J jit, P partial, - none. */
static const struct { const char *file, *want; } table[] = {
    /*                       61 70 75 86 89 90 100 103 110 120 121 */
    {"sass_75.o",           "--N--------"},
    {"sass_90.o",           "-----N-----"},
    {"sass_90a.o",          "-----N-----"},   /* a: exactly 9.0 */
    {"ptx_90a.o",           "-----J-----"},   /* a PTX: not forward-compatible */
    {"sass_100f.o",         "------NN---"},   /* f: 10.0 and 10.3, not 11.0 */
    {"mix_100a_120f.o",     "------N--NN"},   /* 100a not on 10.3; 120f SASS on 12.1 */
    {"ptx_120.o",           "---------JJ"},
    {"sass_86_ptx_86.o",    "---NNJJJJJJ"},   /* SASS 8.6 also on 8.9; PTX JIT above */
    {"zstd_75_90.o",        "--N--N-----"},
    {"lz4_75.o",            "--N--------"},
    {"rdc_80.o",            "---NN------"},   /* relocatable-only: judged as it will be linked */
    {"libtwo.so",           "---NNN-----"},   /* the device-link stub does not count */
    {"libpartial.so",       "---NNP-----"},   /* second object lacks sm_90: launch2 fails there */
    {"libstub75.so",        "---NNN---PP"},   /* the stub's sm_75 runs nothing: none there, not partial */
    {"embedded_rodata.o",   "----NJJJJJJ"},   /* bare sm_89 cubin + the same kernels as sm_89/compute_89 */
    {"raw_89.cubin",        "----N------"},
    {"lto_90.o",            "-----------"},   /* LTO-IR alone is never loaded */
};

static char letter(int s)
{
    static const char l[] = "NJP-";
    return (unsigned)s < 4 ? l[s] : '?';
}

static void verdict_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        mg_report *r = scan_fixture(table[i].file, GPUS, NULL, 0);
        assert_non_null(r);
        assert_int_equal(r->err, 0);
        char got[16] = "";
        for (size_t t = 0; t < r->nverdicts; t++)
            got[t] = letter(r->verdicts[t].status);
        if (strcmp(got, table[i].want)) {
            print_error("%-20s got %s want %s\n", table[i].file, got, table[i].want);
            bad++;
        }
        mg_report_free(r);
    }
    assert_int_equal(bad, 0);
}

static void partial_names_the_kernel(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("libpartial.so", "H100", NULL, 0);
    const mg_verdict *v = &r->verdicts[0];
    assert_int_equal(v->status, MG_STATUS_PARTIAL);
    assert_int_equal(v->covered, 1);
    assert_int_equal(v->total, 2);
    assert_int_equal(v->nmissing, 1);
    assert_int_equal(v->missing_kernels, 1);
    assert_int_equal(v->missing[0].nnames, 1);
    assert_string_equal(v->missing[0].names[0], "_Z8kern_twoPf");
    mg_report_free(r);
}

static void ptx_needs_a_new_enough_driver(void **state)
{
    (void)state;
    /* ISA 9.0 (CUDA 13.0) needs driver 580.65.06: a 575 driver refuses it (error 222). */
    mg_report *r = scan_fixture("ptx_120.o", "RTX 5090", "575.51.03", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NONE);
    assert_int_equal(r->verdicts[0].missing[0].why, MG_WHY_PTX_DRIVER);
    assert_non_null(strstr(r->verdicts[0].reason, "error 222"));
    mg_report_free(r);
    r = scan_fixture("ptx_120.o", "RTX 5090", "580.65.06", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_JIT);
    mg_report_free(r);
    /* No driver given: JIT, stating the driver it needs. */
    r = scan_fixture("ptx_120.o", "RTX 5090", NULL, 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_JIT);
    assert_int_equal(r->verdicts[0].need_driver.major, 580);
    assert_non_null(strstr(r->verdicts[0].reason, "580.65.06"));
    mg_report_free(r);
    /* SASS needs no JIT: the driver version does not matter to it. */
    r = scan_fixture("sass_86_ptx_86.o", "RTX 3090", "525.60.13", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NATIVE);
    mg_report_free(r);
}

/* A driver older than a GPU's first driver branch does not know the GPU, whatever code is there. */
static void gpus_have_minimum_drivers(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("mix_100a_120f.o", "RTX 5090,sm_121,B200", "535.54.03", 0);
    for (size_t t = 0; t < 3; t++)
        assert_int_equal(r->verdicts[t].status, MG_STATUS_NONE);
    assert_non_null(strstr(r->verdicts[0].reason, "needs the 570 driver branch"));
    assert_non_null(strstr(r->verdicts[1].reason, "needs the 580 driver branch"));
    mg_report_free(r);
    r = scan_fixture("mix_100a_120f.o", "RTX 5090,sm_121,B200", "570.26", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NATIVE);   /* 570 knows sm_120 */
    assert_int_equal(r->verdicts[1].status, MG_STATUS_NONE);     /* GB10 needs 580 */
    assert_int_equal(r->verdicts[2].status, MG_STATUS_NATIVE);   /* B200: sm_100a */
    mg_report_free(r);
    r = scan_fixture("mix_100a_120f.o", "sm_121", "580.65.06", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NATIVE);
    mg_report_free(r);
    /* Pascal predates the table, Tegra drivers are numbered apart: no floor there. */
    r = scan_fixture("sass_86_ptx_86.o", "sm_87", "36.4", 0);
    assert_int_not_equal(r->verdicts[0].status, MG_STATUS_NONE);
    mg_report_free(r);
}

/* GB10 and GH200 are aarch64 machines: x86-64 code does not run there, whatever GPU code it holds. */
static void cpu_architecture_counts(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("libtwo.so", "GH200,H100,GB10", NULL, 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NONE);
    assert_non_null(strstr(r->verdicts[0].reason, "x86-64 code on an aarch64 host"));
    assert_int_equal(r->verdicts[1].status, MG_STATUS_NATIVE);   /* H100: both hosts; not told otherwise */
    assert_int_equal(r->verdicts[2].status, MG_STATUS_NONE);
    mg_report_free(r);
}

static void reasons_say_why(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("sass_90a.o", "B200", NULL, 0);
    assert_non_null(strstr(r->verdicts[0].reason, "arch-specific"));
    mg_report_free(r);
    r = scan_fixture("lto_90.o", "H100", NULL, 0);
    assert_non_null(strstr(r->verdicts[0].reason, "LTO-IR"));
    mg_report_free(r);
    r = scan_fixture("rdc_80.o", "A100", NULL, 0);
    assert_non_null(strstr(r->verdicts[0].reason, "nvlink"));
    mg_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verdict_table),
        cmocka_unit_test(partial_names_the_kernel),
        cmocka_unit_test(ptx_needs_a_new_enough_driver),
        cmocka_unit_test(gpus_have_minimum_drivers),
        cmocka_unit_test(cpu_architecture_counts),
        cmocka_unit_test(reasons_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
