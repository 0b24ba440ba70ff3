/* openapi.c - the OpenAPI 3.0 description of serve's endpoints, served at /openapi.json (docs/api.md explains them). */
#include <pthread.h>
#include <string.h>

#include "mlgate/core.h"
#include "serve.h"

#define JSON_DOC "application/json"
/* A response that is a JSON document described in docs/api.md. */
#define RESP(code, what) "\"" code "\": {\"description\": \"" what "\", \"content\": {\"" JSON_DOC "\": {\"schema\": " \
                         "{\"type\": \"object\"}}}}"
#define GET(path, summary, responses) \
    "\"" path "\": {\"get\": {\"summary\": \"" summary "\", \"responses\": {" responses "}}}"

/* Two literals (a C11 compiler need take only 4095 bytes in one), joined once. */
static const char head[] =
    "{\"openapi\": \"3.0.3\",\n"
    " \"info\": {\"title\": \"mlgate serve\", \"version\": \"" MLGATE_VERSION "\",\n"
    "  \"description\": \"The gate kept live: is every model of the matrix really answering? See docs/api.md.\"},\n"
    " \"components\": {\"securitySchemes\": {\"bearer\": {\"type\": \"http\", \"scheme\": \"bearer\"}}},\n"
    " \"paths\": {\n"
    "  " GET("/healthz", "The daemon is alive", RESP("200", "alive")) ",\n"
    "  " GET("/readyz", "Every resident model passed the last run",
             RESP("200", "ready") ", " RESP("503", "not ready: the failing models, stages and reasons")) ",\n"
    "  " GET("/v1/capabilities", "The capability file of the last run",
             RESP("200", "the capability file") ", \"304\": {\"description\": \"If-None-Match matched the ETag\"}, "
             RESP("503", "not checked yet")) ",\n"
    "  \"/v1/capabilities/{name}\": {\"get\": {\"summary\": \"One capability\", \"parameters\": [{\"name\": \"name\", "
    "\"in\": \"path\", \"required\": true, \"schema\": {\"type\": \"string\"}}], \"responses\": {"
    RESP("200", "the capability") ", \"304\": {\"description\": \"If-None-Match matched the ETag\"}, "
    RESP("404", "no such capability") ", " RESP("503", "not checked yet") "}}},\n"
    "  " GET("/v1/models", "Each model's status, stages and last change", RESP("200", "the models")) ",\n"
    "  \"/v1/runs\": {\"get\": {\"summary\": \"Recent runs from the receipts database\", \"parameters\": [{\"name\": "
    "\"limit\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100, "
    "\"default\": 20}}], \"responses\": {" RESP("200", "the runs, newest first") ", " RESP("400", "a bad limit") ", "
    RESP("404", "no receipts database configured") "}}},\n"
    "  " GET("/v1/doctor", "The host audit of the last run", RESP("200", "mlgate doctor --json") ", "
             RESP("503", "not audited yet")) ",\n"
    ;
static const char tail[] =
    "  " GET("/v1/drift", "Drift since the matrix's host: lock: as the last run judged it (mlgate drift --json)",
             RESP("200", "the changes, each with whether it matters") ", \"304\": {\"description\": \"If-None-Match "
             "matched the ETag\"}, " RESP("404", "no lock configured") ", " RESP("503", "not checked yet")) ",\n"
    "  \"/v1/check\": {\"get\": {\"summary\": \"The last run as mlgate check --json prints it\", \"responses\": {"
    RESP("200", "the run") ", " RESP("503", "not checked yet") "}},\n"
    "   \"post\": {\"summary\": \"Start a run now\", \"security\": [{\"bearer\": []}], \"responses\": {"
    RESP("202", "the run's number, queued behind one in progress or starting") ", "
    RESP("401", "no valid bearer token") ", " RESP("403", "POST is off: no --token-file") ", "
    RESP("413", "a body over 4 KiB") "}}},\n"
    "  \"/metrics\": {\"get\": {\"summary\": \"Prometheus text format 0.0.4\", \"responses\": {\"200\": {\"description\": "
    "\"the metrics\", \"content\": {\"text/plain; version=0.0.4\": {\"schema\": {\"type\": \"string\"}}}}}}},\n"
    "  " GET("/openapi.json", "This description", RESP("200", "OpenAPI 3.0")) "\n"
    " }}\n";

static char doc[sizeof head + sizeof tail - 1];
static pthread_once_t joined = PTHREAD_ONCE_INIT;

static void join(void)
{
    memcpy(doc, head, sizeof head - 1);
    memcpy(doc + sizeof head - 1, tail, sizeof tail);
}

const char *serve_openapi(size_t *len)
{
    pthread_once(&joined, join);
    *len = sizeof doc - 1;
    return doc;
}
