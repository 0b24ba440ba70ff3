/* media.h - generated probe inputs and base64 (lib/gate/media.c); the answer checks are public (gate.h). */
#ifndef MG_GATE_MEDIA_H
#define MG_GATE_MEDIA_H

#include <stddef.h>
#include <stdint.h>

/* A 32x32 RGB PNG: a red square on white, into out (cap >= 4 KiB); its length, 0 if it does not fit. */
size_t mg_tiny_png(uint8_t *out, size_t cap);
/* One second of 16 kHz mono PCM WAV, a 440 Hz tone shaped like a syllable; its length, 0 if cap is short. */
size_t mg_tone_wav(uint8_t *out, size_t cap);
/* base64 of p[0..n) in a new string (free it), NULL on OOM. */
char *mg_base64(const uint8_t *p, size_t n);
/* Decodes base64 s into out (at most cap bytes); stops at the first character that is not base64. */
size_t mg_unbase64(const char *s, uint8_t *out, size_t cap);

#endif
