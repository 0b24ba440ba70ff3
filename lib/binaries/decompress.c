/*
 * decompress.c - LZ4 block and zstd frame decoding of fatbin payloads; and streams decoded as they go
 * (deflate, gzip, zstd) for wheel members and image layers, with libdeflate for small whole members.
 */
#define _DEFAULT_SOURCE /* madvise */
#include <libdeflate.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "binaries/fmt.h"
#include "core/arith.h"
#include "mlgate/binaries.h"

/* A zstd context is worth reusing across the thousands of cubins of one library. */
static ZSTD_DCtx *get_dctx(void **state)
{
    if (!*state)
        *state = ZSTD_createDCtx();
    return *state;
}

void mg_decompress_end(void **state)
{
    ZSTD_freeDCtx(*state);
    *state = NULL;
}

uint64_t mg_decompress_bound(mg_codec c, const uint8_t *src, size_t srclen)
{
    switch (c) {
    case MG_CODEC_LZ4:
        return mg_sat_add(mg_sat_mul(srclen, 255), 16);
    case MG_CODEC_ZSTD: {
        /* zstd.h spells these (0ULL - 1) and (0ULL - 2): as static constants the wrap is the compiler's, once */
        static const unsigned long long unknown = ZSTD_CONTENTSIZE_UNKNOWN, error = ZSTD_CONTENTSIZE_ERROR;
        uint64_t most = mg_sat_add(mg_sat_mul(srclen, 32768), 128u << 10);
        unsigned long long said = ZSTD_getFrameContentSize(src, srclen);
        return said == error ? 0 : said == unknown || said > most ? most : said;
    }
    default:
        return srclen;
    }
}

int mg_decompress(void **state, mg_codec c, const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen)
{
    if (srclen > INT32_MAX || dstlen > INT32_MAX)
        return MG_E_LIMIT;
    switch (c) {
    case MG_CODEC_LZ4: {
        int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)srclen, (int)dstlen);
        return n == (int)dstlen ? MG_OK : MG_E_COMPRESSION;
    }
    case MG_CODEC_ZSTD: {
        ZSTD_DCtx *d = get_dctx(state);
        if (!d)
            return MG_E_NOMEM;
        size_t n = ZSTD_decompressDCtx(d, dst, dstlen, src, srclen);
        return !ZSTD_isError(n) && n == dstlen ? MG_OK : MG_E_COMPRESSION;
    }
    default:
        return MG_E_UNSUPPORTED;
    }
}

int mg_decompress_prefix(void **state, mg_codec c, const uint8_t *src, size_t srclen, uint8_t *dst,
                         size_t want)
{
    if (srclen > INT32_MAX || want > INT32_MAX)
        return MG_E_LIMIT;
    switch (c) {
    case MG_CODEC_LZ4: {
        int n = LZ4_decompress_safe_partial((const char *)src, (char *)dst, (int)srclen, (int)want,
                                            (int)want);
        return n == (int)want ? MG_OK : MG_E_COMPRESSION;
    }
    case MG_CODEC_ZSTD: {
        ZSTD_DCtx *d = get_dctx(state);
        if (!d)
            return MG_E_NOMEM;
        ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
        ZSTD_inBuffer in = {src, srclen, 0};
        ZSTD_outBuffer out = {dst, want, 0};
        while (out.pos < want) {
            size_t r = ZSTD_decompressStream(d, &out, &in);
            if (ZSTD_isError(r))
                return MG_E_COMPRESSION;
            if (r == 0 || (in.pos == in.size && out.pos < want))
                break;
        }
        ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
        return out.pos == want ? MG_OK : MG_E_COMPRESSION;
    }
    default:
        return MG_E_UNSUPPORTED;
    }
}

/* ---- streams: wheel members and image layers, decoded as they go ----------------- */

#define CHUNK (1u << 20)
#define DROP_EVERY (8u << 20)   /* input given back in steps of this much */

mg_packing mg_packing_of(const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return MG_PACK_GZIP;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        return MG_PACK_ZSTD;
    return MG_PACK_NONE;
}

const char *mg_packing_str(mg_packing k)
{
    static const char *const s[] = {"none", "deflate", "gzip", "zstd"};
    return (unsigned)k < 4 ? s[k] : "unknown";
}

