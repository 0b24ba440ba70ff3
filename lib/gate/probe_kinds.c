/*
 * probe_kinds.c - what the gate asks each model kind and how it judges the answer, without transport:
 * a table per kind (path, answer cap, how it is read), the request bodies (JSON through the streaming
 * writer, the asr multipart form as bytes) and the answer checks (jsonscan, no tree). No libcurl, no
 * cJSON: probes.c sends these for `mlgate check`, probe/ for mlgate-probe. A new kind is one entry.
 */
#define _GNU_SOURCE   /* open_memstream, memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"
#include "core/jsonscan.h"
#include "core/text.h"
#include "gate/media.h"
#include "gate/probe_kinds.h"

#define MAX_TREE_VALUES 65536    /* the JSON values an answer read whole may hold (chat, image, asr) */
#define MAX_DIMENSIONS 65536     /* no embedding model has more */
#define DEFAULT_MAX_TOKENS 8     /* llm/vlm: enough for "OK"; a reasoning model needs more, or thinking off */
#define DEFAULT_MIN_SECONDS 0.5  /* tts: the shortest speech that passes */
#define MAX_QUOTED_ANSWER 1024   /* bytes of an answer that is not JSON quoted in the reason */

static const char *const kind_names[] = {"llm", "vlm", "tts", "asr", "embedding", "image"};

const char *mg_model_kind_name(mg_model_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

int mg_model_kind_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (!strcmp(kind_names[i], name))
            return (int)i;
    return -1;
}

const char *mg_probe_api_key(const mg_matrix_model *md)
{
    const char *key = md->api_key_env ? getenv(md->api_key_env) : NULL;
    return key && *key ? key : NULL;
}

/* ==== Requests by kind ==== */

static void chat_request(const mg_matrix_model *md, jw *w)
{
    const mg_probe *pb = &md->probe;
    const char *prompt = pb->prompt ? pb->prompt
                         : md->kind == MG_MODEL_VLM ? "What colour is the square? One word."
                                                    : "Say OK.";
    jw_key(w, "messages");
    jw_begin_arr(w);
    jw_begin_obj(w);
    jw_kstr(w, "role", "user");
    if (md->kind == MG_MODEL_VLM) {   /* the question with a generated picture */
        uint8_t png[4096];
        size_t pn = mg_tiny_png(png, sizeof png);
        char *b = mg_base64(png, pn), *url = b ? mg_malloc(strlen(b) + 32) : NULL;
        if (url)
            snprintf(url, strlen(b) + 32, "data:image/png;base64,%s", b);
        jw_key(w, "content");
        jw_begin_arr(w);
        jw_begin_obj(w);
        jw_kstr(w, "type", "text");
        jw_kstr(w, "text", prompt);
        jw_end_obj(w);
        jw_begin_obj(w);
        jw_kstr(w, "type", "image_url");
        jw_key(w, "image_url");
        jw_begin_obj(w);
        jw_kstr(w, "url", url ? url : "");
        jw_end_obj(w);
        jw_end_obj(w);
        jw_end_arr(w);
        free(b);
        free(url);
    } else {
        jw_kstr(w, "content", prompt);
    }
    jw_end_obj(w);
    jw_end_arr(w);
    jw_kuint(w, "max_tokens", pb->max_tokens ? pb->max_tokens : DEFAULT_MAX_TOKENS);
    jw_kint(w, "temperature", 0);
}

static void speech_request(const mg_matrix_model *md, jw *w)
{
    jw_kstr(w, "input", md->probe.prompt ? md->probe.prompt : "The gate checks that speech really works.");
    if (md->probe.voice)
        jw_kstr(w, "voice", md->probe.voice);
    jw_kstr(w, "response_format", "wav");
}

static void embedding_request(const mg_matrix_model *md, jw *w)
{
    jw_kstr(w, "input", md->probe.prompt ? md->probe.prompt : "mlgate checks this embedding");
}

static void image_request(const mg_matrix_model *md, jw *w)
{
    char size[32];
    snprintf(size, sizeof size, "%ux%u", md->probe.width ? md->probe.width : 256, md->probe.height ? md->probe.height : 256);
    jw_kstr(w, "prompt", md->probe.prompt ? md->probe.prompt : "a red cube on a white table");
    jw_kstr(w, "size", size);
    jw_kint(w, "n", 1);
    jw_kstr(w, "response_format", "b64_json");
}

