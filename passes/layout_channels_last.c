/* layout_channels_last.c — on the C target, 2-D float convolutions run
 * channels last (NHWC): the depthwise kernel then vectorises across channels
 * with no edge cases inside the plane, and any other convolution is one GEMM
 * whose long side is the pixels, not the (often few) output channels.
 *
 * A converted convolution becomes FusedConv with channels_last = 1, reading
 * Transpose(x, NCHW -> NHWC) and writing through Transpose(y, NHWC -> NCHW),
 * so its neighbours see what they saw before. Where its input already comes
 * out of such a Transpose (the previous convolution's), it reads that
 * Transpose's input instead: a chain of convolutions stays NHWC, and the
 * Transposes nobody reads are left to eliminate-dead. A group-1 convolution
 * with fewer input channels than a vector has lanes (a network's first)
 * and no such Transpose before it reads its input channels first
 * (channels_last = 2): its channels-last windows would be too short to
 * pack well, and the input needs no Transpose. Only where the fast
 * kernels take it (kernels/c/conv_nhwc.h, kernels/c/gemm.h): f32, constant
 * weights, group 1 or depthwise, no residual input. */
#include <stdlib.h>

#include "kiln.h"
#include "../kernels/c/linalg.h"
#include "../ir/linalg_plan.h"

static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};

static bool convertible(const Node *n, LaConv *g)
{
    Diag ignore = {0};
    if (n->dead || (n->op != OP_Conv && n->op != OP_FusedConv) || attr_int(n, "channels_last", 0)) return false;
    const Value *x = n->in[0];
    if (!x || !x->typed || x->dtype != KILN_DTYPE_F32 || x->shape.rank != 4 || value_is_const(x)) return false;
    if (!value_is_const(n->in[1]) || has_input(n, 3) || has_input(n, 4) || !n->out[0]) return false;
    return la_conv(n, false, g, &ignore) == ST_OK && la_conv_nhwc_ok(g);
}

static bool has_perm(const Node *t, const int64_t *perm)
{
    int64_t p[KILN_MAX_RANK];
    if (transpose_perm(t, p) != 4) return false;
    for (int i = 0; i < 4; i++)
        if (p[i] != perm[i]) return false;
    return true;
}

/* Transpose(x, perm) into y, or into a new value called name. */
static Node *transpose(Graph *g, Value *x, const int64_t *perm, const char *name, Value *y)
{
    Node *t = graph_node(g, OP_Transpose, name, 1, 1);
    t->opset = (int)g->opset;
    node_set_ints(g, t, "perm", perm, 4);
    int64_t dims[4];
    for (int i = 0; i < 4; i++) dims[i] = x->shape.dims[perm[i]];
    Shape s = shape_make(4, dims);
    if (!y) {
        y = graph_value(g, name);
        value_set_type(y, x->dtype, &s);
    }
    node_set_input(t, 0, x);
    node_set_output(t, 0, y);
    return t;
}

/* n (a Conv or FusedConv, geometry cg) as a channels-last FusedConv;
 * before[] and after[] get the Transposes made for it (NULL where none). */
static Status convert(Graph *g, Node *n, const LaConv *cg, Node **before, Node **after, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    Node *f = n;
    if (n->op == OP_Conv) { /* the fused form, with no epilogue */
        Value *in[3] = {0};
        for (int k = 0; k < 3 && k < n->nin; k++) in[k] = n->in[k];
        f = fuse_replace(g, n, OP_FusedConv, 5);
        for (int k = 0; k < 3; k++) node_set_input(f, k, in[k]);
        for (int a = 0; a < n->nattrs; a++) *node_add_attr(g, f, n->attrs[a].name, n->attrs[a].kind) = n->attrs[a];
    }
    Node *p = live_producer(x, OP_Transpose);
    int layout = 1;
    *before = NULL;
    if (p && has_perm(p, to_nchw)) {
        node_set_input(f, 0, p->in[0]);
    } else if (cg->group == 1 && cg->C < codegen_cpu->vec_bytes / 4) {
        layout = 2;
    } else {
        *before = transpose(g, x, to_nhwc, arena_printf(g->arena, "%s.nhwc_in", y->name), NULL);
        node_set_input(f, 0, (*before)->out[0]);
    }
    node_set_attr(g, f, "channels_last", ATTR_INT)->i = layout;
    Value *yt = graph_value(g, arena_printf(g->arena, "%s.nhwc", y->name));
    int64_t dims[4];
    for (int i = 0; i < 4; i++) dims[i] = y->shape.dims[to_nhwc[i]];
    Shape s = shape_make(4, dims);
    node_set_output(f, 0, yt);
    value_set_type(yt, y->dtype, &s);
    *after = transpose(g, yt, to_nchw, y->name, y);
    return fuse_check(f, d);
}

Status pass_layout_channels_last(Graph *g, Diag *d)
{
    if (!codegen_cpu) return ST_OK; /* reference kernels only: they are NCHW */
    int n0 = g->nnodes;
    Node **before = calloc((size_t)n0 + 1, sizeof *before), **after = calloc((size_t)n0 + 1, sizeof *after);
    Node **order = NULL;
    Status st = ST_OK;
    if (!before || !after) {
        st = diag_error(d, ST_INTERNAL, NULL, "out of memory");
        goto done;
    }
    for (int i = 0; i < n0 && !st; i++) {
        LaConv cg;
        if (convertible(g->nodes[i], &cg)) st = convert(g, g->nodes[i], &cg, &before[i], &after[i], d);
    }
    if (st || g->nnodes == n0) goto done;
    /* the new Transposes were appended: put each next to its convolution */
    order = calloc((size_t)g->nnodes, sizeof *order);
    if (!order) {
        st = diag_error(d, ST_INTERNAL, NULL, "out of memory");
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n0; i++) {
        if (before[i]) order[k++] = before[i];
        order[k++] = g->nodes[i];
        if (after[i]) order[k++] = after[i];
    }
    for (int i = n0; i < g->nnodes; i++) /* the Convs that became FusedConvs */
        if (g->nodes[i]->dead) order[k++] = g->nodes[i];
    for (int i = 0; i < k; i++) g->nodes[i] = order[i];
    graph_compact(g);
done:
    free(before);
    free(after);
    free(order);
    return st;
}
