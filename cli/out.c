/* out.c - what every command's output shares: errors (and their JSON), targets, colour only on a tty, words. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int use_colour;

int out_colour_init(const char *mode, FILE *f)
{
    if (!mode || !strcmp(mode, "auto")) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        use_colour = isatty(fileno(f)) && !(nc && *nc) && term && strcmp(term, "dumb");
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

int cli_fail(const char *cmd, int json, int code, mg_err e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mlgate %s: %s\n", cmd, msg);
    if (json)
        mg_json_error(stdout, cmd, e, msg);
    return code;
}

int wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            return 1;
    return 0;
}

int cli_targets(const char *cmd, int json, const mg_target_spec *s, mg_targets *out)
{
    char err[512];
    int rc = mg_targets_make(s, out, err, sizeof err);
    if (rc)
        cli_fail(cmd, json, EXIT_USAGE, (mg_err)rc, "%s", err);
    return rc ? -1 : 0;
}

const char *plural(size_t n, const char *one, const char *many, char *buf, size_t len)
{
    snprintf(buf, len, "%zu %s", n, n == 1 ? one : many);
    return buf;
}

const char *shown(const char *s)
{
    static char ring[8][4352];   /* a path's PATH_MAX and a wheel member's name */
    static unsigned next;
    char *b = ring[next++ % 8];
    return s ? mg_text_clean(b, sizeof ring[0], s, strlen(s), NULL) : NULL;
}

const char *gpu_model_name(const mg_target *t)
{
    const char *n = t->name;
    if (strncmp(n, "GPU", 3) || n[3] < '0' || n[3] > '9')
        return n;
    n += 3;
    while (*n >= '0' && *n <= '9')
        n++;
    return *n == ' ' ? n + 1 : n;
}
