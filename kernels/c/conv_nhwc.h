/*
 * conv_nhwc.h — convolutions in channels-last (NHWC) layout.
 *
 * Depthwise convolution (group = C = M) vectorised across channels: a
 * vector holds KILN_VL consecutive channels of one pixel, so every tap of
 * an output vector is one vector load and one FMA whatever the stride,
 * dilation or plane size, with no packing of the input.
 *
 * Loop order: output row -> block of KILN_VL channels -> output column. The
 * weight vectors of the block's taps are loaded once per row into registers
 * (KH*KW of them, at most KILN_DWN_MAX_TAPS), then the columns whose taps
 * are all inside the input ([owa, owb)) run with no tests, bias and clamp
 * in registers: 3-wide kernels with unit dilation and column stride 1 or 2
 * as a fully unrolled sliding window (kiln_dwn_slide3), the rest 4 columns
 * at a time (kiln_dwn_span); the border columns test their taps. Rows whose
 * kernel window leaves the input at the top or bottom just use fewer kernel
 * rows (kh0..kh1), a compile-time 3 or 2 for 3-wide kernels. A
 * channel count that is not a multiple of KILN_VL ends with one block
 * that overlaps the previous one (the overlapping channels are computed
 * twice, the same way, and stored twice with the same values); fewer
 * channels than a vector go through a scalar loop. Under KILN_GENERIC the
 * same code runs with one float as the "vector".
 *
 * Placement: with large C every pixel is C*4 bytes, so when y and x start at
 * the same offset modulo 4 KiB (or y 64 bytes past it), the loads of x
 * falsely alias the stores to y still in flight (4K aliasing) and C >= 256
 * runs up to 2x slower. Offsetting y from x by 128..1088 bytes modulo
 * 4 KiB avoids it.
 */
#ifndef KILN_KERNELS_CONV_NHWC_H
#define KILN_KERNELS_CONV_NHWC_H
#include "gemm.h"

#if defined(__GNUC__) || defined(__clang__)
#define KILN_DWN_INLINE static inline __attribute__((always_inline))
#else
#define KILN_DWN_INLINE static inline
#endif

#ifndef KILN_GENERIC
typedef kiln_vf kiln_dwn_v;
#define KILN_DWN_VL KILN_VL
#define KILN_DWN_LD(p) (*(const kiln_vfu *)(p))
#define KILN_DWN_ST(p, v) (*(kiln_vfu *)(p) = (v))
#define KILN_DWN_SPLAT(s) ((kiln_dwn_v){0} + (s))
#else
typedef float kiln_dwn_v;
#define KILN_DWN_VL 1
#define KILN_DWN_LD(p) (*(const float *)(p))
#define KILN_DWN_ST(p, v) (*(float *)(p) = (v))
#define KILN_DWN_SPLAT(s) (s)
#endif

/* Taps a kernel row may use with its weights in a local array; larger
 * kernels read their weights from memory, one output column at a time. */
#define KILN_DWN_MAX_TAPS 25

/* Weights as ONNX has them, w[C][1][KH][KW], into the layout the kernel
 * reads: dst[(kh * KW + kw) * C + c]. Run by the compiler at compile time. */
static KILN_UNUSED void kiln_dwconv_nhwc_pack(float *dst, const float *w, int64_t C, int64_t KH, int64_t KW)
{
    int64_t c, t, T = KH * KW;
    for (c = 0; c < C; c++)
        for (t = 0; t < T; t++) dst[t * C + c] = w[c * T + t];
}

typedef struct {
    const float *x, *w, *b;
    float *y;
    int64_t N, C, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
    int64_t owa, owb; /* the output columns whose kernel columns are all inside the input */
    int64_t chunk;    /* output rows per task */
    int clamp;        /* the modes of kiln_dwn_clamp */
    float lo, hi;
} kiln_dwn_args;

