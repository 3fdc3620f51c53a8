/* infer_resize.c — shape rules of the resize operators (see ops.def). */
#include <math.h>
#include <string.h>

#include "kiln.h"
#include "../kernels/c/resize.h"

/* Index of s in names (NULL-terminated), or -1. */
static int lookup(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* Names in the order of the KILN_RS_* codes of resize.h. */
static const char *const coord_names[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                          "tf_half_pixel_for_nn", "tf_crop_and_resize", NULL};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};

/* The attribute-and-input forms of the scales: Upsample-7 has an attribute,
 * Upsample-9 and Resize-10 an input 1, Resize-11+ input 2 (or sizes, input 3). */
static bool legacy_form(const Node *n)
{
    return n->op == OP_Upsample || n->opset < 11;
}

/* Modes and attributes into g; Resize-10 and Upsample are asymmetric with
 * the old rounding of nearest. */
static Status resize_modes(const Node *n, kiln_resize_geom *g, Diag *d)
{
    const char *mode = attr_str(n, "mode", "nearest");
    static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
    g->mode = lookup(mode, modes);
    if (n->op == OP_Upsample && !strcmp(mode, "bilinear")) g->mode = KILN_RS_LINEAR; /* Upsample-1's name */
    if (g->mode < 0 || (legacy_form(n) && g->mode == KILN_RS_CUBIC))
        return diag_error(d, ST_INPUT, n, "unknown mode '%s'", mode);
    g->cubic_a = -0.75;
    g->extrapolation = 0;
    g->exclude_outside = 0;
    if (legacy_form(n)) {
        g->coord = KILN_RS_ASYMMETRIC;
        g->nearest = KILN_RS_SIMPLE;
        return ST_OK;
    }
    const char *coord = attr_str(n, "coordinate_transformation_mode", "half_pixel");
    const char *nearest = attr_str(n, "nearest_mode", "round_prefer_floor");
    if ((g->coord = lookup(coord, coord_names)) < 0)
        return diag_error(d, ST_INPUT, n, "unknown coordinate_transformation_mode '%s'", coord);
    if ((g->nearest = lookup(nearest, nearest_names)) < 0)
        return diag_error(d, ST_INPUT, n, "unknown nearest_mode '%s'", nearest);
    g->cubic_a = attr_float(n, "cubic_coeff_a", -0.75);
    g->exclude_outside = attr_int(n, "exclude_outside", 0) != 0;
    g->extrapolation = attr_float(n, "extrapolation_value", 0);
    return ST_OK;
}

/*
 * Everything a Resize or Upsample node computes: modes, output dims, the
 * per-axis scale, out_f and crop (see kiln_resize_geom). Shared with
 * codegen/lower_resize.c, which packs it into kernel parameters.
 */
