/* arena.h - a bump allocator that owns everything parsed from one file. */
#ifndef MG_ARENA_H
#define MG_ARENA_H

#include <stddef.h>

typedef struct mg_arena mg_arena;

mg_arena *mg_arena_new(void);
void mg_arena_free(mg_arena *a);
/* Zeroed, 16-byte aligned; NULL on overflow or OOM. */
void *mg_arena_alloc(mg_arena *a, size_t n);
void *mg_arena_array(mg_arena *a, size_t count, size_t size);
char *mg_arena_strndup(mg_arena *a, const char *s, size_t n);
char *mg_arena_strdup(mg_arena *a, const char *s);
char *mg_arena_printf(mg_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
