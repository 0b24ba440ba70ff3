/* probe_kinds.h - the inference probe of each model kind without its transport: the request it sends, as bytes, and the judgement of the answer (lib/gate/probe_kinds.c; no libcurl, no cJSON: `mlgate check` and mlgate-probe share it). */
#ifndef MG_GATE_PROBE_KINDS_H
#define MG_GATE_PROBE_KINDS_H

#include <stddef.h>
#include <stdint.h>

#include "gate/gate_int.h"   /* mg_probe_answer */
#include "mlgate/gate.h"

/* How an answer is read: raw bytes (audio), JSON with a cap on its values (small answers: chat,
 * image, asr), or JSON streamed with no cap but the size (a vector). */
enum { MG_ANSWER_RAW, MG_ANSWER_TREE, MG_ANSWER_STREAM };

/* The probe of one model kind (OpenAI-compatible endpoints). */
typedef struct mg_probe_kind {
    mg_model_kind kind;
    const char *path;           /* under the endpoint: "chat/completions" */
    int read;                   /* MG_ANSWER_* */
    size_t max;                 /* the largest answer taken, bytes */
} mg_probe_kind;

/* The probe of a kind, NULL when there is none. */
const mg_probe_kind *mg_probe_kind_of(mg_model_kind kind);

/* "llm" -> MG_MODEL_LLM, as the matrix spells kinds; -1 when it is none. */
int mg_model_kind_parse(const char *name);

/* A request body: its bytes and its Content-Type. */
typedef struct mg_probe_body {
    uint8_t *p;                 /* n bytes (and a NUL after them); free with mg_probe_body_free */
    size_t n;
    char type[96];              /* "application/json", "multipart/form-data; boundary=..." */
} mg_probe_body;

/* The body model md's kind sends: JSON (llm, vlm, tts, embedding, image) or a multipart form with a
 * generated WAV (asr), byte for byte what `mlgate check` sends. MG_OK, MG_E_NOMEM, MG_E_UNSUPPORTED
 * (no probe for the kind), MG_E_ARG (a model id the form cannot carry). */
int mg_probe_request(const mg_matrix_model *md, mg_probe_body *b);
void mg_probe_body_free(mg_probe_body *b);

/* The model's key from its api_key_env (NULL: none configured, or empty), masked in all that is quoted. */
const char *mg_probe_api_key(const mg_matrix_model *md);

#endif
