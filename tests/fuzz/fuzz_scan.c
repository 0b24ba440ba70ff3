/* fuzz_scan.c - libFuzzer target: any bytes as an ELF image, a zip archive, model headers and a JSON text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/jsonscan.h"
#include "models/formats.h"
#include "binaries/fmt.h"
#include "mlgate/mlgate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mg_target t[3];
    static size_t nt;
    if (!nt) {
        char err[64];
        mg_targets_parse("sm_75,sm_90,sm_121", t, 3, &nt, err, sizeof err);
    }
    /* A private copy of exactly `size` bytes, so ASan catches any read past the end. */
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    mg_scan_opts o = {0};
    o.targets = t;
    o.ntargets = nt;
    o.deep = size & 1;   /* half the inputs decompress every image */
    mg_report_free(mg_scan_buffer(&o, "fuzz", b, size));

    mg_zip z;
    mg_zip_member m;
    const char *why;
    if (mg_zip_open(&z, b, size, &why) == MG_OK)
        for (int i = 0; i < 64 && mg_zip_next(&z, &m, &why) == 1; i++) {
            uint8_t head[64];
            if (m.usize >= sizeof head)
                mg_zip_extract(&z, &m, head, sizeof head, &why);
        }
    /* The same bytes as model headers. */
    mg_arena *a = mg_arena_new();
    mg_gguf g;
    mg_safetensors st;
    char err[256];
    uint64_t need;
    if (a) {
        mg_gguf_parse(b, size, a, &g, &need, err, sizeof err);
        mg_safetensors_parse(b, size, size, a, &st, &need, err, sizeof err);
        mg_arena_free(a);
    }
    /* And as JSON: every token, every string decoded, within size + 1 calls. */
    mg_json_scanner js;
    mg_json_token tok;
    mg_json_init(&js, b, size, 1 + size % 200);
    size_t calls = 0;
    while (mg_json_next(&js, &tok) > MG_JSON_END) {
        if (++calls > size + 1)
            abort();
        char out[32];
        uint64_t v;
        mg_json_copy(&tok, out, sizeof out, NULL);
        mg_json_eq(&tok, "dtype");
        mg_json_u64(&tok, &v);
    }
    free(b);
    return 0;
}
