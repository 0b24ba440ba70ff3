/* core.h - what every part of mlgate shares: the version, the one error enum, sizes and times in words. */
#ifndef MLGATE_CORE_H
#define MLGATE_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MLGATE_VERSION "0.1.0"

/* Marks the public API: libmlgate.so exports these symbols and nothing else. */
#if defined(__GNUC__)
#define MG_API __attribute__((visibility("default")))
#else
#define MG_API
#endif

/*
 * Every fallible call returns one of these. Details for a particular failure live with the
 * object that failed (a report's `detail`, a shard's `msg`, an `err` buffer the caller passed),
 * never in global state: the daemon is threaded. Numbers never change; retired ones stay.
 */
typedef enum mg_err {
    MG_OK = 0,          /* 0 */
    MG_E_NOMEM,         /* 1  out of memory */
    MG_E_IO,            /* 2  cannot open, stat, map or read */
    MG_E_FORMAT,        /* 3  malformed input */
    MG_E_TRUNCATED,     /* 4  input ends before a structure it declares */
    MG_E_LIMIT,         /* 5  a count or size exceeds mlgate's cap */
    MG_E_UNSUPPORTED,   /* 6  valid input of a kind mlgate does not handle */
    MG_E_COMPRESSION,   /* 7  a compressed payload does not decode */
    MG_E_ARG,           /* 8  bad argument from the caller */
    MG_E_NOTFOUND,      /* 9  no such GPU name, file, symbol */
    MG_E_DRIVER,        /* 10 the CUDA driver refused or is missing */
    MG_E_TIMEOUT,       /* 11 a deadline passed before the work was done */
    MG_E_CANCELLED,     /* 12 stopped on request (mlgate serve shutting down) */
    MG_E_LAST           /* never use */
} mg_err;

/* A short constant text for an error code ("truncated"). */
MG_API const char *mg_strerror(mg_err e);

/* "167.0 GiB", "512 B": bytes in binary units, into buf. */
MG_API const char *mg_human(uint64_t bytes, char buf[32]);
/* "7.62 B", "68.1 K": a count (parameters) in decimal units, into buf. */
MG_API const char *mg_human_count(uint64_t n, char buf[32]);
/* "24G", "512 MiB", "1.5GiB", "4096" (K/M/G/T are powers of 1024) -> bytes; -1 if not a size. */
MG_API int mg_parse_size(const char *s, uint64_t *out);
/* "30", "30s", "500ms", "2m", "1h" -> seconds (more than 0, at most a day); -1 if not a duration. */
MG_API int mg_parse_duration(const char *s, double *out);
/* Seconds on a monotonic clock: for durations, never for dates. */
MG_API double mg_now(void);

/*
 * Text from outside (a file, a server, a program) made safe to print or store, into dst (cap bytes,
 * always NUL-terminated): `secret` (may be NULL) and anything shaped like a key or bearer token
 * ("sk-...", "hf_...", "Bearer ...", "token=...") masked as "***"; invalid UTF-8 as U+FFFD; control
 * characters dropped (tab, newline, CR as one space); cut on a character boundary, "..." when cut.
 * Every reason and answer the library reports has passed it. Returns dst.
 */
MG_API char *mg_text_clean(char *dst, size_t cap, const void *src, size_t len, const char *secret);

/*
 * The JSON every command prints on stdout instead of its report when it fails:
 * {"mlgate": VERSION, "command": CMD, "ok": false, "error": {"code": "truncated", "message": "..."}}.
 */
MG_API void mg_json_error(FILE *f, const char *command, mg_err e, const char *message);
/* The version as JSON: {"mlgate": VERSION, "command": "version"}. */
MG_API void mg_json_version(FILE *f);

#endif
