/* test_formats.c - what the parsers read from real nvcc 13 fixtures (tests/fixtures/build.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "binaries/fmt.h"
#include "helpers.h"

/* One expected image: kind, sm, variant, codec, version. */
typedef struct want {
    uint8_t kind;
    uint16_t sm;
    uint8_t variant;
    uint8_t codec;
    uint16_t version;
} want;

static void expect(const char *file, uint32_t nfatbins, const want *w, size_t n, uint8_t where)
{
    mg_report *r = scan_fixture(file, NULL, NULL, 1);
    assert_non_null(r);
    if (r->err)
        fail_msg("%s: %s", file, r->detail ? r->detail : "error");
    assert_int_equal(r->nfatbins, nfatbins);
    assert_int_equal(r->nentries, n);
    for (size_t i = 0; i < n; i++) {
        const mg_entry *e = &r->entries[i];
        if (e->kind != w[i].kind || e->arch.sm != w[i].sm || e->arch.variant != w[i].variant ||
            e->codec != w[i].codec || (w[i].version && e->version != w[i].version))
            fail_msg("%s entry %zu: kind %u sm %u var %u codec %u ver %u", file, i, e->kind, e->arch.sm,
                     e->arch.variant, e->codec, e->version);
        if (e->kind == MG_IMAGE_SASS)   /* --deep decompressed it: the cubin agrees */
            assert_int_equal(e->cubin_sm_ok, 1);
    }
    assert_int_equal(r->fatbins[0].where, where);
    assert_int_equal(r->sm_mismatch, 0);
    mg_report_free(r);
}

#define S MG_IMAGE_SASS
#define P MG_IMAGE_PTX
#define L MG_IMAGE_LTOIR

static void plain_and_variants(void **state)
{
    (void)state;
    expect("sass_75.o", 1, (want[]){{S, 75, 0, MG_CODEC_NONE, 18}}, 1, MG_IN_NV_FATBIN);
    expect("sass_90.o", 1, (want[]){{S, 90, 0, MG_CODEC_NONE, 18}}, 1, MG_IN_NV_FATBIN);
    expect("sass_90a.o", 1, (want[]){{S, 90, MG_VAR_A, MG_CODEC_NONE, 18}}, 1, MG_IN_NV_FATBIN);
    expect("sass_100f.o", 1, (want[]){{S, 100, MG_VAR_F, MG_CODEC_NONE, 18}}, 1, MG_IN_NV_FATBIN);
    expect("ptx_90a.o", 1, (want[]){{P, 90, MG_VAR_A, MG_CODEC_ZSTD, 90}}, 1, MG_IN_NV_FATBIN);
    expect("ptx_120.o", 1, (want[]){{P, 120, 0, MG_CODEC_ZSTD, 90}}, 1, MG_IN_NV_FATBIN);
    expect("sass_86_ptx_86.o", 1, (want[]){{S, 86, 0, MG_CODEC_NONE, 18}, {P, 86, 0, MG_CODEC_ZSTD, 90}}, 2,
           MG_IN_NV_FATBIN);
    expect("mix_100a_120f.o", 1,
           (want[]){{S, 100, MG_VAR_A, MG_CODEC_NONE, 0}, {S, 120, MG_VAR_F, MG_CODEC_NONE, 0},
                    {P, 120, MG_VAR_F, MG_CODEC_ZSTD, 90}}, 3, MG_IN_NV_FATBIN);
}

static void compression(void **state)
{
    (void)state;
    expect("zstd_75_90.o", 1, (want[]){{S, 75, 0, MG_CODEC_ZSTD, 0}, {S, 90, 0, MG_CODEC_ZSTD, 0}}, 2,
           MG_IN_NV_FATBIN);
    expect("lz4_75.o", 1, (want[]){{S, 75, 0, MG_CODEC_LZ4, 0}}, 1, MG_IN_NV_FATBIN);
}

static void relocatable_and_lto(void **state)
{
    (void)state;
    expect("rdc_80.o", 1, (want[]){{S, 80, 0, MG_CODEC_ZSTD, 0}}, 1, MG_IN_RELFATBIN);
    expect("lto_90.o", 1, (want[]){{L, 90, 0, MG_CODEC_ZSTD, 0}}, 1, MG_IN_RELFATBIN);
    mg_report *r = scan_fixture("rdc_80.o", NULL, NULL, 1);
    assert_true(r->entries[0].relocatable);
    assert_int_equal(r->nrelocatable, 1);
    mg_report_free(r);
}

static void embedded_code(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("embedded_rodata.o", NULL, NULL, 1);
    assert_non_null(r);
    assert_int_equal(r->err, 0);
    assert_int_equal(r->nfatbins, 2);   /* a bare cubin and a fatbin in .rodata */
    int cubin = 0, fatbin = 0;
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        cubin += r->fatbins[i].where == MG_IN_RAW_CUBIN;
        fatbin += r->fatbins[i].where == MG_IN_EMBEDDED;
        assert_int_equal(r->fatbins[i].nkernels, 2);
    }
    assert_int_equal(cubin, 1);
    assert_int_equal(fatbin, 1);
    mg_report_free(r);
    r = scan_fixture("raw_89.cubin", NULL, NULL, 1);
    assert_int_equal(r->nfatbins, 1);
    assert_int_equal(r->entries[0].arch.sm, 89);
    mg_report_free(r);
}

