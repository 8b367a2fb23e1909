/* err: filling struct sk_err; see err.h. */
#include "err.h"

#include <stdio.h>
#include <string.h>

int sk_err_set(struct sk_err *e, int code, const char *field, const char *fmt, ...)
{
    if (!e) return code;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void sk_err_clear(struct sk_err *e)
{
    if (!e) return;
    memset(e, 0, sizeof *e);
}
