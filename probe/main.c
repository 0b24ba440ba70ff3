/*
 * main.c - mlgate-probe: a container HEALTHCHECK that is a real inference. One request of the gate's
 * own kind (lib/gate/probe_kinds.c: the body `mlgate check` sends, the judgement it makes), one line
 * out, exit 0 when the model truly answered and 1 otherwise - never 2, which Docker reserves.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/probe_kinds.h"
#include "http.h"
#include "core/text.h"

#define LINE_MAX_BYTES 4096   /* the one line printed, newline included */

static const char usage[] =
    "usage: mlgate-probe --kind llm|vlm|tts|asr|embedding|image URL [--model ID] [--timeout 10s]\n"
    "                    [--api-key-env VAR]\n"
    "\n"
    "Sends URL (the OpenAI-compatible base, e.g. http://127.0.0.1:8080/v1) the minimal inference that\n"
    "`mlgate check` sends for the kind, judges the answer as it does, and prints one line:\n"
    "  ok llm http://127.0.0.1:8080/v1 0.12s first byte 0.05s: \"OK\"\n"
    "  FAIL tts http://127.0.0.1:8000/v1: audio/speech: silence: the loudest sample is 0.0000 of full scale\n"
    "\n"
    "  --kind KIND         llm, vlm: POST chat/completions, text must come back; tts: audio/speech, a\n"
    "                      WAV (or MP3/Ogg/FLAC) of speech, not silence; asr: audio/transcriptions with\n"
    "                      a generated WAV, text must come back; embedding: embeddings, a finite, non-zero\n"
    "                      vector; image: images/generations, a 256x256 PNG or JPEG\n"
    "  --model ID          the \"model\" field of the request (llama-server ignores it; vLLM needs it)\n"
    "  --timeout DURATION  everything - lookup, connect, answer - ends within it (default 10s; 500ms, 2m)\n"
    "  --api-key-env VAR   send the value of environment variable VAR as a bearer token (never printed)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 the model answered and the answer passed; 1 otherwise, usage errors included (never 2:\n"
    "Docker reserves it). http:// only; the answer is capped as the gate caps it (4 MiB chat, 16 MiB audio).\n";

/* A usage error: one line on stderr, exit 1. */
static int bad_usage(const char *what, const char *arg)
{
    char shown[200];
    mg_text_clean(shown, sizeof shown, arg ? arg : "", arg ? strlen(arg) : 0, NULL);
    fprintf(stderr, "mlgate-probe: %s%s%s%s (mlgate-probe --help)\n", what, arg ? " '" : "", shown, arg ? "'" : "");
    return 1;
}

/* --name VALUE or --name=VALUE: the value (advancing *i), or NULL when argv[*i] is not that option. */
static const char *option(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int main(int argc, char **argv)
{
    const char *kind_s = NULL, *url_s = NULL, *model = NULL, *timeout_s = NULL, *key_env = NULL;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = option(argc, argv, &i, "--kind", &missing))) {
            kind_s = v;
        } else if ((v = option(argc, argv, &i, "--model", &missing))) {
            model = v;
        } else if ((v = option(argc, argv, &i, "--timeout", &missing))) {
            timeout_s = v;
        } else if ((v = option(argc, argv, &i, "--api-key-env", &missing))) {
            key_env = v;
        } else if (missing) {
            return bad_usage("a value is missing after", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return bad_usage("unknown option", argv[i]);
        } else if (url_s) {
            return bad_usage("one URL only; a second one:", argv[i]);
        } else {
            url_s = argv[i];
        }
    }
    if (!kind_s)
        return bad_usage("--kind is required: llm, vlm, tts, asr, embedding or image", NULL);
    int kind = mg_model_kind_parse(kind_s);
    if (kind < 0)
        return bad_usage("--kind is one of llm, vlm, tts, asr, embedding, image, not", kind_s);
    if (!url_s)
        return bad_usage("the endpoint's URL is missing, e.g. http://127.0.0.1:8080/v1", NULL);
    double timeout = 10;
    if (timeout_s && mg_parse_duration(timeout_s, &timeout))
        return bad_usage("--timeout takes a duration such as 10s, 500ms or 2m, not", timeout_s);
    char err[300];
    probe_url u;
    if (probe_url_parse(url_s, &u, err, sizeof err))
        return bad_usage(err, NULL);
    if (model && strlen(model) > 1024)
        return bad_usage("--model: an id of more than 1024 bytes", NULL);

    mg_matrix_model md;
    memset(&md, 0, sizeof md);
    md.name = "probe";
    md.kind = (mg_model_kind)kind;
    md.endpoint = url_s;
    md.model = model;
    md.gpu = -1;
    md.timeout = timeout;
    md.api_key_env = key_env;
    const char *key = mg_probe_api_key(&md);
    if (key_env && !key)
        return bad_usage("--api-key-env: the environment variable is not set or empty:", key_env);
    if (key && (strlen(key) > 4000 || strpbrk(key, "\r\n")))
        return bad_usage("--api-key-env: the key is longer than 4000 bytes or holds a line break; from", key_env);

    char shown[200];   /* the URL as printed: cleaned, a key in it masked */
    mg_text_clean(shown, sizeof shown, url_s, strlen(url_s), key);
    const mg_probe_kind *k = mg_probe_kind_of(md.kind);
    mg_probe_body req;
    int rc = mg_probe_request(&md, &req);
    if (rc)
        return bad_usage(rc == MG_E_NOMEM ? "out of memory building the request" : "the model id cannot be sent", NULL);
    double t0 = mg_now();
    probe_request q = {&u, k->path, req.p, req.n, req.type, key, t0 + timeout, k->max};
    probe_response r;
    rc = probe_http(&q, &r);
    mg_probe_body_free(&req);

    char line[LINE_MAX_BYTES], said[3072];   /* an error body quoted as the gate quotes it, within the one line */
    mg_stage_result s;
    mg_check_result cr;
    memset(&s, 0, sizeof s);
    memset(&cr, 0, sizeof cr);
    if (rc)
        snprintf(s.reason, sizeof s.reason, "%s: %s", k->path, r.err);
    else if (r.status < 200 || r.status > 299)
        snprintf(s.reason, sizeof s.reason, "%s: HTTP %d: %s", k->path, r.status,
                 mg_text_clean(said, sizeof said, r.body, r.n, key));
    else
        mg_probe_answer(&md, r.body, r.n, &s, &cr);
    free(r.body);
    int ok = !rc && !s.reason[0];
    if (ok) {
        int quoted = md.kind == MG_MODEL_LLM || md.kind == MG_MODEL_VLM || md.kind == MG_MODEL_ASR;
        snprintf(line, sizeof line, "ok %s %s %.2fs first byte %.2fs: %s%s%s\n", kind_s, shown, r.total, r.ttfb,
                 quoted ? "\"" : "", cr.output, quoted ? "\"" : "");
    } else {
        /* one line, newline kept: the reason cut to the room the URL (<= 199 bytes) leaves */
        int pre = snprintf(line, sizeof line, "FAIL %s %s: ", kind_s, shown);
        size_t at = pre < 0 ? 0 : (size_t)pre;
        snprintf(line + at, sizeof line - at, "%.*s\n", (int)(sizeof line - at - 2), s.reason);
    }
    fputs(line, stdout);
    fflush(stdout);
    return ok ? 0 : 1;
}
