/* alloc.c - the library's allocations, with the per-thread fault-injection counter of the tests. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static _Thread_local long fail_at, made;
static _Thread_local size_t asked;

/* Counts one allocation of n bytes; 1 when it must fail. */
static int failing(size_t n)
{
    made++;
    asked = n > SIZE_MAX - asked ? SIZE_MAX : asked + n;
    return fail_at > 0 && made >= fail_at;
}

void mg_fail_alloc_at(long n)
{
    fail_at = n;
    made = 0;
    asked = 0;
}

long mg_alloc_count(void) { return made; }
size_t mg_alloc_bytes(void) { return asked; }

void *mg_malloc(size_t n) { return failing(n) ? NULL : malloc(n); }
void *mg_calloc(size_t count, size_t size)
{
    return failing(size && count > SIZE_MAX / size ? SIZE_MAX : count * size) ? NULL : calloc(count, size);
}
void *mg_realloc(void *p, size_t n) { return failing(n) ? NULL : realloc(p, n); }

char *mg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mg_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}
