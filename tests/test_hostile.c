/*
 * test_hostile.c - hostile inputs: truncations, lying sizes, huge counts, loops,
 * zip bombs, random corruption. Each gives a per-file error or less data, never a
 * crash, a hang or unbounded memory (run under ASan/UBSan in CI).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binaries/compat.h"
#include "core/alloc.h"
#include "binaries/fmt.h"
#include "helpers.h"
#include "lcg.h"

static mg_target targets[3];
static mg_scan_opts opts;

static int setup(void **state)
{
    (void)state;
    size_t n;
    char err[128];
    mg_targets_parse("sm_75,sm_90,sm_120", targets, 3, &n, err, sizeof err);
    opts.targets = targets;
    opts.ntargets = n;
    return 0;
}

static mg_report *scan(const unsigned char *b, size_t len)
{
    mg_report *r = mg_scan_buffer(&opts, "hostile", b, len);
    assert_non_null(r);
    return r;
}

static void w32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void w64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }

/* Offset of the first fatbin of a fixture, from a clean scan. */
static size_t first_fatbin(const unsigned char *b, size_t len)
{
    mg_report *r = scan(b, len);
    assert_true(r->nfatbins > 0);
    size_t off = (size_t)r->fatbins[0].off;
    mg_report_free(r);
    return off;
}

static void truncated_everywhere(void **state)
{
    (void)state;
    const char *files[] = {"libtwo.so", "zstd_75_90.o", "lz4_75.o", "embedded_rodata.o", "mix_100a_120f.o"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        unsigned char *b = load(files[f], &len);
        assert_non_null(b);
        for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 97) {
            /* A fresh copy of exactly `cut` bytes, so ASan sees any read past the end. */
            unsigned char *c = malloc(cut ? cut : 1);
            memcpy(c, b, cut);
            mg_report_free(scan(c, cut));
            free(c);
        }
        free(b);
    }
}

static void lying_fatbin_headers(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = load("sass_86_ptx_86.o", &len);
    size_t fb = first_fatbin(b, len);
    struct { size_t at; int bytes; uint64_t v; } lies[] = {
        {fb + 6, 2, 0},                      /* header_size 0 */
        {fb + 6, 2, 0xffff},                 /* header_size huge */
        {fb + 8, 8, UINT64_MAX},             /* fatSize near 2^64 */
        {fb + 8, 8, UINT64_MAX - 15},        /* fatSize that wraps with the header */
        {fb + 16 + 4, 4, 0},                 /* entry header_size 0: would loop */
        {fb + 16 + 4, 4, 0xffffffff},        /* entry header_size huge */
        {fb + 16 + 8, 8, UINT64_MAX},        /* payload size near 2^64 */
        {fb + 16 + 8, 8, UINT64_MAX - 0x3f}, /* payload size that wraps to zero advance */
        {fb + 16 + 0x38, 8, 1ull << 40},     /* uncompressed size 1 TiB */
        {fb + 16 + 0x10, 4, 0xffffffff},     /* compressed size past the payload */
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        unsigned char *c = malloc(len);
        memcpy(c, b, len);
        if (lies[i].bytes == 2) {
            c[lies[i].at] = (unsigned char)lies[i].v;
            c[lies[i].at + 1] = (unsigned char)(lies[i].v >> 8);
        } else if (lies[i].bytes == 4) {
            w32(c + lies[i].at, (uint32_t)lies[i].v);
        } else {
            w64(c + lies[i].at, lies[i].v);
        }
        mg_report *r = scan(c, len);
        /* Either the fatbin is refused (and said so) or it is read within bounds. */
        if (r->nfatbins == 0)
            assert_non_null(r->detail);
        mg_report_free(r);
        free(c);
    }
    free(b);
}

