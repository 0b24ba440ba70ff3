/* sha256.c - SHA-256 as FIPS 180-4 defines it (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2), streamed: whole blocks straight from the input. */
#include <string.h>

#include "core/sha256.h"

/* The first 32 bits of the fractional parts of the cube roots of the first 64 primes (4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }
static inline uint32_t ch(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (~x & z); }
static inline uint32_t maj(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (x & z) ^ (y & z); }
static inline uint32_t big_sigma0(uint32_t x) { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
static inline uint32_t big_sigma1(uint32_t x) { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
static inline uint32_t small_sigma0(uint32_t x) { return rotr(x, 7) ^ rotr(x, 18) ^ x >> 3; }
static inline uint32_t small_sigma1(uint32_t x) { return rotr(x, 17) ^ rotr(x, 19) ^ x >> 10; }

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The hash computation of 6.2.2 over n whole 64-byte blocks: arithmetic modulo 2^32 by definition, so
 * exempt from clang's -fsanitize=unsigned-integer-overflow. */
#if defined(__clang__)
__attribute__((no_sanitize("unsigned-integer-overflow")))
#endif
static void compress_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
    for (; n > 0; n--, p += 64) {
        uint32_t w[64];
        for (unsigned t = 0; t < 16; t++)
            w[t] = be32(p + 4 * t);
        for (unsigned t = 16; t < 64; t++)
            w[t] = small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (unsigned t = 0; t < 64; t++) {
            uint32_t t1 = hh + big_sigma1(e) + ch(e, f, g) + K[t] + w[t];
            uint32_t t2 = big_sigma0(a) + maj(a, b, c);
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>

/*
 * The same computation with the x86 SHA extensions (Intel's SHA-NI: sha256rnds2 does two rounds,
 * sha256msg1/msg2 the message schedule), about 6x faster: image layers are hashed at their full size.
 * The state lives as ABEF and CDGH, the order sha256rnds2 takes; four message groups rotate in m[].
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_ni(uint32_t h[8], const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);   /* CDAB */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b);  /* EFGH */
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);                                         /* ABEF */
    s1 = _mm_blend_epi16(s1, t, 0xf0);                                              /* CDGH */
    for (; n > 0; n--, p += 64) {
        __m128i save0 = s0, save1 = s1, m[4];
        for (int i = 0; i < 16; i++) {
            if (i < 4)
                m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
            __m128i w = _mm_add_epi32(m[i & 3], _mm_loadu_si128((const __m128i *)&K[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, w);
            if (i >= 3 && i < 15) {   /* the next group: W[t] = s1(W[t-2]) + W[t-7] + (msg1: s0(W[t-15]) + W[t-16]) */
                __m128i x = _mm_add_epi32(m[(i + 1) & 3], _mm_alignr_epi8(m[i & 3], m[(i - 1) & 3], 4));
                m[(i + 1) & 3] = _mm_sha256msg2_epu32(x, m[i & 3]);
            }
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(w, 0x0e));
            if (i >= 1 && i <= 12)   /* after its last use above: the group three ahead begins */
                m[(i - 1) & 3] = _mm_sha256msg1_epu32(m[(i - 1) & 3], m[i & 3]);
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    t = _mm_shuffle_epi32(s0, 0x1b);                                                /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xb1);                                               /* DCHG */
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xf0));               /* DCBA */
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));                  /* HGFE */
}

/* Whether this CPU has the SHA extensions (MLGATE_SHA256_PORTABLE set: never, for the tests). */
static int have_ni(void)
{
    static atomic_int known;   /* 0 not asked yet, 1 no, 2 yes */
    int k = atomic_load(&known);
    if (!k) {
        unsigned a, b, c, d, sse41 = 0, sha = 0;
        if (__get_cpuid(1, &a, &b, &c, &d))
            sse41 = c >> 19 & 1;   /* CPUID.1:ECX.SSE4_1 */
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
            sha = b >> 29 & 1;     /* CPUID.(7,0):EBX.SHA */
        k = !getenv("MLGATE_SHA256_PORTABLE") && sse41 && sha ? 2 : 1;
        atomic_store(&known, k);
    }
    return k == 2;
}

static void compress(uint32_t h[8], const uint8_t *p, size_t n)
{
    if (n && have_ni())
        compress_ni(h, p, n);
    else
        compress_portable(h, p, n);
}
#else
static void compress(uint32_t h[8], const uint8_t *p, size_t n)
{
    compress_portable(h, p, n);
}
#endif

void mg_sha256_init(mg_sha256 *s)
{
    /* The first 32 bits of the fractional parts of the square roots of the first 8 primes (5.3.3). */
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->nbuf = 0;
}

void mg_sha256_update(mg_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->bytes += n;
    if (!n)
        return;   /* (data may then be NULL: no arithmetic on it) */
    if (s->nbuf) {   /* complete the block begun by an earlier update */
        size_t k = 64 - s->nbuf < n ? 64 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, k);
        s->nbuf += k;
        p += k;
        n -= k;
        if (s->nbuf < 64)
            return;
        compress(s->h, s->buf, 1);
        s->nbuf = 0;
    }
    compress(s->h, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    if (n)
        memcpy(s->buf, p, n);
    s->nbuf = n;
}

/* Padding (5.1.1): a 1 bit, zeros to 56 bytes into a block, the message length in bits, big-endian. */
void mg_sha256_final(mg_sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->bytes << 3;
    s->buf[s->nbuf++] = 0x80;
    if (s->nbuf > 56) {
        memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
        compress(s->h, s->buf, 1);
        s->nbuf = 0;
    }
    memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
    put_be32(s->buf + 56, (uint32_t)(bits >> 32));
    put_be32(s->buf + 60, (uint32_t)bits);
    compress(s->h, s->buf, 1);
    for (unsigned i = 0; i < 8; i++)
        put_be32(out + 4 * i, s->h[i]);
    memset(s, 0, sizeof *s);   /* nothing of the message left behind */
}

void mg_sha256_hex(const uint8_t d[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = 0;
}

void mg_sha256_buf_hex(const void *p, size_t n, char out[65])
{
    mg_sha256 s;
    uint8_t d[32];
    mg_sha256_init(&s);
    mg_sha256_update(&s, p, n);
    mg_sha256_final(&s, d);
    mg_sha256_hex(d, out);
}
