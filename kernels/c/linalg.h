/*
 * linalg.h — reference kernels of the linalg operators: MatMul, Gemm, Einsum,
 * Conv, ConvTranspose, QuantizeLinear, DequantizeLinear.
 *
 * Types: every arithmetic kernel is instantiated per dtype by KILN_LA_TYPES.
 * Each type has a storage type T and an accumulator A, with KILN_LD_s (T to
 * A), KILN_ST_s (A to T) and KILN_FD_s (a double parameter to A). Integers
 * accumulate in uint64_t so that overflow wraps as two's complement (as NumPy
 * does) instead of being undefined; half types compute in float.
 */
#ifndef KILN_KERNELS_LINALG_H
#define KILN_KERNELS_LINALG_H
#include "common.h"

#define KILN_LD_f32(x) (x)
#define KILN_ST_f32(a) (a)
#define KILN_FD_f32(d) ((float)(d))
#define KILN_LD_f64(x) (x)
#define KILN_ST_f64(a) (a)
#define KILN_FD_f64(d) (d)
#define KILN_LD_f16(x) kiln_f16_to_f32(x)
#define KILN_ST_f16(a) kiln_f32_to_f16(a)
#define KILN_FD_f16(d) ((float)(d))
#define KILN_LD_bf16(x) kiln_bf16_to_f32(x)
#define KILN_ST_bf16(a) kiln_f32_to_bf16(a)
#define KILN_FD_bf16(d) ((float)(d))
#define KILN_LD_i32(x) ((uint64_t)(int64_t)(x))
#define KILN_ST_i32(a) ((int32_t)(uint32_t)(a))
#define KILN_FD_i32(d) ((uint64_t)(int64_t)(d))
#define KILN_LD_i64(x) ((uint64_t)(x))
#define KILN_ST_i64(a) ((int64_t)(a))
#define KILN_FD_i64(d) ((uint64_t)(int64_t)(d))
#define KILN_LD_u32(x) ((uint64_t)(x))
#define KILN_ST_u32(a) ((uint32_t)(a))
#define KILN_FD_u32(d) ((uint64_t)(int64_t)(d))
#define KILN_LD_u64(x) (x)
#define KILN_ST_u64(a) (a)
#define KILN_FD_u64(d) ((uint64_t)(int64_t)(d))

/* X(suffix, T, A) for MatMul, Gemm and Einsum. */
#define KILN_LA_TYPES(X)                                                       \
    X(f32, float, float) X(f64, double, double) X(f16, uint16_t, float)        \
    X(bf16, uint16_t, float) X(i32, int32_t, uint64_t) X(i64, int64_t, uint64_t) \
    X(u32, uint32_t, uint64_t) X(u64, uint64_t, uint64_t)
/* X(suffix, T, A) for Conv and ConvTranspose. */
#define KILN_CONV_TYPES(X) X(f32, float, float) X(f64, double, double) X(f16, uint16_t, float)

/* Step a row-major index over dims; false when it wraps to all zeros. */
static KILN_UNUSED int kiln_la_next(int rank, const int64_t *dims, int64_t *idx)
{
    int a;
    for (a = rank - 1; a >= 0; a--) {
        if (++idx[a] < dims[a]) return 1;
        idx[a] = 0;
    }
    return 0;
}

static KILN_UNUSED int64_t kiln_la_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    int a;
    for (a = 0; a < rank; a++) n *= dims[a];
    return n;
}

/*
 * One strided matrix product y[M,N] = alpha * a[M,K] b[K,N] + beta * c,
 * where c (NULL: none) is read with strides crs, ccs (0 where broadcast).
 */
#define KILN_DEF_MM(S, T, A)                                                             \
    static KILN_UNUSED void kiln_mm_##S(const T *a, int64_t ars, int64_t acs, const T *b,  \
                                        int64_t brs, int64_t bcs, T *y, int64_t M,          \
                                        int64_t N, int64_t K, A alpha, A beta, const T *c,  \
                                        int64_t crs, int64_t ccs)                           \
    {                                                                                      \
        int64_t i, j, k;                                                                   \
        for (i = 0; i < M; i++)                                                            \
            for (j = 0; j < N; j++) {                                                      \
                A acc = 0;                                                                 \
                for (k = 0; k < K; k++)                                                    \
                    acc += KILN_LD_##S(a[i * ars + k * acs]) * KILN_LD_##S(b[k * brs + j * bcs]); \
                acc = alpha * acc;                                                         \
                if (c) acc += beta * KILN_LD_##S(c[i * crs + j * ccs]);                    \
                y[i * N + j] = KILN_ST_##S(acc);                                           \
            }                                                                              \
    }