/* y = min(max(y, lo), hi), a NaN staying NaN. cm (kiln_dwn_args.clamp):
 * 1: lo, 2: hi (not set for an infinite or NaN bound, which changes
 * nothing). */
KILN_TARGET_FMA KILN_DWN_INLINE kiln_dwn_v kiln_dwn_clamp(kiln_dwn_v v, int cm, kiln_dwn_v lo, kiln_dwn_v hi)
{
#ifndef KILN_GENERIC
    if (cm & 1) v = kiln_vmax(lo, v);
    if (cm & 2) v = kiln_vmin(hi, v);
#else
    if (cm & 1) v = v < lo ? lo : v;
    if (cm & 2) v = v > hi ? hi : v;
#endif
    return v;
}

/*
 * n consecutive interior output columns of one channel block: every tap is
 * inside. x: the input at (first kernel row used, input column of the first
 * output, first channel); rs: floats between kernel rows (dh*W*C); cs
 * between output columns (sw*C); ks between kernel columns (dw*C). wv:
 * nkh x nkw weight vectors. y: the first output; ys: floats between outputs.
 */
KILN_TARGET_FMA KILN_DWN_INLINE void kiln_dwn_span(int nkh, int nkw, const float *x, int64_t rs,
                                                   int64_t cs, int64_t ks, const kiln_dwn_v *wv,
                                                   kiln_dwn_v bv, int clamp, kiln_dwn_v lo, kiln_dwn_v hi, float *y,
                                                   int64_t ys, int64_t n)
{
    int64_t j, xo = 0, yo = 0;
    int i, k;
#define KILN_DWN_OFF(p, k) ((p) * cs + (k) * ks)
    for (j = 0; j + 4 <= n; j += 4, xo += 4 * cs, yo += 4 * ys) {
        kiln_dwn_v a0 = bv, a1 = bv, a2 = bv, a3 = bv;
        for (i = 0; i < nkh; i++) {
            const float *q = x + xo + i * rs;
            for (k = 0; k < nkw; k++) {
                kiln_dwn_v wt = wv[i * nkw + k];
                a0 += wt * KILN_DWN_LD(q + KILN_DWN_OFF(0, k));
                a1 += wt * KILN_DWN_LD(q + KILN_DWN_OFF(1, k));
                a2 += wt * KILN_DWN_LD(q + KILN_DWN_OFF(2, k));
                a3 += wt * KILN_DWN_LD(q + KILN_DWN_OFF(3, k));
            }
        }
        a0 = kiln_dwn_clamp(a0, clamp, lo, hi);
        a1 = kiln_dwn_clamp(a1, clamp, lo, hi);
        a2 = kiln_dwn_clamp(a2, clamp, lo, hi);
        a3 = kiln_dwn_clamp(a3, clamp, lo, hi);
        KILN_DWN_ST(y + yo, a0);
        KILN_DWN_ST(y + yo + ys, a1);
        KILN_DWN_ST(y + yo + 2 * ys, a2);
        KILN_DWN_ST(y + yo + 3 * ys, a3);
    }
    for (; j < n; j++, xo += cs, yo += ys) {
        kiln_dwn_v a0 = bv;
        for (i = 0; i < nkh; i++) {
            const float *q = x + xo + i * rs;
            for (k = 0; k < nkw; k++) a0 += wv[i * nkw + k] * KILN_DWN_LD(q + KILN_DWN_OFF(0, k));
        }
        a0 = kiln_dwn_clamp(a0, clamp, lo, hi);
        KILN_DWN_ST(y + yo, a0);
    }
#undef KILN_DWN_OFF
}

/* The taps t in [*t0, *t1) of a kernel of K taps d apart, starting at input
 * index i0, that fall inside [0, n). */
static KILN_UNUSED void kiln_dwn_taps(int64_t i0, int64_t n, int64_t d, int64_t K, int64_t *t0, int64_t *t1)
{
    *t0 = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
    *t1 = i0 >= n ? 0 : (n - i0 + d - 1) / d;
    if (*t1 > K) *t1 = K;
}

