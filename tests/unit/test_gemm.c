/* test_gemm.c — the fast kernels of kernels/c/gemm.h against the reference
 * kernels of kernels/c/linalg.h, on sizes that hit every edge: 1x1x1,
 * primes, and sizes just off the tile and block sizes. Weights are packed
 * as codegen/lower_linalg.c packs them.
 *
 * Built by ninja with the portable defaults; tests/cli_test.py also builds it
 * standalone (cc -std=c99 -pedantic, only kernel headers needed) for each
 * --cpu tile and with -DKILN_GENERIC. */
#include <math.h>
#include <stdlib.h>

#include "../../kernels/c/linalg.h"
#include "../../kernels/c/fused.h"
#include "../../kernels/c/gemm.h"
#include "../../kernels/c/conv_nhwc.h"
#include "test.h"

static uint32_t rng = 1;

static float *randf(int64_t n)
{
    float *p = malloc(sizeof *p * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        rng = rng * 1664525u + 1013904223u;
        p[i] = (float)(rng >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

/* Largest |a - b| relative to the size of the sum. */
static int close_all(const float *a, const float *b, int64_t n, int64_t K)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= 1e-5f * (float)(K + 1))) {
            fprintf(stderr, "  element %lld: %g vs %g\n", (long long)i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* Exactly the scratch the lowering asks for, so an overrun shows under the sanitizers. */
static float *scratch_for(int64_t M, int64_t N, int64_t K, int ap, int bmode)
{
    return malloc(sizeof(float) * (size_t)kiln_sgemm_scratch_all(M, N, K, ap, bmode, KILN_GEMM_MR, KILN_GEMM_NR, KILN_THREADS));
}

/* The fused epilogue on the reference's output: a bias per column, a dense residual, a clamp. */
static void fused_ref(float *r, const float *bias, const float *res, int64_t M, int64_t N, float lo, float hi)
{
    for (int64_t i = 0; i < M * N; i++) {
        float x = r[i] + bias[i % N] + res[i];
        r[i] = x < lo ? lo : x > hi ? hi : x;
    }
}

/* MatMul with B packed (a weight), A packed, or neither; against kiln_matmul_f32.
 * With fz, a fused bias, residual and clamp in the kernel's epilogue. */
static void check_matmul(int64_t M, int64_t N, int64_t K, int mode, int fz)
{
    float *a = randf(M * K), *b = randf(K * N), *y = randf(M * N), *r = randf(M * N), *pk = NULL;
    float *bias = randf(N), *res = randf(M * N);
    int ap = mode == 1, bp = mode == 2;
    int64_t pr[] = {0, M, N, K}, pf[] = {0, M, N, K, ap, bp, fz, 0, 1, fz, N, 1, fz};
    double f[] = {-0.3, 0.35};
    const void *in[5] = {a, b, NULL, bias, res};
    void *out[2] = {r, NULL};
    kiln_matmul_f32(pr, NULL, in, out);
    if (fz) fused_ref(r, bias, res, M, N, (float)f[0], (float)f[1]);
    if (bp) {
        int64_t P = kiln_gemm_round_up(N, KILN_GEMM_NR);
        pk = malloc(sizeof *pk * (size_t)(P * K + 1));
        kiln_sgemm_pack_b(pk, b, N, 1, N, 0, P, 0, K, KILN_GEMM_NR);
        in[1] = pk;
    } else if (ap) {
        int64_t P = kiln_gemm_round_up(M, KILN_GEMM_MR);
        pk = malloc(sizeof *pk * (size_t)(P * kiln_gemm_round_up(K, KILN_GEMM_KB) + 1));
        kiln_sgemm_pack_a(pk, a, K, 1, M, 0, P, 0, K, KILN_GEMM_MR, KILN_GEMM_KB);
        in[0] = pk;
    }
    out[0] = y;
    out[1] = scratch_for(M, N, K, ap, kiln_sgemm_b_mode(bp, 0, 1));
    kiln_matmul_fast_f32(pf, f, in, out);
    if (!close_all(y, r, M * N, K))
        fprintf(stderr, "matmul %lldx%lldx%lld mode %d fused %d\n", (long long)M, (long long)N, (long long)K, mode, fz);
    ASSERT(close_all(y, r, M * N, K));
    free(a), free(b), free(y), free(r), free(pk), free(out[1]), free(bias), free(res);
}

static void test_matmul_sizes(void)
{
    static const int64_t sizes[][3] = {{1, 1, 1}, {2, 3, 5}, {7, 13, 11}, {5, 17, 3}, {13, 31, 37}, {29, 33, 1},
                                       {1, 67, 129}, {97, 7, 600}, {150, 130, 513}, {6, 16, 512}, {14, 32, 1030},
                                       {30, 40, 2100},  /* K over two KC blocks */
                                       {20, 300, 200}}; /* threads split the columns, A packed once for all */
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int mode = 0; mode < 6; mode++) check_matmul(sizes[i][0], sizes[i][1], sizes[i][2], mode % 3, mode / 3);
}

/* Gemm with transposes, alpha, beta and a broadcast C, B packed from its
 * transposed layout; the second time also a fused bias, residual and clamp. */
static void test_gemm_epilogue(void)
{
    int64_t M = 19, N = 23, K = 41;
    for (int tb = 0; tb < 2; tb++) {
        float *a = randf(M * K), *b = randf(K * N), *c = randf(N), *y = randf(M * N), *r = randf(M * N);
        float *bias = randf(N), *res = randf(M * N);
        int64_t brs = tb ? 1 : N, bcs = tb ? K : 1, P = kiln_gemm_round_up(N, KILN_GEMM_NR);
        int64_t pr[] = {M, N, K, K, 1, brs, bcs, 1, 0, 1};
        int64_t pf[] = {M, N, K, K, 1, brs, bcs, 1, 0, 1, 0, 1, tb, 0, 1, tb, N, 1, tb};
        double f[] = {0.75, -1.5, -0.5, 0.6};
        float *pk = malloc(sizeof *pk * (size_t)(P * K));
        const void *in[5] = {a, b, c, bias, res};
        void *out[2] = {r, NULL};
        kiln_gemm_f32(pr, f, in, out);
        if (tb) fused_ref(r, bias, res, M, N, (float)f[2], (float)f[3]);
        kiln_sgemm_pack_b(pk, b, brs, bcs, N, 0, P, 0, K, KILN_GEMM_NR);
        in[1] = pk;
        out[0] = y;
        out[1] = scratch_for(M, N, K, 0, KILN_B_PACKED);
        kiln_gemm_fast_f32(pf, f, in, out);
        ASSERT(close_all(y, r, M * N, K));
        free(a), free(b), free(c), free(y), free(r), free(pk), free(out[1]), free(bias), free(res);
    }
}

/* a[N][D0][D1] as [N][D1][D0] */
static float *transposed(const float *a, int64_t N, int64_t D0, int64_t D1)
{
    float *t = malloc(sizeof *t * (size_t)(N * D0 * D1 + 1));
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < D0; i++)
            for (int64_t j = 0; j < D1; j++) t[(n * D1 + j) * D0 + i] = a[(n * D0 + i) * D1 + j];
    return t;
}

/* The channels-last kernels (kernels/c/conv_nhwc.h, kiln_conv_nhwc_f32) on
 * x and w of check_conv against its reference result r, weights packed as
 * codegen/lower_linalg.c packs them. */
static void check_conv_nhwc(const float *x, const float *w, const float *b, const float *r, const int64_t *pf,
                            const double *f, int dw)
{
    int64_t N = pf[0], C = pf[1], M = pf[2], H = pf[4], W = pf[5], OH = pf[6], OW = pf[7], T = pf[8] * pf[9];
    int64_t K = T * C, P = kiln_gemm_round_up(M, KILN_GEMM_NR);
    float *xt = transposed(x, N, C, H * W), *y = malloc(sizeof *y * (size_t)(N * OH * OW * M + 1)), *yt;
    float *pk = malloc(sizeof *pk * (size_t)(dw ? T * C : P * K)), *wt = malloc(sizeof *wt * (size_t)(K * M));
    const void *in[3] = {xt, pk, b};
    void *out[2] = {y, NULL};
    if (dw) {
        kiln_dwconv_nhwc_pack(pk, w, C, pf[8], pf[9]);
        kiln_dwconv_nhwc_f32(pf, f, in, out);
    } else {
        for (int64_t m = 0; m < M; m++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t t = 0; t < T; t++) wt[(t * C + c) * M + m] = w[(m * C + c) * T + t];
        kiln_sgemm_pack_b(pk, wt, M, 1, M, 0, P, 0, K, KILN_GEMM_NR);
        out[1] = scratch_for(OH * OW, M, K, 0, KILN_B_PACKED);
        kiln_conv_nhwc_f32(pf, f, in, out);
    }
    yt = transposed(y, N, OH * OW, M);
    ASSERT(close_all(yt, r, N * M * OH * OW, K));
    free(yt), free(out[1]);
    if (!dw) { /* from the channels-first x, weights as B with k = (c, kh, kw) */
        kiln_sgemm_pack_b(pk, w, 1, K, M, 0, P, 0, K, KILN_GEMM_NR);
        in[0] = x;
        out[1] = malloc(sizeof(float) * (size_t)(KILN_THREADS * kiln_conv_nchw_scratch(K, KILN_GEMM_MR)));
        kiln_conv_nchw_nhwc_f32(pf, f, in, out);
        yt = transposed(y, N, OH * OW, M);
        ASSERT(close_all(yt, r, N * M * OH * OW, K));
        free(yt), free(out[1]);
    }
    free(xt), free(y), free(pk), free(wt);
}

/* Conv (grouped, strided, padded, dilated, 1x1) and depthwise against
 * kiln_conv_f32, and channels last where those kernels take it. */
static void check_conv(int64_t N, int64_t C, int64_t M, int64_t G, int64_t H, int64_t W, int64_t KH, int64_t KW,
                       int64_t s, int64_t dl, int64_t pad, int clamp)
{
    int64_t OH = (H + 2 * pad - (KH - 1) * dl - 1) / s + 1, OW = (W + 2 * pad - (KW - 1) * dl - 1) / s + 1;
    int64_t Cg = C / G, Mg = M / G, K = Cg * KH * KW, P = kiln_gemm_round_up(Mg, KILN_GEMM_MR), gi, i;
    int64_t Kp = kiln_gemm_round_up(K, KILN_GEMM_KB);
    float *x = randf(N * C * H * W), *w = randf(M * K), *b = randf(M), *y = randf(N * M * OH * OW);
    float *r = randf(N * M * OH * OW), *pk = malloc(sizeof *pk * (size_t)(G * P * Kp));
    int64_t pr[] = {2, N, C, M, G, 1, H, W, OH, OW, KH, KW, s, s, dl, dl, pad, pad};
    int64_t pf[] = {N, C, M, G, H, W, OH, OW, KH, KW, s, s, dl, dl, pad, pad, 1, clamp};
    double f[] = {0.0, 0.25};
    int dw = G == C && G == M;
    const void *in[3] = {x, w, b};
    void *out[2] = {r, NULL};
    kiln_conv_f32(pr, NULL, in, out);
    if (clamp)
        for (i = 0; i < N * M * OH * OW; i++) r[i] = r[i] < 0.0f ? 0.0f : r[i] > 0.25f ? 0.25f : r[i];
    for (gi = 0; gi < G; gi++)
        kiln_sgemm_pack_a(pk + gi * P * Kp, w + gi * Mg * K, K, 1, Mg, 0, P, 0, K, KILN_GEMM_MR, KILN_GEMM_KB);
    if (!dw) in[1] = pk;
    out[0] = y;
    out[1] = dw ? malloc(sizeof(float) * (size_t)(KILN_THREADS * kiln_dwconv_scratch(OH, OW, KH, KW, s, s, dl, dl, KILN_VL)))
                : scratch_for(Mg, OH * OW, K, 1, kiln_sgemm_b_mode(0, !(KH == 1 && KW == 1 && s == 1 && pad == 0), 1));
    if (dw) kiln_dwconv_f32(pf, f, in, out);
    else kiln_conv_fast_f32(pf, f, in, out);
    if (!close_all(y, r, N * M * OH * OW, K))
        fprintf(stderr, "conv N%lld C%lld M%lld G%lld %lldx%lld k%lldx%lld s%lld d%lld p%lld\n", (long long)N, (long long)C,
                (long long)M, (long long)G, (long long)H, (long long)W, (long long)KH, (long long)KW, (long long)s,
                (long long)dl, (long long)pad);
    ASSERT(close_all(y, r, N * M * OH * OW, K));
    if (G == 1 || dw) check_conv_nhwc(x, w, b, r, pf, f, dw);
    free(x), free(w), free(b), free(y), free(r), free(pk), free(out[1]);
}

static void test_conv_shapes(void)
{
    check_conv(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0);     /* 1x1x1 */
    check_conv(2, 3, 7, 1, 11, 13, 3, 3, 1, 1, 1, 0);   /* odd everything */
    check_conv(1, 3, 16, 1, 17, 19, 3, 3, 2, 1, 1, 1);  /* strided, clamped */
    check_conv(1, 8, 12, 4, 9, 7, 3, 2, 1, 2, 2, 0);    /* grouped, dilated, non-square kernel */
    check_conv(2, 37, 29, 1, 5, 23, 1, 1, 1, 1, 0, 1);  /* 1x1: B read directly */
    check_conv(1, 5, 5, 1, 40, 3, 5, 1, 3, 1, 2, 0);
    check_conv(1, 600, 9, 1, 3, 3, 1, 1, 1, 1, 0, 0);   /* 1x1, K = 600 */
    check_conv(1, 130, 9, 1, 5, 6, 3, 3, 1, 1, 1, 0);   /* K over one KC block and over KILN_IM2COL_K */
    check_conv(1, 16, 300, 1, 6, 7, 3, 3, 1, 1, 1, 1);  /* threads split M, the windows packed once for all */
    check_conv(2, 6, 6, 6, 13, 17, 3, 3, 1, 1, 1, 1);   /* depthwise */
    check_conv(1, 5, 5, 5, 14, 11, 3, 3, 2, 1, 1, 0);   /* depthwise, strided */
    check_conv(1, 4, 4, 4, 9, 10, 5, 3, 1, 2, 3, 0);    /* depthwise, dilated, wide padding */
    check_conv(1, 3, 3, 3, 2, 2, 3, 3, 2, 1, 1, 0);     /* depthwise, no interior */
    check_conv(1, 3, 3, 3, 5, 4, 3, 3, 1, 3, 2, 1);     /* depthwise, taps wider than the input */
    check_conv(2, 7, 7, 7, 16, 33, 3, 3, 2, 1, 1, 1);   /* depthwise, strided, odd width */
    check_conv(1, 32, 32, 32, 20, 37, 3, 3, 1, 1, 1, 1); /* depthwise, rows of several vectors */
    check_conv(1, 16, 16, 16, 29, 40, 3, 3, 2, 1, 1, 1); /* depthwise, strided, even width */
    check_conv(1, 9, 9, 9, 7, 7, 3, 3, 3, 1, 0, 0);     /* depthwise, stride 3, unpadded */
    check_conv(1, 2, 2, 2, 12, 12, 9, 9, 1, 1, 4, 0);   /* depthwise, more taps than unrolled */
    check_conv(1, 32, 64, 1, 10, 20, 1, 1, 1, 1, 0, 1); /* 1x1, M off the tile: the row variants */
    check_conv(1, 16, 3, 1, 7, 9, 1, 1, 1, 1, 0, 1);    /* 1x1, fewer rows than a tile */
    check_conv(1, 3, 32, 1, 40, 64, 3, 3, 2, 1, 1, 1);  /* a first convolution: rows of whole tiles read in place */
    check_conv(2, 4, 40, 1, 9, 33, 3, 3, 1, 1, 1, 0);   /* stride 1, M off the tile */
    check_conv(1, 2, 16, 1, 12, 40, 3, 3, 1, 2, 2, 1);  /* stride 1, dilated */
    check_conv(1, 3, 32, 1, 20, 60, 3, 3, 3, 1, 1, 0);  /* stride 3: every tile packed */
}

/* Depthwise (3x3, stride s, pad 1) then pointwise into M channels, each
 * clamped to [0, 0.25] if clamp: kiln_sepconv_nhwc_f32 in slabs of slab
 * rows against kiln_conv_f32 twice. */
static void check_sepconv(int64_t N, int64_t C, int64_t M, int64_t H, int64_t W, int64_t s, int clamp, int64_t slab)
{
    int64_t OH = (H + 2 - 3) / s + 1, OW = (W + 2 - 3) / s + 1, P = kiln_gemm_round_up(M, KILN_GEMM_NR), i;
    float *x = randf(N * C * H * W), *wd = randf(C * 9), *bd = randf(C), *wp = randf(M * C), *bp = randf(M);
    float *t = randf(N * C * OH * OW), *r = randf(N * M * OH * OW), *y = randf(N * OH * OW * M);
    float *xt = transposed(x, N, C, H * W), *wt = randf(C * M), *yt;
    float *pd = malloc(sizeof *pd * (size_t)(9 * C + P * C)), *pp = pd + 9 * C;
    float *scratch = malloc(sizeof(float) * (size_t)(KILN_THREADS * kiln_sepconv_scratch(slab, OW, C, M, KILN_GEMM_MR,
                                                                                           KILN_GEMM_NR)));
    int64_t pr1[] = {2, N, C, C, C, 1, H, W, OH, OW, 3, 3, s, s, 1, 1, 1, 1};
    int64_t pr2[] = {2, N, C, M, 1, 1, OH, OW, OH, OW, 1, 1, 1, 1, 1, 1, 0, 0};
    int64_t pf[] = {N, C, C, C, H, W, OH, OW, 3, 3, s, s, 1, 1, 1, 1, 1, clamp, M, 1, clamp, slab};
    double f[] = {0.0, 0.25, 0.0, 0.25};
    const void *in1[3] = {x, wd, bd}, *in2[3] = {t, wp, bp}, *in[5] = {xt, pd, bd, 0, bp};
    void *out1[1] = {t}, *out2[1] = {r}, *out[2] = {y, scratch};
    kiln_conv_f32(pr1, NULL, in1, out1);
    if (clamp)
        for (i = 0; i < N * C * OH * OW; i++) t[i] = t[i] < 0.0f ? 0.0f : t[i] > 0.25f ? 0.25f : t[i];
    kiln_conv_f32(pr2, NULL, in2, out2);
    if (clamp)
        for (i = 0; i < N * M * OH * OW; i++) r[i] = r[i] < 0.0f ? 0.0f : r[i] > 0.25f ? 0.25f : r[i];
    kiln_dwconv_nhwc_pack(pd, wd, C, 3, 3);
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++) wt[c * M + m] = wp[m * C + c];
    kiln_sgemm_pack_b(pp, wt, M, 1, M, 0, P, 0, C, KILN_GEMM_NR);
    kiln_sepconv_nhwc_f32(pf, f, in, out);
    yt = transposed(y, N, OH * OW, M);
    ASSERT(close_all(yt, r, N * M * OH * OW, 9 + C));
    free(x), free(wd), free(bd), free(wp), free(bp), free(t), free(r), free(y), free(xt), free(pd), free(wt), free(yt);
    free(scratch);
}

