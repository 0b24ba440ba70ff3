/* publish_caps.c - the capability file: each capability ok or failed, with the model, when, and why; written atomically. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/file.h"
#include "gate/gate_int.h"

static int publish(const mg_run *run, const char *path, char *err, size_t errlen)
{
    const mg_matrix *m = run->m;
    const mg_check_result *r = run->r;
    char when[32];
    mg_iso_now(when, sizeof when);
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
    char *nl = mg_realloc(text, n + 2);
    if (!nl) {
        free(text);
        return MG_E_NOMEM;
    }
    nl[n] = '\n', nl[n + 1] = 0;
    int rc = mg_write_atomic(path, nl, n + 1, run->file_flags, err, errlen);
    free(nl);
    return rc;
}

const mg_publisher mg_publish_capabilities = {"capabilities", mg_check_writable, publish};
