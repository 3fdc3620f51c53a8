/*
 * resize.h — reference kernels of the resize operators: Resize and Upsample
 * (one N-d kernel family), DepthToSpace and SpaceToDepth.
 *
 * Resize follows the ONNX reference (onnx/backend/test/case/node/resize.py)
 * formula for formula: each output coordinate maps to x_original per axis;
 * the output is a weighted sum over the taps of every axis (1 for nearest, 2
 * for linear, 4 for cubic; 1 where x_original lands on a sample). Tap indices
 * are clamped to the edge, as the reference's edge padding does. Variants:
 * kiln_resize_nearest_{1,2,4,8} copy elements of that many bytes, any dtype;
 * kiln_resize_interp_{f32,f64,f16,bf16} interpolate in double.
 */
#ifndef KILN_KERNELS_RESIZE_H
#define KILN_KERNELS_RESIZE_H
#include "common.h"

enum { KILN_RS_NEAREST, KILN_RS_LINEAR, KILN_RS_CUBIC }; /* mode */
enum {                                                   /* coordinate_transformation_mode */
    KILN_RS_HALF_PIXEL, KILN_RS_PYTORCH_HALF_PIXEL, KILN_RS_ALIGN_CORNERS, KILN_RS_ASYMMETRIC,
    KILN_RS_TF_HALF_PIXEL_FOR_NN, KILN_RS_TF_CROP_AND_RESIZE
};
enum {                                                   /* nearest_mode */
    KILN_RS_ROUND_PREFER_FLOOR, KILN_RS_ROUND_PREFER_CEIL, KILN_RS_FLOOR, KILN_RS_CEIL,
    KILN_RS_SIMPLE /* Upsample and Resize-10: floor, or ceil where the axis shrinks (as ONNX Runtime) */
};

/*
 * What a resize computes. The parameters carry it as
 *   p = [rank, mode, coord, nearest, exclude_outside, extrap_bits, in[rank], out[rank]]
 *   f = [cubic_a, extrapolation, scale[rank], out_f[rank], roi0[rank], roi1[rank]]
 * scale: the axis's scale factor (sizes / input when sizes were given);
 * out_f: the output length as the reference computes it, scale * input
 * (which align_corners and tf_crop_and_resize divide by); roi0/roi1: the crop
 * of tf_crop_and_resize; extrap_bits: the extrapolation value stored in the
 * tensor's dtype (little-endian bytes), for the nearest kernels.
 * Scratch: sum(out) * sizeof(kiln_rs_tap) bytes.
 */
typedef struct kiln_resize_geom {
    int rank, mode, coord, nearest, exclude_outside;
    int64_t extrap_bits;
    int64_t in[KILN_KMAX_RANK], out[KILN_KMAX_RANK];
    double cubic_a, extrapolation;
    double scale[KILN_KMAX_RANK], out_f[KILN_KMAX_RANK], roi0[KILN_KMAX_RANK], roi1[KILN_KMAX_RANK];
} kiln_resize_geom;

/* The taps of one output coordinate on one axis; n = 0: extrapolate. */
typedef struct {
    int64_t n;
    int64_t idx[4];
    double w[4];
} kiln_rs_tap;

static KILN_UNUSED void kiln_resize_unpack(kiln_resize_geom *g, kiln_ip p, kiln_fp f)
{
    int a, r = (int)p[0];
    g->rank = r;
    g->mode = (int)p[1];
    g->coord = (int)p[2];
    g->nearest = (int)p[3];
    g->exclude_outside = (int)p[4];
    g->extrap_bits = p[5];
    g->cubic_a = f[0];
    g->extrapolation = f[1];
    for (a = 0; a < r; a++) {
        g->in[a] = p[6 + a];
        g->out[a] = p[6 + r + a];
        g->scale[a] = f[2 + a];
        g->out_f[a] = f[2 + r + a];
        g->roi0[a] = f[2 + 2 * r + a];
        g->roi1[a] = f[2 + 3 * r + a];
    }
}

