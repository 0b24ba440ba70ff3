/* check.c - the gate: per model, in parallel under one deadline, smoke (binaries, file, plan), up (the endpoint answers), and a real minimal inference by kind. */
#define _GNU_SOURCE   /* pipe2 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mlgate/check.h"
#include "mlgate/mlgate.h"
#include "core/net.h"

#define MAX_BODY (16u << 20)     /* the largest response read: a 10 GB answer stops here */
#define MAX_EXEC_OUTPUT (64u << 10)

static const char *const stages[] = {"smoke", "up", "inference"};
const char *mg_stage_name(int s) { return s >= 0 && s < MG_NSTAGES ? stages[s] : "?"; }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- HTTP ---- */

typedef struct body {
    uint8_t *p;
    size_t n, cap;
    int too_big;
} body;

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
    body *b = u;
    size_t n = sz * nm;
    if (b->n + n > MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        if (cap > MAX_BODY + 1)
            cap = MAX_BODY + 1;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

typedef struct reply {
    long status;
    double ttfb, total;
    body b;
    char err[200];
} reply;

/* One request, bounded in time and size. mime: a multipart form instead of json. */
static int http(const mg_matrix_model *md, const char *path, const char *json, curl_mime *(*mime)(CURL *, void *),
                void *mime_arg, double limit, reply *r)
{
    memset(r, 0, sizeof *r);
    if (limit <= 0) {
        snprintf(r->err, sizeof r->err, "the gate's deadline passed before this request");
        return -1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    char url[2048], auth[1100];
    size_t el = strlen(md->endpoint);
    snprintf(url, sizeof url, "%.*s/%s", (int)(el && md->endpoint[el - 1] == '/' ? el - 1 : el), md->endpoint, path);
    struct curl_slist *h = NULL;
    const char *key = md->api_key_env ? getenv(md->api_key_env) : NULL;
    if (key && *key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %.1000s", key);
        h = curl_slist_append(h, auth);
    }
    curl_mime *form = NULL;
    if (json) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    } else if (mime) {
        form = mime(c, mime_arg);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, form);
    }
    long ms = (long)(limit * 1000) + 1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 5000 ? ms : 5000L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->b);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mlgate-check/" MLGATE_VERSION);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME, &r->ttfb);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->total);
    if (r->b.too_big)
        snprintf(r->err, sizeof r->err, "%.120s: the answer passed %u MiB, stopped", url, MAX_BODY >> 20);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(r->err, sizeof r->err, "%.120s: no complete answer within %.1f s (%zu bytes came)", url, limit, r->b.n);
    else if (rc != CURLE_OK)
        snprintf(r->err, sizeof r->err, "%.120s: %s", url, curl_easy_strerror(rc));
    else if (r->status < 200 || r->status > 299)
        snprintf(r->err, sizeof r->err, "%.120s: HTTP %ld: %.60s", url, r->status, r->b.p ? (char *)r->b.p : "");
    curl_slist_free_all(h);
    curl_mime_free(form);
    curl_easy_cleanup(c);
    return r->err[0] ? -1 : 0;
}

/* ---- generated inputs: a tiny PNG for vlm, a short WAV for asr ---- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A 32x32 RGB PNG: a red square on white. Returns its length in out (>= 600 bytes). */
static size_t tiny_png(uint8_t *out, size_t cap)
{
    uint8_t raw[32 * (1 + 32 * 3)], z[2048];
    for (int y = 0; y < 32; y++) {
        raw[y * 97] = 0;
        for (int x = 0; x < 32; x++) {
            int red = x >= 8 && x < 24 && y >= 8 && y < 24;
            uint8_t *px = raw + y * 97 + 1 + x * 3;
            px[0] = 255, px[1] = red ? 0 : 255, px[2] = red ? 0 : 255;
        }
    }
    uLongf zn = sizeof z;
    if (compress(z, &zn, raw, sizeof raw) != Z_OK || 8 + 25 + 12 + zn + 12 > cap)
        return 0;
    size_t n = 0;
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    const struct { const char *type; const uint8_t *d; size_t len; } ch[3] = {
        {"IHDR", (const uint8_t *)"\0\0\0\x20\0\0\0\x20\x08\x02\0\0\0", 13}, {"IDAT", z, zn}, {"IEND", NULL, 0}};
    for (int i = 0; i < 3; i++) {
        be32(out + n, (uint32_t)ch[i].len);
        memcpy(out + n + 4, ch[i].type, 4);
        if (ch[i].len)
            memcpy(out + n + 8, ch[i].d, ch[i].len);
        be32(out + n + 8 + ch[i].len, (uint32_t)crc32(0, out + n + 4, (uInt)(4 + ch[i].len)));
        n += 12 + ch[i].len;
    }
    return n;
}

