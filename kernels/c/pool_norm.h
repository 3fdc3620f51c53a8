/*
 * pool_norm.h — reference kernels of the pool_norm operators: pooling,
 * normalizations, softmax and the two losses.
 *
 * Each kernel is written once as a core over a per-dtype load and store
 * (elements widened to double, the accumulator type of every core), then
 * instantiated per dtype: kiln_pool_f32, kiln_pool_u8, kiln_softmax_f16, ...
 * Float cores exist for f16, bf16, f32, f64; pooling also for i8 and u8
 * (MaxPool only: the lowering never picks them for the averaging modes).
 * in[] and out[] hold only as many entries as the node has, so optional
 * tensors are announced by has_* flags in p, never by probing for NULL.
 */
#ifndef KILN_KERNELS_POOL_NORM_H
#define KILN_KERNELS_POOL_NORM_H
#include "common.h"
#include "elementwise.h"

typedef double (*kiln_pn_ld)(const void *p, int64_t i);
typedef void (*kiln_pn_st)(void *p, int64_t i, double v);

static KILN_UNUSED double kiln_pn_ld_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static KILN_UNUSED double kiln_pn_ld_f64(const void *p, int64_t i) { return ((const double *)p)[i]; }
static KILN_UNUSED double kiln_pn_ld_f16(const void *p, int64_t i) { return kiln_f16_to_f32(((const uint16_t *)p)[i]); }
static KILN_UNUSED double kiln_pn_ld_bf16(const void *p, int64_t i) { return kiln_bf16_to_f32(((const uint16_t *)p)[i]); }
static KILN_UNUSED double kiln_pn_ld_i8(const void *p, int64_t i) { return ((const int8_t *)p)[i]; }
static KILN_UNUSED double kiln_pn_ld_u8(const void *p, int64_t i) { return ((const uint8_t *)p)[i]; }

static KILN_UNUSED void kiln_pn_st_f32(void *p, int64_t i, double v) { ((float *)p)[i] = (float)v; }
static KILN_UNUSED void kiln_pn_st_f64(void *p, int64_t i, double v) { ((double *)p)[i] = v; }
static KILN_UNUSED void kiln_pn_st_f16(void *p, int64_t i, double v) { ((uint16_t *)p)[i] = kiln_f32_to_f16((float)v); }
static KILN_UNUSED void kiln_pn_st_bf16(void *p, int64_t i, double v) { ((uint16_t *)p)[i] = kiln_f32_to_bf16((float)v); }
/* Integer stores saturate (an empty max window is -inf), never UB. */
static KILN_UNUSED void kiln_pn_st_i8(void *p, int64_t i, double v)
{
    ((int8_t *)p)[i] = (int8_t)(v != v ? 0 : v < -128 ? -128 : v > 127 ? 127 : v);
}
static KILN_UNUSED void kiln_pn_st_u8(void *p, int64_t i, double v)
{
    ((uint8_t *)p)[i] = (uint8_t)(v != v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v);
}

/* kiln_NAME_SFX calls kiln_NAME_core with that dtype's load and store. */
#define KILN_PN_INST(name, sfx)                                                      \
    KILN_KERNEL kiln_##name##_##sfx(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                \
        kiln_##name##_core(p, f, in, out, kiln_pn_ld_##sfx, kiln_pn_st_##sfx);       \
    }
#define KILN_PN_FLOATS(name) \
    KILN_PN_INST(name, f32) KILN_PN_INST(name, f64) KILN_PN_INST(name, f16) KILN_PN_INST(name, bf16)

/*
 * Pooling: MaxPool, AveragePool, LpPool and their Global forms (a window the
 * size of the input). in: X; out: Y, Indices (MaxPool, optional, int64).
 * p: mode (0 max, 1 average, 2 Lp), nsp (spatial rank), NC (N*C),
 *    count_include_pad, storage_order, has_indices, then nsp each of: input dims, output
 *    dims, kernel, strides, dilations, begin pads, end pads.
 * f: the Lp exponent (mode 2).
 * A tap outside the input is skipped; count_include_pad counts the taps
 * inside input + explicit pads (not the extra ceil_mode overhang, as ORT).
 * Max propagates NaN and keeps the first maximum; Indices are flat offsets
 * into X, row-major or (storage_order 1) column-major over the spatial axes.
 */
