/* text.h - untrusted text made safe to show: valid UTF-8 cut on character boundaries, no control characters, no secrets. */
#ifndef MG_CORE_TEXT_H
#define MG_CORE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "mlgate/core.h"   /* mg_text_clean, the sanitiser itself */

/*
 * The length (1-4) of the valid UTF-8 character at s[0..n), with its code point in *cp; 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
 * or a character cut short by n).
 */
size_t mg_utf8_char(const uint8_t *s, size_t n, uint32_t *cp);

#endif
