/*
 * stream.c - one ELF file scanned as its bytes go by (a wheel member or an image layer's file, as it
 * inflates): what the scan needs is held, the rest dropped, so memory does not grow with the file.
 *
 * The file's extent is one anonymous mapping that reads as zeros where nothing was kept, so scan.c
 * reads it like any buffer. Kept: the first 16 MiB and last 4 MiB (headers, dynamic strings, and
 * where patchelf moves them), the section table and the 256 KiB before it (the section names), the
 * dynamic section and its strings, and each fatbin or embedded cubin from its magic to its end: it is
 * read (scan.c: mg_scanning_try) as soon as it is whole, then its pages are given back. Which of them
 * count is decided at the end, from the section table, exactly as a scan of the whole file would.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"
#include "core/rd.h"
#include "binaries/fmt.h"
#include "binaries/scan_int.h"

#define PREFIX (16ull << 20)
#define TAIL (4ull << 20)
#define BEFORE_SHDRS (256ull << 10)
#define MAX_TABLE (64ull << 20)     /* section table, dynamic section: more is not kept */
#define MAX_HOLD (128ull << 20)     /* the largest fatbin or cubin held whole (lib64's largest: 56 MB) */
#define MAX_HOLDS 64                /* candidates open at once (nested: cubins inside fatbins) */
#define MAX_WINDOWS 8
#define MAX_NAMES 2048u             /* library names remembered outside the windows */
#define MAX_NAME 255u
#define PAGE 4096ull
#define LAYOUT 4096ull              /* the ELF and program headers are read once this much is in */

typedef struct range {
    uint64_t lo, hi;
} range;

typedef struct hold {
    uint64_t off, end;      /* end 0: header not read yet */
    uint8_t cubin;
    uint8_t done;           /* a cubin, whole, waiting for the fatbin around it to be read */
} hold;

struct mg_stream {
    uint8_t *map;           /* the file's extent */
    uint64_t len, pos;      /* declared size; bytes fed */
    mg_scanning *sc;
    int err;
    const char *detail;
    int laid_out;           /* the ELF and program headers were read: the windows are known */
    range win[MAX_WINDOWS];
    int nwin;
    int dyn;                /* the window of the dynamic section, -1: none (read when it is whole) */
    uint64_t names_hi;      /* library names are looked for in [PREFIX, names_hi): where .dynstr may lie */
    hold h[MAX_HOLDS];
    int nh;
    uint64_t released;      /* pages below this (outside windows) were given back */
    uint8_t last[3];        /* the previous chunk's last bytes: a magic may straddle two chunks */
    size_t nlast;
    uint32_t dropped;       /* candidates past MAX_HOLDS or MAX_HOLD */
    /* library names ("\0libcudart.so.13\0") seen outside the windows: a .dynstr that lies where nothing
     * is kept (past the first 16 MiB, before the dynamic section tells where) is written back from them */
    struct { uint64_t off; uint16_t len; uint32_t at; } *names;
    uint32_t nnames;
    char *text;
    uint32_t ntext;
};

static void add_window(mg_stream *s, uint64_t lo, uint64_t n)
{
    if (lo >= s->len || s->nwin == MAX_WINDOWS)
        return;
    if (n > MAX_TABLE)
        n = MAX_TABLE;
    uint64_t hi = n > s->len - lo ? s->len : lo + n;
    s->win[s->nwin++] = (range){lo, hi};
}

mg_stream *mg_stream_new(const mg_scan_opts *o, const char *name, uint64_t size)
{
    mg_stream *s = mg_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->len = size;
    s->dyn = -1;
    s->names_hi = size;
    if (size) {
        void *m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (m == MAP_FAILED) {
            free(s);
            return NULL;
        }
        s->map = m;
        madvise(m, (size_t)size, MADV_HUGEPAGE);   /* fewer faults as fatbins come and go */
    }
    s->sc = mg_scanning_new(o, name, s->map, (size_t)size);
    if (!s->sc) {
        if (s->map)
            munmap(s->map, (size_t)size);
        free(s);
        return NULL;
    }
    add_window(s, 0, PREFIX);
    if (size > TAIL)
        add_window(s, size - TAIL, TAIL);
    return s;
}

