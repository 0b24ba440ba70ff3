/*
 * probes.c - what the gate asks each model and how it judges the answer: the up stage (GET /models,
 * or the program exists), and the inference stage as a table per model kind - the request it sends
 * and the checker of the answer - plus exec models run without a shell. A new kind is one entry.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/child.h"
#include "core/jsonscan.h"
#include "core/net.h"
#include "core/text.h"
#include "gate/gate_int.h"
#include "gate/media.h"

#define MAX_UP_BODY (1u << 20)   /* GET /models: a list of names */
#define MAX_EXEC_OUTPUT (64u << 10)
#define MAX_TREE_VALUES 65536    /* the JSON values of an answer parsed into a tree (chat, image, asr) */
#define MAX_DIMENSIONS 65536     /* no embedding model has more */

/* The model's key, masked in everything quoted from its server (NULL: none configured). */
static const char *api_key(const mg_matrix_model *md)
{
    const char *key = md->api_key_env ? getenv(md->api_key_env) : NULL;
    return key && *key ? key : NULL;
}

/* ==== One bounded HTTP request ==== */

/* An answer being received: bounded by its kind's cap and by what all models hold at once. */
typedef struct body {
    uint8_t *p;
    size_t n, cap;
    size_t max;                 /* this answer's cap */
    _Atomic size_t *shared;     /* the run's answer bytes, all models (NULL: not counted) */
    int too_big, over_shared;
} body;

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
    body *b = u;
    size_t n = sz * nm;
    if (n > b->max - b->n) {
        b->too_big = 1;
        return 0;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        size_t more = cap - b->cap;
        if (b->shared && atomic_fetch_add(b->shared, more) + more > MG_ANSWERS_MAX) {
            atomic_fetch_sub(b->shared, more);
            b->over_shared = 1;
            return 0;
        }
        uint8_t *p = mg_realloc(b->p, cap);
        if (!p) {
            if (b->shared)
                atomic_fetch_sub(b->shared, more);
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static void body_free(body *b)
{
    if (b->shared)
        atomic_fetch_sub(b->shared, b->cap);
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

typedef struct reply {
    long status;
    double ttfb, total;
    body b;
    char err[200];
} reply;

/* A multipart form instead of a JSON body (asr). */
typedef curl_mime *(*form_fn)(const mg_curl_api *cu, CURL *c, const mg_matrix_model *md);

/* One request to the model's endpoint, bounded in time and size (max bytes of answer, counted in
 * *shared too). Returns 0, or -1 with r->err. Free r->b with body_free. */
static int http(const mg_matrix_model *md, const char *path, const char *json, form_fn form_of, double limit,
                size_t max, _Atomic size_t *shared, reply *r)
{
    memset(r, 0, sizeof *r);
    r->b.max = max;
    r->b.shared = shared;
    if (limit <= 0) {
        snprintf(r->err, sizeof r->err, "the gate's deadline passed before this request");
        return -1;
    }
    const mg_curl_api *cu = mg_curl(r->err, sizeof r->err);
    CURL *c = cu ? cu->easy_init() : NULL;
    if (!c) {
        if (cu)
            snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    char url[2048], auth[1100];
    size_t el = strlen(md->endpoint);
    snprintf(url, sizeof url, "%.*s/%s", (int)(el && md->endpoint[el - 1] == '/' ? el - 1 : el), md->endpoint, path);
    struct curl_slist *h = NULL;
    const char *key = api_key(md);
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %.1000s", key);
        h = cu->slist_append(h, auth);
    }
    curl_mime *form = NULL;
    if (json) {
        h = cu->slist_append(h, "Content-Type: application/json");
        cu->easy_setopt(c, CURLOPT_POSTFIELDS, json);
    } else if (form_of) {
        form = form_of(cu, c, md);
        cu->easy_setopt(c, CURLOPT_MIMEPOST, form);
    }
    long ms = (long)(limit * 1000) + 1;
    cu->easy_setopt(c, CURLOPT_URL, url);
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 5000 ? ms : 5000L);
    cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu->easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, &r->b);
    cu->easy_setopt(c, CURLOPT_USERAGENT, "mlgate-check/" MLGATE_VERSION);
    CURLcode rc = cu->easy_perform(c);
    char shown[124], said[72];   /* what is quoted passes the sanitiser: an error body may echo the key */
    mg_text_clean(shown, sizeof shown, url, strlen(url), key);
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    cu->easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME, &r->ttfb);
    cu->easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->total);
    char cap[32];
    if (r->b.too_big)
        snprintf(r->err, sizeof r->err, "%s: the answer passed %s, the most this kind's answer may be; stopped", shown,
                 mg_human(max, cap));
    else if (r->b.over_shared)
        snprintf(r->err, sizeof r->err, "%s: the answers all models held at once passed %s; stopped", shown,
                 mg_human(MG_ANSWERS_MAX, cap));
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(r->err, sizeof r->err, "%s: no complete answer within %.1f s (%zu bytes came)", shown, limit, r->b.n);
    else if (rc != CURLE_OK)
        snprintf(r->err, sizeof r->err, "%s: %s", shown, cu->easy_strerror(rc));
    else if (r->status < 200 || r->status > 299)
        snprintf(r->err, sizeof r->err, "%s: HTTP %ld: %s", shown, r->status,
                 mg_text_clean(said, sizeof said, r->b.p, r->b.n, key));
    cu->slist_free_all(h);
    cu->mime_free(form);
    cu->easy_cleanup(c);
    return r->err[0] ? -1 : 0;
}