static void many_entries_are_capped(void **state)
{
    (void)state;
    /* A fatbin of 100000 64-byte empty entries: more than the per-fatbin cap. */
    size_t n = 100000, len = 16 + n * 64;
    unsigned char *c = calloc(1, len);
    w32(c, MG_FATBIN_MAGIC);
    c[4] = 1;
    c[6] = 16;
    w64(c + 8, n * 64);
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = c + 16 + i * 64;
        e[0] = 2;
        w32(e + 4, 64);
        w32(e + 0x1c, 90);
    }
    mg_entries es = {0};
    es.max = 1u << 22;
    uint64_t end;
    const char *why;
    assert_int_equal(mg_fatbin_parse(c, len, 0, &es, &end, &why), MG_E_LIMIT);
    assert_int_equal(es.n, 0);
    free(es.v);
    free(c);
}

static void corrupt_elf_tables(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = load("libtwo.so", &len);
    struct { size_t at; int bytes; uint64_t v; } lies[] = {
        {0x28, 8, UINT64_MAX - 10}, /* e_shoff past EOF (and wrapping) */
        {0x3c, 2, 0},               /* e_shnum 0: extended numbering from section 0 */
        {0x3c, 2, 0xffff},          /* e_shnum huge */
        {0x3e, 2, 0xfffe},          /* e_shstrndx out of range */
        {0x3a, 2, 8},               /* e_shentsize too small */
        {4, 1, 1},                  /* 32-bit */
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        unsigned char *c = malloc(len);
        memcpy(c, b, len);
        for (int k = 0; k < lies[i].bytes; k++)
            c[lies[i].at + (size_t)k] = (unsigned char)(lies[i].v >> (8 * k));
        mg_report_free(scan(c, len));
        free(c);
    }
    /* Section 0 claiming 2^40 sections under extended numbering. */
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    uint64_t shoff = 0;
    for (int k = 0; k < 8; k++)
        shoff |= (uint64_t)c[0x28 + k] << (8 * k);
    c[0x3c] = c[0x3d] = 0;
    w64(c + shoff + 32, 1ull << 40);
    mg_report *r = scan(c, len);
    assert_int_equal(r->err, MG_E_LIMIT);
    mg_report_free(r);
    free(c);
    free(b);
}


static void random_corruption(void **state)
{
    (void)state;
    const char *files[] = {"libtwo.so", "zstd_75_90.o", "lz4_75.o", "mix_100a_120f.o"};
    unsigned seed = 12345;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        unsigned char *b = load(files[f], &len);
        size_t fb = first_fatbin(b, len);
        for (int iter = 0; iter < 400; iter++) {
            unsigned char *c = malloc(len);
            memcpy(c, b, len);
            for (int k = 0; k < 8; k++) {
                seed = lcg_next(seed);
                size_t at = fb + (seed >> 8) % (len - fb < 2048 ? len - fb : 2048);
                c[at] = (unsigned char)(seed >> 3);
            }
            mg_report_free(scan(c, len));
            free(c);
        }
        free(b);
    }
}

/* Builds a one-member zip whose header claims `usize` bytes; its data inflates to nothing, or (elf) to
 * the 64 bytes of an ELF header in one stored deflate block. */
static unsigned char *tiny_zip(uint64_t usize, uint32_t data_off_shift, int elf, size_t *len)
{
    const char *name = "lib.so";
    size_t nl = strlen(name), dlen = elf ? 5 + 64 : 16;
    *len = 30 + nl + dlen + 46 + nl + 22;
    unsigned char *z = calloc(1, *len);
    unsigned char *p = z;
    w32(p, 0x04034b50);
    p[8] = 8;   /* deflate */
    w32(p + 18, (uint32_t)dlen);
    w32(p + 22, (uint32_t)(usize > 0xffffffffu ? 0xffffffffu : usize));
    p[26] = (unsigned char)nl;
    memcpy(p + 30, name, nl);
    memset(p + 30 + nl, 0x00, dlen);   /* a stored-block header claiming 0 bytes: inflates to nothing */
    if (elf)   /* the final stored block: LEN 64, NLEN ~64, then "\x7fELF..." */
        memcpy(p + 30 + nl, "\x01\x40\x00\xbf\xff\x7f" "ELF\x02\x01\x01", 12);
    unsigned char *cd = p + 30 + nl + dlen;
    w32(cd, 0x02014b50);
    cd[10] = 8;
    w32(cd + 20, (uint32_t)dlen);
    w32(cd + 24, (uint32_t)(usize > 0xffffffffu ? 0xffffffffu : usize));
    cd[28] = (unsigned char)nl;
    w32(cd + 42, data_off_shift);
    memcpy(cd + 46, name, nl);
    unsigned char *eo = cd + 46 + nl;
    w32(eo, 0x06054b50);
    eo[8] = eo[10] = 1;
    w32(eo + 12, (uint32_t)(46 + nl));
    w32(eo + 16, (uint32_t)(30 + nl + dlen));
    return z;
}