/* The virtual address vaddr as a file offset, by the PT_LOAD segments; 0 when no segment maps it. */
static uint64_t file_off(const uint8_t *ph, uint16_t n, uint64_t vaddr)
{
    for (uint16_t i = 0; i < n; i++, ph += 56) {
        uint64_t off = rd64(ph + 8), va = rd64(ph + 16), fsz = rd64(ph + 32);
        if (rd32(ph) == 1 && vaddr >= va && vaddr - va < fsz)
            return off + (vaddr - va);
    }
    return 0;
}

/* The ELF header and program headers are in: the section table, the dynamic section and its strings
 * become windows (as far as they lie ahead). */
static void lay_out(mg_stream *s)
{
    const uint8_t *e = s->map;
    s->laid_out = 1;
    if (s->len < 64 || memcmp(e, "\177ELF", 4) || e[4] != 2 || e[5] != 1)
        return;
    uint64_t shoff = rd64(e + 40), phoff = rd64(e + 32);
    uint16_t shentsize = rd16(e + 58), shnum = rd16(e + 60), phnum = rd16(e + 56);
    if (rd16(e + 18) == MG_EM_CUDA) {   /* a cubin file by itself: held whole */
        s->h[s->nh++] = (hold){0, 0, 1, 0};
        return;
    }
    if (shoff && shoff < s->len) {
        add_window(s, shoff > BEFORE_SHDRS ? shoff - BEFORE_SHDRS : 0, shoff > BEFORE_SHDRS ? BEFORE_SHDRS : shoff);
        /* shnum 0 with a table: the count is in section 0 (extended numbering) */
        add_window(s, shoff, shnum ? (uint64_t)shnum * (shentsize ? shentsize : 64) : MAX_TABLE);
    }
    if (rd16(e + 54) != 56 || !rd_fits(s->len < PREFIX ? s->len : PREFIX, phoff, (uint64_t)phnum * 56))
        return;
    const uint8_t *ph = e + phoff;
    /* .dynstr lies before the code (the first executable segment past the headers) and the dynamic section */
    s->names_hi = s->len;
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *h = ph + (uint64_t)i * 56;
        uint64_t off = rd64(h + 8);
        if ((rd32(h) == 1 && (rd32(h + 4) & 1) && off > 0) || rd32(h) == 2)
            s->names_hi = off < s->names_hi ? off : s->names_hi;
    }
    for (uint16_t i = 0; i < phnum && s->dyn < 0; i++)
        if (rd32(ph + (uint64_t)i * 56) == 2 && s->nwin < MAX_WINDOWS) {   /* PT_DYNAMIC */
            int n = s->nwin;
            add_window(s, rd64(ph + (uint64_t)i * 56 + 8), rd64(ph + (uint64_t)i * 56 + 32));
            s->dyn = s->nwin > n ? n : -1;
        }
}

/* The dynamic section is in: its string table (DT_STRTAB, DT_STRSZ) is kept when it lies ahead. */
static void dynamic_in(mg_stream *s, const range *d)
{
    const uint8_t *e = s->map, *ph = e + rd64(e + 32);
    uint16_t phnum = rd16(e + 56);
    uint64_t strtab = 0, strsz = 0;
    for (uint64_t p = d->lo; p + 16 <= d->hi && p - d->lo < 4096 * 16; p += 16) {
        uint64_t tag = rd64(e + p), val = rd64(e + p + 8);
        if (tag == 0)
            break;
        if (tag == 5)
            strtab = val;
        else if (tag == 10)
            strsz = val;
    }
    uint64_t off = strtab ? file_off(ph, phnum, strtab) : 0;
    if (off >= s->pos)
        add_window(s, off, strsz);
}

static int in_window(const mg_stream *s, uint64_t off)
{
    for (int i = 0; i < s->nwin; i++)
        if (off >= s->win[i].lo && off < s->win[i].hi)
            return 1;
    return 0;
}

