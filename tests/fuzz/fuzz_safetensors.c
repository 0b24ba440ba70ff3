/* fuzz_safetensors.c - libFuzzer target: any bytes as a safetensors file (local: its size known) and as a remote header (size unknown). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "models/formats.h"
#include "mlgate/mlgate.h"
#include "fuzz.h"


/* What a successful parse promises: every tensor inside the data bytes, the sums its parts. */
static void check_st(const mg_safetensors *st, size_t len, uint64_t file_size)
{
    FUZZ_CHECK(st->header_len >= 2 && 8 + st->header_len <= len, "header of %llu bytes in %zu",
               (unsigned long long)st->header_len, len);
    FUZZ_CHECK(!st->n || st->tensors, "tensors");
    if (file_size)
        FUZZ_CHECK((u128)8 + st->header_len + st->data_bytes == file_size, "8 + %llu + %llu bytes in a file of %llu",
                   (unsigned long long)st->header_len, (unsigned long long)st->data_bytes,
                   (unsigned long long)file_size);
    u128 bytes = 0, params = 0, by_dtype_p = 0, by_dtype_b = 0;
    for (size_t i = 0; i < st->n; i++) {
        const mg_st_tensor *t = &st->tensors[i];
        FUZZ_CHECK(t->name, "tensor %zu has no name", i);
        FUZZ_CHECK(t->begin <= t->end && t->end <= st->data_bytes, "tensor '%.64s' [%llu, %llu) outside %llu data bytes",
                   t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                   (unsigned long long)st->data_bytes);
        FUZZ_CHECK(t->dtype < MG_DTYPE_COUNT && t->ndims <= 8, "tensor '%.64s' dtype %u, %u dims", t->name, t->dtype,
                   t->ndims);
        u128 numel = 1;
        for (uint32_t d = 0; d < t->ndims; d++)
            numel = numel * t->shape[d] > UINT64_MAX ? (u128)UINT64_MAX + 1 : numel * t->shape[d];
        FUZZ_CHECK(numel == t->numel, "tensor '%.64s' numel %llu is not its shape's product", t->name,
                   (unsigned long long)t->numel);
        FUZZ_CHECK((u128)(t->end - t->begin) * 8 == numel * mg_st_dtype_bits(t->dtype),
                   "tensor '%.64s': %llu bytes for %llu x %u bits", t->name, (unsigned long long)(t->end - t->begin),
                   (unsigned long long)t->numel, mg_st_dtype_bits(t->dtype));
        bytes += t->end - t->begin;
        if (!t->aux)
            params += t->numel;
    }
    for (int d = 0; d < MG_DTYPE_COUNT; d++) {
        by_dtype_p += st->params_by_dtype[d];
        by_dtype_b += st->bytes_by_dtype[d];
    }
    /* no gaps and no overlaps: the tensors' bytes add up to the data section */
    FUZZ_CHECK(bytes == st->data_bytes, "tensors hold %llu bytes of %llu", (unsigned long long)bytes,
               (unsigned long long)st->data_bytes);
    FUZZ_CHECK(params <= UINT64_MAX && params == st->params, "params %llu, the tensors have %llu%s",
               (unsigned long long)st->params, (unsigned long long)params, params > UINT64_MAX ? " (wraps)" : "");
    FUZZ_CHECK(by_dtype_p == params && by_dtype_b == bytes, "per-dtype sums");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = fuzz_copy(data, size);
    if (!b)
        return 0;
    for (int remote = 0; remote < 2; remote++) {
        mg_arena *a = mg_arena_new();
        if (!a)
            break;
        static mg_safetensors st;
        uint64_t need = 0, file_size = remote ? 0 : size;
        char err[256];
        memset(err, 'x', sizeof err);
        int rc = mg_safetensors_parse(b, size, file_size, a, &st, &need, err, sizeof err);
        FUZZ_CHECK(rc == MG_OK || memchr(err, 0, sizeof err), "error %d without a message", rc);
        if (rc == MG_OK)
            check_st(&st, size, file_size);
        else if (rc == MG_E_TRUNCATED && remote)
            FUZZ_CHECK(need > size || need == 0, "a header of %zu bytes is short, yet it needs %llu", size,
                       (unsigned long long)need);
        mg_arena_free(a);
    }
    free(b);
    return 0;
}
