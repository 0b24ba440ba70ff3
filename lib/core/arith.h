/* arith.h - arithmetic on numbers from files and peers that cannot wrap: checked and saturating add/multiply, range-checked conversions. */
#ifndef MG_CORE_ARITH_H
#define MG_CORE_ARITH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a over n bytes, for hash tables: arithmetic modulo 2^64 by definition, so exempt from clang's
 * -fsanitize=unsigned-integer-overflow (the one place our code wraps on purpose). */
#if defined(__clang__)
__attribute__((no_sanitize("unsigned-integer-overflow")))
#endif
static inline uint64_t mg_fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

/* a + b and a * b into *r; 0 when the true result does not fit (then *r is unspecified). */
static inline int mg_add_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline int mg_mul_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }

/* Saturating: UINT64_MAX stands for "more than can be counted" and stays so through later sums. */
static inline uint64_t mg_sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return mg_add_ok(a, b, &r) ? r : UINT64_MAX;
}
static inline uint64_t mg_sat_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return mg_mul_ok(a, b, &r) ? r : UINT64_MAX;
}

/*
 * A double (from JSON, or a formula) as an integer: truncated toward zero and clamped to
 * [0, UINT64_MAX]; NaN is 0. Converting an out-of-range double directly is undefined behaviour.
 */
static inline uint64_t mg_u64_of(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 18446744073709551616.0)   /* 2^64 */
        return UINT64_MAX;
    return (uint64_t)v;
}

/* A JSON number that must be a whole number in [0, max]: 1 and *out, or 0 (fraction, negative, too big, NaN). */
static inline int mg_u64_exact(double v, uint64_t max, uint64_t *out)
{
    if (!(v >= 0) || v >= 18446744073709551616.0 || v != floor(v) || (uint64_t)v > max)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

#endif