/* Gives back the pages of [lo, hi) that no window needs (whole pages only). */
static void release(mg_stream *s, uint64_t lo, uint64_t hi)
{
    lo = align_up(lo, PAGE);
    hi &= ~(PAGE - 1);
    uint64_t run = lo;
    for (uint64_t p = lo; p < hi; p += PAGE) {
        int keep = 0;
        for (int i = 0; i < s->nwin && !keep; i++)
            keep = s->win[i].lo < p + PAGE && s->win[i].hi > p;
        if (keep) {
            if (p > run)
                madvise(s->map + run, (size_t)(p - run), MADV_DONTNEED);
            run = p + PAGE;
        }
    }
    if (hi > run)
        madvise(s->map + run, (size_t)(hi - run), MADV_DONTNEED);
}

/*
 * Magics in p[0..n) (stream offset base), in offset order: a fatbin's anywhere, an ELF header's past
 * offset 0, each opening a hold. Returns where it stopped: n, or the first magic no hold was free for
 * (the bytes before it go in first, which may close some); one at p[0] with none free is dropped.
 */
static size_t find_magic(mg_stream *s, const uint8_t *p, size_t n, uint64_t base, size_t upto)
{
    static const uint8_t fat[4] = {0x50, 0xed, 0x55, 0xba}, elf[4] = {0x7f, 'E', 'L', 'F'};
    const uint8_t *const magic[2] = {fat, elf};
    const uint8_t *at[2];
    for (int k = 0; k < 2; k++)
        at[k] = n >= 4 ? memmem(p, n, magic[k], 4) : NULL;
    for (;;) {
        int k = !at[0] ? 1 : !at[1] ? 0 : at[1] < at[0];
        if (!at[k] || (size_t)(at[k] - p) >= upto)
            return n;
        size_t i = (size_t)(at[k] - p);
        uint64_t off = base + i;
        if (k == 0 || off > 0) {
            if (s->nh == MAX_HOLDS && i > 0)
                return i;
            if (s->nh == MAX_HOLDS)
                s->dropped++;
            else
                s->h[s->nh++] = (hold){off, 0, (uint8_t)k, 0};
        }
        at[k] = i + 5 <= n ? memmem(p + i + 1, n - i - 1, magic[k], 4) : NULL;
    }
}

/* A hold whose first bytes are in: its end, or the hold dropped (0) when it is not a candidate. */
static int read_header(mg_stream *s, hold *h)
{
    const uint8_t *b = s->map + h->off;
    uint64_t room = s->len - h->off, size;
    if (!h->cubin) {
        uint16_t hsize = rd16(b + 6);
        uint64_t fsize = rd64(b + 8);
        if (hsize < 16 || hsize > 256 || fsize > room - hsize) {
            uint64_t end;   /* not whole where it claims: scan.c says why, from the header alone */
            s->err = s->err ? s->err : mg_scanning_try(s->sc, h->off, 0, &end);
            return 0;
        }
        size = hsize + fsize;
    } else {
        if (b[4] != 2 || b[5] != 1 || rd16(b + 18) != MG_EM_CUDA)
            return 0;
        uint64_t shoff = rd64(b + 40), tab = (uint64_t)rd16(b + 60) * rd16(b + 58);
        size = shoff <= room && tab <= room - shoff ? shoff + tab : room;
        if (size < 64)
            size = 64;
        if (h->off == 0)
            size = s->len;   /* the file is the cubin */
    }
    if (size > MAX_HOLD) {
        if (!s->err)
            s->err = mg_scanning_skip(s->sc, h->off, h->off + size, h->cubin);
        s->dropped += h->cubin;
        return 0;
    }
    h->end = h->off + size;
    return 1;
}

static void drop_hold(mg_stream *s, int i)
{
    s->h[i] = s->h[--s->nh];
}