/* x_original of output coordinate x on axis a; 0 if it falls outside the crop. */
static KILN_UNUSED int kiln_resize_src(const kiln_resize_geom *g, int a, int64_t x, double *xo)
{
    double s = g->scale[a], of = g->out_f[a], r0 = g->roi0[a], r1 = g->roi1[a];
    int64_t in = g->in[a];
    switch (g->coord) {
    case KILN_RS_PYTORCH_HALF_PIXEL: *xo = of == 1 ? -0.5 : ((double)x + 0.5) / s - 0.5; break;
    case KILN_RS_ALIGN_CORNERS: *xo = of == 1 ? 0 : (double)(x * (in - 1)) / (of - 1); break;
    case KILN_RS_ASYMMETRIC: *xo = (double)x / s; break;
    case KILN_RS_TF_HALF_PIXEL_FOR_NN: *xo = ((double)x + 0.5) / s; break;
    case KILN_RS_TF_CROP_AND_RESIZE:
        *xo = of == 1 ? (r1 - r0) * (double)(in - 1) / 2 : (double)x * (r1 - r0) * (double)(in - 1) / (of - 1);
        *xo += r0 * (double)(in - 1);
        return *xo >= 0 && *xo <= (double)(in - 1);
    default: *xo = ((double)x + 0.5) / s - 0.5; break; /* half_pixel */
    }
    return 1;
}

/* The reference's cubic convolution weights for the 4 taps at ratio r in (0, 1]. */
static KILN_UNUSED void kiln_resize_cubic(double r, double A, double *w)
{
    double q = 1 - r;
    w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
    w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
    w[3] = ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A;
}

/* Fill the tap table: for each axis, out[a] entries, axes one after another. */
static KILN_UNUSED void kiln_resize_taps(const kiln_resize_geom *g, kiln_rs_tap *t)
{
    int a, k;
    int64_t x;
    for (a = 0; a < g->rank; a++) {
        int64_t in = g->in[a];
        for (x = 0; x < g->out[a]; x++, t++) {
            double xo, fl, ratio, sum;
            int64_t base;
            if (!kiln_resize_src(g, a, x, &xo)) { t->n = 0; continue; }
            fl = floor(xo);
            ratio = xo - fl;
            base = (int64_t)fl;
            t->n = 1;
            t->w[0] = 1;
            if (xo == fl) { /* on a sample: the reference's weights are one-hot */
                t->idx[0] = base;
            } else if (g->mode == KILN_RS_NEAREST) {
                int up;
                switch (g->nearest) {
                case KILN_RS_ROUND_PREFER_CEIL: up = ratio >= 0.5; break;
                case KILN_RS_FLOOR: up = 0; break;
                case KILN_RS_CEIL: up = 1; break;
                case KILN_RS_SIMPLE: up = g->scale[a] < 1; break;
                default: up = ratio > 0.5; break;
                }
                t->idx[0] = base + up;
            } else if (g->mode == KILN_RS_LINEAR) {
                t->n = 2;
                t->idx[0] = base;
                t->idx[1] = base + 1;
                t->w[0] = 1 - ratio;
                t->w[1] = ratio;
            } else {
                t->n = 4;
                for (k = 0; k < 4; k++) t->idx[k] = base - 1 + k;
                kiln_resize_cubic(ratio, g->cubic_a, t->w);
            }
            if (g->exclude_outside && t->n > 1) {
                sum = 0;
                for (k = 0; k < t->n; k++) {
                    if (t->idx[k] < 0 || t->idx[k] >= in) t->w[k] = 0;
                    sum += t->w[k];
                }
                if (sum != 0)
                    for (k = 0; k < t->n; k++) t->w[k] /= sum;
            }
            for (k = 0; k < t->n; k++) t->idx[k] = t->idx[k] < 0 ? 0 : t->idx[k] >= in ? in - 1 : t->idx[k];
        }
    }
}

/*
 * Walk the output: for each element, tap[a] is its entry on axis a. Sets
 * extr when some axis extrapolates. Used by both kernel families as
 *   KILN_RESIZE_FOR(g, tabs) { ... }
 */