/* Writes z (freed here) to path and scans that file alone, members capped at max_member. */
static void scan_bytes(const char *path, unsigned char *z, size_t len, uint64_t max_member, mg_scan_result *res)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(z, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(z);
    mg_scan_opts o = opts;
    o.max_member = max_member;
    assert_int_equal(mg_scan_paths(&o, &path, 1, res), MG_OK);
}

static void zip_bombs_and_lies(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-hostile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct { uint64_t usize; uint32_t off; int elf; } cases[] = {
        {4000000000u, 0, 0},   /* claims 4 GB from 16 bytes: over --max-member, refused */
        {1000, 0, 0},          /* claims 1000 bytes, inflates to fewer */
        {1000, 0x7fffffff, 0}, /* local header offset past the end */
        {900000, 0, 1},        /* an ELF claiming 900 kB from 69 bytes: more than deflate expands to, nothing held */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        unsigned char *z = tiny_zip(cases[i].usize, cases[i].off, cases[i].elf, &len);
        char path[128];
        snprintf(path, sizeof path, "%s/bomb%zu.whl", dir, i);
        mg_scan_result res;
        scan_bytes(path, z, len, 1u << 20, &res);
        assert_int_equal(res.nreports, 1);   /* one error report, nothing else */
        if (cases[i].elf)   /* refused by what its bytes can hold, before a buffer of 900 kB is made */
            assert_non_null(strstr(res.reports[0]->detail, "more bytes than deflate can expand"));
        assert_int_not_equal(res.reports[0]->err, 0);
        assert_non_null(res.reports[0]->detail);
        mg_scan_result_free(&res);
        unlink(path);
    }
    rmdir(dir);
}