Status resize_geometry(const Node *n, struct kiln_resize_geom *g, Diag *d)
{
    const Shape *xs = &n->in[0]->shape;
    int rank = xs->rank, naxes = rank, nscales = 0, nsizes = 0;
    int64_t axes[KILN_MAX_RANK], sizes[KILN_MAX_RANK];
    double scales[KILN_MAX_RANK], roi[2 * KILN_MAX_RANK];
    const int64_t *attr_axes;

    memset(g, 0, sizeof *g);
    g->rank = rank;
    if (resize_modes(n, g, d)) return d->status;
    for (int a = 0; a < rank; a++) {
        axes[a] = a;
        g->in[a] = g->out[a] = xs->dims[a];
        g->scale[a] = g->out_f[a] = 1;
        g->roi0[a] = 0;
        g->roi1[a] = 1;
    }

    /* The scales or sizes, over naxes axes. */
    if (legacy_form(n) && !has_input(n, 1)) {
        const Attr *at = attr_get(n, "scales");
        if (!at || at->kind != ATTR_FLOATS) return diag_error(d, ST_INPUT, n, "scales are missing");
        if (at->n != rank) return diag_error(d, ST_INPUT, n, "scales has %d entries for %d axes", at->n, rank);
        for (int i = 0; i < rank; i++) scales[i] = at->floats[i];
        nscales = rank;
    } else if (legacy_form(n)) {
        if ((nscales = const_f64s(n, 1, scales, KILN_MAX_RANK, d)) < 0) return d->status;
        if (nscales != rank) return diag_error(d, ST_INPUT, n, "scales has %d entries for %d axes", nscales, rank);
    } else {
        int cnt = attr_ints(n, "axes", &attr_axes);
        if (cnt >= 0) {
            if (cnt > rank) return diag_error(d, ST_INPUT, n, "axes has %d entries for rank %d", cnt, rank);
            naxes = cnt;
            for (int i = 0; i < cnt; i++) {
                if (!norm_axis(attr_axes[i], rank, &axes[i]) || axes[i] >= rank)
                    return diag_error(d, ST_INPUT, n, "axis %lld is out of range", (long long)attr_axes[i]);
                for (int j = 0; j < i; j++)
                    if (axes[j] == axes[i])
                        return diag_error(d, ST_INPUT, n, "axis %lld is repeated", (long long)attr_axes[i]);
            }
        }
        if (has_input(n, 2) && (nscales = const_f64s(n, 2, scales, KILN_MAX_RANK, d)) < 0) return d->status;
        if (has_input(n, 3) && (nsizes = const_ints(n, 3, sizes, KILN_MAX_RANK, d)) < 0) return d->status;
        if (nscales && nsizes) return diag_error(d, ST_INPUT, n, "give scales or sizes, not both");
        if (!nscales && !nsizes && naxes) return diag_error(d, ST_INPUT, n, "neither scales nor sizes is given");
    }
    if (nscales && nscales != naxes)
        return diag_error(d, ST_INPUT, n, "scales has %d entries for %d axes", nscales, naxes);
    if (nsizes && nsizes != naxes)
        return diag_error(d, ST_INPUT, n, "sizes has %d entries for %d axes", nsizes, naxes);

    if (nscales) {
        for (int i = 0; i < naxes; i++) {
            int64_t a = axes[i];
            double v = scales[i] * (double)g->in[a];
            if (!(scales[i] > 0) || !(v < 1e15))
                return diag_error(d, ST_INPUT, n, "scale %g of axis %lld is not usable", scales[i], (long long)a);
            g->scale[a] = scales[i];
            g->out[a] = (int64_t)floor(v);
            g->out_f[a] = (float)v; /* the reference multiplies in float32 */
        }
    } else if (nsizes) {
        const char *policy = attr_str(n, "keep_aspect_ratio_policy", "stretch");
        bool larger = !strcmp(policy, "not_larger"), smaller = !strcmp(policy, "not_smaller");
        double common = larger ? INFINITY : 0;
        if (!larger && !smaller && strcmp(policy, "stretch"))
            return diag_error(d, ST_INPUT, n, "unknown keep_aspect_ratio_policy '%s'", policy);
        for (int i = 0; i < naxes; i++) {
            int64_t a = axes[i];
            if (sizes[i] < 0) return diag_error(d, ST_INPUT, n, "size %lld is negative", (long long)sizes[i]);
            g->out[a] = sizes[i];
            g->out_f[a] = (double)sizes[i];
            if (g->in[a] == 0) continue; /* rejected below unless sizes[i] is 0 too */
            double s = (double)sizes[i] / (double)g->in[a];
            g->scale[a] = s;
            if (larger && s < common) common = s;
            if (smaller && s > common) common = s;
        }
        for (int i = 0; (larger || smaller) && i < naxes; i++) {
            int64_t a = axes[i];
            if (g->in[a] == 0) continue;
            g->scale[a] = common;
            g->out_f[a] = round(common * (double)g->in[a]);
            g->out[a] = (int64_t)g->out_f[a];
        }
    }

    if (g->coord == KILN_RS_TF_CROP_AND_RESIZE) {
        int cnt;
        if (!has_input(n, 1)) return diag_error(d, ST_INPUT, n, "tf_crop_and_resize needs roi (input 1)");
        if ((cnt = const_f64s(n, 1, roi, 2 * KILN_MAX_RANK, d)) < 0) return d->status;
        if (cnt != 2 * naxes) return diag_error(d, ST_INPUT, n, "roi has %d entries, not %d", cnt, 2 * naxes);
        for (int i = 0; i < naxes; i++) {
            g->roi0[axes[i]] = roi[i];
            g->roi1[axes[i]] = roi[naxes + i];
        }
    }

    for (int a = 0; a < rank; a++)
        if (g->in[a] == 0 && g->out[a] > 0)
            return diag_error(d, ST_INPUT, n, "axis %d is empty and cannot be resized to %lld", a,
                              (long long)g->out[a]);
    if (!legacy_form(n) && attr_int(n, "antialias", 0) && g->mode != KILN_RS_NEAREST)
        for (int a = 0; a < rank; a++)
            if (g->scale[a] < 1) return diag_unsupported(d, n, "antialias when downsampling is not supported");
    return ST_OK;
}

