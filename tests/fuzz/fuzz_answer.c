/* fuzz_answer.c - libFuzzer target: any bytes as a model's answer to the gate's inference probe, for each kind (chat, embedding, image, speech, transcription JSON and audio). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_int.h"
#include "mlgate/mlgate.h"
#include "fuzz.h"

/* Input: byte 0 the kind (mod 6), bytes 1-2 probe.dimensions, 3-4 probe.width, 5-6 probe.height
 * (little-endian, 0: the default), then the answer body, given as exactly its bytes (not terminated;
 * terminated beyond its length, as the gate's HTTP reader does, with MLGATE_FUZZ_KNOWN=answer-unterminated). */
#define HEAD 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t h[HEAD] = {0};
    memcpy(h, data, size < HEAD ? size : HEAD);
    size_t len = size > HEAD ? size - HEAD : 0;
    uint8_t *body = fuzz_known("answer-unterminated") ? (uint8_t *)fuzz_text(data + (size > HEAD ? HEAD : size), len)
                                                       : fuzz_copy(data + (size > HEAD ? HEAD : size), len);
    if (!body)
        return 0;
    mg_matrix_model md;
    memset(&md, 0, sizeof md);
    md.name = "fuzz";
    md.kind = (mg_model_kind)(h[0] % MG_MODEL_KINDS);
    md.endpoint = "http://127.0.0.1:1/v1";
    md.model = "m";
    md.gpu = -1;
    md.timeout = 30;
    md.probe.dimensions = (uint32_t)h[1] | (uint32_t)h[2] << 8;
    md.probe.width = (uint32_t)h[3] | (uint32_t)h[4] << 8;
    md.probe.height = (uint32_t)h[5] | (uint32_t)h[6] << 8;
    mg_stage_result s;
    mg_check_result r;
    memset(&s, 0, sizeof s);
    memset(&r, 0, sizeof r);
    mg_probe_answer(&md, len ? body : NULL, len, &s, &r);
    FUZZ_CHECK(memchr(s.reason, 0, sizeof s.reason) && memchr(r.output, 0, sizeof r.output), "unterminated texts");
    FUZZ_CHECK(s.ok == !s.reason[0], "ok %d with reason '%s'", s.ok, s.reason);
    if (s.ok) {
        FUZZ_CHECK(r.output[0], "a %s answer passed with no output", mg_model_kind_name(md.kind));
        if (md.kind == MG_MODEL_LLM || md.kind == MG_MODEL_VLM)
            FUZZ_CHECK(r.tokens >= 1, "a chat answer passed with %llu tokens", (unsigned long long)r.tokens);
        if (md.kind == MG_MODEL_IMAGE) {
            char want[48];
            snprintf(want, sizeof want, " %ux%u", md.probe.width ? md.probe.width : 256,
                     md.probe.height ? md.probe.height : 256);
            FUZZ_CHECK((!strncmp(r.output, "PNG ", 4) || !strncmp(r.output, "JPEG ", 5)) && strstr(r.output, want),
                       "image passed as '%s', %s asked for", r.output, want);
        }
        if (md.kind == MG_MODEL_EMBEDDING && md.probe.dimensions) {
            char want[48];
            snprintf(want, sizeof want, "vector of %u", md.probe.dimensions);
            FUZZ_CHECK(!strcmp(r.output, want), "embedding passed as '%s', %s asked for", r.output, want);
        }
    }
    free(body);
    return 0;
}