/* One output column of one channel block, testing its kernel columns. x: the
 * input at (first kernel row used, column 0, first channel), w: the weights
 * at (first kernel row used, kw 0, first channel), iw0: the input column of
 * kernel column 0. */
KILN_TARGET_FMA KILN_DWN_INLINE void kiln_dwn_col(const kiln_dwn_args *a, const float *x, const float *w, int64_t nkh,
                                                  int64_t iw0, kiln_dwn_v bv, kiln_dwn_v lo, kiln_dwn_v hi, float *y)
{
    int64_t C = a->C, W = a->W, KW = a->KW, dw = a->dw, rs = a->dh * W * C, i, k, kw0, kw1;
    kiln_dwn_v acc = bv;
    kiln_dwn_taps(iw0, W, dw, KW, &kw0, &kw1);
    for (i = 0; i < nkh; i++)
        for (k = kw0; k < kw1; k++) acc += KILN_DWN_LD(w + (i * KW + k) * C) * KILN_DWN_LD(x + i * rs + (iw0 + k * dw) * C);
    acc = kiln_dwn_clamp(acc, a->clamp, lo, hi);
    KILN_DWN_ST(y, acc);
}

/*
 * 3-wide kernels with unit dilation and column stride SW (1 or 2, a
 * compile-time constant): n interior output columns as a sliding window.
 * The nkh x 3 input vectors of an output stay in registers, and the next
 * output loads only its SW new columns per kernel row, so a 3x3 output
 * vector is 3 (stride 1) or 6 (stride 2) loads and 9 FMAs. Arguments as
 * kiln_dwn_span's.
 */
KILN_TARGET_FMA KILN_DWN_INLINE void kiln_dwn_slide3(int nkh, int SW, const float *x, int64_t rs, int64_t C,
                                                     const kiln_dwn_v *wv, kiln_dwn_v bv, int clamp, kiln_dwn_v lo,
                                                     kiln_dwn_v hi, float *y, int64_t ys, int64_t n)
{
    kiln_dwn_v z = KILN_DWN_SPLAT(0.0f), w00 = wv[0], w01 = wv[1], w02 = wv[2];
    kiln_dwn_v w10 = nkh > 1 ? wv[3] : z, w11 = nkh > 1 ? wv[4] : z, w12 = nkh > 1 ? wv[5] : z;
    kiln_dwn_v w20 = nkh > 2 ? wv[6] : z, w21 = nkh > 2 ? wv[7] : z, w22 = nkh > 2 ? wv[8] : z;
    kiln_dwn_v a0, a1 = z, a2, b0 = z, b1 = z, b2, c0 = z, c1 = z, c2;
    int64_t j, xo = 0, yo = 0;
    a0 = KILN_DWN_LD(x);
    if (SW == 1) a1 = KILN_DWN_LD(x + C);
    if (nkh > 1) {
        b0 = KILN_DWN_LD(x + rs);
        if (SW == 1) b1 = KILN_DWN_LD(x + rs + C);
    }
    if (nkh > 2) {
        c0 = KILN_DWN_LD(x + 2 * rs);
        if (SW == 1) c1 = KILN_DWN_LD(x + 2 * rs + C);
    }
    for (j = 0; j < n; j++, xo += SW * C, yo += ys) {
        const float *q = x + xo;
        kiln_dwn_v acc = bv;
        if (SW != 1) a1 = KILN_DWN_LD(q + C);
        a2 = KILN_DWN_LD(q + 2 * C);
        acc += w00 * a0;
        acc += w01 * a1;
        acc += w02 * a2;
        if (nkh > 1) {
            if (SW != 1) b1 = KILN_DWN_LD(q + rs + C);
            b2 = KILN_DWN_LD(q + rs + 2 * C);
            acc += w10 * b0;
            acc += w11 * b1;
            acc += w12 * b2;
        }
        if (nkh > 2) {
            if (SW != 1) c1 = KILN_DWN_LD(q + 2 * rs + C);
            c2 = KILN_DWN_LD(q + 2 * rs + 2 * C);
            acc += w20 * c0;
            acc += w21 * c1;
            acc += w22 * c2;
        }
        acc = kiln_dwn_clamp(acc, clamp, lo, hi);
        KILN_DWN_ST(y + yo, acc);
        if (SW == 1) {
            a0 = a1, a1 = a2;
            if (nkh > 1) b0 = b1, b1 = b2;
            if (nkh > 2) c0 = c1, c1 = c2;
        } else {
            a0 = a2;
            if (nkh > 1) b0 = b2;
            if (nkh > 2) c0 = c2;
        }
    }
}

