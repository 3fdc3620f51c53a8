/* eval.c — running a node's kernel inside the compiler (constant folding).
 * The kernel is the one the module would call, so folding cannot disagree
 * with run time. */
#include <stdlib.h>

#include "kiln.h"

Status eval_node(Graph *g, Node *n, Diag *d)
{
    /* the compiler's copy of the fast kernels is not built for the target CPU */
    KernelCall kc = {.reference = true};
    Status st = lower_node(n, &kc, d);
    if (st) {
        kc_free(&kc);
        return st;
    }
    const void **in = calloc((size_t)n->nin + 1, sizeof *in);
    void **out = calloc((size_t)n->nout + 2, sizeof *out);
    void *scratch = kc.scratch > 0 ? aligned_alloc(KILN_ALIGNMENT, ((size_t)kc.scratch + 63) & ~(size_t)63) : NULL;
    if (!in || !out || (kc.scratch > 0 && !scratch)) {
        st = diag_error(d, ST_INPUT, n, "out of memory while folding constants");
        goto done;
    }
    for (int k = 0; k < n->nin; k++) in[k] = n->in[k] ? n->in[k]->data : NULL;
    for (int k = 0; k < n->nout; k++) {
        Value *v = n->out[k];
        if (!v) continue;
        size_t bytes = value_bytes(v);
        if ((st = mem_reserve(bytes, n, "folding its output", d))) goto done;
        void *p = arena_alloc(g->arena, bytes ? bytes : 1);
        if (!p) {
            st = diag_error(d, ST_INPUT, n, "out of memory while folding constants");
            goto done;
        }
        out[k] = p;
    }
    out[n->nout] = scratch;
    kc.fn(kc.p, kc.f, in, out);
    for (int k = 0; k < n->nout; k++) {
        Value *v = n->out[k];
        if (!v) continue;
        v->kind = VAL_CONST;
        v->data = out[k];
        v->producer = NULL;
    }
    n->dead = true;
done:
    free(scratch);
    free(in);
    free(out);
    kc_free(&kc);
    return st;
}
