/* json.h - a streaming JSON writer: reports can be large, so nothing is built in memory; commas and escaping here. */
#ifndef MG_CORE_JSON_H
#define MG_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MG_JSON_MAX_DEPTH 64

typedef struct jw {
    FILE *f;
    int depth;
    unsigned char need_comma[MG_JSON_MAX_DEPTH];
    int after_key;
} jw;

/* A writer on f; a top-level value ends with a newline. */
static inline jw jw_on(FILE *f) { jw w = {f, 0, {0}, 0}; return w; }

void jw_begin_obj(jw *w);
void jw_end_obj(jw *w);
void jw_begin_arr(jw *w);
void jw_end_arr(jw *w);
void jw_key(jw *w, const char *k);
void jw_str(jw *w, const char *s);          /* NULL writes null */
void jw_strn(jw *w, const char *s, size_t n);
void jw_int(jw *w, long long v);
void jw_uint(jw *w, unsigned long long v);
void jw_num(jw *w, double v);
void jw_bool(jw *w, int v);
void jw_null(jw *w);

/* "key": value in one call, the common case of a report's fields. */
void jw_kstr(jw *w, const char *k, const char *s);
void jw_kint(jw *w, const char *k, long long v);
void jw_kuint(jw *w, const char *k, unsigned long long v);
void jw_knum(jw *w, const char *k, double v);
void jw_kbool(jw *w, const char *k, int v);
void jw_kuints(jw *w, const char *k, const uint64_t *v, size_t n);   /* k: [v[0], ..., v[n-1]] */

/* {"mlgate": VERSION, "command": cmd, ... : the head every report starts with (the object stays open). */
void jw_report(jw *w, const char *cmd);

#endif
