/*
 * alloc.h - every allocation of the library goes through these, so that a test can make the Nth one
 * fail (fault injection, as SQLite does): each parse, scan and plan must then return an error and
 * leak nothing. Free with free().
 */
#ifndef MG_CORE_ALLOC_H
#define MG_CORE_ALLOC_H

#include <stddef.h>

void *mg_malloc(size_t n);
void *mg_calloc(size_t count, size_t size);
void *mg_realloc(void *p, size_t n);
char *mg_strdup(const char *s);

/*
 * Tests: from now on the nth allocation of this thread fails, and every one after it (n = 0: none
 * fails). mg_alloc_count says how many were made since the last call, for a loop over all of them;
 * mg_alloc_bytes how many bytes they asked for (a realloc counts its whole new size): memory bounds.
 */
void mg_fail_alloc_at(long n);
long mg_alloc_count(void);
size_t mg_alloc_bytes(void);

#endif