static void shared_objects_and_stub(void **state)
{
    (void)state;
    mg_report *r = scan_fixture("libtwo.so", NULL, NULL, 1);
    assert_non_null(r);
    assert_int_equal(r->nfatbins, 3);
    assert_int_equal(r->fatbins[0].nkernels, 0);   /* nvcc's device-link stub */
    assert_int_equal(r->fatbins[1].nkernels, 2);
    assert_int_equal(r->fatbins[2].nkernels, 1);
    assert_int_equal(r->nempty, 1);
    assert_int_equal(r->images[MG_IMAGE_SASS], 6);
    mg_report_free(r);
}

static int grab(void *ud, const char *name, size_t len)
{
    char *out = ud;
    strncat(out, name, len);
    strcat(out, ";");
    return 0;
}

static void kernel_names(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = load("raw_89.cubin", &len);
    assert_non_null(b);
    char names[256] = "";
    uint32_t n;
    const char *why;
    assert_int_equal(mg_cubin_kernels(b, len, grab, names, &n, &why), MG_OK);
    assert_int_equal(n, 2);
    assert_non_null(strstr(names, "kern_c;"));
    assert_non_null(strstr(names, "_Z8kern_addPff;"));   /* kernels only: not the __device__ helper */
    mg_cubin cb;
    assert_int_equal(mg_cubin_info(b, len, &cb, &why), MG_OK);
    assert_int_equal(cb.sm, 89);
    assert_int_equal(cb.abi, 8);   /* CUDA 13: ABI v2 for every SM */
    free(b);
}

static void ptx_text(void **state)
{
    (void)state;
    const char *ptx = "//\n.version 9.0\n.target sm_120f\n.address_size 64\n"
                      ".visible .entry _Z3fooPf(\n.param .u64 p)\n{ ret; }\n// .entry not_me\n"
                      ".weak .entry bar()\n{ ret; }\n";
    mg_ptx p;
    assert_int_equal(mg_ptx_info((const uint8_t *)ptx, strlen(ptx), &p), MG_OK);
    assert_int_equal(p.isa, 90);
    assert_int_equal(p.target.sm, 120);
    assert_int_equal(p.target.variant, MG_VAR_F);
    uint32_t n;
    char names[128] = "";
    mg_ptx_kernels((const uint8_t *)ptx, strlen(ptx), grab, names, &n);
    assert_int_equal(n, 2);   /* not the one in a comment */
    assert_non_null(strstr(names, "_Z3fooPf;"));
    assert_non_null(strstr(names, "bar;"));
}

/* Numbers in PTX text are not read modulo 2^32 (or 2^16): 4294967304 is not 8, sm_70000 is not sm_4464. */
static void ptx_numbers_do_not_wrap(void **state)
{
    (void)state;
    const char *v = ".version 4294967304.0\n.target sm_90\n";
    mg_ptx p;
    assert_int_equal(mg_ptx_info((const uint8_t *)v, strlen(v), &p), MG_E_FORMAT);   /* no ISA 8.0 */
    assert_int_equal(p.isa, 0);
    v = ".version 8.4294967301\n.target sm_90\n";
    assert_int_equal(mg_ptx_info((const uint8_t *)v, strlen(v), &p), MG_E_FORMAT);   /* no ISA 8.5 */
    v = ".version 0008.05\n.target sm_70000\n";
    assert_int_equal(mg_ptx_info((const uint8_t *)v, strlen(v), &p), MG_OK);
    assert_int_equal(p.isa, 85);   /* leading zeros are still the number */
    assert_int_equal(p.target.sm, 0xffff);   /* out of range, as a fatbin's arch is */
}

static void wheel(void **state)
{
    (void)state;
    const char *p = FIXTURES "/tiny-0.1-cp311-cp311-linux_x86_64.whl";
    mg_scan_opts o = {0};
    mg_scan_result res;
    assert_int_equal(mg_scan_paths(&o, &p, 1, &res), MG_OK);
    assert_int_equal(res.nreports, 2);   /* the deflated .so and the stored .o; not __init__.py */
    int so = 0, stored = 0;
    for (size_t i = 0; i < res.nreports; i++) {
        so += strstr(res.reports[i]->path, "!tiny/libpartial.so") != NULL;
        stored += strstr(res.reports[i]->path, "!tiny/stored_90a.o") != NULL;
        assert_int_equal(res.reports[i]->err, 0);
    }
    assert_int_equal(so, 1);
    assert_int_equal(stored, 1);
    mg_scan_result_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_variants), cmocka_unit_test(compression),
        cmocka_unit_test(relocatable_and_lto), cmocka_unit_test(embedded_code),
        cmocka_unit_test(shared_objects_and_stub), cmocka_unit_test(kernel_names),
        cmocka_unit_test(ptx_text), cmocka_unit_test(ptx_numbers_do_not_wrap),
        cmocka_unit_test(wheel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
