/* out.c - terminal output helpers: colour only on a tty, human-readable sizes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mlgate/mlgate.h"

static int use_colour;

int out_colour_init(const char *mode, FILE *f)
{
    if (!mode || !strcmp(mode, "auto")) {
        const char *nc = getenv("NO_COLOR");
        use_colour = isatty(fileno(f)) && !(nc && *nc) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
    } else if (!strcmp(mode, "always")) {
        use_colour = 1;
    } else if (!strcmp(mode, "never")) {
        use_colour = 0;
    } else {
        return -1;
    }
    return 0;
}

const char *col(colour c)
{
    static const char *const seq[] = {"\033[0m", "\033[1m", "\033[2m", "\033[32m",
                                      "\033[33m", "\033[31m", "\033[35m", "\033[36m"};
    return use_colour ? seq[c] : "";
}

const char *human_bytes(uint64_t n, char *buf, size_t len)
{
    char t[32];
    snprintf(buf, len, "%s", mg_human(n, t));
    return buf;
}

int parse_size(const char *s, uint64_t *out) { return mg_parse_size(s, out); }

const char *human_count(uint64_t n, char *buf, size_t len)
{
    if (n >= 1000000000ull)
        snprintf(buf, len, "%.2f B", (double)n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, len, "%.2f M", (double)n / 1e6);
    else if (n >= 1000ull)
        snprintf(buf, len, "%.1f K", (double)n / 1e3);
    else
        snprintf(buf, len, "%llu", (unsigned long long)n);
    return buf;
}

int path_is_gguf(const char *path)
{
    FILE *f = fopen(path, "rb");
    char m[4] = {0};
    if (!f)
        return strstr(path, ".gguf") != NULL;   /* a URL, or let the GGUF reader say what is wrong */
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(m, "GGUF", 4);
}