typedef struct {
    const kiln_rs_tap *tab[KILN_KMAX_RANK]; /* each axis's table */
    const kiln_rs_tap *tap[KILN_KMAX_RANK]; /* the current entries */
    int64_t o[KILN_KMAX_RANK], stride[KILN_KMAX_RANK], numel, i;
    int extr;
} kiln_rs_walk;

static KILN_UNUSED void kiln_rs_walk_init(kiln_rs_walk *w, const kiln_resize_geom *g, const kiln_rs_tap *t)
{
    int a;
    int64_t s = 1;
    w->numel = 1;
    for (a = 0; a < g->rank; a++) {
        w->tab[a] = t;
        t += g->out[a];
        w->o[a] = 0;
        w->numel *= g->out[a];
    }
    for (a = g->rank - 1; a >= 0; a--) { w->stride[a] = s; s *= g->in[a]; }
    w->i = 0;
}

/* Point tap[] at the entries of output element w->i (whose index is w->o). */
static KILN_UNUSED void kiln_rs_walk_load(kiln_rs_walk *w, int rank)
{
    int a;
    w->extr = 0;
    for (a = 0; a < rank; a++) {
        w->tap[a] = w->tab[a] + w->o[a];
        if (w->tap[a]->n == 0) w->extr = 1;
    }
}

static KILN_UNUSED void kiln_rs_walk_next(kiln_rs_walk *w, const kiln_resize_geom *g)
{
    int a;
    w->i++;
    for (a = g->rank - 1; a >= 0; a--) {
        if (++w->o[a] < g->out[a]) return;
        w->o[a] = 0;
    }
}

#define KILN_DEF_RESIZE_NEAREST(bytes, T)                                               \
    KILN_KERNEL kiln_resize_nearest_##bytes(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                   \
        const T *x = (const T *)in[0];                                                  \
        T *y = (T *)out[0], ext;                                                        \
        kiln_resize_geom g;                                                             \
        kiln_rs_walk w;                                                                 \
        int a;                                                                          \
        kiln_resize_unpack(&g, p, f);                                                   \
        memcpy(&ext, &g.extrap_bits, sizeof ext);                                       \
        kiln_resize_taps(&g, (kiln_rs_tap *)out[1]);                                    \
        for (kiln_rs_walk_init(&w, &g, (const kiln_rs_tap *)out[1]); w.i < w.numel;    \
             kiln_rs_walk_next(&w, &g)) {                                               \
            int64_t off = 0;                                                            \
            kiln_rs_walk_load(&w, g.rank);                                              \
            for (a = 0; a < g.rank && !w.extr; a++) off += w.tap[a]->idx[0] * w.stride[a]; \
            y[w.i] = w.extr ? ext : x[off];                                             \
        }                                                                               \
    }

/* The weighted sum over every combination of taps (c[] counts through them). */
#define KILN_DEF_RESIZE_INTERP(sfx, T, LD, ST)                                          \
    KILN_KERNEL kiln_resize_interp_##sfx(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                   \
        const T *x = (const T *)in[0];                                                  \
        T *y = (T *)out[0];                                                             \
        kiln_resize_geom g;                                                             \
        kiln_rs_walk w;                                                                 \
        int a;                                                                          \
        kiln_resize_unpack(&g, p, f);                                                   \
        kiln_resize_taps(&g, (kiln_rs_tap *)out[1]);                                    \
        for (kiln_rs_walk_init(&w, &g, (const kiln_rs_tap *)out[1]); w.i < w.numel;    \
             kiln_rs_walk_next(&w, &g)) {                                               \
            int64_t c[KILN_KMAX_RANK] = {0};                                            \
            double sum = 0;                                                             \
            kiln_rs_walk_load(&w, g.rank);                                              \
            if (w.extr) { y[w.i] = ST(g.extrapolation); continue; }                     \
            for (;;) {                                                                  \
                double wt = 1;                                                          \
                int64_t off = 0;                                                        \
                for (a = 0; a < g.rank; a++) {                                          \
                    wt *= w.tap[a]->w[c[a]];                                            \
                    off += w.tap[a]->idx[c[a]] * w.stride[a];                           \
                }                                                                       \
                sum += wt * (double)LD(x[off]);                                         \
                for (a = g.rank - 1; a >= 0 && ++c[a] == w.tap[a]->n; a--) c[a] = 0;    \
                if (a < 0) break;                                                       \
            }                                                                           \
            y[w.i] = ST(sum);                                                           \
        }                                                                               \
    }