/* Reads the holds that are whole: fatbins first, then the cubins no valid fatbin around them covers. */
static void read_holds(mg_stream *s)
{
    for (int i = 0; i < s->nh;) {
        hold *h = &s->h[i];
        if (!h->end && s->pos >= h->off + (h->cubin ? 64 : 16) && !read_header(s, h)) {
            drop_hold(s, i);
            continue;
        }
        if (h->end && h->end <= s->pos && !h->cubin) {
            uint64_t end = 0;
            if (!s->err)
                s->err = mg_scanning_try(s->sc, h->off, 0, &end);
            uint64_t lo = h->off;
            drop_hold(s, i);
            /* a cubin inside a fatbin that parsed is one of its images: never a code of its own */
            for (int j = 0; j < s->nh;) {
                if (end && s->h[j].cubin && s->h[j].off > lo && s->h[j].off < end)
                    drop_hold(s, j);
                else
                    j++;
            }
            i = 0;
            continue;
        }
        i++;
    }
    for (int i = 0; i < s->nh;) {
        hold *h = &s->h[i];
        int inside = 0;
        if (h->cubin && h->end && h->end <= s->pos)
            for (int j = 0; j < s->nh && !inside; j++)
                inside = !s->h[j].cubin && s->h[j].off < h->off && (!s->h[j].end || s->h[j].end > h->off);
        if (h->cubin && h->end && h->end <= s->pos && !inside) {
            uint64_t end;
            if (!s->err)
                s->err = mg_scanning_try(s->sc, h->off, 1, &end);
            drop_hold(s, i);
            continue;
        }
        i++;
    }
}

static int name_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '+';
}

/* Library names in p[0..n) (stream offset base) outside the windows: "\0lib...so...\0", remembered. */
static void find_names(mg_stream *s, const uint8_t *p, size_t n, uint64_t base)
{
    static const uint8_t pat[4] = {0, 'l', 'i', 'b'};
    for (const uint8_t *at = n >= 4 ? memmem(p, n, pat, 4) : NULL; at && s->nnames < MAX_NAMES;
         at = (size_t)(at - p) + 5 <= n ? memmem(at + 1, n - (size_t)(at - p) - 1, pat, 4) : NULL) {
        const uint8_t *str = at + 1, *end = memchr(str, 0, n - (size_t)(str - p) < MAX_NAME ? n - (size_t)(str - p) : MAX_NAME);
        uint64_t off = base + (uint64_t)(str - p);
        if (!end || in_window(s, off))
            continue;
        size_t len = (size_t)(end - str);
        int ok = len > 6 && memmem(str, len, ".so", 3) != NULL;
        for (size_t i = 0; ok && i < len; i++)
            ok = name_char(str[i]);
        if (!ok)
            continue;
        if ((s->nnames & 63) == 0) {
            void *v = mg_realloc(s->names, (s->nnames + 64) * sizeof *s->names);
            if (!v)
                return;
            s->names = v;
        }
        char *t = mg_realloc(s->text, s->ntext + len);
        if (!t)
            return;
        s->text = t;
        memcpy(t + s->ntext, str, len);
        s->names[s->nnames].off = off;
        s->names[s->nnames].len = (uint16_t)len;
        s->names[s->nnames++].at = s->ntext;
        s->ntext += (uint32_t)len;
    }
}

/* The next n bytes of the stream, their holds open: kept where needed; holds read; pages given back. */
static void take_bytes(mg_stream *s, const uint8_t *p, size_t n)
{
    uint64_t base = s->pos;
    if (base + n > PREFIX && base < s->names_hi)
        find_names(s, p, n, base);
    uint64_t from = base + n;   /* kept: from the first open hold on, and the windows */
    for (int i = 0; i < s->nh; i++)
        if (s->h[i].off < from)
            from = s->h[i].off;
    if (from < base)
        from = base;
    if (from < base + n)
        memcpy(s->map + from, p + (from - base), (size_t)(base + n - from));
    for (int i = 0; i < s->nwin; i++) {
        uint64_t lo = s->win[i].lo > base ? s->win[i].lo : base, hi = s->win[i].hi < from ? s->win[i].hi : from;
        if (lo < hi)
            memcpy(s->map + lo, p + (lo - base), (size_t)(hi - lo));
    }
    s->pos = base + n;
    if (!s->laid_out && s->pos >= (s->len < LAYOUT ? s->len : LAYOUT))
        lay_out(s);
    if (s->dyn >= 0 && s->win[s->dyn].hi > base && s->win[s->dyn].hi <= s->pos)
        dynamic_in(s, &s->win[s->dyn]);   /* the dynamic section just came in: it tells where its strings are */
    read_holds(s);
    uint64_t keep = s->pos;   /* what no hold and no window needs any more goes back */
    for (int i = 0; i < s->nh; i++)
        if (s->h[i].off < keep)
            keep = s->h[i].off;
    if (keep > s->released + 16 * PAGE) {
        release(s, s->released, keep);
        s->released = keep & ~(PAGE - 1);
    }
}

