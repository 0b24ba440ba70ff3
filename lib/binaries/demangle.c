/*
 * demangle.c - kernel names as people read them: "_Z12scale_kernelPf" -> "scale_kernel(float*)".
 *
 * The Itanium C++ ABI demangler every Linux C++ toolchain ships is libstdc++'s __cxa_demangle; it is
 * opened with dlopen the first time a name is shown (libstdc++6 is on every Debian system: apt needs
 * it), so libmlgate links no C++ runtime. Without it, or for a name it rejects, the name stays as it is.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlgate/binaries.h"

typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

static cxa_demangle_fn cxa_demangle;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void open_demangler(void)
{
    void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
    if (h)
        *(void **)&cxa_demangle = dlsym(h, "__cxa_demangle");   /* kept open: the process needs it till exit */
}

const char *mg_demangle(const char *name, char *buf, size_t n)
{
    if (!name || strncmp(name, "_Z", 2) || n == 0)
        return name;
    pthread_once(&once, open_demangler);
    if (!cxa_demangle)
        return name;
    int status = -1;
    char *d = cxa_demangle(name, NULL, NULL, &status);
    if (!d || status != 0) {
        free(d);
        return name;
    }
    snprintf(buf, n, "%s", d);
    free(d);
    return buf;
}