static Status infer_resize_op(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    kiln_resize_geom g;
    if (resize_geometry(n, &g, d)) return d->status;
    if (g.mode != KILN_RS_NEAREST && !dtype_is_float(x->dtype))
        return diag_unsupported(d, n, "linear and cubic %s of %s are not supported", op_info[n->op].name,
                                dtype_name(x->dtype));
    size_t es = dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return diag_unsupported(d, n, "%s of %s is not supported", op_info[n->op].name, dtype_name(x->dtype));
    Shape s = shape_make(g.rank, g.out);
    if (shape_numel(&s) < 0) return diag_error(d, ST_INPUT, n, "the output is too large");
    value_set_type(n->out[0], x->dtype, &s);
    return ST_OK;
}

/* DepthToSpace and SpaceToDepth: NCHW with a blocksize dividing C, or H and W. */
static Status infer_space_depth(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    const int64_t *dm = x->shape.dims;
    int64_t b = attr_int(n, "blocksize", 0);
    size_t es = dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return diag_unsupported(d, n, "%s of %s is not supported", op_info[n->op].name, dtype_name(x->dtype));
    if (x->shape.rank != 4) return diag_error(d, ST_INPUT, n, "input must have rank 4 (NCHW), not %d", x->shape.rank);
    if (b <= 0 || b > 1 << 20) return diag_error(d, ST_INPUT, n, "blocksize %lld must be positive", (long long)b);
    Shape s = x->shape;
    if (n->op == OP_DepthToSpace) {
        const char *mode = attr_str(n, "mode", "DCR");
        if (strcmp(mode, "DCR") && strcmp(mode, "CRD")) return diag_error(d, ST_INPUT, n, "unknown mode '%s'", mode);
        if (dm[1] % (b * b))
            return diag_error(d, ST_INPUT, n, "channels %lld are not a multiple of blocksize^2 = %lld",
                              (long long)dm[1], (long long)(b * b));
        s.dims[1] = dm[1] / (b * b);
        s.dims[2] = dm[2] * b;
        s.dims[3] = dm[3] * b;
    } else {
        if (dm[2] % b || dm[3] % b)
            return diag_error(d, ST_INPUT, n, "height %lld and width %lld must be multiples of blocksize %lld",
                              (long long)dm[2], (long long)dm[3], (long long)b);
        s.dims[1] = dm[1] * b * b;
        s.dims[2] = dm[2] / b;
        s.dims[3] = dm[3] / b;
    }
    value_set_type(n->out[0], x->dtype, &s);
    return ST_OK;
}

const InferRule infer_resize[] = {
    {OP_Resize, infer_resize_op},
    {OP_Upsample, infer_resize_op},
    {OP_DepthToSpace, infer_space_depth},
    {OP_SpaceToDepth, infer_space_depth},
    {OP_COUNT_, NULL},
};
