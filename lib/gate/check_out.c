/* check_out.c - what the gate publishes: the capability file (atomic: temp file, fsync, rename) and JUnit XML. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlgate/check.h"
#include "mlgate/mlgate.h"

/* Writes text to path through path.tmp.PID + fsync + rename: a reader sees the old file or the new one. */
static int atomic_write(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return MG_E_IO;
    }
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return MG_E_IO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) || close(fd) || rename(tmp, path)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return MG_E_IO;
    }
    /* the rename itself reaches the disk with the directory */
    char dir[4200];
    snprintf(dir, sizeof dir, "%.4000s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return MG_OK;
}

static void iso_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The first failed stage's reason, or NULL. */
static const char *failure(const mg_check_result *r, int *stage)
{
    for (int s = 0; s < MG_NSTAGES; s++)
        if (r->stage[s].ran && !r->stage[s].ok) {
            *stage = s;
            return r->stage[s].reason;
        }
    *stage = MG_STAGE_INFERENCE;
    return r->ok ? NULL : "inference did not run";
}

int mg_check_write_capabilities(const char *path, const mg_matrix *m, const mg_check_result *r, char *err,
                                size_t errlen)
{
    char when[32];
    iso_now(when, sizeof when);
    cJSON *doc = cJSON_CreateObject(), *caps = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "mlgate", MLGATE_VERSION);
    cJSON_AddStringToObject(doc, "checked", when);
    cJSON_AddStringToObject(doc, "matrix", m->path);
    cJSON_AddItemToObject(doc, "capabilities", caps);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_matrix_model *md = &m->models[i];
        if (!md->capability)
            continue;
        int stage;
        const char *why = failure(&r[i], &stage);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "status", why ? "failed" : "ok");
        cJSON_AddBoolToObject(c, "enabled", !why);
        cJSON_AddStringToObject(c, "model", md->name);
        cJSON_AddStringToObject(c, "kind", mg_kind_name(md->kind));
        if (md->endpoint)
            cJSON_AddStringToObject(c, "endpoint", md->endpoint);
        cJSON_AddStringToObject(c, "verified", when);
        if (why) {
            cJSON_AddStringToObject(c, "failed_stage", mg_stage_name(stage));
            cJSON_AddStringToObject(c, "reason", why);
        }
        cJSON_AddItemToObject(caps, md->capability, c);
    }
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text)
        return MG_E_NOMEM;
    size_t n = strlen(text);
    char *nl = realloc(text, n + 2);
    if (!nl) {
        free(text);
        return MG_E_NOMEM;
    }
    nl[n] = '\n', nl[n + 1] = 0;
    int rc = atomic_write(path, nl, err, errlen);
    free(nl);
    return rc;
}

/* XML text: the five entities, and control characters dropped. */
static void xml(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c == '\'')
            fputs("&apos;", f);
        else if (c >= 0x20 || c == '\n' || c == '\t')
            fputc(c, f);
    }
}

int mg_check_write_junit(const char *path, const mg_matrix *m, const mg_check_result *r, double seconds, char *err,
                         size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MG_E_NOMEM;
    size_t failures = 0;
    for (size_t i = 0; i < m->nmodels; i++)
        failures += !r[i].ok;
    char when[32];
    iso_now(when, sizeof when);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
            m->nmodels, failures, seconds);
    fprintf(f, "  <testsuite name=\"mlgate check ");
    xml(f, m->path);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\" timestamp=\"%s\">\n", m->nmodels, failures,
            seconds, when);
    for (size_t i = 0; i < m->nmodels; i++) {
        double t = 0;
        for (int s = 0; s < MG_NSTAGES; s++)
            t += r[i].stage[s].seconds;
        fprintf(f, "    <testcase classname=\"mlgate.%s\" name=\"", mg_kind_name(m->models[i].kind));
        xml(f, m->models[i].name);
        fprintf(f, "\" time=\"%.3f\">\n", t);
        int stage;
        const char *why = failure(&r[i], &stage);
        if (why) {
            fprintf(f, "      <failure type=\"%s\" message=\"", mg_stage_name(stage));
            xml(f, why);
            fprintf(f, "\"/>\n");
        }
        fprintf(f, "      <system-out>");
        for (int s = 0; s < MG_NSTAGES; s++)
            if (r[i].stage[s].ran) {
                fprintf(f, "%s: %s %.3f s", mg_stage_name(s), r[i].stage[s].ok ? "ok" : "failed", r[i].stage[s].seconds);
                if (r[i].stage[s].reason[0]) {
                    fputs(" - ", f);
                    xml(f, r[i].stage[s].reason);
                }
                fputs("\n", f);
            }
        if (r[i].output[0]) {
            fputs("answer: ", f);
            xml(f, r[i].output);
            fputs("\n", f);
        }
        fprintf(f, "</system-out>\n    </testcase>\n");
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    fclose(f);
    int rc = atomic_write(path, buf, err, errlen);
    free(buf);
    return rc;
}