static KILN_UNUSED void kiln_pool_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                       kiln_pn_st st)
{
    int64_t mode = p[0], nsp = p[1], nc = p[2], cip = p[3], so = p[4], a, c, o;
    const int64_t *id = p + 6, *od = id + nsp, *k = od + nsp, *s = k + nsp, *d = s + nsp, *pb = d + nsp,
                  *pe = pb + nsp;
    int64_t isz = 1, osz = 1, rstr[KILN_KMAX_RANK], cstr[KILN_KMAX_RANK];
    int64_t *ind = p[5] ? (int64_t *)out[1] : NULL;
    double pw = mode == 2 ? f[0] : 1;
    for (a = nsp - 1; a >= 0; a--) { rstr[a] = isz; isz *= id[a]; osz *= od[a]; }
    for (a = 0, cstr[0] = 1; a + 1 < nsp; a++) cstr[a + 1] = cstr[a] * id[a];
    for (c = 0; c < nc; c++) {
        for (o = 0; o < osz; o++) {
            int64_t oi[KILN_KMAX_RANK], ki[KILN_KMAX_RANK], rem = o, npad = 0, nin = 0, best = -1;
            double acc = mode == 0 ? -INFINITY : 0;
            int more = 1;
            for (a = nsp - 1; a >= 0; a--) { oi[a] = rem % od[a]; rem /= od[a]; ki[a] = 0; }
            while (more) { /* every tap of the window, an odometer over ki */
                int64_t off = 0, coff = 0;
                int inside = 1, inpad = 1;
                for (a = 0; a < nsp; a++) {
                    int64_t pos = oi[a] * s[a] - pb[a] + ki[a] * d[a];
                    if (pos < -pb[a] || pos >= id[a] + pe[a]) inpad = 0;
                    if (pos < 0 || pos >= id[a]) inside = 0;
                    off += pos * rstr[a];
                    coff += pos * cstr[a];
                }
                npad += inpad;
                if (inside) {
                    double v = ld(in[0], c * isz + off);
                    nin++;
                    if (mode == 0) {
                        if (best < 0 || v > acc || (v != v && acc == acc)) {
                            acc = v;
                            best = c * isz + (so ? coff : off);
                        }
                    } else if (mode == 1) {
                        acc += v;
                    } else {
                        acc += pw == 1 ? fabs(v) : pw == 2 ? v * v : pow(fabs(v), pw);
                    }
                }
                for (a = nsp - 1; a >= 0; a--) {
                    if (++ki[a] < k[a]) break;
                    ki[a] = 0;
                }
                more = a >= 0;
            }
            if (mode == 1) acc = nin ? acc / (double)(cip ? npad : nin) : 0;
            if (mode == 2) acc = pw == 1 ? acc : pw == 2 ? sqrt(acc) : pow(acc, 1 / pw);
            st(out[0], c * osz + o, acc);
            if (ind) ind[c * osz + o] = best;
        }
    }
}
KILN_PN_FLOATS(pool)
KILN_PN_INST(pool, i8)
KILN_PN_INST(pool, u8)

/*
 * BatchNormalization (inference) and InstanceNormalization, both per
 * channel of X viewed as [N, C, inner].
 * batchnorm: in X, scale, B, mean, var; p: N, C, inner; f: epsilon.
 * instnorm:  in X, scale, B; p: N, C, inner; f: epsilon (statistics over inner).
 */
static KILN_UNUSED void kiln_batchnorm_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                            kiln_pn_st st)
{
    int64_t n, c, i, C = p[1], inner = p[2];
    for (c = 0; c < C; c++) {
        double g = ld(in[1], c) / sqrt(ld(in[4], c) + f[0]), b = ld(in[2], c), m = ld(in[3], c);
        for (n = 0; n < p[0]; n++) {
            int64_t base = (n * C + c) * inner;
            for (i = 0; i < inner; i++) st(out[0], base + i, (ld(in[0], base + i) - m) * g + b);
        }
    }
}
KILN_PN_FLOATS(batchnorm)

static KILN_UNUSED void kiln_instnorm_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                           kiln_pn_st st)
{
    int64_t n, c, i, C = p[1], inner = p[2];
    for (n = 0; n < p[0]; n++) {
        for (c = 0; c < C; c++) {
            int64_t base = (n * C + c) * inner;
            double mean = 0, var = 0, g, b = ld(in[2], c);
            for (i = 0; i < inner; i++) mean += ld(in[0], base + i);
            mean /= (double)inner;
            for (i = 0; i < inner; i++) {
                double t = ld(in[0], base + i) - mean;
                var += t * t;
            }
            g = ld(in[1], c) / sqrt(var / (double)inner + f[0]);
            for (i = 0; i < inner; i++) st(out[0], base + i, (ld(in[0], base + i) - mean) * g + b);
        }
    }
}
KILN_PN_FLOATS(instnorm)