static void le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* One second of 16 kHz mono PCM: a 440 Hz tone shaped like a syllable. */
static size_t tone_wav(uint8_t *out, size_t cap)
{
    const uint32_t rate = 16000, n = rate;
    if (44 + n * 2 > cap)
        return 0;
    memcpy(out, "RIFF", 4), le(out + 4, 36 + n * 2, 4), memcpy(out + 8, "WAVEfmt ", 8);
    le(out + 16, 16, 4), le(out + 20, 1, 2), le(out + 22, 1, 2), le(out + 24, rate, 4), le(out + 28, rate * 2, 4);
    le(out + 32, 2, 2), le(out + 34, 16, 2), memcpy(out + 36, "data", 4), le(out + 40, n * 2, 4);
    for (uint32_t i = 0; i < n; i++) {
        double env = sin(3.14159265 * i / n);
        le(out + 44 + 2 * i, (uint32_t)(int16_t)(12000 * env * sin(2 * 3.14159265 * 440 * i / rate)), 2);
    }
    return 44 + n * 2;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const uint8_t *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1), *q = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *q++ = b64[v >> 18 & 63], *q++ = b64[v >> 12 & 63];
        *q++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *q = 0;
    return o;
}

/* Decodes up to cap bytes; stops at the first character that is not base64. */
static size_t unbase64(const char *s, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s && *s != '='; s++) {
        if (*s == '\n' || *s == '\r')
            continue;
        const char *k = strchr(b64, *s);
        if (!k)
            break;
        acc = acc << 6 | (uint32_t)(k - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap)
                out[n] = (uint8_t)(acc >> bits);
            n++;
        }
    }
    return n < cap ? n : cap;
}

/* ---- what answers look like ---- */

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static double f32_at(const uint8_t *p)
{
    float f;
    uint32_t u = rd32(p);
    memcpy(&f, &u, 4);
    return isfinite(f) ? (double)f : 0;
}