static void test_sepconv(void)
{
    check_sepconv(1, 32, 64, 20, 24, 1, 1, 2);   /* slabs of 2 rows */
    check_sepconv(2, 19, 40, 9, 17, 2, 0, 3);    /* strided, channels and M off the tile, a short last slab */
    check_sepconv(1, 16, 8, 7, 30, 1, 1, 100);  /* one slab, fewer outputs than a tile */
}

/* Attention (2 batch dims, one broadcast; a mask broadcast over rows) against
 * kiln_attention_f32; strided: KT read from K [B1, Sk, D] and y written as
 * [B0, Sq, B1, Dv] (transposes folded into the node). */
static void check_attention(int64_t B0, int64_t B1, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, int strided)
{
    int64_t p[] = {2, B0, B1, B1 * Sq * D, Sq * D, 0, D * Sk, B1 * Sk * Dv, Sk * Dv, 0, 0, Sq, Sk, D, Dv, 1, 0, 1,
                   D, 1, strided ? 1 : Sk, strided ? D : 1, Dv, 1, B1 * Sq * Dv, strided ? Dv : Sq * Dv,
                   strided ? B1 * Dv : Dv};
    double f[] = {0.37};
    float *q = randf(B0 * B1 * Sq * D), *kt = randf(B1 * D * Sk), *v = randf(B0 * B1 * Sk * Dv), *m = randf(Sk);
    float *y = randf(B0 * B1 * Sq * Dv), *r = randf(B0 * B1 * Sq * Dv), *rs = randf(Sk);
    float *s = malloc(sizeof *s * (size_t)kiln_attention_scratch(Sq, Sk, D, Dv, KILN_GEMM_MR, KILN_GEMM_NR, KILN_THREADS));
    const void *in[4] = {q, kt, v, m};
    void *out[2] = {r, rs};
    p[5] = 0; /* KT shared across the first batch dim */
    kiln_attention_f32(p, f, in, out);
    out[0] = y, out[1] = s;
    kiln_attention_fast_f32(p, f, in, out);
    ASSERT(close_all(y, r, B0 * B1 * Sq * Dv, Sk));
    free(q), free(kt), free(v), free(m), free(y), free(r), free(rs), free(s);
}