KILN_LA_TYPES(KILN_DEF_MM)

/*
 * MatMul, after NumPy's 1-D promotion: y[batch..., M, N] = a[..., M, K] b[..., K, N].
 * p: r, M, N, K, batch dims[r], a batch strides[r], b batch strides[r]
 * (elements; 0 where the operand broadcasts). y is dense.
 */
#define KILN_DEF_MATMUL(S, T, A)                                                        \
    KILN_KERNEL kiln_matmul_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)          \
    {                                                                                   \
        int r = (int)p[0];                                                              \
        int64_t M = p[1], N = p[2], K = p[3], idx[KILN_KMAX_RANK] = {0}, nb, bi;        \
        const int64_t *dims = p + 4, *as = dims + r, *bs = as + r;                     \
        const T *a = (const T *)in[0], *b = (const T *)in[1];                           \
        T *y = (T *)out[0];                                                             \
        (void)f;                                                                        \
        nb = kiln_la_numel(r, dims);                                                    \
        for (bi = 0; bi < nb; bi++) {                                                   \
            int64_t ao = 0, bo = 0;                                                     \
            int k;                                                                      \
            for (k = 0; k < r; k++) { ao += idx[k] * as[k]; bo += idx[k] * bs[k]; }     \
            kiln_mm_##S(a + ao, K, 1, b + bo, N, 1, y + bi * M * N, M, N, K, 1, 0, NULL, 0, 0); \
            kiln_la_next(r, dims, idx);                                                 \
        }                                                                               \
    }
KILN_LA_TYPES(KILN_DEF_MATMUL)

/*
 * Gemm: y[M,N] = alpha * op(a) op(b) + beta * c.
 * p: M, N, K, a row stride, a col stride, b row stride, b col stride
 * (transposes are folded into the strides), has c, c row stride, c col
 * stride (0 where c broadcasts). f: alpha, beta.
 */
#define KILN_DEF_GEMM(S, T, A)                                                          \
    KILN_KERNEL kiln_gemm_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)            \
    {                                                                                   \
        kiln_mm_##S((const T *)in[0], p[3], p[4], (const T *)in[1], p[5], p[6], (T *)out[0], \
                    p[0], p[1], p[2], KILN_FD_##S(f[0]), KILN_FD_##S(f[1]),             \
                    p[7] ? (const T *)in[2] : NULL, p[8], p[9]);                                      \
    }
KILN_LA_TYPES(KILN_DEF_GEMM)

/*
 * Einsum over labels: the lowering numbers the output's labels first (in
 * output order), then the summed ones, and gives each input a stride per
 * label (0 if absent; a label repeated in one input adds its strides, which
 * reads a diagonal). y[out labels] = sum over the rest of prod_k in_k[...].
 * p: nin, nlab, nout, dims[nlab], strides[nin][nlab].
 */
#define KILN_EINSUM_MAX_IN 8
#define KILN_EINSUM_MAX_LAB 32
#define KILN_DEF_EINSUM(S, T, A)                                                        \
    KILN_KERNEL kiln_einsum_##S(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)          \
    {                                                                                   \
        int nin = (int)p[0], nlab = (int)p[1], nout = (int)p[2], k, l;                  \
        const int64_t *dims = p + 3, *st = dims + nlab;                                 \
        int64_t idx[KILN_EINSUM_MAX_LAB] = {0}, off[KILN_EINSUM_MAX_IN] = {0};          \
        int64_t no = kiln_la_numel(nout, dims), nr = kiln_la_numel(nlab - nout, dims + nout), o, r; \
        T *y = (T *)out[0];                                                             \
        (void)f;                                                                        \
        for (o = 0; o < no; o++) {                                                      \
            A acc = 0;                                                                  \
            for (r = 0; r < nr; r++) {                                                  \
                A prod = 1;                                                             \
                for (k = 0; k < nin; k++) prod *= KILN_LD_##S(((const T *)in[k])[off[k]]); \
                acc += prod;                                                            \
                /* step all labels, keeping each input's offset */                     \
                for (l = nlab - 1; l >= 0; l--) {                                       \
                    for (k = 0; k < nin; k++) off[k] += st[k * nlab + l];               \
                    if (++idx[l] < dims[l]) break;                                      \
                    for (k = 0; k < nin; k++) off[k] -= st[k * nlab + l] * dims[l];     \
                    idx[l] = 0;                                                         \
                }                                                                       \
            }                                                                           \
            y[o] = KILN_ST_##S(acc);                                                    \
        }                                                                               \
    }
KILN_LA_TYPES(KILN_DEF_EINSUM)