/* The JSON body: {"model": ..., then the kind's fields}, on one line with no newline after it. */
static int json_body(const mg_matrix_model *md, void (*fields)(const mg_matrix_model *, jw *), mg_probe_body *b)
{
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    if (!f)
        return MG_E_NOMEM;
    jw w = jw_on(f);
    jw_begin_obj(&w);
    if (md->model)
        jw_kstr(&w, "model", md->model);
    fields(md, &w);
    jw_end_obj(&w);
    int bad = ferror(f);
    if (fclose(f) || bad || !p || !n) {
        free(p);
        return MG_E_NOMEM;
    }
    if (p[n - 1] == '\n')   /* the writer ends a document with a newline; a request body has none */
        p[--n] = 0;
    b->p = (uint8_t *)p;
    b->n = n;
    snprintf(b->type, sizeof b->type, "application/json");
    return MG_OK;
}

/* asr: the generated WAV and the model id as a multipart form, as curl's mime API writes one. */
#define BOUNDARY "------------------------mlgateprobe0f3c9a"

static int asr_form(const mg_matrix_model *md, mg_probe_body *b)
{
    static const char head[] = "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"probe.wav\""
                               "\r\nContent-Type: audio/wav\r\n\r\n";
    static const char mid[] = "\r\n--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n";
    static const char tail[] = "\r\n--" BOUNDARY "--\r\n";
    const char *model = md->model ? md->model : "";
    size_t ml = strlen(model), wav_max = 44 + 32000;
    if (ml > 4096 || strstr(model, BOUNDARY))
        return MG_E_ARG;
    size_t cap = sizeof head - 1 + wav_max + sizeof mid - 1 + ml + sizeof tail - 1 + 1;
    uint8_t *p = mg_malloc(cap);
    if (!p)
        return MG_E_NOMEM;
    size_t n = 0, wn;
    memcpy(p, head, sizeof head - 1);
    n += sizeof head - 1;
    wn = mg_tone_wav(p + n, wav_max);
    if (memmem(p + n, wn, BOUNDARY, sizeof BOUNDARY - 1)) {   /* it cannot: the tone is fixed */
        free(p);
        return MG_E_ARG;
    }
    n += wn;
    memcpy(p + n, mid, sizeof mid - 1);
    n += sizeof mid - 1;
    memcpy(p + n, model, ml);
    n += ml;
    memcpy(p + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    p[n] = 0;
    b->p = p;
    b->n = n;
    snprintf(b->type, sizeof b->type, "multipart/form-data; boundary=%s", BOUNDARY);
    return MG_OK;
}

/* ==== Answers by kind: each fills s->reason on failure, r->output on success ==== */

typedef struct answer {
    const mg_matrix_model *md;
    const char *path;
    const uint8_t *p;       /* the answer, len bytes (valid JSON for a JSON kind: checked first) */
    size_t len;
    int nomem;              /* a copy of a string could not be made */
} answer;

/* The members of the object the scanner is in, up to its end: the value of `key` is left next. */
static int find_key(mg_json_scanner *sc, const char *key)
{
    mg_json_token t;
    while (mg_json_next(sc, &t) == MG_JSON_KEY) {
        if (mg_json_eq(&t, key))
            return 1;
        if (mg_json_skip(sc, &t))
            return 0;
    }
    return 0;
}

/* Path steps besides keys: an array's first item; the first item of an array or the first member's value of
 * an object (what cJSON_GetArrayItem(x, 0) gave the chat check). */
#define ITEM0 "\x01"
#define CHILD0 "\x02"

/*
 * The value at path (keys and ITEM0/CHILD0 steps, NULL-terminated) in the answer, read from the start
 * with a scanner of its own: its first token in *t, the scanner after it. 0 when there is none (a key
 * absent - the first of duplicates counts, as in a tree - or a step into the wrong type).
 */
static int json_at(const answer *a, const char *const *path, mg_json_scanner *sc, mg_json_token *t)
{
    mg_json_init(sc, a->p, a->len, 64);
    if (mg_json_next(sc, t) <= MG_JSON_END)
        return 0;
    for (; *path; path++) {
        if (**path == ITEM0[0] || **path == CHILD0[0]) {
            if (t->type == MG_JSON_ARRAY_BEGIN) {
                if (mg_json_next(sc, t) <= MG_JSON_END || t->type == MG_JSON_ARRAY_END)
                    return 0;
            } else if (t->type == MG_JSON_OBJECT_BEGIN && **path == CHILD0[0]) {
                if (mg_json_next(sc, t) != MG_JSON_KEY || mg_json_next(sc, t) <= MG_JSON_END)
                    return 0;
            } else {
                return 0;
            }
        } else if (t->type != MG_JSON_OBJECT_BEGIN || !find_key(sc, *path) || mg_json_next(sc, t) <= MG_JSON_END) {
            return 0;
        }
    }
    return 1;
}

/* The string at path, escapes decoded, in a new C string (free it): NULL when there is none or it is
 * no string, or a->nomem. A \u0000 ends it, as it ends a C string. */
static char *text_at(answer *a, const char *const *path)
{
    mg_json_scanner sc;
    mg_json_token t;
    if (!json_at(a, path, &sc, &t) || t.type != MG_JSON_STRING)
        return NULL;
    size_t n = mg_json_len(&t);   /* <= t.len: decoding never lengthens */
    char *s = mg_malloc(n + 1);
    if (!s) {
        a->nomem = 1;
        return NULL;
    }
    mg_json_copy(&t, s, n + 1, NULL);   /* MG_JSON_E_NUL leaves what came before it */
    return s;
}

/* Whether the value at path is a string, without copying it. */
static int is_text_at(const answer *a, const char *const *path)
{
    mg_json_scanner sc;
    mg_json_token t;
    return json_at(a, path, &sc, &t) && t.type == MG_JSON_STRING;
}

/* The number at path as a double: 1 when it is one, 0 when absent or no number (-1 out of memory). */
static int number_at(answer *a, const char *const *path, double *v)
{
    mg_json_scanner sc;
    mg_json_token t;
    if (!json_at(a, path, &sc, &t) || t.type != MG_JSON_NUMBER)
        return 0;
    char *num = mg_malloc(t.len + 1);
    if (!num) {
        a->nomem = 1;
        return -1;
    }
    memcpy(num, t.p, t.len);
    num[t.len] = 0;
    *v = strtod(num, NULL);
    free(num);
    return 1;
}

/* The answer after a reasoning model's thinking in its content: what follows the last "</think>"; ""
 * when the content opens with "<think>" and never closes it (max_tokens ended it mid-thought). *thought:
 * there was some. Otherwise the text itself. */
static const char *after_thinking(const char *text, int *thought)
{
    const char *close = NULL, *p = text;
    for (const char *c = strstr(text, "</think>"); c; c = strstr(c + 8, "</think>"))
        close = c;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    *thought = close || !strncmp(p, "<think>", 7);
    return close ? close + 8 : *thought ? p + strlen(p) : text;
}

static int blank(const char *t)
{
    return !t || !t[strspn(t, " \t\r\n")];
}

/*
 * Whether text, white space aside, is one unit of at most MAX_UNIT bytes said over and over - what a
 * broken or mis-loaded model answers ("########", "the the the the", "<unk><unk>"): the unit 3 times or
 * more, or twice when that makes 8 bytes or more. "OK", "Paris", "OK OK", "haha" pass. The last repeat
 * may be cut short (max_tokens ends it anywhere). unit gets the unit, *times how often it came whole.
 * One pass over the text, a flag per period, no allocation.
 */
#define MAX_UNIT 32

static int repeated(const char *text, char unit[MAX_UNIT + 1], size_t *times)
{
    uint8_t last[MAX_UNIT];     /* the last MAX_UNIT bytes that are not white space, a ring */
    int periodic[MAX_UNIT + 1]; /* [p]: every byte so far equals the one p before it */
    size_t n = 0, alive = MAX_UNIT;
    for (int p = 1; p <= MAX_UNIT; p++)
        periodic[p] = 1;
    for (const uint8_t *c = (const uint8_t *)text; *c && alive; c++) {
        if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
            continue;
        for (size_t p = 1; p <= MAX_UNIT && p <= n; p++)
            if (periodic[p] && last[(n - p) % MAX_UNIT] != *c)
                periodic[p] = 0, alive--;
        if (n < MAX_UNIT)
            unit[n] = (char)*c;
        last[n % MAX_UNIT] = *c;
        n++;
    }
    for (size_t p = 1; p <= MAX_UNIT && 2 * p <= n; p++)
        if (periodic[p]) {
            *times = n / p;
            unit[p] = 0;
            return *times >= 3 || n >= 8;
        }
    return 0;
}

static void chat_check(answer *a, mg_stage_result *s, mg_check_result *r)
{
    static const char *const content[] = {"choices", CHILD0, "message", "content", NULL};
    static const char *const reasoning[] = {"choices", CHILD0, "message", "reasoning_content", NULL};
    static const char *const reasoning2[] = {"choices", CHILD0, "message", "reasoning", NULL};   /* vLLM 0.10 on */
    static const char *const plain[] = {"choices", CHILD0, "text", NULL};
    static const char *const tokens[] = {"usage", "completion_tokens", NULL};
    const char *key = mg_probe_api_key(a->md);
    int thought = 0;
    char *text = text_at(a, content);
    const char *said = text ? after_thinking(text, &thought) : NULL;
    if (thought && blank(said))
        said = NULL;
    if (!thought && (!said || !*said)) {   /* a completion's text, with no message */
        free(text);
        text = text_at(a, plain);
        said = text ? after_thinking(text, &thought) : NULL;
        if (thought && blank(said))
            said = NULL;
    }
    char *why = NULL;   /* the reasoning, when the message has nothing else */
    if (!said || !*said) {
        why = text_at(a, reasoning);
        if (blank(why)) {
            free(why);
            why = text_at(a, reasoning2);
        }
        thought |= !blank(why);
    }
    double toks = 0;
    int is_num = number_at(a, tokens, &toks) == 1;
    int counted = is_num && toks > 0 && toks < 1e18;   /* the server's word */
    r->tokens = counted ? (uint64_t)toks : 0;
    char unit[MAX_UNIT + 1], shown[MAX_UNIT * 3 + 8];
    size_t times = 0;
    if (a->nomem)
        snprintf(s->reason, sizeof s->reason, "%s: out of memory reading the answer", a->path);
    else if ((!said || !*said) && thought)
        snprintf(s->reason, sizeof s->reason,
                 "%s: only reasoning, no content (raise max_tokens or disable thinking): max_tokens is %u", a->path,
                 a->md->probe.max_tokens ? a->md->probe.max_tokens : DEFAULT_MAX_TOKENS);
    else if (!said || !*said)
        snprintf(s->reason, sizeof s->reason, "%s: no text in the answer", a->path);
    else if (is_num && toks <= 0)
        snprintf(s->reason, sizeof s->reason, "%s: usage says 0 completion tokens", a->path);
    else if (!*mg_text_clean(r->output, sizeof r->output, said, strlen(said), key))
        snprintf(s->reason, sizeof s->reason, "%s: the answer is only white space or control characters", a->path);
    else if (repeated(said, unit, &times)) {
        uint32_t cp;
        size_t ul = strlen(unit);
        int one = mg_utf8_char((const uint8_t *)unit, ul, &cp) == ul;
        snprintf(s->reason, sizeof s->reason, "%s: the answer is one repeated %s '%s' (%zu times): the model is broken "
                 "or mis-loaded", a->path, one ? "character" : "token", mg_text_clean(shown, sizeof shown, unit, ul, key),
                 times);
    } else if (!r->tokens)
        r->tokens = 1;
    if (s->reason[0])
        r->output[0] = 0;
    free(text);
    free(why);
}

static void speech_check(answer *a, mg_stage_result *s, mg_check_result *r)
{
    char what[120], why[160];
    double min = a->md->probe.min_seconds > 0 ? a->md->probe.min_seconds : DEFAULT_MIN_SECONDS;
    if (mg_check_audio(a->p, a->len, min, what, sizeof what, why, sizeof why))
        snprintf(r->output, sizeof r->output, "%s", what);
    else
        snprintf(s->reason, sizeof s->reason, "%s: %s", a->path, why);
}

/* data[0].embedding, streamed: its numbers counted and judged one by one, no tree built. */
static void embedding_check(answer *a, mg_stage_result *s, mg_check_result *r)
{
    mg_json_scanner sc;
    mg_json_token t;
    mg_json_init(&sc, a->p, a->len, 64);
    int found = mg_json_next(&sc, &t) == MG_JSON_OBJECT_BEGIN && find_key(&sc, "data") &&
                mg_json_next(&sc, &t) == MG_JSON_ARRAY_BEGIN && mg_json_next(&sc, &t) == MG_JSON_OBJECT_BEGIN &&
                find_key(&sc, "embedding") && mg_json_next(&sc, &t) == MG_JSON_ARRAY_BEGIN;
    size_t n = 0, nonzero = 0, bad = 0;
    while (found && mg_json_next(&sc, &t) != MG_JSON_ARRAY_END && t.type > MG_JSON_END) {
        char num[352];
        double v;
        n++;
        if (t.type != MG_JSON_NUMBER || t.len >= sizeof num) {   /* a string, null, a nested array */
            bad++;
            if (t.type != MG_JSON_NUMBER && mg_json_skip(&sc, &t))
                break;
            continue;
        }
        memcpy(num, t.p, t.len);
        num[t.len] = 0;
        v = strtod(num, NULL);
        bad += !isfinite(v);   /* 1e999 is valid JSON and no number */
        nonzero += v != 0;
    }
    if (!found || !n)
        snprintf(s->reason, sizeof s->reason, "%s: no data[0].embedding vector", a->path);
    else if (bad)
        snprintf(s->reason, sizeof s->reason, "%s: %zu of the vector's %zu values are not finite numbers", a->path,
                 bad, n);
    else if (n > MAX_DIMENSIONS)
        snprintf(s->reason, sizeof s->reason, "%s: a vector of %zu values; no embedding model has more than %u", a->path,
                 n, MAX_DIMENSIONS);
    else if (!nonzero)
        snprintf(s->reason, sizeof s->reason, "%s: the vector of %zu is all zeros: no model computed it", a->path, n);
    else if (a->md->probe.dimensions && n != a->md->probe.dimensions)
        snprintf(s->reason, sizeof s->reason, "%s: a vector of %zu, not %u", a->path, n, a->md->probe.dimensions);
    else
        snprintf(r->output, sizeof r->output, "vector of %zu", n);
}

static void image_check(answer *a, mg_stage_result *s, mg_check_result *r)
{
    static const char *const b64_json[] = {"data", ITEM0, "b64_json", NULL};
    static const char *const url[] = {"data", ITEM0, "url", NULL};
    mg_json_scanner sc;
    mg_json_token t;
    uint8_t head[4096];
    size_t hn = 0;
    int have = json_at(a, b64_json, &sc, &t) && t.type == MG_JSON_STRING;
    if (have && !t.escaped) {
        /* the text itself, in the answer: the closing quote, no base64 character, ends the decoding */
        hn = mg_unbase64((const char *)t.p, head, sizeof head);
    } else if (have) {
        char *b = text_at(a, b64_json);
        hn = b ? mg_unbase64(b, head, sizeof head) : 0;
        free(b);
    }
    const char *fmt;
    const mg_probe *pb = &a->md->probe;
    uint32_t w, h, ww = pb->width ? pb->width : 256, wh = pb->height ? pb->height : 256;
    if (a->nomem)
        snprintf(s->reason, sizeof s->reason, "%s: out of memory reading the answer", a->path);
    else if (!have)
        snprintf(s->reason, sizeof s->reason, "%s: no data[0].b64_json%s", a->path,
                 is_text_at(a, url) ? " (it answered a URL)" : "");
    else if (!mg_image_size(head, hn, &fmt, &w, &h))
        snprintf(s->reason, sizeof s->reason, "%s: the image is neither PNG nor JPEG", a->path);
    else if (w != ww || h != wh)
        snprintf(s->reason, sizeof s->reason, "%s: a %ux%u %s, %ux%u was asked for", a->path, w, h, fmt, ww, wh);
    else
        snprintf(r->output, sizeof r->output, "%s %ux%u", fmt, w, h);
}

static void transcription_check(answer *a, mg_stage_result *s, mg_check_result *r)
{
    static const char *const key[] = {"text", NULL};
    char *text = text_at(a, key);
    if (a->nomem)
        snprintf(s->reason, sizeof s->reason, "%s: out of memory reading the answer", a->path);
    else if (!text || !*mg_text_clean(r->output, sizeof r->output, text, strlen(text), mg_probe_api_key(a->md)))
        snprintf(s->reason, sizeof s->reason, "%s: no text in the transcription%s", a->path,
                 text && *text ? " (only white space or control characters)" : "");
    free(text);
}

/* The inference probe of each model kind: the public part (mg_probe_kind) and its request and check. */
static const struct kind_probe {
    mg_probe_kind k;
    void (*request)(const mg_matrix_model *md, jw *w);  /* the JSON body's fields; NULL: the asr form */
    void (*check)(answer *a, mg_stage_result *s, mg_check_result *r);
} kinds[] = {
    {{MG_MODEL_LLM, "chat/completions", MG_ANSWER_TREE, 4u << 20}, chat_request, chat_check},
    {{MG_MODEL_VLM, "chat/completions", MG_ANSWER_TREE, 4u << 20}, chat_request, chat_check},
    {{MG_MODEL_TTS, "audio/speech", MG_ANSWER_RAW, 16u << 20}, speech_request, speech_check},
    {{MG_MODEL_ASR, "audio/transcriptions", MG_ANSWER_TREE, 4u << 20}, NULL, transcription_check},
    {{MG_MODEL_EMBEDDING, "embeddings", MG_ANSWER_STREAM, 8u << 20}, embedding_request, embedding_check},
    {{MG_MODEL_IMAGE, "images/generations", MG_ANSWER_TREE, 16u << 20}, image_request, image_check},
};

static const struct kind_probe *probe_of(mg_model_kind kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].k.kind == kind)
            return &kinds[i];
    return NULL;
}