static void test_attention(void)
{
    for (int strided = 0; strided < 2; strided++) {
        check_attention(2, 3, 7, 19, 5, 11, strided);
        check_attention(3, 1, 70, 130, 40, 33, strided); /* enough work to split the batch across threads, unevenly */
        check_attention(1, 1, 20, 300, 200, 280, strided); /* one batch index: each product split by columns */
    }
}

/* kiln_vexp against exp in double: within 2 ulps over the whole range, subnormal
 * results within 2 of their ulps, and NaN, Inf and the ends as expf has them. */
#ifndef KILN_GENERIC
KILN_TARGET_FMA static void vexp_one(float *y, float x) { *y = kiln_vexp(kiln_vsplat(x))[0]; }
#endif

static void test_vexp(void)
{
#ifndef KILN_GENERIC
    static const float special[] = {0.0f, -0.0f, 88.72283f, 88.7229f, 89.5f, 1e30f, -87.33655f, -103.0f, -103.98f,
                                    -104.5f, -1e30f, INFINITY, -INFINITY};
    double worst = 0;
    float v;
    int64_t i;
    for (i = 0; i < 4000000 + (int64_t)(sizeof special / sizeof *special); i++) {
        float x = i < 4000000 ? -105.0f + 195.0f * (float)i / 4000000.0f : special[i - 4000000];
        double e = exp((double)x), ulp = e < 0x1p-126 ? 0x1p-149 : ldexp(1.0, ilogb((float)e) - 23), err;
        vexp_one(&v, x);
        err = isinf(e) || e > 3.4028234663852886e38 ? (isinf(v) ? 0 : 1e9) : fabs(v - e) / ulp;
        if (err > worst) worst = err;
        if (err > 2) fprintf(stderr, "  vexp(%.9g) = %.9g, exp %.9g\n", x, v, e);
    }
    printf("  kiln_vexp: worst %.3f ulp\n", worst);
    ASSERT(worst <= 2);
    vexp_one(&v, NAN);
    ASSERT(isnan(v));
#endif
}

