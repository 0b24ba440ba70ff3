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
    {"ptx88_120.o",         "---------JJ"},   /* CUDA 12.9's ISA 8.8 */
    {"cuda13_75_ptx70.o",   "--NJJJJJJJJ"},   /* compute_70 PTX, but CUDA 13 has no sm_70 */
    {"sass_100a_120.o",     "------N--NN"},
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
    /* ISA 8.8 (CUDA 12.9) needs driver 575.51.03: a 570 driver, which JITs up to ISA 8.7, refuses it
     * (error 222) though minor-version compatibility runs a CUDA 12 build on it. */
    mg_report *r = scan_fixture("ptx88_120.o", "RTX 5090", "570.26", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NONE);
    assert_int_equal(r->verdicts[0].missing[0].why, MG_WHY_PTX_DRIVER);
    assert_non_null(strstr(r->verdicts[0].reason, "error 222"));
    mg_report_free(r);
    r = scan_fixture("ptx88_120.o", "RTX 5090", "575.51.03", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_JIT);
    mg_report_free(r);
    /* No driver given: JIT, stating the driver it needs. */
    r = scan_fixture("ptx_120.o", "RTX 5090", NULL, 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_JIT);
    assert_int_equal(r->verdicts[0].need_driver.major, 580);
    assert_non_null(strstr(r->verdicts[0].reason, "580.65.06"));
    mg_report_free(r);
    /* SASS needs no JIT: the driver's PTX ISA does not matter to it (570 knows ISA 8.7 only). */
    r = scan_fixture("sass_100a_120.o", "RTX 5090", "570.26", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NATIVE);
    mg_report_free(r);
}

/* A driver older than a GPU's first driver branch does not know the GPU, whatever code is there. */
static void gpus_have_minimum_drivers(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("sass_100a_120.o", "RTX 5090,sm_121,B200", "535.54.03", 0);
    for (size_t t = 0; t < 3; t++)
        assert_int_equal(r->verdicts[t].status, MG_STATUS_NONE);
    assert_non_null(strstr(r->verdicts[0].reason, "needs the 570 driver branch"));
    assert_non_null(strstr(r->verdicts[1].reason, "needs the 580 driver branch"));
    mg_report_free(r);
    r = scan_fixture("sass_100a_120.o", "RTX 5090,sm_121,B200", "570.26", 0);
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

/*
 * CUDA generations have floors: a CUDA 13 build runs on sm_75 and newer whatever older code it embeds,
 * and its runtime needs a 580 driver. What tells the CUDA: the toolkit libraries a file needs, the PTX
 * ISA, the cubins' ELF ABI.
 */
static void cuda_generations_have_floors(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("cuda13_75_ptx70.o", "V100,T4", NULL, 0);
    assert_int_equal(r->cuda_major, 13);
    assert_string_equal(r->cuda_from, "cubin ABI v2 for sm_75");
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NONE);     /* its compute_70 PTX would JIT there */
    assert_non_null(strstr(r->verdicts[0].reason, "built with CUDA 13"));
    assert_non_null(strstr(r->verdicts[0].reason, "supports sm_75 and newer: not sm_70"));
    assert_int_equal(r->verdicts[1].status, MG_STATUS_NATIVE);
    mg_report_free(r);
    /* The runtime it loads says it first: libcudart.so.13 needs the 580 branch. */
    r = scan_fixture("libtwo.so", "H100", "575.51.03", 0);
    assert_int_equal(r->cuda_major, 13);
    assert_string_equal(r->cuda_from, "needs libcudart.so.13");
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NONE);
    assert_non_null(strstr(r->verdicts[0].reason, "runtime needs the 580 driver branch or newer, not 575.51.03"));
    mg_report_free(r);
    r = scan_fixture("libtwo.so", "H100", "580.65.06", 0);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NATIVE);
    mg_report_free(r);
    /* A CUDA 12 build runs on a 570 driver (minor-version compatibility); CUDA 13's PTX does not. */
    r = scan_fixture("ptx88_120.o", "RTX 5090", "575.51.03", 0);
    assert_int_equal(r->cuda_major, 12);
    assert_int_equal(r->verdicts[0].status, MG_STATUS_JIT);
    mg_report_free(r);
    r = scan_fixture("ptx_120.o", "RTX 5090", "575.51.03", 0);
    assert_int_equal(r->cuda_major, 13);
    assert_non_null(strstr(r->verdicts[0].reason, "built with CUDA 13 (PTX ISA 9.0)"));
    mg_report_free(r);
    /* SASS for sm_100 and newer does not tell 12.8 from 13 */
    r = scan_fixture("sass_100a_120.o", "B200", NULL, 0);
    assert_int_equal(r->cuda_major, 0);
    mg_report_free(r);
    /* Sonames that tell, and those that do not. */
    assert_int_equal(mg_cuda_major_of_library("libcublasLt.so.13"), 13);
    assert_int_equal(mg_cuda_major_of_library("libcudart.so.12.8.90"), 12);
    assert_int_equal(mg_cuda_major_of_library("libcufft.so.11"), 12);
    assert_int_equal(mg_cuda_major_of_library("libcusparse.so.12"), 0);
    assert_int_equal(mg_cuda_major_of_library("libcudart.so."), 0);
    assert_int_equal(mg_cuda_major_of_library("libcudart.so.99"), 0);
    assert_int_equal(mg_cuda_major_of_library("libcudart.so.13x"), 0);
    assert_int_equal(mg_cuda_generation_of(13)->lowest_cc, 75);
    assert_int_equal(mg_cuda_generation_of(12)->min_driver, 525);
}

/* When several rules beyond the code apply, the most basic one is the reason: the host's CPU, then a
 * driver that does not know the GPU, then the CUDA generation's floor, then its runtime's driver. */
static void beyond_the_code_in_order(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("libtwo.so", "GB10", "575.51.03", 0);   /* x86-64, CUDA 13, old driver */
    assert_int_equal(r->verdicts[0].status, MG_STATUS_NONE);
    assert_non_null(strstr(r->verdicts[0].reason, "x86-64 code on an aarch64 host"));
    mg_report_free(r);
    r = scan_fixture("libtwo.so", "RTX 5090", "535.54.03", 0);   /* no sm_120 code, 535 predates the GPU and CUDA 13 */
    assert_non_null(strstr(r->verdicts[0].reason, "driver 535.54.03 does not know this GPU"));
    mg_report_free(r);
    r = scan_fixture("cuda13_75_ptx70.o", "V100", "575.51.03", 0);   /* below CUDA 13's floor, and its runtime's driver */
    assert_non_null(strstr(r->verdicts[0].reason, "supports sm_75 and newer: not sm_70"));
    mg_report_free(r);
    r = scan_fixture("cuda13_75_ptx70.o", "T4", "575.51.03", 0);
    assert_non_null(strstr(r->verdicts[0].reason, "its runtime needs the 580 driver branch"));
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
        cmocka_unit_test(cuda_generations_have_floors),
        cmocka_unit_test(beyond_the_code_in_order),
        cmocka_unit_test(cpu_architecture_counts),
        cmocka_unit_test(reasons_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