int mg_stream_feed(mg_stream *s, const uint8_t *p, size_t n)
{
    if (s->err || !n)
        return MG_OK;
    if (n > s->len - s->pos) {
        s->err = MG_E_FORMAT;
        s->detail = "more bytes than its declared size";
        n = (size_t)(s->len - s->pos);
        if (!n)
            return MG_OK;
    }
    uint64_t base = s->pos;
    if (s->nlast) {   /* a magic across the boundary with the previous chunk */
        uint8_t t[6];
        size_t m = n < 3 ? n : 3;
        memcpy(t, s->last, s->nlast);
        memcpy(t + s->nlast, p, m);
        find_magic(s, t, s->nlast + m, base - s->nlast, s->nlast);
        for (int i = 0; i < s->nh; i++)   /* a hold that began in the previous chunk: its first bytes */
            if (s->h[i].off < base && s->h[i].off >= base - s->nlast)
                memcpy(s->map + s->h[i].off, s->last + (s->nlast - (base - s->h[i].off)), (size_t)(base - s->h[i].off));
    }
    for (size_t at = 0; at < n && !s->err;) {
        /* a piece ends where the layout is known and where the dynamic section ends: what they tell
         * (windows) must be known before the bytes after them go by */
        size_t piece = n - at;
        if (!s->laid_out && s->pos < LAYOUT && LAYOUT - s->pos < piece)
            piece = (size_t)(LAYOUT - s->pos);
        if (s->dyn >= 0 && s->pos < s->win[s->dyn].hi && s->win[s->dyn].hi - s->pos < piece)
            piece = (size_t)(s->win[s->dyn].hi - s->pos);
        size_t stop = find_magic(s, p + at, piece, s->pos, piece);
        take_bytes(s, p + at, stop);
        at += stop;
    }
    if (n >= 3) {   /* the stream's last three bytes, whatever the chunks */
        memcpy(s->last, p + n - 3, 3);
        s->nlast = 3;
    } else {
        uint8_t t[5];
        memcpy(t, s->last, s->nlast);
        memcpy(t + s->nlast, p, n);
        size_t k = s->nlast + n, keep = k < 3 ? k : 3;
        memcpy(s->last, t + k - keep, keep);
        s->nlast = keep;
    }
    return MG_OK;
}

mg_report *mg_stream_end(mg_stream *s, int err, const char *detail)
{
    if (!err && s->pos < s->len) {
        err = MG_E_TRUNCATED;
        detail = "ends before its declared size";
    }
    if (!err && s->err) {
        err = s->err;
        detail = s->detail ? s->detail : err == MG_E_LIMIT ? "more fatbins or entries than mlgate accepts" : NULL;
    }
    for (uint32_t i = 0; i < s->nnames; i++)   /* the names back where they were (the rest reads as zeros) */
        if (s->names[i].off + s->names[i].len < s->len)
            memcpy(s->map + s->names[i].off, s->text + s->names[i].at, s->names[i].len);
    free(s->names);
    free(s->text);
    const char *note = NULL;
    if (!err && s->dropped)
        note = "some fatbins or cubins were too large or too many to hold while streaming: not read";
    mg_report *r = mg_scanning_end(s->sc, err, err ? detail : note);
    if (s->map)
        munmap(s->map, (size_t)s->len);
    free(s);
    return r;
}