/*
 * LayerNormalization: X viewed as [outer, inner], normalized over inner;
 * Scale and B (optional) broadcast over the normalized axes.
 * in: X, Scale, B; out: Y, Mean (f32, optional), InvStdDev (f32, optional).
 * p: outer, inner, nr (normalized rank), has_bias, has_mean, has_invstd,
 *    then nr each of: normalized dims,
 *    Scale strides, B strides (0 where broadcast).  f: epsilon.
 */
static KILN_UNUSED void kiln_layernorm_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                            kiln_pn_st st)
{
    int64_t r, i, outer = p[0], inner = p[1];
    int nr = (int)p[2];
    const int64_t *strides[2];
    strides[0] = p + 6 + nr;
    strides[1] = p + 6 + 2 * nr;
    for (r = 0; r < outer; r++) {
        int64_t base = r * inner;
        double mean = 0, var = 0, inv;
        kiln_bc it;
        for (i = 0; i < inner; i++) mean += ld(in[0], base + i);
        mean /= (double)inner;
        for (i = 0; i < inner; i++) {
            double t = ld(in[0], base + i) - mean;
            var += t * t;
        }
        inv = 1 / sqrt(var / (double)inner + f[0]);
        kiln_bc_init(&it, nr, p + 6, 2, strides);
        for (i = 0; i < inner; i++, kiln_bc_next(&it)) {
            double y = (ld(in[0], base + i) - mean) * inv * ld(in[1], it.off[0]);
            st(out[0], base + i, p[3] ? y + ld(in[2], it.off[1]) : y);
        }
        if (p[4]) ((float *)out[1])[r] = (float)mean;
        if (p[5]) ((float *)out[2])[r] = (float)inv;
    }
}
KILN_PN_FLOATS(layernorm)

/*
 * f32 rows, the fast paths of GlobalAveragePool, LayerNormalization and
 * Softmax (the lowering picks them for contiguous rows): sums in double
 * over eight partial sums, which vectorises with no reassociation, the rest
 * in float.
 */

/* The sum of (x[i] - c) (squared when sq) over n elements. */
static KILN_UNUSED double kiln_pn_sum_f32(const float *x, int64_t n, double c, int sq)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s = 0;
    int64_t i = 0, n8 = n - n % 8;
    int k;
    if (sq)
        for (; i < n8; i += 8)
            for (k = 0; k < 8; k++) acc[k] += ((double)x[i + k] - c) * ((double)x[i + k] - c);
    else
        for (; i < n8; i += 8)
            for (k = 0; k < 8; k++) acc[k] += (double)x[i + k] - c;
    for (; i < n; i++) s += sq ? ((double)x[i] - c) * ((double)x[i] - c) : (double)x[i] - c;
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* GlobalAveragePool: the mean of each of p[0] rows of p[1]. */
KILN_KERNEL kiln_gap_rows_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t r, n = p[1];
    (void)f;
    for (r = 0; r < p[0]; r++)
        ((float *)out[0])[r] = n ? (float)(kiln_pn_sum_f32((const float *)in[0] + r * n, n, 0, 0) / (double)n) : 0.0f;
}

/*
 * LayerNormalization with Scale and B dense over the normalized axes.
 * p: outer, inner, has_bias, has_mean, has_invstd. f: epsilon.
 */
KILN_KERNEL kiln_layernorm_rows_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t r, i, n = p[1];
    const float *s = (const float *)in[1], *b = p[2] ? (const float *)in[2] : 0;
    for (r = 0; r < p[0]; r++) {
        const float *x = (const float *)in[0] + r * n;
        float *y = (float *)out[0] + r * n, m, mlo, iv;
        double mean = n ? kiln_pn_sum_f32(x, n, 0, 0) / (double)n : 0;
        double inv = 1 / sqrt((n ? kiln_pn_sum_f32(x, n, mean, 1) / (double)n : 0) + f[0]);
        /* x - mean as (x - m) - mlo, m the float nearest the mean: exact where x is near it */
        m = (float)mean, mlo = (float)(mean - m), iv = (float)inv;
        if (b)
            for (i = 0; i < n; i++) y[i] = ((x[i] - m) - mlo) * iv * s[i] + b[i];
        else
            for (i = 0; i < n; i++) y[i] = ((x[i] - m) - mlo) * iv * s[i];
        if (p[3]) ((float *)out[1])[r] = m;
        if (p[4]) ((float *)out[2])[r] = iv;
    }
}