void mg_drop_pages(const uint8_t *p, size_t n)
{
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Hands out[0..n) to fn, counting against max_out. */
static int emit(mg_sink_fn fn, void *ud, const uint8_t *p, size_t n, uint64_t max_out, uint64_t *out,
                const char **why)
{
    if (n > max_out - *out) {
        *why = "decodes to more bytes than mlgate reads from one stream (a compression bomb?)";
        return MG_E_LIMIT;
    }
    *out += n;
    return n ? fn(ud, p, n) : MG_OK;
}

static int unpack_zlib(int gzip, const uint8_t *src, size_t len, int mapped, uint64_t max_out, mg_sink_fn fn,
                       void *ud, uint64_t *out, uint8_t *buf, const char **why)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, gzip ? 15 + 16 : -15) != Z_OK) {
        *why = "zlib could not start";
        return MG_E_NOMEM;
    }
    size_t at = 0, dropped = 0;
    int rc = MG_OK;
    for (;;) {
        if (z.avail_in == 0 && at < len) {
            size_t n = len - at > (1u << 30) ? (1u << 30) : len - at;
            z.next_in = (Bytef *)(uintptr_t)(src + at);
            z.avail_in = (uInt)n;
            at += n;
        }
        z.next_out = buf;
        z.avail_out = CHUNK;
        int zr = inflate(&z, Z_NO_FLUSH);
        if ((rc = emit(fn, ud, buf, CHUNK - z.avail_out, max_out, out, why)) != MG_OK)
            break;
        size_t used = (size_t)(at - z.avail_in);
        if (mapped && used - dropped >= DROP_EVERY) {
            mg_drop_pages(src + dropped, used - dropped);
            dropped = used & ~(size_t)4095;
        }
        if (zr == Z_STREAM_END) {
            /* gzip: another member may follow (pigz, concatenated files); deflate: done */
            if (!gzip || (z.avail_in == 0 && at == len) || mg_packing_of(z.next_in, z.avail_in) != MG_PACK_GZIP)
                break;
            inflateReset(&z);
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && at == len) {
            *why = gzip ? "the gzip stream ends early (truncated)" : "the deflate stream ends early (truncated)";
            rc = MG_E_TRUNCATED;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            *why = gzip ? "the gzip stream is corrupt" : "the deflate stream is corrupt";
            rc = zr == Z_MEM_ERROR ? MG_E_NOMEM : MG_E_COMPRESSION;
            break;
        }
    }
    if (mapped)
        mg_drop_pages(src + dropped, (size_t)(at - z.avail_in) - dropped);
    inflateEnd(&z);
    return rc;
}

static int unpack_zstd(const uint8_t *src, size_t len, int mapped, uint64_t max_out, mg_sink_fn fn, void *ud,
                       uint64_t *out, uint8_t *buf, const char **why)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    if (!d) {
        *why = "zstd could not start";
        return MG_E_NOMEM;
    }
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 27);   /* 128 MiB windows at most: memory stays bounded */
    ZSTD_inBuffer in = {src, len, 0};
    size_t dropped = 0, last = 1;
    int rc = MG_OK;
    while (in.pos < in.size || last != 0) {
        ZSTD_outBuffer o = {buf, CHUNK, 0};
        size_t before = in.pos;
        last = ZSTD_decompressStream(d, &o, &in);
        if (ZSTD_isError(last)) {
            *why = ZSTD_getErrorCode(last) == ZSTD_error_frameParameter_windowTooLarge
                       ? "the zstd stream needs a window larger than mlgate allows (128 MiB)"
                       : "the zstd stream is corrupt";
            rc = MG_E_COMPRESSION;
            break;
        }
        if ((rc = emit(fn, ud, buf, o.pos, max_out, out, why)) != MG_OK)
            break;
        if (mapped && in.pos - dropped >= DROP_EVERY) {
            mg_drop_pages(src + dropped, in.pos - dropped);
            dropped = in.pos & ~(size_t)4095;
        }
        if (in.pos == in.size && o.pos == 0 && before == in.pos && last != 0) {
            *why = "the zstd stream ends early (truncated)";
            rc = MG_E_TRUNCATED;
            break;
        }
    }
    if (mapped)
        mg_drop_pages(src + dropped, in.pos - dropped);
    ZSTD_freeDStream(d);
    return rc;
}

int mg_unpack(mg_packing k, const uint8_t *src, size_t len, int mapped, uint64_t max_out, mg_sink_fn fn, void *ud,
              uint64_t *out, const char **why)
{
    *out = 0;
    if (k == MG_PACK_NONE) {
        int rc = MG_OK;
        for (size_t at = 0; at < len && rc == MG_OK; at += CHUNK) {
            size_t n = len - at < CHUNK ? len - at : CHUNK;
            rc = emit(fn, ud, src + at, n, max_out, out, why);
            if (mapped && at % DROP_EVERY == DROP_EVERY - CHUNK)
                mg_drop_pages(src + at + CHUNK - DROP_EVERY, DROP_EVERY);
        }
        if (mapped)
            mg_drop_pages(src, len);
        return rc;
    }
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        *why = "out of memory";
        return MG_E_NOMEM;
    }
    int rc = k == MG_PACK_ZSTD ? unpack_zstd(src, len, mapped, max_out, fn, ud, out, buf, why)
                               : unpack_zlib(k == MG_PACK_GZIP, src, len, mapped, max_out, fn, ud, out, buf, why);
    free(buf);
    return rc;
}

int mg_inflate_whole(const uint8_t *src, size_t len, uint8_t *dst, size_t dstlen, const char **why)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        *why = "libdeflate could not start";
        return MG_E_NOMEM;
    }
    size_t got = 0;
    enum libdeflate_result r = libdeflate_deflate_decompress(d, src, len, dst, dstlen, &got);
    libdeflate_free_decompressor(d);
    if (r == LIBDEFLATE_SUCCESS && got == dstlen)
        return MG_OK;
    *why = r == LIBDEFLATE_INSUFFICIENT_SPACE ? "zip member inflates to more bytes than declared"
         : r == LIBDEFLATE_SUCCESS || r == LIBDEFLATE_SHORT_OUTPUT ? "zip member inflates to fewer bytes than declared"
                                                                   : "zip member does not inflate";
    return r == LIBDEFLATE_BAD_DATA ? MG_E_COMPRESSION : MG_E_TRUNCATED;
}
