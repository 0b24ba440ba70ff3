/* attach.h - what the gate and doctor use to attach a failure's explanation to their reports (match.c). */
#ifndef MG_EXPLAIN_ATTACH_H
#define MG_EXPLAIN_ATTACH_H

#include "core/json.h"

/* When text is a known failure: `"explain": {"id", "cause", "fix"}` into the open object of w. */
void mg_explain_attach_json(jw *w, const char *text);

#endif