/*
 * Softmax, LogSoftmax, Hardmax along the middle axis of X viewed as
 * [outer, n, inner] (the flattened 2-D form of opset < 13 is inner = 1).
 * p: outer, n, inner, kind (0 softmax, 1 log-softmax, 2 hardmax: 1 at the
 * first maximum, NaN counting as the maximum as in numpy's argmax).
 */
static KILN_UNUSED void kiln_softmax_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                          kiln_pn_st st)
{
    int64_t o, i, j, n = p[1], inner = p[2], kind = p[3];
    (void)f;
    for (o = 0; o < p[0]; o++) {
        for (i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i, arg = 0;
            double mx = n ? ld(in[0], base) : 0, sum = 0;
            for (j = 1; j < n; j++) {
                double v = ld(in[0], base + j * inner);
                if (mx == mx && (v > mx || v != v)) { mx = v; arg = j; }
            }
            if (kind == 2) {
                for (j = 0; j < n; j++) st(out[0], base + j * inner, j == arg);
                continue;
            }
            for (j = 0; j < n; j++) sum += exp(ld(in[0], base + j * inner) - mx);
            for (j = 0; j < n; j++) {
                double t = ld(in[0], base + j * inner) - mx;
                st(out[0], base + j * inner, kind ? t - log(sum) : exp(t) / sum);
            }
        }
    }
}
KILN_PN_FLOATS(softmax)

/*
 * Softmax (log 0) or LogSoftmax (log 1) of one f32 row of n; y may be x for
 * Softmax. A NaN or an infinity in the row makes the sum NaN, as in the
 * reference.
 */
static KILN_UNUSED void kiln_softmax_row_f32(const float *x, float *y, int64_t n, int log_)
{
    float mx[8], m = -INFINITY, sc;
    int64_t i, n8 = n - n % 8;
    int k;
    for (k = 0; k < 8; k++) mx[k] = -INFINITY;
    for (i = 0; i < n8; i += 8)
        for (k = 0; k < 8; k++) mx[k] = kiln_ew_sel(x[i + k] > mx[k], x[i + k], mx[k]);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    for (k = 0; k < 8; k++) m = mx[k] > m ? mx[k] : m;
    if (log_) {
        for (i = 0; i < n; i++) y[i] = kiln_ew_expf(x[i] - m);
        sc = (float)log(kiln_pn_sum_f32(y, n, 0, 0));
        for (i = 0; i < n; i++) y[i] = (x[i] - m) - sc;
    } else {
        for (i = 0; i < n; i++) y[i] = kiln_ew_expf(x[i] - m);
        sc = (float)(1 / kiln_pn_sum_f32(y, n, 0, 0));
        for (i = 0; i < n; i++) y[i] *= sc;
    }
}

/* Softmax and LogSoftmax of f32 rows: kiln_softmax_core's parameters, inner 1. */
KILN_KERNEL kiln_softmax_rows_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t r, n = p[1];
    (void)f;
    for (r = 0; r < p[0]; r++) kiln_softmax_row_f32((const float *)in[0] + r * n, (float *)out[0] + r * n, n, (int)p[3]);
}

/*
 * LpNormalization along the middle axis of [outer, n, inner].
 * p: outer, n, inner, p (1 or 2). A zero vector stays zero.
 */
static KILN_UNUSED void kiln_lpnorm_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                         kiln_pn_st st)
{
    int64_t o, i, j, n = p[1], inner = p[2];
    (void)f;
    for (o = 0; o < p[0]; o++) {
        for (i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            double norm = 0;
            for (j = 0; j < n; j++) {
                double v = ld(in[0], base + j * inner);
                norm += p[3] == 1 ? fabs(v) : v * v;
            }
            if (p[3] != 1) norm = sqrt(norm);
            for (j = 0; j < n; j++) {
                double v = ld(in[0], base + j * inner);
                st(out[0], base + j * inner, norm == 0 ? 0 : v / norm);
            }
        }
    }
}
KILN_PN_FLOATS(lpnorm)

/*
 * MeanVarianceNormalization: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9)
 * over a set of axes. Each element belongs to the group of its kept
 * coordinates; scratch holds a sum and a sum of squares per group.
 * p: rank, ngroups, count (elements per group), then rank each of: dims,
 *    group strides (0 on the reduced axes).  scratch: 2 * ngroups doubles.
 */