/* A border column of a 3-wide kernel, with the weights wv in registers:
 * kernel column m reads input column iw0 + m * dw when that is inside. */
KILN_TARGET_FMA KILN_DWN_INLINE void kiln_dwn_col3(int nkh, const kiln_dwn_args *a, const float *x, int64_t rs,
                                                   const kiln_dwn_v *wv, int64_t iw0, kiln_dwn_v bv, kiln_dwn_v lo,
                                                   kiln_dwn_v hi, float *y)
{
    kiln_dwn_v acc = bv;
    int64_t C = a->C, W = a->W, iw;
    int m, i;
    for (m = 0; m < 3; m++) {
        iw = iw0 + m * a->dw;
        if (iw >= 0 && iw < W)
            for (i = 0; i < nkh; i++) acc += wv[i * 3 + m] * KILN_DWN_LD(x + i * rs + iw * C);
    }
    acc = kiln_dwn_clamp(acc, a->clamp, lo, hi);
    KILN_DWN_ST(y, acc);
}

/* A whole output row of a 3-wide kernel for the channel block at x, w, y
 * (offset to its first channel), nkh kernel rows from the one x and w point
 * at. SW: 1 or 2 with unit dilation (the sliding window), else 0. */
KILN_TARGET_FMA KILN_DWN_INLINE void kiln_dwn_block3(int nkh, int SW, const kiln_dwn_args *a, const float *x,
                                                     const float *w, kiln_dwn_v bv, kiln_dwn_v lo, kiln_dwn_v hi,
                                                     float *y)
{
    int64_t C = a->C, sw = a->sw, pw = a->pw, owa = a->owa, owb = a->owb, OW = a->OW, rs = a->dh * a->W * C, ow;
    kiln_dwn_v wv[9];
    int t;
    for (t = 0; t < 9; t++) wv[t] = t < nkh * 3 ? KILN_DWN_LD(w + t * C) : KILN_DWN_SPLAT(0.0f);
    for (ow = 0; ow < owa; ow++) kiln_dwn_col3(nkh, a, x, rs, wv, ow * sw - pw, bv, lo, hi, y + ow * C);
    if (owb > owa) {
        const float *xs = x + (owa * sw - pw) * C;
        if (SW) kiln_dwn_slide3(nkh, SW, xs, rs, C, wv, bv, a->clamp, lo, hi, y + owa * C, C, owb - owa);
        else kiln_dwn_span(nkh, 3, xs, rs, sw * C, a->dw * C, wv, bv, a->clamp, lo, hi, y + owa * C, C,
                           owb - owa);
    }
    for (ow = owb > owa ? owb : owa; ow < OW; ow++)
        kiln_dwn_col3(nkh, a, x, rs, wv, ow * sw - pw, bv, lo, hi, y + ow * C);
}

