/* fuse_separable.c — on the C target, a depthwise convolution whose only
 * reader is a pointwise one (1x1, stride 1, unpadded), both channels last
 * (from layout-channels-last), becomes one FusedSepConv: its kernel
 * (kernels/c/conv_nhwc.h) runs both a slab of output rows at a time, so the
 * image between them stays in cache instead of going out to memory and back.
 * Only where both activations are clamps (or none), neither has a residual,
 * and the pointwise weights are at most FUSE_SEP_MAX_WEIGHTS bytes: they are
 * read once per slab. */
#include "kiln.h"
#include "../kernels/c/linalg.h"
#include "../kernels/c/fused.h"
#include "../ir/linalg_plan.h"
#include "../ir/fused_plan.h"

#define FUSE_SEP_MAX_WEIGHTS 65536

/* n's geometry, if it is a channels-last f32 FusedConv with constant weights,
 * no residual or second addend, and a clamp or no activation. */
static bool nhwc_conv(const Node *n, LaConv *g)
{
    Diag ignore = {0};
    bool clamp;
    double lo, hi;
    if (n->dead || n->op != OP_FusedConv || attr_int(n, "channels_last", 0) != 1) return false;
    if (n->in[0]->dtype != KILN_DTYPE_F32 || !value_is_const(n->in[1]) || has_input(n, 3) || has_input(n, 4))
        return false;
    return fz_clamp_activation(n, &clamp, &lo, &hi) && la_conv(n, false, g, &ignore) == ST_OK && g->S == 2;
}

static bool pointwise(const LaConv *g)
{
    return g->group == 1 && g->k[0] == 1 && g->k[1] == 1 && g->st[0] == 1 && g->st[1] == 1 && g->pb[0] == 0 &&
           g->pb[1] == 0 && g->out[0] == g->in[0] && g->out[1] == g->in[1];
}

static void copy_attr(Graph *g, Node *to, const Node *from, const char *name, const char *as)
{
    const Attr *a = attr_get(from, name);
    if (!a) return;
    Attr *b = node_add_attr(g, to, as, a->kind);
    *b = *a;
    b->name = as;
}

Status pass_fuse_separable(Graph *g, Diag *d)
{
    if (!codegen_cpu) return ST_OK; /* the kernel is the C target's */
    for (int i = 0; i < g->nnodes; i++) {
        Node *pw = g->nodes[i], *dw;
        LaConv pg, dg;
        if (!nhwc_conv(pw, &pg) || !pointwise(&pg) || pg.C * pg.M * 4 > FUSE_SEP_MAX_WEIGHTS) continue;
        dw = live_producer(pw->in[0], OP_FusedConv);
        if (!dw || !only_use(pw->in[0], pw) || !nhwc_conv(dw, &dg) || !la_conv_depthwise(&dg)) continue;
        Value *in[5] = {dw->in[0], dw->in[1], dw->nin > 2 ? dw->in[2] : NULL, pw->in[1], pw->nin > 2 ? pw->in[2] : NULL};
        Node *f = fuse_replace(g, pw, OP_FusedSepConv, 5);
        for (int a = 0; a < dw->nattrs; a++) *node_add_attr(g, f, dw->attrs[a].name, dw->attrs[a].kind) = dw->attrs[a];
        copy_attr(g, f, pw, "activation", "pw_activation");
        copy_attr(g, f, pw, "activation_alpha", "pw_activation_alpha");
        copy_attr(g, f, pw, "activation_beta", "pw_activation_beta");
        node_remove(dw);
        for (int k = 0; k < 5; k++) node_set_input(f, k, in[k]);
        Status st = fuse_check(f, d);
        if (st) return st;
    }
    graph_compact(g);
    return ST_OK;
}
