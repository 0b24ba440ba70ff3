/* sha256.h - SHA-256 (FIPS 180-4), streamed: image digests, lock files. Written here, no library. */
#ifndef MG_SHA256_H
#define MG_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct mg_sha256 {
    uint32_t h[8];
    uint64_t bytes;         /* message length so far */
    uint8_t buf[64];
    size_t nbuf;
} mg_sha256;

void mg_sha256_init(mg_sha256 *s);
void mg_sha256_update(mg_sha256 *s, const void *p, size_t n);
void mg_sha256_final(mg_sha256 *s, uint8_t out[32]);
/* The digest as 64 lowercase hex digits and a NUL. */
void mg_sha256_hex(const uint8_t d[32], char out[65]);
/* One call: the hex digest of n bytes. */
void mg_sha256_buf_hex(const void *p, size_t n, char out[65]);

#endif