/* The same for any kernel width: nkh x nkw (= KW) taps, at most KILN_DWN_MAX_TAPS. */
KILN_TARGET_FMA KILN_DWN_INLINE void kiln_dwn_block(int nkh, int nkw, const kiln_dwn_args *a, const float *x,
                                                    const float *w, kiln_dwn_v bv, kiln_dwn_v lo, kiln_dwn_v hi,
                                                    float *y)
{
    int64_t C = a->C, sw = a->sw, pw = a->pw, owa = a->owa, owb = a->owb, OW = a->OW, ow;
    kiln_dwn_v wv[KILN_DWN_MAX_TAPS];
    int t;
    for (ow = 0; ow < owa; ow++) kiln_dwn_col(a, x, w, nkh, ow * sw - pw, bv, lo, hi, y + ow * C);
    if (owb > owa) {
        for (t = 0; t < nkh * nkw; t++) wv[t] = KILN_DWN_LD(w + t * C);
        kiln_dwn_span(nkh, nkw, x + (owa * sw - pw) * C, a->dh * a->W * C, sw * C, a->dw * C, wv, bv,
                      a->clamp, lo, hi, y + owa * C, C, owb - owa);
    }
    for (ow = owb > owa ? owb : owa; ow < OW; ow++) kiln_dwn_col(a, x, w, nkh, ow * sw - pw, bv, lo, hi, y + ow * C);
}

/* An output row one channel at a time (fewer channels than a vector); x, w
 * at the first kernel row used, nkh of them. */
KILN_TARGET_FMA static KILN_UNUSED void kiln_dwn_row_scalar(const kiln_dwn_args *a, const float *x, const float *w,
                                                            int64_t nkh, float *y)
{
    int64_t C = a->C, W = a->W, KW = a->KW, dw = a->dw, sw = a->sw, pw = a->pw, rs = a->dh * W * C, ow, c, i, k;
    for (ow = 0; ow < a->OW; ow++) {
        int64_t iw0 = ow * sw - pw, kw0, kw1;
        kiln_dwn_taps(iw0, W, dw, KW, &kw0, &kw1);
        for (c = 0; c < C; c++) {
            float acc = a->b ? a->b[c] : 0.0f;
            for (i = 0; i < nkh; i++)
                for (k = kw0; k < kw1; k++) acc += w[(i * KW + k) * C + c] * x[i * rs + (iw0 + k * dw) * C + c];
            if (a->clamp) {
                acc = acc < a->lo ? a->lo : acc;
                acc = acc > a->hi ? a->hi : acc;
            }
            y[ow * C + c] = acc;
        }
    }
}

/* Output row oh of image n, all channels, into y. */
KILN_TARGET_FMA static KILN_UNUSED void kiln_dwn_row(const kiln_dwn_args *a, int64_t n, int64_t oh, float *y)
{
    int64_t C = a->C, H = a->H, KW = a->KW, dh = a->dh, ih0 = oh * a->sh - a->ph, kh0, kh1, nkh, c0, cv;
    const float *x = a->x, *w;
    kiln_dwn_v lo = KILN_DWN_SPLAT(a->lo), hi = KILN_DWN_SPLAT(a->hi);
    int fast = a->dw == 1 && (a->sw == 1 || a->sw == 2);
    kiln_dwn_taps(ih0, H, dh, a->KH, &kh0, &kh1); /* the kernel rows inside */
    nkh = kh1 > kh0 ? kh1 - kh0 : 0;
    if (nkh) x += ((n * H + ih0 + kh0 * dh) * a->W) * C;
    w = a->w + kh0 * KW * C;
    if (C < KILN_DWN_VL) {
        kiln_dwn_row_scalar(a, x, w, nkh, y);
        return;
    }
    /* whole blocks, the last one overlapping its neighbour when C is not a multiple of the lanes */
    cv = C - C % KILN_DWN_VL;
    for (c0 = 0; c0 < C; c0 += KILN_DWN_VL) {
        int64_t c = c0 < cv ? c0 : C - KILN_DWN_VL;
        kiln_dwn_v bv = a->b ? KILN_DWN_LD(a->b + c) : KILN_DWN_SPLAT(0.0f);
        if (KW == 3 && nkh == 3) {
            if (fast && a->sw == 1) kiln_dwn_block3(3, 1, a, x + c, w + c, bv, lo, hi, y + c);
            else if (fast) kiln_dwn_block3(3, 2, a, x + c, w + c, bv, lo, hi, y + c);
            else kiln_dwn_block3(3, 0, a, x + c, w + c, bv, lo, hi, y + c);
        } else if (KW == 3 && nkh == 2) {
            if (fast && a->sw == 1) kiln_dwn_block3(2, 1, a, x + c, w + c, bv, lo, hi, y + c);
            else if (fast) kiln_dwn_block3(2, 2, a, x + c, w + c, bv, lo, hi, y + c);
            else kiln_dwn_block3(2, 0, a, x + c, w + c, bv, lo, hi, y + c);
        } else if (nkh * KW <= KILN_DWN_MAX_TAPS) {
            kiln_dwn_block((int)nkh, (int)KW, a, x + c, w + c, bv, lo, hi, y + c);
        } else {
            int64_t ow;
            for (ow = 0; ow < a->OW; ow++)
                kiln_dwn_col(a, x + c, w + c, nkh, ow * a->sw - a->pw, bv, lo, hi, y + ow * C + c);
        }
    }
}