/*
 * Conv and ConvTranspose share their parameters. S spatial axes;
 * p: S, N, C (input channels), M (output channels), group, has bias (in[2]),
 * then per spatial axis: input dims[S], output dims[S], kernel dims[S],
 * strides[S], dilations[S], begin pads[S].
 * Conv weights are [M, C/group, k...]; ConvTranspose weights [C, M/group, k...].
 * Both are gathers over the output, so every output element is one sum.
 */
#define KILN_CONV_PARAMS                                                                \
    int S = (int)p[0], s;                                                               \
    int64_t N = p[1], C = p[2], M = p[3], G = p[4];                                     \
    const void *bias = p[5] ? in[2] : NULL;                                             \
    const int64_t *id = p + 6, *od = id + S, *kd = od + S, *st = kd + S, *dl = st + S, *pb = dl + S; \
    int64_t Cg = C / G, Mg = M / G, isz = kiln_la_numel(S, id), osz = kiln_la_numel(S, od); \
    int64_t ksz = kiln_la_numel(S, kd), n, m, o, kk, c;                                 \
    int64_t oi[KILN_KMAX_RANK], ki[KILN_KMAX_RANK];                                     \
    (void)f

#define KILN_DEF_CONV(S_, T, A)                                                         \
    KILN_KERNEL kiln_conv_##S_(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)           \
    {                                                                                   \
        KILN_CONV_PARAMS;                                                               \
        const T *x = (const T *)in[0], *w = (const T *)in[1], *b = (const T *)bias;    \
        T *y = (T *)out[0];                                                             \
        for (n = 0; n < N; n++)                                                         \
            for (m = 0; m < M; m++) {                                                   \
                const T *xg = x + (n * C + (m / Mg) * Cg) * isz, *wm = w + m * Cg * ksz; \
                T *ym = y + (n * M + m) * osz;                                          \
                for (s = 0; s < S; s++) oi[s] = 0;                                      \
                for (o = 0; o < osz; o++, kiln_la_next(S, od, oi)) {                    \
                    A acc = b ? KILN_LD_##S_(b[m]) : 0;                                 \
                    for (s = 0; s < S; s++) ki[s] = 0;                                  \
                    for (kk = 0; kk < ksz; kk++, kiln_la_next(S, kd, ki)) {             \
                        int64_t off = 0;                                                \
                        for (s = 0; s < S; s++) {                                       \
                            int64_t i = oi[s] * st[s] - pb[s] + ki[s] * dl[s];          \
                            if (i < 0 || i >= id[s]) break;                             \
                            off = off * id[s] + i;                                      \
                        }                                                               \
                        if (s < S) continue;                                            \
                        for (c = 0; c < Cg; c++)                                        \
                            acc += KILN_LD_##S_(xg[c * isz + off]) * KILN_LD_##S_(wm[c * ksz + kk]); \
                    }                                                                   \
                    ym[o] = KILN_ST_##S_(acc);                                          \
                }                                                                       \
            }                                                                           \
    }
KILN_CONV_TYPES(KILN_DEF_CONV)

/* Output o takes input i along an axis where o = i * stride + k * dilation - pad. */
#define KILN_DEF_CONV_T(S_, T, A)                                                       \
    KILN_KERNEL kiln_convtranspose_##S_(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)  \
    {                                                                                   \
        KILN_CONV_PARAMS;                                                               \
        const T *x = (const T *)in[0], *w = (const T *)in[1], *b = (const T *)bias;    \
        T *y = (T *)out[0];                                                             \
        for (n = 0; n < N; n++)                                                         \
            for (m = 0; m < M; m++) {                                                   \
                int64_t g = m / Mg;                                                     \
                const T *xg = x + (n * C + g * Cg) * isz, *wm = w + (g * Cg * Mg + m % Mg) * ksz; \
                T *ym = y + (n * M + m) * osz;                                          \
                for (s = 0; s < S; s++) oi[s] = 0;                                      \
                for (o = 0; o < osz; o++, kiln_la_next(S, od, oi)) {                    \
                    A acc = b ? KILN_LD_##S_(b[m]) : 0;                                 \
                    for (s = 0; s < S; s++) ki[s] = 0;                                  \
                    for (kk = 0; kk < ksz; kk++, kiln_la_next(S, kd, ki)) {             \
                        int64_t off = 0;                                                \
                        for (s = 0; s < S; s++) {                                       \
                            int64_t t = oi[s] + pb[s] - ki[s] * dl[s];                  \
                            if (t < 0 || t % st[s] || t / st[s] >= id[s]) break;        \
                            off = off * id[s] + t / st[s];                              \
                        }                                                               \
                        if (s < S) continue;                                            \
                        for (c = 0; c < Cg; c++)                                        \
                            acc += KILN_LD_##S_(xg[c * isz + off]) * KILN_LD_##S_(wm[c * Mg * ksz + kk]); \
                    }                                                                   \
                    ym[o] = KILN_ST_##S_(acc);                                          \
                }                                                                       \
            }                                                                           \
    }
