/* lcg.h - the tests' reproducible random numbers: a linear congruential generator, which wraps by design. */
#ifndef MG_TESTS_LCG_H
#define MG_TESTS_LCG_H

/* The next value of the sequence (exempt from clang's -fsanitize=unsigned-integer-overflow). */
#if defined(__clang__)
__attribute__((no_sanitize("unsigned-integer-overflow")))
#endif
static inline unsigned lcg_next(unsigned seed) { return seed * 1103515245u + 12345u; }

#endif
