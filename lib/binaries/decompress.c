/* decompress.c - LZ4 block and zstd frame decoding of fatbin payloads. */
#include <lz4.h>
#include <zstd.h>

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