static KILN_UNUSED void kiln_mvn_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld, kiln_pn_st st)
{
    int rank = (int)p[0];
    int64_t g, e, ng = p[1], numel = ng * p[2];
    const int64_t *gs = p + 3 + rank;
    double *sum = (double *)out[1], *sq = sum + ng;
    kiln_bc it;
    (void)f;
    for (g = 0; g < ng; g++) sum[g] = sq[g] = 0;
    kiln_bc_init(&it, rank, p + 3, 1, &gs);
    for (e = 0; e < numel; e++, kiln_bc_next(&it)) {
        double v = ld(in[0], e);
        sum[it.off[0]] += v;
        sq[it.off[0]] += v * v;
    }
    for (g = 0; g < ng; g++) {
        double m = sum[g] / (double)p[2];
        sum[g] = m;
        sq[g] = sqrt(sq[g] / (double)p[2] - m * m) + 1e-9;
    }
    kiln_bc_init(&it, rank, p + 3, 1, &gs);
    for (e = 0; e < numel; e++, kiln_bc_next(&it))
        st(out[0], e, (ld(in[0], e) - sum[it.off[0]]) / sq[it.off[0]]);
}
KILN_PN_FLOATS(mvn)

/*
 * LRN across channels of X viewed as [N, C, inner]: the window of channel c
 * is [c - floor((size-1)/2), c + ceil((size-1)/2)].
 * p: N, C, inner, size; f: alpha, beta, bias.
 */
static KILN_UNUSED void kiln_lrn_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld, kiln_pn_st st)
{
    int64_t n, c, i, j, C = p[1], inner = p[2], lo = (p[3] - 1) / 2, hi = p[3] / 2;
    for (n = 0; n < p[0]; n++) {
        for (c = 0; c < C; c++) {
            int64_t j0 = c - lo < 0 ? 0 : c - lo, j1 = c + hi >= C ? C - 1 : c + hi;
            for (i = 0; i < inner; i++) {
                double sq = 0, x = ld(in[0], (n * C + c) * inner + i);
                for (j = j0; j <= j1; j++) {
                    double v = ld(in[0], (n * C + j) * inner + i);
                    sq += v * v;
                }
                st(out[0], (n * C + c) * inner + i, x / pow(f[2] + f[0] / (double)p[3] * sq, f[1]));
            }
        }
    }
}
KILN_PN_FLOATS(lrn)

/*
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (log_softmax = 1,
 * taken over C first). X viewed as [N, C, D], target [N, D] (i32 or i64),
 * weight [C] optional. out: loss ([N, D] or a scalar), log_prob (SCE,
 * optional, X's shape).
 * p: N, C, D, reduction (0 none, 1 sum, 2 mean), has_ignore, ignore_index,
 *    target_is_i32, log_softmax, has_weight, has_log_prob.
 * An ignored target weighs 0; mean divides by the sum of the weights (which
 * is N*D without weights or ignored targets). A target outside [0, C) that
 * is not ignored makes the loss NaN.
 */
static KILN_UNUSED void kiln_nllloss_core(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out, kiln_pn_ld ld,
                                          kiln_pn_st st)
{
    int64_t i, c, e, N = p[0], C = p[1], D = p[2];
    double sum = 0, wsum = 0;
    (void)f;
    for (i = 0; i < N; i++) {
        for (e = 0; e < D; e++) {
            int64_t base = i * C * D + e, t = p[6] ? ((const int32_t *)in[1])[i * D + e]
                                                   : ((const int64_t *)in[1])[i * D + e];
            double loss = 0, w = 0, mx = 0, lse = 0;
            if (p[7]) { /* log-softmax over C, written out if asked for */
                for (c = 0, mx = -INFINITY; c < C; c++) {
                    double v = ld(in[0], base + c * D);
                    if (v > mx || v != v) mx = v;
                }
                for (c = 0; c < C; c++) lse += exp(ld(in[0], base + c * D) - mx);
                lse = log(lse);
                if (p[9])
                    for (c = 0; c < C; c++) st(out[1], base + c * D, ld(in[0], base + c * D) - mx - lse);
            }
            if (!(p[4] && t == p[5])) {
                if (t < 0 || t >= C) {
                    loss = w = NAN;
                } else {
                    w = p[8] ? ld(in[2], t) : 1;
                    loss = -w * (ld(in[0], base + t * D) - (p[7] ? mx + lse : 0));
                }
            }
            if (p[3] == 0) st(out[0], i * D + e, loss);
            sum += loss;
            wsum += w;
        }
    }
    if (p[3] == 1) st(out[0], 0, sum);
    if (p[3] == 2) st(out[0], 0, sum / wsum);
}
KILN_PN_FLOATS(nllloss)

#endif