/* kiln_vclamp lane by lane: below, inside, above, the bounds themselves,
 * and a NaN, which stays NaN (ONNX's Relu and Clip keep it). */
#ifndef KILN_GENERIC
KILN_TARGET static void vclamp_one(float *y, float x, float lo, float hi)
{
    *y = kiln_vclamp(kiln_vsplat(x), kiln_vsplat(lo), kiln_vsplat(hi))[KILN_VL - 1];
}
#endif

static void test_vclamp(void)
{
#ifndef KILN_GENERIC
    static const float x[] = {-7.0f, -0.5f, 0.0f, 3.0f, 6.0f, 6.5f, INFINITY, -INFINITY}, lo = 0.0f, hi = 6.0f;
    float y;
    size_t i;
    for (i = 0; i < sizeof x / sizeof *x; i++) {
        vclamp_one(&y, x[i], lo, hi);
        ASSERT(y == (x[i] < lo ? lo : x[i] > hi ? hi : x[i]));
    }
    vclamp_one(&y, NAN, lo, hi);
    ASSERT(isnan(y));
    vclamp_one(&y, -NAN, -INFINITY, INFINITY);
    ASSERT(isnan(y));
#endif
}

TEST_MAIN(test_matmul_sizes, test_gemm_epilogue, test_conv_shapes, test_sepconv, test_attention, test_vexp, test_vclamp)
