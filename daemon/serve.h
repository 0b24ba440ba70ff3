/* serve.h - what the daemon's files share: its state (daemon/serve.c) and the HTTP side (daemon/http.c). */
#ifndef MLGATE_DAEMON_SERVE_H
#define MLGATE_DAEMON_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mlgate/serve.h"

typedef struct serve {
    mg_live *live;
    char receipts[4096];        /* the database /v1/runs reads ("": none configured), under mu: SIGHUP changes it */
    const char *token;          /* the bearer token POSTs need (NULL: POST is refused) */
    size_t token_len;
    /* the runner's mailbox, under mu */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int trigger;                /* a run was asked for (POST /v1/check, SIGHUP) */
    int reload;                 /* SIGHUP: re-read the matrix first */
    int running;
    uint64_t started;           /* runs begun so far: the one in progress, or the last, has this number */
} serve;

/* The HTTP server on the listening socket fd (threads of its own); NULL with why in err. */
struct MHD_Daemon;
struct MHD_Daemon *serve_http_start(serve *s, int fd, char *err, size_t errlen);
void serve_http_stop(struct MHD_Daemon *d);

/* POST /v1/check: asks the runner for a run; the number that run will have, and whether one is running. */
uint64_t serve_request_run(serve *s, int *running);

/* The OpenAPI 3 description of the endpoints (daemon/openapi.c): static, NUL-terminated, *len bytes. */
const char *serve_openapi(size_t *len);

#endif