int mg_check_audio(const uint8_t *b, size_t n, double min_seconds, char *what, size_t wl, char *why, size_t yl)
{
    what[0] = why[0] = 0;
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WAVE", 4)) {
        uint32_t fmt = 0, ch = 0, rate = 0, bits = 0;
        size_t off = 12;
        while (off + 8 <= n) {
            uint32_t len = rd32(b + off + 4);
            if (!memcmp(b + off, "fmt ", 4) && len >= 16 && off + 8 + 16 <= n) {
                fmt = rd16(b + off + 8), ch = rd16(b + off + 10), rate = rd32(b + off + 12), bits = rd16(b + off + 22);
                if (fmt == 0xFFFE && len >= 26 && off + 8 + 26 <= n)
                    fmt = rd16(b + off + 8 + 24);
            } else if (!memcmp(b + off, "data", 4)) {
                /* streaming writers (espeak-ng --stdout, ffmpeg to a pipe) cannot know the size: they
                 * leave 0 or a placeholder near 2^31 or 2^32; then the audio is what came */
                size_t have = n - off - 8, want = len == 0 || len >= 0x7FFF0000u ? have : len;
                if (!rate || !ch || !bits || (fmt != 1 && fmt != 3) || bits % 8 || bits > 32) {
                    snprintf(why, yl, "WAV with a format mlgate does not read (format %u, %u bits)", fmt, bits);
                    return 0;
                }
                if (want > have) {
                    snprintf(why, yl, "truncated WAV: the data chunk says %zu bytes, %zu came", want, have);
                    return 0;
                }
                size_t frame = ch * (bits / 8), frames = want / frame;
                double secs = (double)frames / rate, peak = 0;
                for (size_t i = 0; i < frames * ch; i++) {
                    const uint8_t *s = b + off + 8 + i * (bits / 8);
                    double v = bits == 8  ? ((double)s[0] - 128) / 128
                               : bits == 16 ? (double)(int16_t)rd16(s) / 32768
                               : bits == 24 ? (double)((int32_t)((uint32_t)s[0] << 8 | (uint32_t)s[1] << 16 |
                                                                 (uint32_t)s[2] << 24) >> 8) / 8388608
                               : fmt == 3   ? f32_at(s)
                                            : (double)(int32_t)rd32(s) / 2147483648.0;
                    if (fabs(v) > peak)
                        peak = fabs(v);
                }
                snprintf(what, wl, "WAV %.2f s, %u Hz, %u ch, peak %.3f", secs, rate, ch, peak);
                if (secs < min_seconds)
                    snprintf(why, yl, "%.2f s of audio, less than %.1f s", secs, min_seconds);
                else if (peak < 0.01)
                    snprintf(why, yl, "silence: the loudest sample is %.4f of full scale", peak);
                return !why[0];
            }
            if (len > n - off - 8)
                break;
            off += 8 + len + (len & 1);
        }
        snprintf(why, yl, "WAV without a data chunk (truncated?)");
        return 0;
    }
    const char *kind = n >= 3 && !memcmp(b, "ID3", 3)                        ? "MP3"
                       : n >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0       ? "MP3"
                       : n >= 4 && !memcmp(b, "OggS", 4)                        ? "Ogg (Opus/Vorbis)"
                       : n >= 4 && !memcmp(b, "fLaC", 4)                        ? "FLAC"
                                                                                 : NULL;
    if (kind) {
        snprintf(what, wl, "%s, %zu bytes (duration not checked)", kind, n);
        if (n < 1024)
            snprintf(why, yl, "%s of only %zu bytes", kind, n);
        return !why[0];
    }
    snprintf(why, yl, "not audio: starts with %02x %02x %02x %02x", n > 0 ? b[0] : 0, n > 1 ? b[1] : 0,
             n > 2 ? b[2] : 0, n > 3 ? b[3] : 0);
    return 0;
}

int mg_image_size(const uint8_t *b, size_t n, const char **format, uint32_t *w, uint32_t *h)
{
    if (n >= 24 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4)) {
        *format = "PNG";
        *w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
        *h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
        return 1;
    }
    if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
        size_t off = 2;
        while (off + 9 < n && b[off] == 0xFF) {
            uint8_t m = b[off + 1];
            uint32_t len = (uint32_t)b[off + 2] << 8 | b[off + 3];
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
                *format = "JPEG";
                *h = (uint32_t)b[off + 5] << 8 | b[off + 6];
                *w = (uint32_t)b[off + 7] << 8 | b[off + 8];
                return 1;
            }
            if (len < 2)
                break;
            off += 2 + len;
        }
    }
    return 0;
}

/* ---- stages ---- */

typedef struct job {
    const mg_matrix *m;
    size_t i;
    const mg_check_opts *o;
    double deadline_at;
    mg_check_result *r;
} job;

static double left(const job *j, double limit)
{
    double rest = j->deadline_at - now();
    return rest < limit ? rest : limit;
}

