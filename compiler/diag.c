/* diag.c — filling diagnostics; the driver prints them. */
#include <string.h>

#include "kiln.h"

static void vfill(Diag *d, const Node *n, const char *fmt, va_list ap)
{
    if (d->status != ST_OK) return; /* the first error is the one to report */
    size_t k = 0;
    if (n) k = (size_t)snprintf(d->msg, sizeof d->msg, "node '%s' (%s): ", n->name ? n->name : "?", op_info[n->op].name);
    if (k < sizeof d->msg) vsnprintf(d->msg + k, sizeof d->msg - k, fmt, ap);
    /* A node from kiln text carries "FILE:LINE:COL"; an ONNX node only its name. */
    if (n && n->loc && n->name && strcmp(n->loc, n->name) != 0) snprintf(d->where, sizeof d->where, "%s", n->loc);
}

Status diag_error(Diag *d, Status status, const Node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfill(d, n, fmt, ap);
    va_end(ap);
    if (d->status == ST_OK) d->status = status;
    return status;
}

Status diag_unsupported(Diag *d, const Node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool first = d->status == ST_OK;
    vfill(d, n, fmt, ap);
    va_end(ap);
    if (first) {
        d->status = ST_INPUT;
        d->unsupported = true;
    }
    return ST_INPUT;
}