/* ==== Requests by kind ==== */

static void chat_request(const mg_matrix_model *md, cJSON *req)
{
    const mg_probe *pb = &md->probe;
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages"), *msg = cJSON_CreateObject();
    cJSON_AddItemToArray(msgs, msg);
    cJSON_AddStringToObject(msg, "role", "user");
    const char *prompt = pb->prompt ? pb->prompt
                         : md->kind == MG_MODEL_VLM ? "What colour is the square? One word."
                                                    : "Say OK.";
    if (md->kind == MG_MODEL_VLM) {   /* the question with a generated picture */
        uint8_t png[4096];
        size_t pn = mg_tiny_png(png, sizeof png);
        char *b = mg_base64(png, pn), *url = b ? mg_malloc(strlen(b) + 32) : NULL;
        if (url)
            sprintf(url, "data:image/png;base64,%s", b);
        cJSON *content = cJSON_AddArrayToObject(msg, "content"), *t = cJSON_CreateObject(),
              *im = cJSON_CreateObject(), *iu = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "type", "text");
        cJSON_AddStringToObject(t, "text", prompt);
        cJSON_AddStringToObject(im, "type", "image_url");
        cJSON_AddStringToObject(iu, "url", url ? url : "");
        cJSON_AddItemToObject(im, "image_url", iu);
        cJSON_AddItemToArray(content, t);
        cJSON_AddItemToArray(content, im);
        free(b);
        free(url);
    } else {
        cJSON_AddStringToObject(msg, "content", prompt);
    }
    cJSON_AddNumberToObject(req, "max_tokens", pb->max_tokens ? pb->max_tokens : 8);
    cJSON_AddNumberToObject(req, "temperature", 0);
}

static void speech_request(const mg_matrix_model *md, cJSON *req)
{
    cJSON_AddStringToObject(req, "input", md->probe.prompt ? md->probe.prompt : "The gate checks that speech really works.");
    if (md->probe.voice)
        cJSON_AddStringToObject(req, "voice", md->probe.voice);
    cJSON_AddStringToObject(req, "response_format", "wav");
}

static void embedding_request(const mg_matrix_model *md, cJSON *req)
{
    cJSON_AddStringToObject(req, "input", md->probe.prompt ? md->probe.prompt : "mlgate checks this embedding");
}

static void image_request(const mg_matrix_model *md, cJSON *req)
{
    char size[32];
    snprintf(size, sizeof size, "%ux%u", md->probe.width ? md->probe.width : 256, md->probe.height ? md->probe.height : 256);
    cJSON_AddStringToObject(req, "prompt", md->probe.prompt ? md->probe.prompt : "a red cube on a white table");
    cJSON_AddStringToObject(req, "size", size);
    cJSON_AddNumberToObject(req, "n", 1);
    cJSON_AddStringToObject(req, "response_format", "b64_json");
}

