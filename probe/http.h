/* http.h - mlgate-probe's HTTP/1.1 client (probe/http.c): http:// only, one request over POSIX sockets, a hard deadline, a capped answer. */
#ifndef MG_PROBE_HTTP_H
#define MG_PROBE_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* An http:// URL taken apart: host (brackets gone from an IPv6 literal), port, path ("" or "/v1"). */
typedef struct probe_url {
    char host[256];
    char port[8];
    char path[2048];            /* no trailing '/' */
    char authority[272];        /* the Host header: "host", "[::1]:8080" */
} probe_url;

/* 0, or -1 with err: not http:// (https is named as unsupported), a bad host or port, a query. */
int probe_url_parse(const char *url, probe_url *u, char *err, size_t errlen);

typedef struct probe_request {
    const probe_url *url;
    const char *path;           /* under the URL's path: "chat/completions" */
    const uint8_t *body;        /* POSTed when not NULL, n bytes of type `ctype` */
    size_t n;
    const char *ctype;
    const char *bearer;         /* sent as "Authorization: Bearer ..." (NULL: none) */
    double deadline;            /* mg_now() time by which all of it ends: lookup, connect, send, answer */
    size_t max;                 /* the most answer bytes taken (the body, decoded from chunks) */
} probe_request;

typedef struct probe_response {
    int status;                 /* HTTP status */
    uint8_t *body;              /* n bytes and a NUL; free() it */
    size_t n;
    double ttfb, total;         /* seconds from the start to the first answer byte, and to the end */
    char err[200];              /* why it failed (no URL in it) */
} probe_response;

/* One request. MG_OK with r->status (any) and the body; else MG_E_TIMEOUT (the deadline passed),
 * MG_E_LIMIT (the answer passed q->max), MG_E_IO (lookup, connect, send, a connection cut),
 * MG_E_FORMAT (not HTTP), MG_E_NOMEM - with r->err. */
int probe_http(const probe_request *q, probe_response *r);

#endif
