/* media.c - the media the gate sends and checks: a generated PNG and WAV, base64, and what WAV/MP3/Ogg/FLAC/PNG/JPEG answers really are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "gate/media.h"
#include "mlgate/gate.h"

/* ---- generated inputs: a tiny PNG for vlm, a short WAV for asr ---- */

/* A 32x32 RGB PNG: a red square (8..23) on white, as zlib's compress() wrote it (103 bytes): a constant,
 * so that the probe (probe/, no zlib) sends the very bytes the gate does. */
static const uint8_t tiny_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x20, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfc, 0x18, 0xed,
    0xa3, 0x00, 0x00, 0x00, 0x2e, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0xed, 0xcd, 0xb1, 0x0d, 0x00,
    0x30, 0x0c, 0xc3, 0x30, 0xff, 0xff, 0x74, 0x7b, 0x43, 0x80, 0x74, 0x70, 0x41, 0x41, 0x3b, 0x73,
    0x1e, 0x17, 0x00, 0xa0, 0x19, 0x48, 0x66, 0x03, 0x00, 0x00, 0x00, 0xe0, 0x4f, 0x60, 0x29, 0x00,
    0xa0, 0x00, 0xb8, 0xf5, 0x29, 0xf6, 0x88, 0x0f, 0x60, 0xd1, 0xfb, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

size_t mg_tiny_png(uint8_t *out, size_t cap)
{
    if (sizeof tiny_png > cap)
        return 0;
    memcpy(out, tiny_png, sizeof tiny_png);
    return sizeof tiny_png;
}

static void le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* One second of 16 kHz mono PCM: a 440 Hz tone shaped like a syllable. */
size_t mg_tone_wav(uint8_t *out, size_t cap)
{
    const uint32_t rate = 16000, n = rate;
    if (44 + n * 2 > cap)
        return 0;
    memcpy(out, "RIFF", 4), le(out + 4, 36 + n * 2, 4), memcpy(out + 8, "WAVEfmt ", 8);
    le(out + 16, 16, 4), le(out + 20, 1, 2), le(out + 22, 1, 2), le(out + 24, rate, 4), le(out + 28, rate * 2, 4);
    le(out + 32, 2, 2), le(out + 34, 16, 2), memcpy(out + 36, "data", 4), le(out + 40, n * 2, 4);
    for (uint32_t i = 0; i < n; i++) {
        double env = sin(3.14159265 * i / n);
        le(out + 44 + 2 * i, (uint32_t)(int16_t)(12000 * env * sin(2 * 3.14159265 * 440 * i / rate)), 2);
    }
    return 44 + n * 2;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *mg_base64(const uint8_t *p, size_t n)
{
    char *o = mg_malloc(4 * ((n + 2) / 3) + 1), *q = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *q++ = b64[v >> 18 & 63], *q++ = b64[v >> 12 & 63];
        *q++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *q = 0;
    return o;
}

/* Decodes up to cap bytes; stops at the first character that is not base64. */
size_t mg_unbase64(const char *s, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s && *s != '='; s++) {
        if (*s == '\n' || *s == '\r')
            continue;
        const char *k = strchr(b64, *s);
        if (!k)
            break;
        acc = acc << 6 | (uint32_t)(k - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap)
                out[n] = (uint8_t)(acc >> bits);
            n++;
        }
    }
    return n < cap ? n : cap;
}

/* ---- what answers look like ---- */

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static double f32_at(const uint8_t *p)
{
    float f;
    uint32_t u = rd32(p);
    memcpy(&f, &u, 4);
    return isfinite(f) ? (double)f : 0;
}