static void smoke(job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = &j->m->models[j->i];
    if (j->o->plan && !j->o->plan->models[j->i].fits) {
        snprintf(s->reason, sizeof s->reason, "does not fit the memory plan: %.200s", j->o->plan->models[j->i].why);
        return;
    }
    if (md->file && strstr(md->file, ".gguf")) {
        mg_gguf_model *g = mg_gguf_model_open(md->file);
        const char *arch = g && g->nshards && !g->shards[0].err ? mg_gguf_str(&g->shards[0].g, "general.architecture")
                                                                : NULL;
        if (!arch)
            snprintf(s->reason, sizeof s->reason, "cannot read %.150s: %.80s", md->file,
                     g && g->nshards ? g->shards[0].msg : "out of memory");
        else if (!mg_llama_cpp_knows(arch))
            snprintf(s->reason, sizeof s->reason, "%.120s: architecture '%.40s' is unknown to llama.cpp%s%.40s%s",
                     md->file, arch, mg_llama_cpp_spelling(arch) ? " (it spells it '" : "",
                     mg_llama_cpp_spelling(arch) ? mg_llama_cpp_spelling(arch) : "",
                     mg_llama_cpp_spelling(arch) ? "')" : "");
        mg_gguf_model_free(g);
        if (s->reason[0])
            return;
    }
    for (size_t k = 0; k < md->nbinaries && !s->reason[0]; k++)
        if (access(md->binaries[k], R_OK))
            snprintf(s->reason, sizeof s->reason, "%.180s: %s", md->binaries[k], strerror(errno));
    if (s->reason[0])
        return;
    if (md->nbinaries && j->o->ntargets) {
        mg_scan_opts so = {.targets = j->o->targets, .ntargets = j->o->ntargets, .threads = 1};
        mg_scan_result res;
        if (mg_scan_paths(&so, md->binaries, md->nbinaries, &res) == MG_OK) {
            for (size_t k = 0; k < res.nreports && !s->reason[0]; k++) {
                const mg_report *rep = res.reports[k];
                if (rep->err)
                    snprintf(s->reason, sizeof s->reason, "%.150s: %s", rep->path, mg_strerror((mg_err)rep->err));
                else if (mg_report_worst(rep) >= MG_ST_PARTIAL)
                    snprintf(s->reason, sizeof s->reason, "%.150s: %s on this host's GPU (mlgate scan says why)",
                             rep->path, mg_status_str(mg_report_worst(rep)));
            }
            mg_scan_result_free(&res);
        }
        if (s->reason[0])
            return;
    }
    s->ok = !s->reason[0];
}

