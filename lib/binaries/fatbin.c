/*
 * fatbin.c - the CUDA fat binary container: a 16-byte header, then entries,
 * each a header (>= 64 bytes) and a payload. Layout: docs/fatbin-format.md.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "binaries/fmt.h"
#include "mlgate/binaries.h"
#include "core/rd.h"

#define FLAG_LZ4 0x2000u
#define FLAG_ZSTD 0x8000u
#define FLAG_OLD_COMPRESS 0x1000u
#define FLAG_ARCH_SPECIFIC 0x100000u    /* sm_XYa / compute_XYa */
#define FLAG_FAMILY 0x200000u           /* sm_XYf / compute_XYf */
#define MAX_ENTRY_HEADER 4096u

int mg_entries_push(mg_entries *es, const mg_entry *e)
{
    if (es->n == es->cap) {
        if (es->n >= es->max)
            return MG_E_LIMIT;
        size_t cap = es->cap ? es->cap * 2 : 64;
        if (cap > es->max)
            cap = es->max;
        mg_entry *v = mg_realloc(es->v, cap * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        es->v = v;
        es->cap = cap;
    }
    es->v[es->n++] = *e;
    return MG_OK;
}

static uint8_t kind_of(uint16_t k)
{
    switch (k) {
    case 1: return MG_IMAGE_PTX;
    case 2: return MG_IMAGE_SASS;
    case 8: return MG_IMAGE_LTOIR;
    default: return MG_IMAGE_UNKNOWN;
    }
}

int mg_fatbin_parse(const uint8_t *buf, size_t len, uint64_t off, mg_entries *es,
                    uint64_t *end, const char **why)
{
    size_t n0 = es->n;
    int rc;
    if (!rd_fits(len, off, 16) || rd32(buf + off) != MG_FATBIN_MAGIC) {
        *why = "no fatbin header here";
        return MG_E_FORMAT;
    }
    uint16_t hsize = rd16(buf + off + 6);
    uint64_t fsize = rd64(buf + off + 8);
    if (hsize < 16 || hsize > 256) {
        *why = "fatbin header size is out of range";
        return MG_E_FORMAT;
    }
    if (!rd_fits(len, off, hsize) || !rd_fits(len, off + hsize, fsize)) {
        *why = "fatbin extends past the end of the data";
        return MG_E_TRUNCATED;
    }
    uint64_t p = off + hsize, stop = off + hsize + fsize;
    while (p < stop) {
        if (stop - p < 64) {
            if (rd16(buf + p) == 0)
                break;  /* zero padding up to the declared size */
            *why = "fatbin ends inside an entry header";
            rc = MG_E_TRUNCATED;
            goto fail;
        }
        const uint8_t *h = buf + p;
        uint16_t kind = rd16(h);
        uint32_t ehs = rd32(h + 4);
        uint64_t psz = rd64(h + 8);
        if (kind == 0 && ehs == 0)
            break;      /* zero padding */
        if (ehs < 64 || ehs > MAX_ENTRY_HEADER) {
            *why = "fatbin entry header size is out of range";
            rc = MG_E_FORMAT;
            goto fail;
        }
        if (ehs > stop - p || psz > stop - p - ehs) {
            *why = "fatbin entry extends past the end of its fatbin";
            rc = MG_E_TRUNCATED;
            goto fail;
        }
        if (es->n - n0 >= MG_FATBIN_MAX_ENTRIES) {
            *why = "fatbin has more entries than mlgate accepts";
            rc = MG_E_LIMIT;
            goto fail;
        }
        uint32_t csz = rd32(h + 0x10);
        uint16_t vmin = rd16(h + 0x18), vmaj = rd16(h + 0x1a);
        uint32_t arch = rd32(h + 0x1c);
        uint64_t flags = rd64(h + 0x28);
        uint64_t usz = rd64(h + 0x38);
        mg_entry e = {0};
        e.kind = kind_of(kind);
        e.arch.sm = arch < 0xffff ? (uint16_t)arch : 0xffff;
        e.arch.variant = flags & FLAG_ARCH_SPECIFIC ? MG_VAR_A : flags & FLAG_FAMILY ? MG_VAR_F : MG_VAR_NONE;
        e.version = vmaj < 1000 && vmin < 10 ? (uint16_t)(vmaj * 10 + vmin) : 0;
        e.off = p + ehs;
        if (flags & FLAG_ZSTD)
            e.codec = MG_CODEC_ZSTD;
        else if (flags & FLAG_LZ4)
            e.codec = MG_CODEC_LZ4;
        else if (flags & FLAG_OLD_COMPRESS)
            e.codec = MG_CODEC_UNKNOWN;
        else if (usz && csz && psz >= 4)  /* no flag but sizes say compressed: sniff */
            e.codec = rd32(buf + e.off) == 0xFD2FB528u ? MG_CODEC_ZSTD : MG_CODEC_LZ4;
        if (e.codec == MG_CODEC_NONE) {
            e.size = e.usize = psz;
        } else {
            e.size = csz && csz <= psz ? csz : psz;
            e.usize = usz;
        }
        if ((rc = mg_entries_push(es, &e)) != MG_OK) {
            *why = rc == MG_E_LIMIT ? "file has more fatbin entries than mlgate accepts" : "out of memory";
            goto fail;
        }
        p += ehs + psz;
    }
    *end = stop;
    return MG_OK;
fail:
    es->n = n0;
    return rc;
}