const mg_probe_kind *mg_probe_kind_of(mg_model_kind kind)
{
    const struct kind_probe *p = probe_of(kind);
    return p ? &p->k : NULL;
}

int mg_probe_request(const mg_matrix_model *md, mg_probe_body *b)
{
    memset(b, 0, sizeof *b);
    const struct kind_probe *p = probe_of(md->kind);
    if (!p)
        return MG_E_UNSUPPORTED;
    return p->request ? json_body(md, p->request, b) : asr_form(md, b);
}

void mg_probe_body_free(mg_probe_body *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/*
 * A JSON answer checked whole before anything is read from it: strict syntax, and no more values
 * than `max_values` (what a tree of them would cost). 0, or -1 with s->reason.
 */
static int json_answer(const mg_probe_kind *k, const uint8_t *data, size_t len, size_t max_values, const char *key,
                       mg_stage_result *s)
{
    mg_json_scanner sc;
    mg_json_token t;
    size_t values = 0;
    char said[MAX_QUOTED_ANSWER];
    mg_json_init(&sc, data, len, 64);
    while (mg_json_next(&sc, &t) > MG_JSON_END)
        if (t.type != MG_JSON_KEY && ++values > max_values) {
            snprintf(s->reason, sizeof s->reason, "%s: an answer of more than %zu JSON values; %s models answer with far fewer",
                     k->path, max_values, mg_model_kind_name(k->kind));
            return -1;
        }
    if (t.type == MG_JSON_FAIL || !len) {
        snprintf(s->reason, sizeof s->reason, "%s: not JSON (%s at byte %zu): %s", k->path,
                 len ? sc.err : "empty", sc.err_off, len ? mg_text_clean(said, sizeof said, data, len, key) : "");
        return -1;
    }
    return 0;
}

void mg_probe_answer(const mg_matrix_model *md, const uint8_t *data, size_t len, mg_stage_result *s,
                     mg_check_result *r)
{
    const struct kind_probe *p = probe_of(md->kind);
    if (!p) {
        snprintf(s->reason, sizeof s->reason, "no probe for kind %s", mg_model_kind_name(md->kind));
        s->ok = 0;
        return;
    }
    const mg_probe_kind *k = &p->k;
    answer a = {md, k->path, data, len, 0};
    if (len > k->max)   /* what the transport would have stopped (a caller that read it otherwise) */
        snprintf(s->reason, sizeof s->reason, "%s: an answer of %zu bytes, more than %s models may answer", k->path, len,
                 mg_model_kind_name(k->kind));
    else if (k->read == MG_ANSWER_RAW)
        p->check(&a, s, r);
    else if (json_answer(k, data, len, k->read == MG_ANSWER_TREE ? MAX_TREE_VALUES : SIZE_MAX, mg_probe_api_key(md), s) == 0)
        p->check(&a, s, r);
    s->ok = !s->reason[0];
}
