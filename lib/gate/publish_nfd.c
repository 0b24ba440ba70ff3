/* publish_nfd.c - Kubernetes node labels: a Node Feature Discovery local-source file (features.d/mlgate) with the gate's verdict, each enabled capability, this node's compute capability and driver. */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "core/file.h"
#include "gate/gate_int.h"

/* NFD ignores a features.d file over 64 KiB; 256 models' labels take under a quarter of it. */
#define NFD_MAX (64 * 1024)

static int alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

size_t mg_k8s_label(char out[64], const char *text)
{
    /* [A-Za-z0-9._-], any other run one '-', alphanumeric at both ends */
    size_t len = strlen(text), n = 0;
    char clean[1024];
    for (size_t i = 0; i < len && n < sizeof clean; i++) {
        char c = alnum(text[i]) || text[i] == '.' || text[i] == '_' ? text[i] : '-';
        if (!(c == '-' && n && clean[n - 1] == '-') && (n || alnum(c)))
            clean[n++] = c;
    }
    while (n && !alnum(clean[n - 1]))
        n--;
    if (n <= 63 && len < sizeof clean) {
        memcpy(out, clean, n);
        out[n] = 0;
        return n;
    }
    /* Too long: its first 54 characters and a hash of the whole text, so that two long names stay two labels. */
    size_t keep = n < 54 ? n : 54;
    while (keep && !alnum(clean[keep - 1]))
        keep--;
    uint32_t h = (uint32_t)(mg_fnv1a(text, len) >> 32);
    return (size_t)snprintf(out, 64, "%.*s%s%08x", (int)keep, clean, keep ? "-" : "", (unsigned)h);
}

/* Appends one line; 0 when it does not fit in the file NFD reads. */
static int line(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int line(char *buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, NFD_MAX - *len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= NFD_MAX - *len)
        return 0;
    *len += (size_t)w;
    return 1;
}

int mg_nfd_text(const mg_run *run, time_t now, char *buf, size_t *len)
{
    const mg_matrix *m = run->m;
    char when[32], label[64], value[64];
    struct tm tm;
    *len = 0;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int ok = line(buf, len, "# mlgate %s: the gate's verdict on this node, %s (docs/kubernetes.md)\n", MLGATE_VERSION,
                  when);
    if (run->nfd_expiry > 0) {
        time_t until = now + (time_t)run->nfd_expiry;
        gmtime_r(&until, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        ok &= line(buf, len, "# +expiry-time=%s\n", when);
    }
    ok &= line(buf, len, "mlgate.io/gate=%s\n", run->passed == m->nmodels ? "passed" : "failed");
    ok &= line(buf, len, "mlgate.io/models.passed=%zu\nmlgate.io/models.total=%zu\n", run->passed, m->nmodels);
    for (size_t i = 0; i < m->nmodels; i++) {
        if (!m->models[i].capability || !run->r[i].ok)
            continue;   /* enabled ones only: a selector on =true schedules only where it really works */
        char name[1100];
        snprintf(name, sizeof name, "cap.%s", m->models[i].capability);
        if (mg_k8s_label(label, name))
            ok &= line(buf, len, "mlgate.io/%s=true\n", label);
    }
    /* This node's GPUs as the binaries were judged against them: the lowest compute capability (what
     * every pod must run on) and the driver. Named targets (--gpu) are not this node's: no label. */
    uint16_t cc = 0;
    mg_driver drv = {0, 0, 0};
    for (size_t i = 0; run->targets && i < run->targets->n; i++) {
        const mg_target *t = &run->targets->t[i];
        if (t->source != MG_TARGET_DETECTED)
            continue;
        if (t->cc && (!cc || t->cc < cc))
            cc = t->cc;
        if (mg_driver_known(t->driver))
            drv = t->driver;
    }
    if (cc) {
        ok &= line(buf, len, "mlgate.io/compute-capability=%u.%u\n", cc / 10u, cc % 10u);
    }
    if (mg_driver_known(drv)) {
        mg_driver_str(drv, value, sizeof value);
        if (mg_k8s_label(label, value))
            ok &= line(buf, len, "mlgate.io/driver=%s\n", label);
    }
    return ok ? MG_OK : MG_E_LIMIT;
}

static int publish(const mg_run *run, const char *path, char *err, size_t errlen)
{
    char *buf = mg_malloc(NFD_MAX);
    if (!buf)
        return MG_E_NOMEM;
    size_t len;
    int rc = mg_nfd_text(run, time(NULL), buf, &len);
    if (rc)
        snprintf(err, errlen, "%s: the labels pass NFD's 64 KiB; none written", path);
    else
        rc = mg_write_atomic(path, buf, len, run->file_flags, err, errlen);
    free(buf);
    return rc;
}

const mg_publisher mg_publish_nfd = {"nfd", mg_check_writable, publish};