#define KILN_RS_SELF(v) (v)
#define KILN_RS_TO_F32(v) ((float)(v))
#define KILN_RS_TO_F16(v) kiln_f32_to_f16((float)(v))
#define KILN_RS_TO_BF16(v) kiln_f32_to_bf16((float)(v))

KILN_DEF_RESIZE_NEAREST(1, uint8_t)
KILN_DEF_RESIZE_NEAREST(2, uint16_t)
KILN_DEF_RESIZE_NEAREST(4, uint32_t)
KILN_DEF_RESIZE_NEAREST(8, uint64_t)
KILN_DEF_RESIZE_INTERP(f32, float, KILN_RS_SELF, KILN_RS_TO_F32)
KILN_DEF_RESIZE_INTERP(f64, double, KILN_RS_SELF, KILN_RS_SELF)
KILN_DEF_RESIZE_INTERP(f16, uint16_t, kiln_f16_to_f32, KILN_RS_TO_F16)
KILN_DEF_RESIZE_INTERP(bf16, uint16_t, kiln_bf16_to_f32, KILN_RS_TO_BF16)

/*
 * DepthToSpace and SpaceToDepth on NCHW, any dtype by element size:
 * p = [N, C, H, W, blocksize, crd] with the dims of the input; crd selects
 * DepthToSpace's CRD mode (channel c*b*b + i*b + j) over DCR ((i*b + j)*C' + c).
 */
#define KILN_DEF_SPACE_DEPTH(bytes, T)                                                  \
    KILN_KERNEL kiln_depth_to_space_##bytes(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                   \
        const T *x = (const T *)in[0];                                                  \
        T *y = (T *)out[0];                                                             \
        int64_t N = p[0], C = p[1], H = p[2], W = p[3], b = p[4], crd = p[5];           \
        int64_t oc, OC = C / (b * b), OH = H * b, OW = W * b, n, h, w;                  \
        (void)f;                                                                        \
        for (n = 0; n < N; n++)                                                         \
            for (oc = 0; oc < OC; oc++)                                                 \
                for (h = 0; h < OH; h++)                                                \
                    for (w = 0; w < OW; w++) {                                          \
                        int64_t i = h % b, j = w % b;                                   \
                        int64_t c = crd ? oc * b * b + i * b + j : (i * b + j) * OC + oc; \
                        *y++ = x[((n * C + c) * H + h / b) * W + w / b];                \
                    }                                                                   \
    }                                                                                   \
    KILN_KERNEL kiln_space_to_depth_##bytes(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                   \
        const T *x = (const T *)in[0];                                                  \
        T *y = (T *)out[0];                                                             \
        int64_t N = p[0], C = p[1], H = p[2], W = p[3], b = p[4];                       \
        int64_t oc, OC = C * b * b, OH = H / b, OW = W / b, n, h, w;                    \
        (void)f;                                                                        \
        for (n = 0; n < N; n++)                                                         \
            for (oc = 0; oc < OC; oc++)                                                 \
                for (h = 0; h < OH; h++)                                                \
                    for (w = 0; w < OW; w++) {                                          \
                        int64_t c = oc % C, i = oc / C / b, j = oc / C % b;             \
                        *y++ = x[((n * C + c) * H + h * b + i) * W + w * b + j];        \
                    }                                                                   \
    }

KILN_DEF_SPACE_DEPTH(1, uint8_t)
KILN_DEF_SPACE_DEPTH(2, uint16_t)
KILN_DEF_SPACE_DEPTH(4, uint32_t)
KILN_DEF_SPACE_DEPTH(8, uint64_t)

#endif