/* asr: the generated WAV and the model id as a multipart form. */
static curl_mime *asr_form(const mg_curl_api *cu, CURL *c, const mg_matrix_model *md)
{
    curl_mime *m = cu->mime_init(c);
    curl_mimepart *p = cu->mime_addpart(m);
    uint8_t *buf = mg_malloc(44 + 32000);
    size_t n = buf ? mg_tone_wav(buf, 44 + 32000) : 0;
    cu->mime_name(p, "file");
    cu->mime_filename(p, "probe.wav");
    cu->mime_type(p, "audio/wav");
    cu->mime_data(p, (const char *)buf, n);   /* copied by curl */
    free(buf);
    p = cu->mime_addpart(m);
    cu->mime_name(p, "model");
    cu->mime_data(p, md->model ? md->model : "", CURL_ZERO_TERMINATED);
    return m;
}

/* ==== Answers by kind: each fills s->reason on failure, r->output on success ==== */

static const char *json_text(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

typedef struct answer {
    const mg_matrix_model *md;
    const char *path;
    const reply *rp;
    const cJSON *doc;       /* the answer parsed as JSON (NULL for a raw answer) */
} answer;

static const cJSON *first_data(const answer *a)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(a->doc, "data");
    return cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
}

static void chat_check(const answer *a, mg_stage_result *s, mg_check_result *r)
{
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a->doc, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
    const char *text = json_text(msg, "content");
    if (!text || !*text)
        text = json_text(msg, "reasoning_content");
    if (!text || !*text)
        text = json_text(ch, "text");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(a->doc, "usage");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
    int counted = cJSON_IsNumber(toks) && toks->valuedouble > 0 && toks->valuedouble < 1e18;   /* the server's word */
    r->tokens = counted ? (uint64_t)toks->valuedouble : 0;
    if (!text || !*text)
        snprintf(s->reason, sizeof s->reason, "%s: no text in the answer", a->path);
    else if (cJSON_IsNumber(toks) && toks->valuedouble <= 0)
        snprintf(s->reason, sizeof s->reason, "%s: usage says 0 completion tokens", a->path);
    else if (!*mg_text_clean(r->output, sizeof r->output, text, strlen(text), api_key(a->md)))
        snprintf(s->reason, sizeof s->reason, "%s: the answer is only white space or control characters", a->path);
    else if (!r->tokens)
        r->tokens = 1;
}

static void speech_check(const answer *a, mg_stage_result *s, mg_check_result *r)
{
    char what[120], why[160];
    if (mg_check_audio(a->rp->b.p, a->rp->b.n, 0.5, what, sizeof what, why, sizeof why))
        snprintf(r->output, sizeof r->output, "%s", what);
    else
        snprintf(s->reason, sizeof s->reason, "%s: %s", a->path, why);
}

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

