/* fuzz_explain.c - libFuzzer target: any bytes as a log for `mlgate explain` (the knowledge base's matcher, the numbers read from the match, the report's JSON). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlgate/mlgate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = (char *)fuzz_copy(data, size);   /* exactly its bytes: the matcher must not read past them */
    if (!text && size)
        return 0;
    mg_explain_opts o = {.no_check = 1};   /* checks look at this machine, not at the input */
    mg_explain *x = NULL;
    char err[256];
    int rc = mg_explain_run(text, size, &o, &x, err, sizeof err);
    FUZZ_CHECK(rc == MG_OK || rc == MG_E_NOMEM, "mg_explain_run: %d (%s)", rc, err);
    const mg_kb_entry *best = mg_explain_match(text, size);
    if (rc == MG_OK) {
        size_t n = mg_explain_count(x);
        FUZZ_CHECK(n <= mg_kb_count(), "%zu matches of %zu entries", n, mg_kb_count());
        FUZZ_CHECK((n == 0) == (best == NULL), "run found %zu, match %s", n, best ? mg_kb_id(best) : "none");
        for (size_t i = 0; i < n; i++) {
            const mg_explain_hit *h = mg_explain_at(x, i);
            FUZZ_CHECK(h->entry && h->offset < size && h->line_no >= 1, "hit %zu at %llu", i, (unsigned long long)h->offset);
            FUZZ_CHECK(memchr(h->line, 0, sizeof h->line) && h->nfacts <= MG_EXPLAIN_MAX_FACTS, "hit %zu", i);
            for (size_t k = 0; k < i; k++)
                FUZZ_CHECK(mg_explain_at(x, k)->entry != h->entry, "id %s twice", mg_kb_id(h->entry));
        }
        FUZZ_CHECK(!n || mg_explain_at(x, 0)->entry == best, "the best match is not the first");
        char *json = NULL;
        size_t jl = 0;
        FILE *f = open_memstream(&json, &jl);
        if (f) {
            mg_explain_json(f, x);
            fclose(f);
            cJSON *doc = cJSON_ParseWithLength(json, jl);
            FUZZ_CHECK(doc != NULL, "the JSON does not parse: %.200s", json);
            cJSON_Delete(doc);
            free(json);
        }
    }
    mg_explain_free(x);
    free(text);
    return 0;
}