KILN_CONV_TYPES(KILN_DEF_CONV_T)

/*
 * QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point), and
 * DequantizeLinear: y = (x - zero_point) * scale. The scale (and zero point,
 * in[2], optional) of element i is at (i / inner) % axis_dim: axis_dim 1 for
 * per-tensor. p: numel, axis_dim, inner, has zero point.
 * Quantize divides in float as the reference does; rintf rounds half to even
 * in the default rounding mode. NaN saturates to the low end.
 */
#define KILN_QL_PARAMS                                                                  \
    int64_t numel = p[0], adim = p[1], inner = p[2], i;                                 \
    const void *zp = p[3] ? in[2] : NULL;                                               \
    (void)f

#define KILN_DEF_QUANTIZE(XS, XT, XLD, SLD, YS, YT, LO, HI)                               \
    KILN_KERNEL kiln_quantize_##XS##_##YS(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                   \
        KILN_QL_PARAMS;                                                                 \
        const XT *x = (const XT *)in[0];                                                \
        const YT *z = (const YT *)zp;                                                \
        YT *y = (YT *)out[0];                                                           \
        for (i = 0; i < numel; i++) {                                                   \
            int64_t a = (i / inner) % adim;                                             \
            float v = rintf((float)XLD(x[i]) / SLD(in[1], a)) + (float)(z ? z[a] : 0);  \
            y[i] = (YT)(!(v >= (float)(LO)) ? (LO) : v > (float)(HI) ? (HI) : v);       \
        }                                                                               \
    }
#define KILN_QL_PLAIN(x) (x)
#define KILN_QL_F32(ptr, a) (((const float *)(ptr))[a])
#define KILN_QL_F16(ptr, a) kiln_f16_to_f32(((const uint16_t *)(ptr))[a])
KILN_DEF_QUANTIZE(f32, float, KILN_QL_PLAIN, KILN_QL_F32, u8, uint8_t, 0, 255)
KILN_DEF_QUANTIZE(f32, float, KILN_QL_PLAIN, KILN_QL_F32, i8, int8_t, -128, 127)
KILN_DEF_QUANTIZE(f16, uint16_t, kiln_f16_to_f32, KILN_QL_F16, u8, uint8_t, 0, 255)
KILN_DEF_QUANTIZE(f16, uint16_t, kiln_f16_to_f32, KILN_QL_F16, i8, int8_t, -128, 127)
KILN_DEF_QUANTIZE(i32, int32_t, KILN_QL_PLAIN, KILN_QL_F32, u8, uint8_t, 0, 255)
KILN_DEF_QUANTIZE(i32, int32_t, KILN_QL_PLAIN, KILN_QL_F32, i8, int8_t, -128, 127)

/* The difference and product are exact in double, so y is rounded once. */
#define KILN_DEF_DEQUANTIZE(XS, XT, YS, YT, SLD, YST)                                     \
    KILN_KERNEL kiln_dequantize_##XS##_##YS(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out) \
    {                                                                                   \
        KILN_QL_PARAMS;                                                                 \
        const XT *x = (const XT *)in[0], *z = (const XT *)zp;                        \
        YT *y = (YT *)out[0];                                                           \
        for (i = 0; i < numel; i++) {                                                   \
            int64_t a = (i / inner) % adim;                                             \
            double v = (double)((int64_t)x[i] - (z ? (int64_t)z[a] : 0)) * (double)SLD(in[1], a); \
            y[i] = YST((float)v);                                                       \
        }                                                                               \
    }
KILN_DEF_DEQUANTIZE(u8, uint8_t, f32, float, KILN_QL_F32, KILN_QL_PLAIN)
KILN_DEF_DEQUANTIZE(i8, int8_t, f32, float, KILN_QL_F32, KILN_QL_PLAIN)
KILN_DEF_DEQUANTIZE(i32, int32_t, f32, float, KILN_QL_F32, KILN_QL_PLAIN)
KILN_DEF_DEQUANTIZE(u8, uint8_t, f16, uint16_t, KILN_QL_F16, kiln_f32_to_f16)
KILN_DEF_DEQUANTIZE(i8, int8_t, f16, uint16_t, KILN_QL_F16, kiln_f32_to_f16)
KILN_DEF_DEQUANTIZE(i32, int32_t, f16, uint16_t, KILN_QL_F16, kiln_f32_to_f16)

#endif