static void odd_files_in_a_tree(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlgate-tree-XXXXXX", p[256], q[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/loop", dir);
    assert_int_equal(symlink("..", p), 0);          /* a loop, if it were followed */
    snprintf(p, sizeof p, "%s/outside", dir);
    assert_int_equal(symlink("/usr/lib", p), 0);     /* out of the tree */
    snprintf(p, sizeof p, "%s/fifo", dir);
    assert_int_equal(mkfifo(p, 0600), 0);            /* would block a naive open() */
    snprintf(p, sizeof p, "%s/sub/libtwo.so", dir);
    snprintf(q, sizeof q, "%s/libtwo.so", FIXTURES);
    size_t len;
    unsigned char *b = load("libtwo.so", &len);
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    snprintf(p, sizeof p, "%s/junk.so", dir);
    f = fopen(p, "wb");
    fputs("\177ELF this is not really an ELF file but it is long enough to look at twice", f);
    fclose(f);
    const char *path = dir;
    mg_scan_result res;
    assert_int_equal(mg_scan_paths(&opts, &path, 1, &res), MG_OK);
    assert_int_equal(res.skipped, 3);   /* two symlinks and the FIFO */
    assert_int_equal(res.nreports, 2);  /* libtwo.so, and junk.so as an error */
    int errors = 0;
    for (size_t i = 0; i < res.nreports; i++)
        errors += res.reports[i]->err != 0;
    assert_int_equal(errors, 1);
    mg_scan_result_free(&res);
    /* A path that does not exist is a per-path error, not a failed scan. */
    const char *both[] = {"/nonexistent/mlgate", dir};
    assert_int_equal(mg_scan_paths(&opts, both, 2, &res), MG_OK);
    assert_int_equal(res.nreports, 3);
    mg_scan_result_free(&res);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Not a zip after all: no end record in a file shorter than the 64 KiB the search looks back over (the
 * backwards loop stepped its index past 0; UBSan's unsigned-integer-overflow stops there). */
/* A 10 KB ELF whose fatbin entry claims an image of up to 1 GiB: the format's bound (LZ4 expands at
 * most 255-fold, zstd 32768-fold and no more than its frame says) refuses it before any buffer. */
static void compressed_image_claiming_more(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/../fuzz/crashes/scan/scan-claimed-size", FIXTURES);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char b[1 << 16];
    size_t len = fread(b, 1, sizeof b, f);
    fclose(f);
    mg_fail_alloc_at(0);
    mg_report *r = scan(b, len);
    assert_true(mg_alloc_bytes() < (16u << 20));
    assert_non_null(r);
    mg_report_free(r);
}

static void zip_without_end_record(void **state)
{
    (void)state;
    unsigned char z[100] = {0x50, 0x4b, 0x03, 0x04};
    mg_zip zip;
    const char *why = NULL;
    assert_int_equal(mg_zip_open(&zip, z, sizeof z, &why), MG_E_FORMAT);
    assert_non_null(why);
}

/* A stored member whose header claims 1 GiB with 64 bytes stored: its ELF header's section table lies
 * 512 MiB on. It was scanned in place over the claimed size, reading far past the archive's mapping. */
static void stored_member_shorter_than_declared(void **state)
{
    (void)state;
    const char *name = "lib.so";
    size_t nl = strlen(name), dlen = 64, len = 30 + nl + dlen + 46 + nl + 22;
    unsigned char *z = calloc(1, len), *p = z;
    uint32_t usize = 1u << 30;
    w32(p, 0x04034b50);
    w32(p + 18, (uint32_t)dlen);
    w32(p + 22, usize);
    p[26] = (unsigned char)nl;
    memcpy(p + 30, name, nl);
    unsigned char *elf = p + 30 + nl;
    memcpy(elf, "\177ELF\2\1\1", 7);
    elf[18] = 62;                 /* x86-64 */
    w64(elf + 0x28, 1ull << 29);  /* e_shoff: 512 MiB in */
    elf[0x3a] = 64;               /* e_shentsize */
    elf[0x3c] = 1;                /* e_shnum */
    unsigned char *cd = elf + dlen;
    w32(cd, 0x02014b50);
    w32(cd + 20, (uint32_t)dlen);
    w32(cd + 24, usize);
    cd[28] = (unsigned char)nl;
    memcpy(cd + 46, name, nl);
    unsigned char *eo = cd + 46 + nl;
    w32(eo, 0x06054b50);
    eo[8] = eo[10] = 1;
    w32(eo + 12, (uint32_t)(46 + nl));
    w32(eo + 16, (uint32_t)(30 + nl + dlen));
    char dir[] = "/tmp/mlgate-stored-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lie.whl", dir);
    mg_scan_result res;
    scan_bytes(path, z, len, 2u << 30, &res);
    assert_int_equal(res.nreports, 1);
    assert_int_equal(res.reports[0]->err, MG_E_TRUNCATED);
    assert_non_null(strstr(res.reports[0]->detail, "stored"));
    mg_scan_result_free(&res);
    unlink(path);
    rmdir(dir);
}

