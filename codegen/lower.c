/* lower.c — building kernel calls and finding each op's lowering. */
#include <stdlib.h>

#include "kiln.h"

static const LowerRule *const lower_tables[] = {
    lower_elementwise, lower_linalg, lower_pool_norm, lower_reduce, lower_movement, lower_resize, lower_fused,
};

LowerFn lower_rule(Op op)
{
    for (size_t t = 0; t < sizeof lower_tables / sizeof *lower_tables; t++)
        for (const LowerRule *r = lower_tables[t]; r->lower; r++)
            if (r->op == op) return r->lower;
    return NULL;
}

Status lower_node(const Node *n, KernelCall *kc, Diag *d)
{
    LowerFn lower = lower_rule(n->op);
    if (!lower) return diag_unsupported(d, n, "unsupported operator: kiln has no kernel for %s yet", op_info[n->op].name);
    Status st = lower(n, kc, d);
    if (st == ST_OK && !kc->fn) return diag_error(d, ST_INTERNAL, n, "lowering chose no kernel");
    return st;
}

void kc_kernel(KernelCall *kc, const char *header, const char *name, KernelFn fn)
{
    kc->header = header;
    kc->name = name;
    kc->fn = fn;
}

static void *grow(void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return p;
    int cap2 = *cap ? *cap * 2 : 32;
    while (cap2 < need) cap2 *= 2;
    p = realloc(p, (size_t)cap2 * elem);
    if (!p) abort();
    *cap = cap2;
    return p;
}

void kc_i(KernelCall *kc, int64_t v)
{
    kc->p = grow(kc->p, &kc->p_cap, kc->np + 1, sizeof *kc->p);
    kc->p[kc->np++] = v;
}

void kc_is(KernelCall *kc, const int64_t *v, int n)
{
    for (int i = 0; i < n; i++) kc_i(kc, v[i]);
}

void kc_f(KernelCall *kc, double v)
{
    kc->f = grow(kc->f, &kc->f_cap, kc->nf + 1, sizeof *kc->f);
    kc->f[kc->nf++] = v;
}

void kc_free(KernelCall *kc)
{
    free(kc->p);
    free(kc->f);
    free(kc->source);
    free(kc->packed);
    *kc = (KernelCall){0};
}
