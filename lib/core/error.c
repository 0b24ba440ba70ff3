/* error.c - texts for the error enum and the names of enum values shown to users. */
#include "mlgate/mlgate.h"

const char *mg_strerror(mg_err e)
{
    static const char *const text[MG_E_LAST] = {
        [MG_OK] = "success",
        [MG_E_NOMEM] = "out of memory",
        [MG_E_IO] = "cannot read",
        [MG_E_FORMAT] = "malformed",
        [MG_E_TRUNCATED] = "truncated",
        [MG_E_LIMIT] = "exceeds a limit",
        [MG_E_UNSUPPORTED] = "unsupported",
        [MG_E_COMPRESSION] = "does not decompress",
        [MG_E_ARG] = "invalid argument",
        [MG_E_NOTFOUND] = "not found",
        [MG_E_DRIVER] = "CUDA driver error",
    };
    return (unsigned)e < MG_E_LAST ? text[e] : "unknown error";
}

const char *mg_kind_str(mg_kind k)
{
    static const char *const s[MG_KIND_COUNT] = {"unknown", "sass", "ptx", "ltoir"};
    return (unsigned)k < MG_KIND_COUNT ? s[k] : "unknown";
}

const char *mg_codec_str(mg_codec c)
{
    static const char *const s[] = {"none", "lz4", "zstd", "unknown"};
    return (unsigned)c <= MG_CODEC_UNKNOWN ? s[c] : "unknown";
}

const char *mg_where_str(mg_where w)
{
    static const char *const s[] = {".nv_fatbin", "__nv_relfatbin", "embedded", "raw-cubin"};
    return (unsigned)w <= MG_IN_RAW_CUBIN ? s[w] : "unknown";
}

const char *mg_status_str(mg_status s)
{
    static const char *const t[] = {"native", "jit", "partial", "none"};
    return (unsigned)s <= MG_ST_NONE ? t[s] : "unknown";
}