/* A cubin with k symbol-table sections over one table of n kernel symbols. */
static unsigned char *shared_symtabs(uint32_t k, uint32_t n, size_t *len)
{
    size_t shoff = 64, nsec = 2 + k, str = shoff + nsec * 64, sym = str + 8;
    *len = sym + (size_t)n * 24;
    unsigned char *b = calloc(1, *len);
    memcpy(b, "\177ELF\2\1\1", 7);
    b[16] = 2;                    /* ET_EXEC */
    b[18] = 190;                  /* EM_CUDA */
    w64(b + 0x28, shoff);
    b[0x3a] = 64;
    b[0x3c] = (unsigned char)nsec;
    unsigned char *s1 = b + shoff + 64;   /* section 1: the names */
    w32(s1 + 4, 3);
    w64(s1 + 24, str);
    w64(s1 + 32, 8);
    memcpy(b + str, "\0kern", 5);
    for (uint32_t i = 0; i < k; i++) {   /* sections 2..: all the same symbol table */
        unsigned char *h = b + shoff + (2 + i) * 64;
        w32(h + 4, MG_SHT_SYMTAB);
        w64(h + 24, sym);
        w64(h + 32, (uint64_t)n * 24);
        w32(h + 40, 1);
        w64(h + 56, 24);
    }
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *e = b + sym + (size_t)i * 24;
        w32(e, 1);
        e[4] = 0x12;   /* global function */
        e[5] = 0x10;   /* STO_CUDA_ENTRY */
    }
    return b;
}

/* The symbol cap is per cubin, not per table: tables sharing their data cannot count more (with 2^20
 * of them the uint32_t count wrapped, after 2^42 steps). */
static void shared_symbol_tables_are_capped(void **state)
{
    (void)state;
    size_t len;
    uint32_t count;
    const char *why = NULL;
    unsigned char *b = shared_symtabs(1, 1u << 20, &len);
    assert_int_equal(mg_cubin_kernels(b, len, NULL, NULL, &count, &why), MG_OK);
    assert_int_equal(count, 1u << 20);
    free(b);
    b = shared_symtabs(5, 1u << 20, &len);   /* 5 x 2^20 > the 2^22 cap */
    assert_int_equal(mg_cubin_kernels(b, len, NULL, NULL, &count, &why), MG_E_LIMIT);
    assert_non_null(why);
    free(b);
}

/* Three fatbins for sm_50 only, each with 2^31 - 1 kernels: on sm_90 the missing kernels are more than a
 * uint32_t holds; the sum saturates (it wrapped to 2^31 - 3). */
static void missing_kernels_saturate(void **state)
{
    (void)state;
    mg_entry e[3];
    mg_fatbin fb[3];
    memset(e, 0, sizeof e);
    memset(fb, 0, sizeof fb);
    for (uint32_t i = 0; i < 3; i++) {
        e[i].kind = MG_IMAGE_SASS;
        e[i].arch.sm = 50;
        fb[i].first = i;
        fb[i].count = 1;
        fb[i].nkernels = INT32_MAX;
    }
    mg_report r;
    memset(&r, 0, sizeof r);
    r.entries = e, r.nentries = 3, r.fatbins = fb, r.nfatbins = 3;
    mg_judge_opts jo = {0, 8, NULL, NULL, NULL};
    mg_verdict v;
    assert_int_equal(mg_judge_file(&r, &targets[1], &jo, &v), MG_OK);
    assert_int_equal(v.status, MG_STATUS_NONE);
    assert_int_equal(v.nmissing, 3);
    assert_int_equal(v.missing_kernels, UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncated_everywhere), cmocka_unit_test(lying_fatbin_headers),
        cmocka_unit_test(many_entries_are_capped), cmocka_unit_test(corrupt_elf_tables),
        cmocka_unit_test(random_corruption), cmocka_unit_test(zip_bombs_and_lies),
        cmocka_unit_test(odd_files_in_a_tree), cmocka_unit_test(zip_without_end_record),
        cmocka_unit_test(stored_member_shorter_than_declared), cmocka_unit_test(shared_symbol_tables_are_capped),
        cmocka_unit_test(missing_kernels_saturate), cmocka_unit_test(compressed_image_claiming_more),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
