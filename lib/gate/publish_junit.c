/* publish_junit.c - JUnit XML of a gate run: a test case per model, a failure per failed stage; written atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/text.h"
#include "gate/gate_int.h"
#include "mlgate/explain.h"

/* Text as XML 1.0 allows it: escaped, valid UTF-8 (U+FFFD for a byte that is not), no characters XML forbids. */
static void xml(FILE *f, const char *s)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t cl = mg_utf8_char(u + i, n - i, &cp);
        if (!cl) {
            fputs("\xef\xbf\xbd", f);
            i++;
            continue;
        }
        if (cp == '<')
            fputs("&lt;", f);
        else if (cp == '>')
            fputs("&gt;", f);
        else if (cp == '&')
            fputs("&amp;", f);
        else if (cp == '"')
            fputs("&quot;", f);
        else if (cp == '\'')
            fputs("&apos;", f);
        else if (cp >= 0x20 ? cp != 0xfffe && cp != 0xffff : cp == '\n' || cp == '\t' || cp == '\r')
            fwrite(u + i, 1, cl, f);
        i += cl;
    }
}

static int publish(const mg_run *run, const char *path, char *err, size_t errlen)
{
    const mg_matrix *m = run->m;
    const mg_check_result *r = run->r;
    double seconds = run->seconds;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MG_E_NOMEM;
    size_t failures = 0;
    for (size_t i = 0; i < m->nmodels; i++)
        failures += !r[i].ok;
    const char *when = run->finished;   /* the time every publication of the run says */
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
            m->nmodels, failures, seconds);
    fprintf(f, "  <testsuite name=\"mlgate check ");
    xml(f, m->host.path);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\" timestamp=\"%s\">\n", m->nmodels, failures,
            seconds, when);
    for (size_t i = 0; i < m->nmodels; i++) {
        double t = 0;
        for (int s = 0; s < MG_NSTAGES; s++)
            t += r[i].stage[s].seconds;
        fprintf(f, "    <testcase classname=\"mlgate.%s\" name=\"", mg_model_kind_name(m->models[i].kind));
        xml(f, m->models[i].name);
        fprintf(f, "\" time=\"%.3f\">\n", t);
        int stage;
        const char *why = mg_check_failure(&r[i], &stage);
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
                const mg_kb_entry *e = r[i].stage[s].ok ? NULL
                                       : mg_explain_match(r[i].stage[s].reason, strlen(r[i].stage[s].reason));
                if (e) {   /* the known cause's fix, where CI shows a failure */
                    fprintf(f, " (explain %s: ", mg_kb_id(e));
                    xml(f, mg_kb_fix(e));
                    fputc(')', f);
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
    int rc = mg_write_atomic(path, buf, len, run->file_flags, err, errlen);
    free(buf);
    return rc;
}

const mg_publisher mg_publish_junit = {"junit", mg_check_writable, publish};
