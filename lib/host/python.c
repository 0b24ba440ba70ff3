/*
 * python.c - Python environments on this machine, read without running Python:
 * their site-packages, Python version, and PyTorch's version and CUDA build
 * (torch/version.py, *.dist-info/METADATA).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlgate/binaries.h"
#include "mlgate/host.h"
#include "host/sysfs.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The torch of an environment: torch/version.py's version and CUDA build (lib/binaries/tables/frameworks.c
 * reads it, for the scan too), else the version in its dist-info's METADATA, found as the scan finds it.
 * What the files say is cleaned: it reaches findings. */
static void read_torch(mg_pyenv *e)
{
    char path[800], text[4096], v[sizeof e->torch_version], cuda[sizeof e->torch_cuda];
    snprintf(path, sizeof path, "%s/torch/version.py", e->site);
    if (mg_read_file("", path, text, sizeof text) > 0) {
        e->has_torch = 1;
        v[0] = cuda[0] = 0;
        mg_py_version_file(text, v, sizeof v, cuda, sizeof cuda);
        mg_text_clean(e->torch_version, sizeof e->torch_version, v, strlen(v), NULL);
        mg_text_clean(e->torch_cuda, sizeof e->torch_cuda, cuda, strlen(cuda), NULL);
        return;
    }
    /* No version.py (a broken install?): the wheel's metadata still says which torch. */
    DIR *d = opendir(e->site);
    struct dirent *de;
    const mg_framework *torch = mg_framework_find("torch", 5);
    for (unsigned k = 0; d && k < 100000 && (de = readdir(d)) != NULL; k++) {   /* entries capped: no hang */
        const char *ver;
        size_t vlen;
        if (mg_dist_info(de->d_name, strlen(de->d_name), &ver, &vlen) != torch)
            continue;
        snprintf(path, sizeof path, "%s/%s/METADATA", e->site, de->d_name);
        if (mg_read_file("", path, text, sizeof text) > 0) {
            e->has_torch = 1;
            v[0] = 0;
            mg_field(text, "Version", v, sizeof v);
            mg_text_clean(e->torch_version, sizeof e->torch_version, v, strlen(v), NULL);
            break;
        }
    }
    if (d)
        closedir(d);
}

static int add(mg_pyenv *out, size_t max, size_t *n, const char *site, const char *origin)
{
    char real[PATH_MAX];
    if (!is_dir(site) || !realpath(site, real) || strlen(real) >= sizeof out->site)
        return 0;
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(out[i].site, real))
            return 0;
    if (*n >= max)
        return -1;
    mg_pyenv *e = &out[(*n)++];
    memset(e, 0, sizeof *e);
    memcpy(e->site, real, strlen(real) + 1);
    snprintf(e->origin, sizeof e->origin, "%s", origin);
    const char *py = strstr(real, "/python3");
    if (py) {
        size_t l = strcspn(py + 7, "/");
        snprintf(e->python, sizeof e->python, "%.*s", (int)(l < 8 ? l : 8), py + 7);
    }
    read_torch(e);
    return 0;
}

/* Adds the site-packages under a prefix (a venv, conda env, pyenv version, /usr). */
static void add_prefix(mg_pyenv *out, size_t max, size_t *n, const char *prefix, const char *origin)
{
    char pat[600];
    glob_t g;
    snprintf(pat, sizeof pat, "%s/lib/python3*/site-packages", prefix);
    if (glob(pat, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            add(out, max, n, g.gl_pathv[i], origin);
    globfree(&g);
    snprintf(pat, sizeof pat, "%s/lib/python3*/dist-packages", prefix);
    if (glob(pat, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            add(out, max, n, g.gl_pathv[i], origin);
    globfree(&g);
    snprintf(pat, sizeof pat, "%s/lib/python3/dist-packages", prefix);
    add(out, max, n, pat, origin);
}

int mg_pyenv_find(const char *const *given, size_t ngiven, int common, mg_pyenv *out, size_t max, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < ngiven; i++) {
        /* A python executable, a prefix/venv, or a site-packages directory itself. */
        char p[600];
        snprintf(p, sizeof p, "%s", given[i]);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            char *slash = strrchr(p, '/');
            if (slash)
                *slash = 0;   /* .../bin */
            slash = strrchr(p, '/');
            if (slash)
                *slash = 0;   /* the prefix */
        }
        size_t before = *n;
        add_prefix(out, max, n, p, "--python");
        if (*n == before)
            add(out, max, n, p, "--python");
    }
    if (!common)
        return MG_OK;
    const char *env[] = {"VIRTUAL_ENV", "CONDA_PREFIX"};
    for (size_t i = 0; i < 2; i++)
        if (getenv(env[i]) && *getenv(env[i]))
            add_prefix(out, max, n, getenv(env[i]), env[i]);
    const char *here[] = {"./venv", "./.venv", "./env"};
    for (size_t i = 0; i < 3; i++)
        add_prefix(out, max, n, here[i], here[i]);
    const char *home = getenv("HOME");
    const char *globs[] = {"/.pyenv/versions/*", "/miniconda3", "/anaconda3", "/miniforge3",
                           "/miniconda3/envs/*", "/.venv", "/venv"};
    for (size_t i = 0; home && i < sizeof globs / sizeof globs[0]; i++) {
        char pat[600];
        glob_t g;
        snprintf(pat, sizeof pat, "%.500s%s", home, globs[i]);
        if (glob(pat, GLOB_ONLYDIR, NULL, &g) == 0)
            for (size_t k = 0; k < g.gl_pathc; k++)
                add_prefix(out, max, n, g.gl_pathv[k], "home");
        globfree(&g);
    }
    const char *sys[] = {"/opt/*/.venv", "/opt/*/venv", "/opt/conda", "/usr/local", "/usr"};
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
        glob_t g;
        if (glob(sys[i], GLOB_ONLYDIR, NULL, &g) == 0)
            for (size_t k = 0; k < g.gl_pathc; k++)
                add_prefix(out, max, n, g.gl_pathv[k], "system");
        globfree(&g);
    }
    return MG_OK;
}