/* exec models: run argv without a shell, bounded in time and output. */
static void run_exec(job *j, mg_stage_result *s, mg_check_result *r)
{
    const mg_matrix_model *md = &j->m->models[j->i];
    double limit = left(j, md->timeout), t0 = now();
    int fd[2];
    if (limit <= 0 || pipe2(fd, O_CLOEXEC)) {   /* CLOEXEC: a model forked meanwhile must not keep our pipe open */
        snprintf(s->reason, sizeof s->reason, limit <= 0 ? "the gate's deadline passed" : "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fd[1], 1), dup2(fd[1], 2), close(fd[0]), close(fd[1]);
        int dn = open("/dev/null", O_RDONLY);
        if (dn >= 0)
            dup2(dn, 0);
        execvp(md->exec[0], (char *const *)md->exec);
        fprintf(stderr, "mlgate: cannot run %s: %s\n", md->exec[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    if (pid < 0) {
        close(fd[0]);
        snprintf(s->reason, sizeof s->reason, "fork: %s", strerror(errno));
        return;
    }
    char *out = malloc(MAX_EXEC_OUTPUT + 1);
    size_t n = 0;
    int timed_out = 0;
    for (;;) {
        double rest = limit - (now() - t0);
        if (rest <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {fd[0], POLLIN, 0};
        int pr = poll(&p, 1, (int)(rest * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        char buf[4096];
        ssize_t got = read(fd[0], buf, sizeof buf);
        if (got <= 0)
            break;
        for (ssize_t k = 0; out && k < got && n < MAX_EXEC_OUTPUT; k++)
            out[n++] = buf[k];
    }
    close(fd[0]);
    if (timed_out)
        kill(-pid, SIGKILL), kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    r->total = now() - t0;
    if (out)
        out[n] = 0;
    r->bytes = n;
    if (timed_out)
        snprintf(s->reason, sizeof s->reason, "%.60s did not finish within %.1f s", md->exec[0], limit);
    else if (!WIFEXITED(st) || WEXITSTATUS(st))
        snprintf(s->reason, sizeof s->reason, "%.60s %s %d: %.120s", md->exec[0],
                 WIFEXITED(st) ? "exited with" : "killed by signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                 out ? out : "");
    else if (md->probe.expect && (!out || !strstr(out, md->probe.expect)))
        snprintf(s->reason, sizeof s->reason, "output lacks '%.60s': %.120s", md->probe.expect, out ? out : "");
    else
        snprintf(r->output, sizeof r->output, "exit 0, %zu bytes of output", n);
    s->ok = !s->reason[0];
    free(out);
}

/* asr: the generated WAV and the model id as a multipart form. */
static curl_mime *asr_form(CURL *c, void *arg)
{
    const job *j = arg;
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(m);
    uint8_t *buf = malloc(44 + 32000);
    size_t n = buf ? tone_wav(buf, 44 + 32000) : 0;
    curl_mime_name(p, "file");
    curl_mime_filename(p, "probe.wav");
    curl_mime_type(p, "audio/wav");
    curl_mime_data(p, (const char *)buf, n);   /* copied by curl */
    free(buf);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "model");
    curl_mime_data(p, j->m->models[j->i].model ? j->m->models[j->i].model : "", CURL_ZERO_TERMINATED);
    return m;
}

static const char *json_text(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void inference(job *j, mg_stage_result *s, mg_check_result *r)
{
    const mg_matrix_model *md = &j->m->models[j->i];
    if (md->nexec) {
        run_exec(j, s, r);
        return;
    }
    const mg_probe *pb = &md->probe;
    cJSON *req = cJSON_CreateObject();
    const char *path = "chat/completions";
    char *json = NULL;
    if (md->model)
        cJSON_AddStringToObject(req, "model", md->model);
    switch (md->kind) {
    case MG_KIND_LLM:
    case MG_KIND_VLM: {
        cJSON *msgs = cJSON_AddArrayToObject(req, "messages"), *msg = cJSON_CreateObject();
        cJSON_AddItemToArray(msgs, msg);
        cJSON_AddStringToObject(msg, "role", "user");
        const char *prompt = pb->prompt ? pb->prompt
                             : md->kind == MG_KIND_VLM ? "What colour is the square? One word."
                                                       : "Say OK.";
        if (md->kind == MG_KIND_VLM) {
            uint8_t png[4096];
            size_t pn = tiny_png(png, sizeof png);
            char *b = base64(png, pn), *url = b ? malloc(strlen(b) + 32) : NULL;
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
        break;
    }
    case MG_KIND_TTS:
        path = "audio/speech";
        cJSON_AddStringToObject(req, "input", pb->prompt ? pb->prompt : "The gate checks that speech really works.");
        if (pb->voice)
            cJSON_AddStringToObject(req, "voice", pb->voice);
        cJSON_AddStringToObject(req, "response_format", "wav");
        break;
    case MG_KIND_EMBEDDING:
        path = "embeddings";
        cJSON_AddStringToObject(req, "input", pb->prompt ? pb->prompt : "mlgate checks this embedding");
        break;
    case MG_KIND_IMAGE: {
        path = "images/generations";
        char size[32];
        snprintf(size, sizeof size, "%ux%u", pb->width ? pb->width : 256, pb->height ? pb->height : 256);
        cJSON_AddStringToObject(req, "prompt", pb->prompt ? pb->prompt : "a red cube on a white table");
        cJSON_AddStringToObject(req, "size", size);
        cJSON_AddNumberToObject(req, "n", 1);
        cJSON_AddStringToObject(req, "response_format", "b64_json");
        break;
    }
    case MG_KIND_ASR:
        path = "audio/transcriptions";
        break;
    }
    json = md->kind == MG_KIND_ASR ? NULL : cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    reply rp;
    int rc = http(md, path, json, md->kind == MG_KIND_ASR ? asr_form : NULL, j, left(j, md->timeout), &rp);
    free(json);
    r->ttfb = rp.ttfb;
    r->total = rp.total;
    r->bytes = rp.b.n;
    if (rc) {
        snprintf(s->reason, sizeof s->reason, "%s", rp.err);
        free(rp.b.p);
        return;
    }
    if (md->kind == MG_KIND_TTS) {
        char what[120], why[160];
        if (mg_check_audio(rp.b.p, rp.b.n, 0.5, what, sizeof what, why, sizeof why))
            snprintf(r->output, sizeof r->output, "%s", what);
        else
            snprintf(s->reason, sizeof s->reason, "%s: %s", path, why);
        s->ok = !s->reason[0];
        free(rp.b.p);
        return;
    }
    cJSON *doc = rp.b.p ? cJSON_ParseWithLength((const char *)rp.b.p, rp.b.n) : NULL;
    if (!doc) {
        snprintf(s->reason, sizeof s->reason, "%s: not JSON: %.100s", path, rp.b.p ? (char *)rp.b.p : "(empty)");
        free(rp.b.p);
        return;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const cJSON *first = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
    switch (md->kind) {
    case MG_KIND_LLM:
    case MG_KIND_VLM: {
        const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "choices"), 0);
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
        const char *text = json_text(msg, "content");
        if (!text || !*text)
            text = json_text(msg, "reasoning_content");
        if (!text || !*text)
            text = json_text(ch, "text");
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(doc, "usage");
        const cJSON *toks = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
        r->tokens = cJSON_IsNumber(toks) && toks->valuedouble > 0 ? (uint64_t)toks->valuedouble : 0;
        if (!text || !*text)
            snprintf(s->reason, sizeof s->reason, "%s: no text in the answer", path);
        else if (cJSON_IsNumber(toks) && toks->valuedouble <= 0)
            snprintf(s->reason, sizeof s->reason, "%s: usage says 0 completion tokens", path);
        else {
            if (!r->tokens)
                r->tokens = 1;
            snprintf(r->output, sizeof r->output, "%.150s", text);
        }
        break;
    }
    case MG_KIND_EMBEDDING: {
        const cJSON *vec = cJSON_GetObjectItemCaseSensitive(first, "embedding");
        int n = cJSON_IsArray(vec) ? cJSON_GetArraySize(vec) : 0, finite = 1;
        for (const cJSON *x = vec ? vec->child : NULL; x; x = x->next)
            finite &= cJSON_IsNumber(x) && isfinite(x->valuedouble);
        if (!n)
            snprintf(s->reason, sizeof s->reason, "%s: no data[0].embedding vector", path);
        else if (!finite)
            snprintf(s->reason, sizeof s->reason, "%s: the vector has values that are not finite numbers", path);
        else if (md->probe.dimensions && (uint32_t)n != md->probe.dimensions)
            snprintf(s->reason, sizeof s->reason, "%s: a vector of %d, not %u", path, n, md->probe.dimensions);
        else
            snprintf(r->output, sizeof r->output, "vector of %d", n);
        break;
    }
    case MG_KIND_IMAGE: {
        const char *b = json_text(first, "b64_json");
        uint8_t head[4096];
        size_t hn = b ? unbase64(b, head, sizeof head) : 0;
        const char *fmt;
        uint32_t w, h, ww = md->probe.width ? md->probe.width : 256, wh = md->probe.height ? md->probe.height : 256;
        if (!b)
            snprintf(s->reason, sizeof s->reason, "%s: no data[0].b64_json%s", path,
                     json_text(first, "url") ? " (it answered a URL)" : "");
        else if (!mg_image_size(head, hn, &fmt, &w, &h))
            snprintf(s->reason, sizeof s->reason, "%s: the image is neither PNG nor JPEG", path);
        else if (w != ww || h != wh)
            snprintf(s->reason, sizeof s->reason, "%s: a %ux%u %s, %ux%u was asked for", path, w, h, fmt, ww, wh);
        else
            snprintf(r->output, sizeof r->output, "%s %ux%u", fmt, w, h);
        break;
    }
    case MG_KIND_ASR: {
        const char *text = json_text(doc, "text");
        if (!text || !*text)
            snprintf(s->reason, sizeof s->reason, "%s: no text in the transcription", path);
        else
            snprintf(r->output, sizeof r->output, "%.150s", text);
        break;
    }
    default:
        break;
    }
    cJSON_Delete(doc);
    free(rp.b.p);
    s->ok = !s->reason[0];
}

static void up(job *j, mg_stage_result *s)
{
    const mg_matrix_model *md = &j->m->models[j->i];
    if (md->nexec) {
        const char *a0 = md->exec[0];
        int found = strchr(a0, '/') ? !access(a0, X_OK) : 0;
        if (!strchr(a0, '/')) {
            const char *path = getenv("PATH");
            char dir[4096];
            for (const char *p = path ? path : "/usr/bin:/bin"; *p && !found;) {
                size_t l = strcspn(p, ":");
                snprintf(dir, sizeof dir, "%.*s/%s", (int)l, p, a0);
                found = !access(dir, X_OK);
                p += l + (p[l] == ':');
            }
        }
        if (!found)
            snprintf(s->reason, sizeof s->reason, "%.200s: not an executable here", a0);
        s->ok = found;
        return;
    }
    reply rp;
    double lim = j->o->up_timeout > 0 ? j->o->up_timeout : 5;
    if (http(md, "models", NULL, NULL, NULL, left(j, lim < md->timeout ? lim : md->timeout), &rp))
        snprintf(s->reason, sizeof s->reason, "%s", rp.err);
    free(rp.b.p);
    s->ok = !s->reason[0];
}

static void *check_one(void *arg)
{
    job *j = arg;
    mg_check_result *r = j->r;
    for (int st = 0; st < MG_NSTAGES; st++) {
        mg_stage_result *s = &r->stage[st];
        if (st == MG_STAGE_SMOKE && j->o->skip_smoke)
            continue;
        if (st > 0 && r->stage[st - 1].ran && !r->stage[st - 1].ok)
            break;
        if (now() >= j->deadline_at) {
            s->ran = 1;
            snprintf(s->reason, sizeof s->reason, "the gate's deadline passed before this stage");
            break;
        }
        double t0 = now();
        s->ran = 1;
        if (st == MG_STAGE_SMOKE)
            smoke(j, s);
        else if (st == MG_STAGE_UP)
            up(j, s);
        else
            inference(j, s, r);
        s->seconds = now() - t0;
    }
    r->ok = r->stage[MG_STAGE_INFERENCE].ran && r->stage[MG_STAGE_INFERENCE].ok;
    return NULL;
}

int mg_check_run(const mg_matrix *m, const mg_check_opts *o, mg_check_result *results)
{
    mg_curl_ready();   /* before the threads: libcurl's global set-up is not for concurrent first use */
    memset(results, 0, m->nmodels * sizeof *results);
    job *jobs = calloc(m->nmodels ? m->nmodels : 1, sizeof *jobs);
    pthread_t *th = calloc(m->nmodels ? m->nmodels : 1, sizeof *th);
    if (!jobs || !th) {
        free(jobs);
        free(th);
        return MG_E_NOMEM;
    }
    double deadline_at = now() + (o->deadline > 0 ? o->deadline : 120);
    for (size_t i = 0; i < m->nmodels; i++) {
        jobs[i] = (job){m, i, o, deadline_at, &results[i]};
        if (pthread_create(&th[i], NULL, check_one, &jobs[i]))
            check_one(&jobs[i]), th[i] = 0;
    }
    for (size_t i = 0; i < m->nmodels; i++)
        if (th[i])
            pthread_join(th[i], NULL);
    free(jobs);
    free(th);
    return MG_OK;
}
