/* fuzz_media.c - libFuzzer target: any bytes as audio (WAV/MP3/Ogg/FLAC), as an image header (PNG/JPEG) and as base64 text, with the base64 round trip checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/media.h"
#include "mlgate/mlgate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = fuzz_copy(data, size);
    if (!b)
        return 0;
    /* audio: the gate's threshold and none, texts of every size down to one byte */
    static const double secs[] = {0.5, 0, 1e9};
    static const size_t wl[] = {120, 1, 16};
    for (int i = 0; i < 3; i++) {
        char what[120], why[160];
        memset(what, 'x', sizeof what);
        memset(why, 'x', sizeof why);
        int ok = mg_check_audio(b, size, secs[i], what, wl[i], why, wl[i] == 120 ? sizeof why : wl[i]);
        FUZZ_CHECK(memchr(what, 0, wl[i]) && memchr(why, 0, wl[i] == 120 ? sizeof why : wl[i]), "unterminated");
        FUZZ_CHECK(wl[i] == sizeof what || what[wl[i]] == 'x', "wrote past what[%zu]", wl[i]);
        if (wl[i] == 120)
            FUZZ_CHECK(ok == !why[0], "ok %d, why '%s'", ok, why);
    }
    /* image: a format and a size, or nothing */
    const char *fmt = NULL;
    uint32_t w = 0, h = 0;
    if (mg_image_size(b, size, &fmt, &w, &h))
        FUZZ_CHECK(fmt && (!strcmp(fmt, "PNG") || !strcmp(fmt, "JPEG")), "format");
    /* base64: decode text (terminated, as cJSON gives it) into buffers too small and large enough */
    char *t = fuzz_text(data, size);
    uint8_t out[4096];
    static const size_t caps[] = {0, 1, 3, 64, sizeof out};
    for (size_t i = 0; t && i < sizeof caps / sizeof caps[0]; i++) {
        uint8_t *o = fuzz_copy(out, caps[i]);   /* exactly cap bytes: ASan sees a write past it */
        size_t n = mg_unbase64(t, o, caps[i]);
        FUZZ_CHECK(n <= caps[i], "decoded %zu into %zu", n, caps[i]);
        free(o);
    }
    free(t);
    /* and back: base64 of the bytes decodes to the bytes */
    char *enc = mg_base64(b, size);
    if (enc) {
        FUZZ_CHECK(strlen(enc) == 4 * ((size + 2) / 3), "base64 of %zu bytes is %zu long", size, strlen(enc));
        uint8_t *dec = malloc(size + 1);
        size_t n = dec ? mg_unbase64(enc, dec, size + 1) : size;
        FUZZ_CHECK(n == size && (!size || !memcmp(dec, b, size)), "round trip of %zu bytes gave %zu", size, n);
        free(dec);
        free(enc);
    }
    free(b);
    return 0;
}
