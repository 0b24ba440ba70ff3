/* units.c - sizes, counts, durations and the clock, in the words every report uses. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlgate/core.h"

const char *mg_human(uint64_t n, char buf[32])
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}

const char *mg_human_count(uint64_t n, char buf[32])
{
    if (n >= 1000000000ull)
        snprintf(buf, 32, "%.2f B", (double)n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, 32, "%.2f M", (double)n / 1e6);
    else if (n >= 1000ull)
        snprintf(buf, 32, "%.1f K", (double)n / 1e3);
    else
        snprintf(buf, 32, "%llu", (unsigned long long)n);
    return buf;
}

int mg_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0) || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * mult >= 18e18)
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

int mg_parse_duration(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mult = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 0.001 : !strcmp(end, "m") ? 60
                : !strcmp(end, "h")                     ? 3600
                                                        : -1;
    if (end == s || errno || mult < 0 || !(v > 0) || v * mult > 86400)
        return -1;
    *out = v * mult;
    return 0;
}

double mg_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
