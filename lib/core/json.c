/* json.c - the streaming JSON writer of every report, and the error and version documents every command shares. */
#include "core/json.h"

#include <math.h>

#include "core/text.h"
#include "mlgate/core.h"

static void sep(jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0 && w->depth < MG_JSON_MAX_DEPTH) {
        if (w->need_comma[w->depth])
            fputc(',', w->f);
        w->need_comma[w->depth] = 1;
    }
}

static void open_(jw *w, char c)
{
    sep(w);
    fputc(c, w->f);
    if (++w->depth < MG_JSON_MAX_DEPTH)
        w->need_comma[w->depth] = 0;
}

static void close_(jw *w, char c)
{
    w->depth--;
    fputc(c, w->f);
    if (w->depth == 0)
        fputc('\n', w->f);
}

void jw_begin_obj(jw *w) { open_(w, '{'); }
void jw_end_obj(jw *w) { close_(w, '}'); }
void jw_begin_arr(jw *w) { open_(w, '['); }
void jw_end_arr(jw *w) { close_(w, ']'); }

void jw_strn(jw *w, const char *s, size_t n)
{
    sep(w);
    fputc('"', w->f);
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t cl = mg_utf8_char(u + i, n - i, &cp);
        if (!cl) {
            fputs("\\ufffd", w->f);   /* JSON is UTF-8: a byte that is not (a path's) becomes U+FFFD */
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(w->f, "\\%c", (char)cp);
        else if (cp == '\n')
            fputs("\\n", w->f);
        else if (cp == '\t')
            fputs("\\t", w->f);
        else if (cp < 0x20 || cp == 0x7f)
            fprintf(w->f, "\\u%04x", (unsigned)cp);
        else
            fwrite(u + i, 1, cl, w->f);
        i += cl;
    }
    fputc('"', w->f);
}

void jw_str(jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    size_t n = 0;
    while (s[n])
        n++;
    jw_strn(w, s, n);
}

void jw_key(jw *w, const char *k)
{
    jw_str(w, k);
    fputc(':', w->f);
    w->after_key = 1;
}

void jw_int(jw *w, long long v) { sep(w); fprintf(w->f, "%lld", v); }
void jw_uint(jw *w, unsigned long long v) { sep(w); fprintf(w->f, "%llu", v); }
void jw_num(jw *w, double v)
{
    if (!isfinite(v)) {   /* JSON has no NaN or infinity */
        jw_null(w);
        return;
    }
    sep(w);
    fprintf(w->f, "%.6g", v);
}
void jw_bool(jw *w, int v) { sep(w); fputs(v ? "true" : "false", w->f); }
void jw_null(jw *w) { sep(w); fputs("null", w->f); }

void jw_kstr(jw *w, const char *k, const char *s) { jw_key(w, k); jw_str(w, s); }
void jw_kint(jw *w, const char *k, long long v) { jw_key(w, k); jw_int(w, v); }
void jw_kuint(jw *w, const char *k, unsigned long long v) { jw_key(w, k); jw_uint(w, v); }
void jw_knum(jw *w, const char *k, double v) { jw_key(w, k); jw_num(w, v); }
void jw_kbool(jw *w, const char *k, int v) { jw_key(w, k); jw_bool(w, v); }

void jw_kuints(jw *w, const char *k, const uint64_t *v, size_t n)
{
    jw_key(w, k);
    jw_begin_arr(w);
    for (size_t i = 0; i < n; i++)
        jw_uint(w, v[i]);
    jw_end_arr(w);
}

void jw_report(jw *w, const char *cmd)
{
    jw_begin_obj(w);
    jw_kstr(w, "mlgate", MLGATE_VERSION);
    jw_kstr(w, "command", cmd);
}

void mg_json_error(FILE *f, const char *command, mg_err e, const char *message)
{
    jw w = jw_on(f);
    jw_report(&w, command);
    jw_kbool(&w, "ok", 0);
    jw_key(&w, "error");
    jw_begin_obj(&w);
    jw_kstr(&w, "code", mg_strerror(e));
    jw_kstr(&w, "message", message);
    jw_end_obj(&w);
    jw_end_obj(&w);
}

void mg_json_version(FILE *f)
{
    jw w = jw_on(f);
    jw_report(&w, "version");
    jw_end_obj(&w);
}
