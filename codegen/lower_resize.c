/* lower_resize.c — kernel choice and parameters for the resize operators. */
#include <string.h>

#include "kiln.h"
#include "../kernels/c/resize.h"

/* Kernels that only move elements come per element size. */
#define BY_SIZE(base, size)                                                   \
    switch (size) {                                                           \
    case 1: KC_KERNEL(kc, "resize", base##_1); return ST_OK;                  \
    case 2: KC_KERNEL(kc, "resize", base##_2); return ST_OK;                  \
    case 4: KC_KERNEL(kc, "resize", base##_4); return ST_OK;                  \
    case 8: KC_KERNEL(kc, "resize", base##_8); return ST_OK;                  \
    default: break;                                                           \
    }

static Status no_kernel(const Node *n, Diag *d)
{
    return diag_unsupported(d, n, "%s of %s is not supported", op_info[n->op].name, dtype_name(n->in[0]->dtype));
}

/* Pack g as kiln_resize_unpack reads it (resize.h). */
static void pack_geometry(KernelCall *kc, const kiln_resize_geom *g)
{
    int r = g->rank;
    kc_i(kc, r);
    kc_i(kc, g->mode);
    kc_i(kc, g->coord);
    kc_i(kc, g->nearest);
    kc_i(kc, g->exclude_outside);
    kc_i(kc, g->extrap_bits);
    kc_is(kc, g->in, r);
    kc_is(kc, g->out, r);
    kc_f(kc, g->cubic_a);
    kc_f(kc, g->extrapolation);
    for (int a = 0; a < r; a++) kc_f(kc, g->scale[a]);
    for (int a = 0; a < r; a++) kc_f(kc, g->out_f[a]);
    for (int a = 0; a < r; a++) kc_f(kc, g->roi0[a]);
    for (int a = 0; a < r; a++) kc_f(kc, g->roi1[a]);
}

static Status lower_resize_op(const Node *n, KernelCall *kc, Diag *d)
{
    DType t = n->in[0]->dtype;
    kiln_resize_geom g;
    int64_t taps = 0;
    if (resize_geometry(n, &g, d)) return d->status;
    /* the extrapolation value in the tensor's own dtype, for the nearest kernels */
    dtype_store_f64(t, &g.extrap_bits, 0, g.extrapolation);
    pack_geometry(kc, &g);
    for (int a = 0; a < g.rank; a++) taps += g.out[a];
    kc->scratch = taps * (int64_t)sizeof(kiln_rs_tap);
    if (g.mode == KILN_RS_NEAREST) {
        BY_SIZE(kiln_resize_nearest, dtype_size(t))
    } else {
        switch (t) {
        case KILN_DTYPE_F32: KC_KERNEL(kc, "resize", kiln_resize_interp_f32); return ST_OK;
        case KILN_DTYPE_F64: KC_KERNEL(kc, "resize", kiln_resize_interp_f64); return ST_OK;
        case KILN_DTYPE_F16: KC_KERNEL(kc, "resize", kiln_resize_interp_f16); return ST_OK;
        case KILN_DTYPE_BF16: KC_KERNEL(kc, "resize", kiln_resize_interp_bf16); return ST_OK;
        default: break;
        }
    }
    return no_kernel(n, d);
}

static Status lower_space_depth(const Node *n, KernelCall *kc, Diag *d)
{
    const int64_t *dm = n->in[0]->shape.dims;
    bool d2s = n->op == OP_DepthToSpace;
    kc_is(kc, dm, 4);
    kc_i(kc, attr_int(n, "blocksize", 0));
    kc_i(kc, d2s && !strcmp(attr_str(n, "mode", "DCR"), "CRD"));
    if (d2s) {
        BY_SIZE(kiln_depth_to_space, dtype_size(n->in[0]->dtype))
    } else {
        BY_SIZE(kiln_space_to_depth, dtype_size(n->in[0]->dtype))
    }
    return no_kernel(n, d);
}

const LowerRule lower_resize[] = {
    {OP_Resize, lower_resize_op},
    {OP_Upsample, lower_resize_op},
    {OP_DepthToSpace, lower_space_depth},
    {OP_SpaceToDepth, lower_space_depth},
    {OP_COUNT_, NULL},
};