int mg_check_audio(const uint8_t *b, size_t n, double min_seconds, char *what, size_t wl, char *why, size_t yl)
{
    what[0] = why[0] = 0;
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WAVE", 4)) {
        uint32_t fmt = 0, ch = 0, rate = 0, bits = 0;
        size_t off = 12;
        while (off + 8 <= n) {
            uint32_t len = rd32(b + off + 4);
            if (!memcmp(b + off, "fmt ", 4) && len >= 16 && off + 8 + 16 <= n) {
                fmt = rd16(b + off + 8), ch = rd16(b + off + 10), rate = rd32(b + off + 12), bits = rd16(b + off + 22);
                if (fmt == 0xFFFE && len >= 26 && off + 8 + 26 <= n)
                    fmt = rd16(b + off + 8 + 24);
            } else if (!memcmp(b + off, "data", 4)) {
                /* streaming writers (espeak-ng --stdout, ffmpeg to a pipe) cannot know the size: they
                 * leave 0 or a placeholder near 2^31 or 2^32; then the audio is what came */
                size_t have = n - off - 8, want = len == 0 || len >= 0x7FFF0000u ? have : len;
                if (!rate || !ch || !bits || (fmt != 1 && fmt != 3) || bits % 8 || bits > 32) {
                    snprintf(why, yl, "WAV with a format mlgate does not read (format %u, %u bits)", fmt, bits);
                    return 0;
                }
                if (want > have) {
                    snprintf(why, yl, "truncated WAV: the data chunk says %zu bytes, %zu came", want, have);
                    return 0;
                }
                size_t frame = ch * (bits / 8), frames = want / frame;
                double secs = (double)frames / rate, peak = 0;
                for (size_t i = 0; i < frames * ch; i++) {
                    const uint8_t *s = b + off + 8 + i * (bits / 8);
                    double v = bits == 8  ? ((double)s[0] - 128) / 128
                               : bits == 16 ? (double)(int16_t)rd16(s) / 32768
                               : bits == 24 ? (double)((int32_t)((uint32_t)s[0] << 8 | (uint32_t)s[1] << 16 |
                                                                 (uint32_t)s[2] << 24) >> 8) / 8388608
                               : fmt == 3   ? f32_at(s)
                                            : (double)(int32_t)rd32(s) / 2147483648.0;
                    if (fabs(v) > peak)
                        peak = fabs(v);
                }
                snprintf(what, wl, "WAV %.2f s, %u Hz, %u ch, peak %.3f", secs, rate, ch, peak);
                if (secs < min_seconds)
                    snprintf(why, yl, "%.2f s of audio, less than %g s", secs, min_seconds);
                else if (peak < 0.01)
                    snprintf(why, yl, "silence: the loudest sample is %.4f of full scale", peak);
                return !why[0];
            }
            if (len > n - off - 8)
                break;
            off += 8 + len + (len & 1);
        }
        snprintf(why, yl, "WAV without a data chunk (truncated?)");
        return 0;
    }
    const char *kind = n >= 3 && !memcmp(b, "ID3", 3)                        ? "MP3"
                       : n >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0       ? "MP3"
                       : n >= 4 && !memcmp(b, "OggS", 4)                        ? "Ogg (Opus/Vorbis)"
                       : n >= 4 && !memcmp(b, "fLaC", 4)                        ? "FLAC"
                                                                                 : NULL;
    if (kind) {
        snprintf(what, wl, "%s, %zu bytes (duration not checked)", kind, n);
        if (n < 1024)
            snprintf(why, yl, "%s of only %zu bytes", kind, n);
        return !why[0];
    }
    snprintf(why, yl, "not audio: starts with %02x %02x %02x %02x", n > 0 ? b[0] : 0, n > 1 ? b[1] : 0,
             n > 2 ? b[2] : 0, n > 3 ? b[3] : 0);
    return 0;
}

int mg_image_size(const uint8_t *b, size_t n, const char **format, uint32_t *w, uint32_t *h)
{
    if (n >= 24 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4)) {
        *format = "PNG";
        *w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
        *h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
        return 1;
    }
    if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
        size_t off = 2;
        while (off + 9 < n && b[off] == 0xFF) {
            uint8_t m = b[off + 1];
            uint32_t len = (uint32_t)b[off + 2] << 8 | b[off + 3];
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
                *format = "JPEG";
                *h = (uint32_t)b[off + 5] << 8 | b[off + 6];
                *w = (uint32_t)b[off + 7] << 8 | b[off + 8];
                return 1;
            }
            if (len < 2)
                break;
            off += 2 + len;
        }
    }
    return 0;
}

