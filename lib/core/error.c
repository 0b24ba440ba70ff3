/* error.c - the texts of the one error enum. */
#include "mlgate/core.h"

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
        [MG_E_TIMEOUT] = "deadline passed",
        [MG_E_CANCELLED] = "cancelled",
    };
    return (unsigned)e < MG_E_LAST ? text[e] : "unknown error";
}
