/* helpers.h - test helpers: load a fixture, scan it, look up a verdict. */
#ifndef MG_TEST_HELPERS_H
#define MG_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlgate/mlgate.h"

static inline unsigned char *load(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Scans a fixture against a target list given like --gpu; aborts the test on failure. */
static inline mg_report *scan_fixture(const char *name, const char *gpus, const char *driver, int deep)
{
    static mg_target t[64];
    size_t nt = 0;
    char err[256];
    if (gpus && mg_targets_parse(gpus, t, 64, &nt, err, sizeof err))
        return NULL;
    mg_driver d = {0, 0, 0};
    if (driver && mg_driver_parse(driver, &d))
        return NULL;
    for (size_t i = 0; i < nt; i++)
        t[i].driver = d;
    mg_scan_opts o = {0};
    o.targets = t;
    o.ntargets = nt;
    o.deep = deep;
    size_t len;
    unsigned char *buf = load(name, &len);
    if (!buf)
        return NULL;
    mg_report *r = mg_scan_buffer(&o, name, buf, len);
    free(buf);   /* the report must not point into the buffer */
    return r;
}

#endif