static KILN_UNUSED void kiln_dwn_chunk(void *ctx, int i)
{
    const kiln_dwn_args *a = (const kiln_dwn_args *)ctx;
    int64_t r = i * a->chunk, end = r + a->chunk, rows = a->N * a->OH;
    if (end > rows) end = rows;
    for (; r < end; r++) kiln_dwn_row(a, r / a->OH, r % a->OH, a->y + r * a->OW * a->C);
}

/* The arguments from the kernel's parameters (see kiln_dwconv_nhwc_f32). */
static KILN_UNUSED void kiln_dwn_init(kiln_dwn_args *a, kiln_ip p, kiln_fp f, kiln_in in, float *y)
{
    a->x = (const float *)in[0];
    a->w = (const float *)in[1];
    a->b = p[16] ? (const float *)in[2] : 0;
    a->y = y;
    a->N = p[0], a->C = p[1], a->H = p[4], a->W = p[5], a->OH = p[6], a->OW = p[7], a->KH = p[8], a->KW = p[9];
    a->sh = p[10], a->sw = p[11], a->dh = p[12], a->dw = p[13], a->ph = p[14], a->pw = p[15];
    a->lo = p[17] ? (float)f[0] : 0.0f;
    a->hi = p[17] ? (float)f[1] : 0.0f;
    a->clamp = !p[17] ? 0 : (a->lo > -INFINITY ? 1 : 0) | (a->hi < INFINITY ? 2 : 0);
    kiln_conv_cols_inside(a->W, a->OW, a->KW, a->sw, a->dw, a->pw, &a->owa, &a->owb);
    a->chunk = 0;
}

/*
 * Depthwise 2-D convolution, channels last (group = C = M).
 * p: N, C, M, G, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, has_bias, clamp
 *    (ph, pw are the top/left pads; OH, OW already account for bottom/right pads)
 * f: lo, hi (clamp bounds, read only when clamp != 0: y = min(max(y, lo), hi); a NaN stays NaN)
 * in[0]: x [N, H, W, C]; in[1]: weights packed by kiln_dwconv_nhwc_pack; in[2]: bias [C] (when has_bias)
 * out[0]: y [N, OH, OW, C]. No scratch.
 */
KILN_KERNEL kiln_dwconv_nhwc_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_dwn_args a;
    kiln_dwn_init(&a, p, f, in, (float *)out[0]);
    if (a.OW > 0 && a.C > 0) kiln_parallel_chunks(a.N * a.OH, &a.chunk, kiln_dwn_chunk, &a);
}

