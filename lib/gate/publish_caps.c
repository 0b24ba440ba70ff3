/* publish_caps.c - the capability file: each capability ok or failed, with the model, when, and why (and whether its
 * first start JIT-compiles); written atomically. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/file.h"
#include "gate/gate_int.h"

cJSON *mg_caps_doc(const mg_run *run)
{
    const mg_matrix *m = run->m;
    const mg_check_result *r = run->r;
    const char *when = run->finished;
    cJSON *doc = cJSON_CreateObject(), *caps = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "mlgate", MLGATE_VERSION);
    cJSON_AddStringToObject(doc, "checked", when);
    cJSON_AddStringToObject(doc, "matrix", m->host.path);
    cJSON_AddItemToObject(doc, "capabilities", caps);
    for (size_t i = 0; i < m->nmodels; i++) {
        const mg_matrix_model *md = &m->models[i];
        if (!md->capability)
            continue;
        int stage;
        const char *why = mg_check_failure(&r[i], &stage);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "status", why ? "failed" : "ok");
        cJSON_AddBoolToObject(c, "enabled", !why);
        cJSON_AddStringToObject(c, "model", md->name);
        cJSON_AddStringToObject(c, "kind", mg_model_kind_name(md->kind));
        if (md->endpoint)
            cJSON_AddStringToObject(c, "endpoint", md->endpoint);
        cJSON_AddStringToObject(c, "verified", when);
        if (r[i].jit) {   /* its binaries run here only through PTX JIT: the smoke stage says which */
            cJSON_AddBoolToObject(c, "jit", 1);
            cJSON_AddStringToObject(c, "note", r[i].stage[MG_STAGE_SMOKE].reason[0] ? r[i].stage[MG_STAGE_SMOKE].reason
                                                                                   : "first start JIT-compiles");
        }
        if (why) {
            cJSON_AddStringToObject(c, "failed_stage", mg_stage_name(stage));
            cJSON_AddStringToObject(c, "reason", why);
        }
        cJSON_AddItemToObject(caps, md->capability, c);
    }
    return doc;
}

char *mg_caps_print(const cJSON *v, size_t *len)
{
    char *text = v ? cJSON_Print(v) : NULL;
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *nl = mg_realloc(text, n + 2);
    if (!nl) {
        free(text);
        return NULL;
    }
    nl[n] = '\n', nl[n + 1] = 0;
    *len = n + 1;
    return nl;
}

static int publish(const mg_run *run, const char *path, char *err, size_t errlen)
{
    cJSON *doc = mg_caps_doc(run);
    size_t n = 0;
    char *text = mg_caps_print(doc, &n);
    cJSON_Delete(doc);
    if (!text)
        return MG_E_NOMEM;
    int rc = mg_write_atomic(path, text, n, run->file_flags, err, errlen);
    free(text);
    return rc;
}

const mg_publisher mg_publish_capabilities = {"capabilities", mg_check_writable, publish};