/* data[0].embedding, streamed: its numbers counted and judged one by one, no tree built. */
static void embedding_check(const answer *a, mg_stage_result *s, mg_check_result *r)
{
    mg_json_scanner sc;
    mg_json_token t;
    mg_json_init(&sc, a->rp->b.p, a->rp->b.n, 64);
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

static void image_check(const answer *a, mg_stage_result *s, mg_check_result *r)
{
    const cJSON *first = first_data(a);
    const char *b = json_text(first, "b64_json");
    uint8_t head[4096];
    size_t hn = b ? mg_unbase64(b, head, sizeof head) : 0;
    const char *fmt;
    const mg_probe *pb = &a->md->probe;
    uint32_t w, h, ww = pb->width ? pb->width : 256, wh = pb->height ? pb->height : 256;
    if (!b)
        snprintf(s->reason, sizeof s->reason, "%s: no data[0].b64_json%s", a->path,
                 json_text(first, "url") ? " (it answered a URL)" : "");
    else if (!mg_image_size(head, hn, &fmt, &w, &h))
        snprintf(s->reason, sizeof s->reason, "%s: the image is neither PNG nor JPEG", a->path);
    else if (w != ww || h != wh)
        snprintf(s->reason, sizeof s->reason, "%s: a %ux%u %s, %ux%u was asked for", a->path, w, h, fmt, ww, wh);
    else
        snprintf(r->output, sizeof r->output, "%s %ux%u", fmt, w, h);
}

static void transcription_check(const answer *a, mg_stage_result *s, mg_check_result *r)
{
    const char *text = json_text(a->doc, "text");
    if (!text || !*mg_text_clean(r->output, sizeof r->output, text, strlen(text), api_key(a->md)))
        snprintf(s->reason, sizeof s->reason, "%s: no text in the transcription%s", a->path,
                 text && *text ? " (only white space or control characters)" : "");
}

/* How an answer is read: raw bytes (audio), a JSON tree (small answers), or JSON streamed (no tree). */
enum { ANSWER_RAW, ANSWER_TREE, ANSWER_STREAM };

/* The inference probe of each model kind (OpenAI-compatible endpoints). */
static const struct probe_kind {
    mg_model_kind kind;
    const char *path;                                       /* under the endpoint */
    void (*request)(const mg_matrix_model *md, cJSON *req); /* the JSON body; NULL: `form` */
    form_fn form;                                           /* a multipart body */
    int read;                                               /* ANSWER_* */
    size_t max;                                             /* the largest answer taken */
    void (*check)(const answer *a, mg_stage_result *s, mg_check_result *r);
} kinds[] = {
    {MG_MODEL_LLM, "chat/completions", chat_request, NULL, ANSWER_TREE, 4u << 20, chat_check},
    {MG_MODEL_VLM, "chat/completions", chat_request, NULL, ANSWER_TREE, 4u << 20, chat_check},
    {MG_MODEL_TTS, "audio/speech", speech_request, NULL, ANSWER_RAW, 16u << 20, speech_check},
    {MG_MODEL_ASR, "audio/transcriptions", NULL, asr_form, ANSWER_TREE, 4u << 20, transcription_check},
    {MG_MODEL_EMBEDDING, "embeddings", embedding_request, NULL, ANSWER_STREAM, 8u << 20, embedding_check},
    {MG_MODEL_IMAGE, "images/generations", image_request, NULL, ANSWER_TREE, 16u << 20, image_check},
};

static const struct probe_kind *kind_of(mg_model_kind kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

/* ==== exec models: argv without a shell, bounded in time and output ==== */

static void run_exec(mg_check_job *j, mg_stage_result *s, mg_check_result *r)
{
    const mg_matrix_model *md = j->md;
    double limit = mg_check_left(j, md->timeout), t0 = mg_now();
    mg_child ch;
    if (limit <= 0) {
        snprintf(s->reason, sizeof s->reason, "the gate's deadline passed");
        return;
    }
    if (mg_child_exec(&ch, (const char *const *)md->exec, s->reason, sizeof s->reason))
        return;
    char *out = mg_malloc(MAX_EXEC_OUTPUT + 1);
    size_t n = 0;
    long got;
    char buf[4096];
    while ((got = mg_child_read(&ch, buf, sizeof buf, t0 + limit)) > 0)
        for (long k = 0; out && k < got && n < MAX_EXEC_OUTPUT; k++)
            out[n++] = buf[k];
    int timed_out = got < 0;
    int st = mg_child_end(&ch, timed_out ? 0 : t0 + limit);
    timed_out |= ch.killed;
    r->total = mg_now() - t0;
    char said[128];   /* what the program printed, as the reasons quote it */
    mg_text_clean(said, sizeof said, out, out ? n : 0, api_key(md));
    if (out)
        out[n] = 0;
    r->bytes = n;
    if (timed_out)
        snprintf(s->reason, sizeof s->reason, "%.60s did not finish within %.1f s", md->exec[0], limit);
    else if (!WIFEXITED(st) || WEXITSTATUS(st))
        snprintf(s->reason, sizeof s->reason, "%.60s %s %d: %s", md->exec[0],
                 WIFEXITED(st) ? "exited with" : "killed by signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), said);
    else if (md->probe.expect && (!out || !strstr(out, md->probe.expect)))
        snprintf(s->reason, sizeof s->reason, "output lacks '%.60s': %s", md->probe.expect, said);
    else
        snprintf(r->output, sizeof r->output, "exit 0, %zu bytes of output", n);
    s->ok = !s->reason[0];
    free(out);
}

/* ==== The stages ==== */

void mg_probe_inference(mg_check_job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    mg_check_result *r = j->r;
    if (md->nexec) {
        run_exec(j, s, r);
        return;
    }
    const struct probe_kind *k = kind_of(md->kind);
    if (!k) {
        snprintf(s->reason, sizeof s->reason, "no probe for kind %s", mg_model_kind_name(md->kind));
        return;
    }
    char *json = NULL;
    if (k->request) {
        cJSON *req = cJSON_CreateObject();
        if (md->model)
            cJSON_AddStringToObject(req, "model", md->model);
        k->request(md, req);
        json = cJSON_PrintUnformatted(req);
        cJSON_Delete(req);
    }
    reply rp;
    int rc = http(md, k->path, json, k->form, mg_check_left(j, md->timeout), k->max, j->answers, &rp);
    free(json);
    r->ttfb = rp.ttfb;
    r->total = rp.total;
    r->bytes = rp.b.n;
    if (rc)
        snprintf(s->reason, sizeof s->reason, "%s", rp.err);
    else
        mg_probe_answer(md, rp.b.p, rp.b.n, s, r);
    body_free(&rp.b);
    s->ok = !s->reason[0];
}

/*
 * A JSON answer checked whole before anything is built from it: strict syntax, and no more values
 * than `max_values` (a tree of them is what costs memory). 0, or -1 with s->reason.
 */
static int json_answer(const struct probe_kind *k, const uint8_t *data, size_t len, size_t max_values,
                       const char *key, mg_stage_result *s)
{
    mg_json_scanner sc;
    mg_json_token t;
    size_t values = 0;
    char said[104];
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
    const struct probe_kind *k = kind_of(md->kind);
    reply rp = {.b = {(uint8_t *)data, len, len, len, NULL, 0, 0}};
    answer a = {md, k->path, &rp, NULL};
    cJSON *doc = NULL;
    if (len > k->max)   /* what http() would have stopped (a caller that read it otherwise) */
        snprintf(s->reason, sizeof s->reason, "%s: an answer of %zu bytes, more than %s models may answer", k->path, len,
                 mg_model_kind_name(k->kind));
    else if (k->read == ANSWER_RAW)
        k->check(&a, s, r);
    else if (json_answer(k, data, len, k->read == ANSWER_TREE ? MAX_TREE_VALUES : SIZE_MAX, api_key(md), s) == 0) {
        if (k->read == ANSWER_TREE && !(a.doc = doc = cJSON_ParseWithLength((const char *)data, len)))
            snprintf(s->reason, sizeof s->reason, "%s: out of memory reading the answer", k->path);
        else
            k->check(&a, s, r);
    }
    cJSON_Delete(doc);
    s->ok = !s->reason[0];
}

/* An executable on PATH (or at the path given). */
static int executable(const char *a0)
{
    if (strchr(a0, '/'))
        return !access(a0, X_OK);
    const char *path = getenv("PATH");
    char dir[4096];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t l = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s/%s", (int)l, p, a0);
        if (!access(dir, X_OK))
            return 1;
        p += l + (p[l] == ':');
    }
    return 0;
}

void mg_probe_up(mg_check_job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = j->md;
    if (md->nexec) {
        s->ok = executable(md->exec[0]);
        if (!s->ok)
            snprintf(s->reason, sizeof s->reason, "%.200s: not an executable here", md->exec[0]);
        return;
    }
    reply rp;
    double lim = j->o->up_timeout > 0 ? j->o->up_timeout : 5;
    if (http(md, "models", NULL, NULL, mg_check_left(j, lim < md->timeout ? lim : md->timeout), MAX_UP_BODY, j->answers,
             &rp))
        snprintf(s->reason, sizeof s->reason, "%s", rp.err);
    body_free(&rp.b);
    s->ok = !s->reason[0];
}