/*
 * A depthwise convolution then a pointwise (1x1, stride 1) one, channels
 * last, a slab of output rows at a time: the slab's depthwise rows go to
 * scratch, where the pointwise GEMM reads them while they are still in
 * cache, so the image between the two is never written out
 * (passes/fuse_separable.c). Slabs are split across threads.
 */
typedef struct {
    kiln_dwn_args a;
    kiln_sgemm_args g;     /* the pointwise product, but for its rows, A and C */
    int64_t slab, slabs;   /* output rows a slab; slabs an image */
    int64_t per_task, stride; /* slabs a task; floats of scratch a task */
    float *y, *scratch;
} kiln_sep_task;

/* Floats of scratch a thread needs for slabs of rows x OW pixels: the
 * depthwise rows and the GEMM's. */
static KILN_UNUSED int64_t kiln_sepconv_scratch(int64_t rows, int64_t OW, int64_t C, int64_t M, int64_t mr, int64_t nr)
{
    return rows * OW * C + kiln_sgemm_scratch(rows * OW, M, C, 0, KILN_B_PACKED, mr, nr);
}

static KILN_UNUSED void kiln_sep_run(void *ctx, int i)
{
    const kiln_sep_task *t = (const kiln_sep_task *)ctx;
    const kiln_dwn_args *a = &t->a;
    int64_t s = i * t->per_task, end = s + t->per_task, OW = a->OW, C = a->C, M = t->g.N, oh;
    float *rows = t->scratch + i * t->stride;
    kiln_sgemm_args g = t->g;
    if (end > a->N * t->slabs) end = a->N * t->slabs;
    for (; s < end; s++) {
        int64_t n = s / t->slabs, r0 = s % t->slabs * t->slab, r1 = r0 + t->slab < a->OH ? r0 + t->slab : a->OH;
        for (oh = r0; oh < r1; oh++) kiln_dwn_row(a, n, oh, rows + (oh - r0) * OW * C);
        g.M = (r1 - r0) * OW, g.a = rows;
        g.c = t->y + (n * a->OH + r0) * OW * M;
        kiln_sgemm_part(&g, 0, g.M, 0, M, rows + t->slab * OW * C);
    }
}

/*
 * p: the depthwise convolution's parameters (kiln_dwconv_nhwc_f32's), then
 *    M (output channels), has pointwise bias, pointwise clamp, rows a slab.
 * f: the depthwise lo, hi, then the pointwise ones.
 * in: x [N, H, W, C]; the depthwise weights (kiln_dwconv_nhwc_pack) then
 *     the pointwise ones pre-packed as B [C, M], one array; the depthwise
 *     bias [C]; unused; the pointwise bias [M].
 * out[0]: y [N, OH, OW, M]; out[1]: scratch, KILN_THREADS *
 *     kiln_sepconv_scratch(rows a slab, OW, C, M, MR, NR) floats.
 */
KILN_KERNEL kiln_sepconv_nhwc_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_sep_task t;
    int64_t slab = p[21];
    memset(&t, 0, sizeof t);
    kiln_dwn_init(&t.a, p, f, in, 0);
    t.g.N = p[18], t.g.K = t.a.C, t.g.ars = t.a.C, t.g.acs = 1, t.g.ldc = p[18];
    t.g.bp = (const float *)in[1] + p[8] * p[9] * p[1]; /* past the depthwise weights */
    kiln_sgemm_epi_bias_clamp(&t.g.e, p[19] ? (const float *)in[4] : 0, (int)p[20], f[2], f[3]);
    t.slab = slab, t.slabs = (t.a.OH + slab - 1) / slab, t.y = (float *)out[0], t.scratch = (float *)out[1];
    t.stride = kiln_sepconv_scratch(slab, t.a.OW, t.a.C, t.g.N, KILN_GEMM_MR, KILN_GEMM_NR);
    if (t.a.OW > 0) kiln_parallel_chunks(t.a.N * t.slabs, &t.per_task, kiln_sep_run, &t);
}

#endif
