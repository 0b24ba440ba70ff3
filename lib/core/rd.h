/* rd.h - bounds-checked little-endian readers: every offset from a file goes through these. */
#ifndef MG_RD_H
#define MG_RD_H

#include <stddef.h>
#include <stdint.h>

/* True when [off, off+n) lies inside a buffer of len bytes (no overflow). */
static inline int rd_fits(size_t len, uint64_t off, uint64_t n)
{
    return off <= len && n <= len - off;
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

#endif
