/*
 * gemm.h — the fast fp32 GEMM and the kernels built on it.
 *
 *   C[M,N] = epilogue(A[M,K] B[K,N])
 *
 * Goto/BLIS structure: B is split into KC x NC blocks and A into MC x KC
 * blocks, each packed into panels (A: MR rows, k-major; B: NR columns,
 * k-major, zero-padded) that a register-blocked MR x NR micro-kernel streams
 * through. Weights are packed once, at compile time, by kiln_sgemm_pack_a/_b
 * (the compiler runs the same functions), into panels over the whole K; only
 * activations are packed at run time, into the kernel's scratch memory.
 *
 * Compile-time configuration (codegen emits it from --cpu; the defaults are
 * the portable choice):
 *   KILN_VEC_BYTES        vector width in bytes: 16 (SSE2/NEON), 32 (AVX2), 64 (AVX-512)
 *   KILN_GEMM_MR/_NR      the register tile; NR is a multiple of the lanes
 *   KILN_TARGET           a function attribute enabling the ISA, e.g.
 *                         __attribute__((target("avx2,fma"))), so the module
 *                         is fast whatever flags it is compiled with
 *   KILN_GENERIC          plain scalar C, for compilers without GNU vector
 *                         extensions: same tile, same packed layouts, so the
 *                         pre-packed weights still fit
 *   KILN_THREADS          N > 1: split the columns across rtlib's thread pool
 * The micro-kernel, tile and blocking sizes are the only ISA-specific parts.
 */
#ifndef KILN_KERNELS_GEMM_H
#define KILN_KERNELS_GEMM_H
#include "common.h"

#ifndef KILN_VEC_BYTES
#define KILN_VEC_BYTES 16
#endif
#ifndef KILN_GEMM_MR
#define KILN_GEMM_MR 4
#endif
#ifndef KILN_GEMM_NR
#define KILN_GEMM_NR 8
#endif
#if !defined(__GNUC__) && !defined(__clang__) && !defined(KILN_GENERIC)
#define KILN_GENERIC
#endif
/* KILN_TARGET_ISA (an x86 target attribute string such as "avx2,fma") makes
 * the kernels use the ISA whatever flags the module is built with. GCC
 * contracts a * b + c into an FMA only when told (ISO C mode turns it off),
 * and its optimize attribute also weakens the vectoriser: so only the
 * micro-kernel, fully unrolled by hand, gets it (KILN_TARGET_FMA). */
#if defined(KILN_TARGET_ISA) && !defined(KILN_GENERIC) && (defined(__x86_64__) || defined(__i386__))
#define KILN_ISA_ATTR_ target(KILN_TARGET_ISA),
#else
#define KILN_ISA_ATTR_
#endif
#ifndef KILN_TARGET
#if defined(KILN_GENERIC) || !defined(KILN_TARGET_ISA) || !(defined(__x86_64__) || defined(__i386__))
#define KILN_TARGET
#else
#define KILN_TARGET __attribute__((target(KILN_TARGET_ISA)))
#endif
#endif
#ifndef KILN_TARGET_FMA
#if defined(KILN_GENERIC)
#define KILN_TARGET_FMA
#elif defined(__GNUC__) && !defined(__clang__)
#define KILN_TARGET_FMA __attribute__((KILN_ISA_ATTR_ optimize("fp-contract=fast")))
#else
#define KILN_TARGET_FMA KILN_TARGET
#endif
#endif

#ifndef KILN_THREADS
#define KILN_THREADS 1
#endif

/* Cache blocking: a KC x NR panel of B stays in L1, an MC x KC block of A in
 * L2. The compiler sizes scratch with the target's MR and NR, so these are
 * functions of the tile (the bench may override KC and MC). */
#ifndef KILN_GEMM_KC
#define KILN_GEMM_KC 512
#endif
#define KILN_GEMM_MC_FOR(mr) ((mr) * 24)
#define KILN_GEMM_NC_FOR(nr) ((nr) * 64)
#ifndef KILN_GEMM_MC
#define KILN_GEMM_MC KILN_GEMM_MC_FOR(KILN_GEMM_MR)
#endif
#define KILN_GEMM_NC KILN_GEMM_NC_FOR(KILN_GEMM_NR)
#define KILN_VL (KILN_VEC_BYTES / 4)
#define KILN_NV (KILN_GEMM_NR / KILN_VL)

static KILN_UNUSED int64_t kiln_gemm_round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* Floats of scratch one thread of a product with N columns needs: an A block
 * unless A is pre-packed, a B block unless B is. */
static KILN_UNUSED int64_t kiln_sgemm_scratch(int64_t N, int a_packed, int b_packed, int64_t mr, int64_t nr)
{
    int64_t nc = kiln_gemm_round_up(N, nr) < KILN_GEMM_NC_FOR(nr) ? kiln_gemm_round_up(N, nr) : KILN_GEMM_NC_FOR(nr);
    return (a_packed ? 0 : KILN_GEMM_MC_FOR(mr) * KILN_GEMM_KC) + (b_packed ? 0 : KILN_GEMM_KC * nc);
}

typedef char kiln_gemm_nr_fits_lanes[(KILN_GEMM_NR % KILN_VL) == 0 ? 1 : -1];

/* What the product goes through on its way to C: y = clamp(alpha * AB +
 * s0 * add0[i*rs0 + j*cs0] + s1 * add1[...], lo, hi). An add with a 0 stride
 * broadcasts (a bias per row has cs 0, one per column rs 0). */
typedef struct {
    float alpha;
    const float *add[2];
    int64_t rs[2], cs[2];
    float scale[2];
    int clamp;
    float lo, hi;
} kiln_sgemm_epi;

/* im2col of a 2-D convolution input, read as B[K = Cg*KH*KW, N = OH*OW]. */
typedef struct {
    const float *x;  /* the group's first input channel */
    int64_t H, W, KH, KW, OH, OW, sh, sw, dh, dw, ph, pw;
} kiln_im2col;

typedef struct {
    int64_t M, N, K;
    const float *a, *ap;   /* A strided (a, ars, acs), or packed (ap) */
    int64_t ars, acs;
    const float *b, *bp;   /* B strided, packed, or an im2col (im) */
    int64_t brs, bcs;
    const kiln_im2col *im;
    float *c;
    int64_t ldc;
    kiln_sgemm_epi e;
} kiln_sgemm_args;


/*
 * Packing. Rows [i0, i0+mc) of A, k in [k0, k0+kc), into panels of mr rows:
 * dst[(i/mr)][k][i%mr], zero past M. Columns of B likewise, panels of nr.
 * The compiler calls these with the target's mr, nr to pre-pack weights
 * over the whole K; run time packs activations block by block.
 */
static KILN_UNUSED void kiln_sgemm_pack_a(float *dst, const float *a, int64_t ars, int64_t acs, int64_t M,
                                          int64_t i0, int64_t mc, int64_t k0, int64_t kc, int64_t mr)
{
    int64_t ip, k, r;
    /* row by row: the reads are contiguous when A is row-major */
    for (ip = 0; ip < mc; ip += mr, dst += mr * kc)
        for (r = 0; r < mr; r++) {
            int64_t i = i0 + ip + r;
            if (ip + r < mc && i < M) {
                const float *row = a + i * ars + k0 * acs;
                if (acs == 1) for (k = 0; k < kc; k++) dst[k * mr + r] = row[k];
                else for (k = 0; k < kc; k++) dst[k * mr + r] = row[k * acs];
            } else {
                for (k = 0; k < kc; k++) dst[k * mr + r] = 0.0f;
            }
        }
}

static KILN_UNUSED void kiln_sgemm_pack_b(float *dst, const float *b, int64_t brs, int64_t bcs, int64_t N,
                                          int64_t j0, int64_t nc, int64_t k0, int64_t kc, int64_t nr)
{
    int64_t jp, k, r;
    for (jp = 0; jp < nc; jp += nr)
        for (k = 0; k < kc; k++) {
            const float *row = b + (k0 + k) * brs;
            int64_t n = N - (j0 + jp) < nr ? N - (j0 + jp) : nr;
            if (n > nc - jp) n = nc - jp;
            if (bcs == 1 && n == nr) {
                memcpy(dst, row + j0 + jp, (size_t)nr * sizeof *dst);
            } else {
                for (r = 0; r < nr; r++) dst[r] = r < n ? row[(j0 + jp + r) * bcs] : 0.0f;
            }
            dst += nr;
        }
}

/* Panels of B read from a convolution input: a zero where the window is in the padding. */
static KILN_UNUSED void kiln_sgemm_pack_im2col(float *dst, const kiln_im2col *g, int64_t N, int64_t j0, int64_t nc,
                                               int64_t k0, int64_t kc, int64_t nr)
{
    int64_t jp, k, r, ksz = g->KH * g->KW;
    for (jp = 0; jp < nc; jp += nr)
        for (k = 0; k < kc; k++) {
            int64_t kk = k0 + k, c = kk / ksz, kh = kk % ksz / g->KW, kw = kk % g->KW;
            const float *xc = g->x + c * g->H * g->W;
            int64_t j = j0 + jp, oh = j / g->OW, ow = j % g->OW;
            int64_t ih = oh * g->sh - g->ph + kh * g->dh, iw0 = ow * g->sw - g->pw + kw * g->dw;
            /* the common case: nr positions on one output row, all inside the input */
            if (g->sw == 1 && ow + nr <= g->OW && j + nr <= N && ih >= 0 && ih < g->H && iw0 >= 0 &&
                iw0 + nr <= g->W && jp + nr <= nc) {
                memcpy(dst, xc + ih * g->W + iw0, (size_t)nr * sizeof *dst);
            } else {
                for (r = 0; r < nr; r++, ow++) {
                    int64_t iw;
                    if (ow == g->OW) ow = 0, oh++;
                    ih = oh * g->sh - g->ph + kh * g->dh;
                    iw = ow * g->sw - g->pw + kw * g->dw;
                    dst[r] = jp + r < nc && j + r < N && ih >= 0 && ih < g->H && iw >= 0 && iw < g->W
                                 ? xc[ih * g->W + iw]
                                 : 0.0f;
                }
            }
            dst += nr;
        }
}

/*
 * The micro-kernel: t[MR][NR] = a[kc][MR]^T b[kc][NR]. The accumulators are
 * MR * NR/VL vectors, held in registers across the k loop.
 */
#ifndef KILN_GENERIC
typedef float kiln_vf __attribute__((vector_size(KILN_VEC_BYTES)));
/* loads that do not assume the caller's buffers are vector-aligned */
typedef float kiln_vfu __attribute__((vector_size(KILN_VEC_BYTES), aligned(4)));
/* the tile the micro-kernel writes, aligned for its vector stores */
typedef union { float f[KILN_GEMM_MR * KILN_GEMM_NR]; kiln_vf v; } kiln_gemm_tile;
KILN_TARGET_FMA static KILN_UNUSED void kiln_sgemm_ukr(int64_t kc, const float *a, const float *b, float *t)
{
    kiln_vf acc[KILN_GEMM_MR][KILN_NV];
    int64_t k;
    int i, v;
    for (i = 0; i < KILN_GEMM_MR; i++)
        for (v = 0; v < KILN_NV; v++) acc[i][v] = (kiln_vf){0};
    for (k = 0; k < kc; k++) {
        kiln_vf bv[KILN_NV];
        for (v = 0; v < KILN_NV; v++) bv[v] = *(const kiln_vfu *)(b + v * KILN_VL);
        for (i = 0; i < KILN_GEMM_MR; i++)
            for (v = 0; v < KILN_NV; v++) acc[i][v] += bv[v] * a[i];
        a += KILN_GEMM_MR;
        b += KILN_GEMM_NR;
    }
    for (i = 0; i < KILN_GEMM_MR; i++)
        for (v = 0; v < KILN_NV; v++) *(kiln_vf *)(t + i * KILN_GEMM_NR + v * KILN_VL) = acc[i][v];
}
#else
typedef struct { float f[KILN_GEMM_MR * KILN_GEMM_NR]; } kiln_gemm_tile;
static KILN_UNUSED void kiln_sgemm_ukr(int64_t kc, const float *a, const float *b, float *t)
{
    float acc[KILN_GEMM_MR][KILN_GEMM_NR];
    int64_t k;
    int i, j;
    for (i = 0; i < KILN_GEMM_MR; i++)
        for (j = 0; j < KILN_GEMM_NR; j++) acc[i][j] = 0.0f;
    for (k = 0; k < kc; k++, a += KILN_GEMM_MR, b += KILN_GEMM_NR)
        for (i = 0; i < KILN_GEMM_MR; i++)
            for (j = 0; j < KILN_GEMM_NR; j++) acc[i][j] += a[i] * b[j];
    for (i = 0; i < KILN_GEMM_MR; i++)
        for (j = 0; j < KILN_GEMM_NR; j++) t[i * KILN_GEMM_NR + j] = acc[i][j];
}
#endif

/* Move a finished tile to C: add what earlier K blocks left there, and on the
 * last K block apply the epilogue. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_store(const float *t, const kiln_sgemm_args *g, int64_t i0, int64_t j0,
                                                     int64_t mr, int64_t nr, int first, int last)
{
    const kiln_sgemm_epi *e = &g->e;
    int64_t i, j;
    int q;
    for (i = 0; i < mr; i++) {
        float *c = g->c + (i0 + i) * g->ldc + j0;
        const float *ti = t + i * KILN_GEMM_NR;
        if (first) for (j = 0; j < nr; j++) c[j] = ti[j];
        else for (j = 0; j < nr; j++) c[j] += ti[j];
        if (!last) continue;
        if (e->alpha != 1.0f) for (j = 0; j < nr; j++) c[j] *= e->alpha;
        for (q = 0; q < 2; q++) {
            const float *ad = e->add[q];
            float s = e->scale[q];
            if (!ad) continue;
            ad += (i0 + i) * e->rs[q] + j0 * e->cs[q];
            if (e->cs[q] == 1) for (j = 0; j < nr; j++) c[j] += s * ad[j];
            else if (e->cs[q] == 0) for (j = 0; j < nr; j++) c[j] += s * ad[0];
            else for (j = 0; j < nr; j++) c[j] += s * ad[j * e->cs[q]];
        }
        if (e->clamp)
            for (j = 0; j < nr; j++) c[j] = c[j] < e->lo ? e->lo : c[j] > e->hi ? e->hi : c[j];
    }
}

/* Columns [j0, j1) of C (j0 a multiple of NR), with scratch for one A block and one B block. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_cols(const kiln_sgemm_args *g, int64_t j0, int64_t j1, float *scratch)
{
    enum { MR = KILN_GEMM_MR, NR = KILN_GEMM_NR };
    float *abuf = scratch, *bbuf = scratch + (g->ap ? 0 : KILN_GEMM_MC * KILN_GEMM_KC);
    kiln_gemm_tile t;
    int64_t M = g->M, K = g->K, jc, pc, ic, jr, ir;
    for (jc = j0; jc < j1; jc += KILN_GEMM_NC) {
        int64_t nc = j1 - jc < KILN_GEMM_NC ? j1 - jc : KILN_GEMM_NC;
        for (pc = 0; pc < K || pc == 0; pc += KILN_GEMM_KC) {
            int64_t kc = K - pc < KILN_GEMM_KC ? K - pc : KILN_GEMM_KC;
            const float *bblk;
            int64_t bstride;
            int first = pc == 0, last = pc + KILN_GEMM_KC >= K;
            if (g->bp) {
                bblk = g->bp + jc * K + pc * NR; /* panels over the whole K */
                bstride = K * NR;
            } else {
                if (g->im) kiln_sgemm_pack_im2col(bbuf, g->im, g->N, jc, nc, pc, kc, NR);
                else kiln_sgemm_pack_b(bbuf, g->b, g->brs, g->bcs, g->N, jc, nc, pc, kc, NR);
                bblk = bbuf;
                bstride = kc * NR;
            }
            for (ic = 0; ic < M; ic += KILN_GEMM_MC) {
                int64_t mc = M - ic < KILN_GEMM_MC ? M - ic : KILN_GEMM_MC;
                const float *ablk;
                int64_t astride;
                if (g->ap) {
                    ablk = g->ap + ic * K + pc * MR;
                    astride = K * MR;
                } else {
                    kiln_sgemm_pack_a(abuf, g->a, g->ars, g->acs, M, ic, mc, pc, kc, MR);
                    ablk = abuf;
                    astride = kc * MR;
                }
                for (jr = 0; jr < nc; jr += NR)
                    for (ir = 0; ir < mc; ir += MR) {
                        int64_t mr = mc - ir < MR ? mc - ir : MR, nr = nc - jr < NR ? nc - jr : NR;
                        kiln_sgemm_ukr(kc, ablk + ir / MR * astride, bblk + jr / NR * bstride, t.f);
                        kiln_sgemm_store(t.f, g, ic + ir, jc + jr, mr, nr, first, last);
                    }
            }
            if (K == 0) break;
        }
    }
}

/* Run fn(ctx, 0..n-1): across rtlib's pool with threads, else in order. */
static KILN_UNUSED void kiln_parallel(int n, void (*fn)(void *, int), void *ctx)
{
#if KILN_THREADS > 1
    kiln_rt_parallel_for(n, fn, ctx);
#else
    int i;
    for (i = 0; i < n; i++) fn(ctx, i);
#endif
}

typedef struct {
    const kiln_sgemm_args *g;
    float *scratch;
    int64_t chunk, stride;
} kiln_sgemm_task;

static KILN_UNUSED void kiln_sgemm_task_run(void *ctx, int i)
{
    const kiln_sgemm_task *t = (const kiln_sgemm_task *)ctx;
    int64_t j0 = i * t->chunk, j1 = j0 + t->chunk < t->g->N ? j0 + t->chunk : t->g->N;
    if (j0 < j1) kiln_sgemm_cols(t->g, j0, j1, t->scratch + i * t->stride);
}

/* The whole product; scratch holds KILN_THREADS * kiln_sgemm_scratch(...) floats. */
static KILN_UNUSED void kiln_sgemm(const kiln_sgemm_args *g, float *scratch)
{
    int n = KILN_THREADS;
    /* split the columns only when there is enough work to pay for waking the pool */
    if (n > 1 && (double)g->M * (double)g->N * (double)g->K >= 1e6 && g->N >= 2 * KILN_GEMM_NR) {
        kiln_sgemm_task t;
        t.g = g;
        t.scratch = scratch;
        t.chunk = kiln_gemm_round_up((g->N + n - 1) / n, KILN_GEMM_NR);
        t.stride = kiln_sgemm_scratch(g->N, g->ap != 0, g->bp != 0, KILN_GEMM_MR, KILN_GEMM_NR);
        kiln_parallel(n, kiln_sgemm_task_run, &t);
        return;
    }
    kiln_sgemm_cols(g, 0, g->N, scratch);
}

/* ---- kernels (the uniform kernel ABI) ----------------------------------- */

/* Packed operands: whether A or B arrives pre-packed (panels over the whole K)
 * is a parameter, so one kernel serves weights on either side. */

/*
 * MatMul: y[batch..., M, N] = a[..., M, K] b[..., K, N].
 * p: r, M, N, K, batch dims[r], a batch strides[r], b batch strides[r],
 * a packed, b packed (a packed operand has batch strides 0). Scratch: out[1].
 */
KILN_KERNEL kiln_matmul_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int r = (int)p[0], k;
    int64_t M = p[1], N = p[2], K = p[3], idx[KILN_KMAX_RANK] = {0}, nb = 1, bi;
    const int64_t *dims = p + 4, *as = dims + r, *bs = as + r;
    int ap = (int)bs[r], bp = (int)bs[r + 1];
    kiln_sgemm_args g;
    (void)f;
    memset(&g, 0, sizeof g);
    g.M = M, g.N = N, g.K = K, g.ars = K, g.acs = 1, g.brs = N, g.bcs = 1, g.ldc = N, g.e.alpha = 1.0f;
    for (k = 0; k < r; k++) nb *= dims[k];
    for (bi = 0; bi < nb; bi++) {
        int64_t ao = 0, bo = 0;
        for (k = 0; k < r; k++) ao += idx[k] * as[k], bo += idx[k] * bs[k];
        if (ap) g.ap = (const float *)in[0];
        else g.a = (const float *)in[0] + ao;
        if (bp) g.bp = (const float *)in[1];
        else g.b = (const float *)in[1] + bo;
        g.c = (float *)out[0] + bi * M * N;
        kiln_sgemm(&g, (float *)out[1]);
        for (k = r - 1; k >= 0 && ++idx[k] == dims[k]; k--) idx[k] = 0;
    }
}

/*
 * Gemm: y[M,N] = alpha * op(a) op(b) + beta * c.
 * p: M, N, K, a row stride, a col stride, b row stride, b col stride, has c,
 * c row stride, c col stride, a packed, b packed. f: alpha, beta. Scratch: out[1].
 */
KILN_KERNEL kiln_gemm_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_sgemm_args g;
    memset(&g, 0, sizeof g);
    g.M = p[0], g.N = p[1], g.K = p[2], g.ars = p[3], g.acs = p[4], g.brs = p[5], g.bcs = p[6];
    if (p[10]) g.ap = (const float *)in[0];
    else g.a = (const float *)in[0];
    if (p[11]) g.bp = (const float *)in[1];
    else g.b = (const float *)in[1];
    g.c = (float *)out[0], g.ldc = g.N, g.e.alpha = (float)f[0];
    if (p[7]) g.e.add[0] = (const float *)in[2], g.e.rs[0] = p[8], g.e.cs[0] = p[9], g.e.scale[0] = (float)f[1];
    kiln_sgemm(&g, (float *)out[1]);
}

/*
 * 2-D convolution (1-D is H = KH = 1) through the GEMM: per image and group,
 * y[Mg, OH*OW] = w[Mg, Cg*KH*KW] im2col(x)[Cg*KH*KW, OH*OW], the weights
 * pre-packed per group as A. A 1x1, stride-1, unpadded convolution reads x as B
 * directly. Then bias and an optional clamp (Relu, Clip) in the epilogue.
 * p: N, C, M, G, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, has bias,
 * clamp. f: lo, hi. in: x, packed w, bias. Scratch: out[1].
 */
#define KILN_CONV2D_PARAMS                                                                        \
    int64_t N = p[0], C = p[1], M = p[2], G = p[3], H = p[4], W = p[5], OH = p[6], OW = p[7];    \
    int64_t KH = p[8], KW = p[9], Cg = C / G, Mg = M / G, n, gi;                                 \
    const float *x = (const float *)in[0], *bias = p[16] ? (const float *)in[2] : 0;            \
    float *y = (float *)out[0]

KILN_KERNEL kiln_conv_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    KILN_CONV2D_PARAMS;
    int64_t K = Cg * KH * KW, wstride = kiln_gemm_round_up(Mg, KILN_GEMM_MR) * K;
    int direct = KH == 1 && KW == 1 && p[10] == 1 && p[11] == 1 && p[14] == 0 && p[15] == 0;
    kiln_im2col im;
    kiln_sgemm_args g;
    memset(&g, 0, sizeof g);
    im.H = H, im.W = W, im.KH = KH, im.KW = KW, im.OH = OH, im.OW = OW;
    im.sh = p[10], im.sw = p[11], im.dh = p[12], im.dw = p[13], im.ph = p[14], im.pw = p[15];
    g.M = Mg, g.N = OH * OW, g.K = K, g.ldc = OH * OW, g.e.alpha = 1.0f;
    g.e.clamp = (int)p[17], g.e.lo = (float)f[0], g.e.hi = (float)f[1];
    for (n = 0; n < N; n++)
        for (gi = 0; gi < G; gi++) {
            const float *xg = x + (n * C + gi * Cg) * H * W;
            g.ap = (const float *)in[1] + gi * wstride;
            g.c = y + (n * M + gi * Mg) * OH * OW;
            if (bias) g.e.add[0] = bias + gi * Mg, g.e.rs[0] = 1, g.e.cs[0] = 0, g.e.scale[0] = 1.0f;
            if (direct) {
                g.b = xg, g.brs = H * W, g.bcs = 1;
            } else {
                im.x = xg;
                g.im = &im;
            }
            kiln_sgemm(&g, (float *)out[1]);
        }
}

/*
 * Depthwise convolution (group = C = M), direct: each output row is a sum of
 * KH*KW shifted input rows scaled by one weight, a loop the compiler
 * vectorises; the edges where the window leaves the input are cut from the
 * range of the loop, not tested per element. Parameters as kiln_conv_fast_f32,
 * but the weights are as ONNX has them, [C, 1, KH, KW].
 */
typedef struct {
    kiln_ip p;
    kiln_fp f;
    kiln_in in;
    kiln_out out;
} kiln_dw_task;

KILN_TARGET static KILN_UNUSED void kiln_dwconv_channel(void *ctx, int ci)
{
    const kiln_dw_task *t = (const kiln_dw_task *)ctx;
    kiln_ip p = t->p;
    kiln_fp f = t->f;
    kiln_in in = t->in;
    kiln_out out = t->out;
    KILN_CONV2D_PARAMS;
    int64_t sh = p[10], sw = p[11], dh = p[12], dw = p[13], ph = p[14], pw = p[15], oh, ow, kh, kw, in_lo, in_hi;
    int64_t c = ci % C;
    const float *w = (const float *)in[1] + c * KH * KW, *xc;
    float *yc, b = bias ? bias[c] : 0.0f, lo = (float)f[0], hi = (float)f[1];
    n = ci / C;
    (void)Cg, (void)Mg, (void)gi, (void)N, (void)G;
    xc = x + (n * C + c) * H * W;
    yc = y + (n * M + c) * OH * OW;
    for (oh = 0; oh < OH; oh++) {
        float *restrict yr = yc + oh * OW; /* no input row overlaps it */
        for (ow = 0; ow < OW; ow++) yr[ow] = b;
        for (kh = 0; kh < KH; kh++) {
            int64_t ih = oh * sh - ph + kh * dh;
            const float *xr = xc + ih * W;
            if (ih < 0 || ih >= H) continue;
            /* the interior, where all three taps of a 3-wide window are inside: one pass */
            in_lo = 0, in_hi = OW;
            if (KW == 3)
                for (kw = 0; kw < KW; kw++) {
                    int64_t off = kw * dw - pw, lo_ow = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int64_t hi_ow = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
                    in_lo = lo_ow > in_lo ? lo_ow : in_lo;
                    in_hi = hi_ow < in_hi ? hi_ow : in_hi;
                }
            if (KW != 3 || in_lo > in_hi) in_lo = in_hi = 0;
            if (in_hi > in_lo) {
                const float *restrict x0 = xr - pw, *restrict x1 = xr + dw - pw, *restrict x2 = xr + 2 * dw - pw;
                float w0 = w[kh * 3], w1 = w[kh * 3 + 1], w2 = w[kh * 3 + 2];
                if (sw == 1)
                    for (ow = in_lo; ow < in_hi; ow++) yr[ow] += w0 * x0[ow] + w1 * x1[ow] + w2 * x2[ow];
                else
                    for (ow = in_lo; ow < in_hi; ow++)
                        yr[ow] += w0 * x0[ow * sw] + w1 * x1[ow * sw] + w2 * x2[ow * sw];
            }
            for (kw = 0; kw < KW; kw++) {
                /* ow where 0 <= ow*sw - pw + kw*dw < W, less the interior done above */
                int64_t off = kw * dw - pw, lo_ow = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi_ow = W - off <= 0 ? 0 : (W - off + sw - 1) / sw, e0, e1;
                float wv = w[kh * KW + kw];
                if (hi_ow > OW) hi_ow = OW;
                /* the interior lies inside every tap's range */
                e0 = in_hi > in_lo ? in_lo : hi_ow, e1 = in_hi > in_lo ? in_hi : hi_ow;
                for (ow = lo_ow; ow < e0; ow++) yr[ow] += wv * xr[ow * sw + off];
                for (ow = e1; ow < hi_ow; ow++) yr[ow] += wv * xr[ow * sw + off];
            }
        }
        if (p[17])
            for (ow = 0; ow < OW; ow++) yr[ow] = yr[ow] < lo ? lo : yr[ow] > hi ? hi : yr[ow];
    }
}

/* Stride 1: copy the channel into a zero-bordered plane Hp x Wp; then every
 * tap is one long loop over the output computed Wp wide (the extra columns
 * are dropped when it is copied out), with no edge cases. Scratch: Hp * Wp +
 * OH * Wp floats per thread. */
static KILN_UNUSED int64_t kiln_dwconv_scratch(int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t dh, int64_t dw)
{
    int64_t Hp = OH + (KH - 1) * dh, Wp = OW + (KW - 1) * dw;
    return Hp * Wp + OH * Wp;
}

KILN_TARGET static KILN_UNUSED void kiln_dwconv_padded(void *ctx, int ci, float *buf)
{
    const kiln_dw_task *t = (const kiln_dw_task *)ctx;
    kiln_ip p = t->p;
    kiln_fp f = t->f;
    kiln_in in = t->in;
    kiln_out out = t->out;
    KILN_CONV2D_PARAMS;
    int64_t dh = p[12], dw = p[13], ph = p[14], pw = p[15], Hp = OH + (KH - 1) * dh, Wp = OW + (KW - 1) * dw;
    int64_t c = ci % C, r, j, kh, kw, len = (OH - 1) * Wp + OW;
    const float *w = (const float *)in[1] + c * KH * KW, *xc;
    float *restrict xp = buf, *restrict yw = buf + Hp * Wp, b = bias ? bias[c] : 0.0f, lo = (float)f[0], hi = (float)f[1];
    float *yc;
    n = ci / C;
    (void)Cg, (void)Mg, (void)gi, (void)N, (void)G;
    xc = x + (n * C + c) * H * W;
    yc = y + (n * M + c) * OH * OW;
    for (r = 0; r < Hp; r++) {
        int64_t ih = r - ph, j0 = pw, j1 = pw + W;
        float *row = xp + r * Wp;
        if (j1 > Wp) j1 = Wp;
        if (ih < 0 || ih >= H) {
            for (j = 0; j < Wp; j++) row[j] = 0.0f;
            continue;
        }
        for (j = 0; j < j0 && j < Wp; j++) row[j] = 0.0f;
        for (j = j0; j < j1; j++) row[j] = xc[ih * W + j - pw];
        for (j = j1 > j0 ? j1 : j0; j < Wp; j++) row[j] = 0.0f;
    }
    for (j = 0; j < len; j++) yw[j] = b;
    for (kh = 0; kh < KH; kh++) {
        const float *xr = xp + kh * dh * Wp;
        if (KW == 3) {
            const float *restrict x0 = xr, *restrict x1 = xr + dw, *restrict x2 = xr + 2 * dw;
            float w0 = w[kh * 3], w1 = w[kh * 3 + 1], w2 = w[kh * 3 + 2];
            for (j = 0; j < len; j++) yw[j] += w0 * x0[j] + w1 * x1[j] + w2 * x2[j];
        } else {
            for (kw = 0; kw < KW; kw++) {
                const float *restrict xk = xr + kw * dw;
                float wv = w[kh * KW + kw];
                for (j = 0; j < len; j++) yw[j] += wv * xk[j];
            }
        }
    }
    for (r = 0; r < OH; r++) {
        float *yr = yc + r * OW;
        const float *src = yw + r * Wp;
        if (p[17])
            for (j = 0; j < OW; j++) yr[j] = src[j] < lo ? lo : src[j] > hi ? hi : src[j];
        else
            for (j = 0; j < OW; j++) yr[j] = src[j];
    }
}

typedef struct {
    kiln_dw_task t;
    int64_t chunk, stride;
} kiln_dw_chunks;

/* A thread's share of the channels, with its own slice of scratch. */
static KILN_UNUSED void kiln_dwconv_chunk(void *ctx, int i)
{
    const kiln_dw_chunks *c = (const kiln_dw_chunks *)ctx;
    int64_t total = c->t.p[0] * c->t.p[1], k = i * c->chunk, end = k + c->chunk < total ? k + c->chunk : total;
    float *buf = (float *)c->t.out[1] + i * c->stride;
    for (; k < end; k++) {
        if (c->t.p[10] == 1 && c->t.p[11] == 1) kiln_dwconv_padded((void *)&c->t, (int)k, buf);
        else kiln_dwconv_channel((void *)&c->t, (int)k);
    }
}

/* Scratch out[1]: KILN_THREADS * kiln_dwconv_scratch(...) floats. */
KILN_KERNEL kiln_dwconv_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_dw_chunks c;
    int n = KILN_THREADS;
    c.t.p = p, c.t.f = f, c.t.in = in, c.t.out = out;
    c.chunk = (p[0] * p[1] + n - 1) / n;
    c.stride = kiln_dwconv_scratch(p[6], p[7], p[8], p[9], p[12], p[13]);
    kiln_parallel(n, kiln_dwconv_chunk, &c);
}

/*
 * Attention through the GEMM: per batch index, S = scale * Q KT + mask into
 * scratch, softmax of each row in place, y = S V. Parameters as
 * kiln_attention_f32 (kernels/c/fused.h, its reference); scratch out[1]:
 * kiln_attention_scratch floats.
 */
static KILN_UNUSED int64_t kiln_attention_scratch(int64_t Sq, int64_t Sk, int64_t Dv, int64_t mr, int64_t nr,
                                                  int64_t threads)
{
    return kiln_gemm_round_up(Sq * Sk, 16) + threads * kiln_sgemm_scratch(Sk > Dv ? Sk : Dv, 0, 0, mr, nr);
}

KILN_TARGET static KILN_UNUSED void kiln_softmax_rows(float *s, int64_t rows, int64_t n)
{
    int64_t i, j;
    for (i = 0; i < rows; i++, s += n) {
        float mx = -INFINITY, sum = 0.0f, inv;
        for (j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
        for (j = 0; j < n; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        inv = 1.0f / sum;
        for (j = 0; j < n; j++) s[j] *= inv;
    }
}

KILN_KERNEL kiln_attention_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int r = (int)p[0], k;
    const int64_t *dims = p + 1, *qs = dims + r, *ks = qs + r, *vs = ks + r, *ms = vs + r, *g = ms + r;
    int64_t Sq = g[0], Sk = g[1], D = g[2], Dv = g[3], idx[KILN_KMAX_RANK] = {0}, nb = 1, bi;
    const float *Q = (const float *)in[0], *K = (const float *)in[1], *V = (const float *)in[2];
    const float *mask = g[4] ? (const float *)in[3] : 0;
    float *Y = (float *)out[0], *s = (float *)out[1], *gs = s + kiln_gemm_round_up(Sq * Sk, 16);
    kiln_sgemm_args qk, pv;
    memset(&qk, 0, sizeof qk);
    memset(&pv, 0, sizeof pv);
    qk.M = Sq, qk.N = Sk, qk.K = D, qk.ars = D, qk.acs = 1, qk.brs = Sk, qk.bcs = 1, qk.c = s, qk.ldc = Sk;
    qk.e.alpha = (float)f[0];
    if (mask) qk.e.rs[0] = g[5], qk.e.cs[0] = g[6], qk.e.scale[0] = 1.0f;
    pv.M = Sq, pv.N = Dv, pv.K = Sk, pv.a = s, pv.ars = Sk, pv.acs = 1, pv.brs = Dv, pv.bcs = 1, pv.ldc = Dv;
    pv.e.alpha = 1.0f;
    for (k = 0; k < r; k++) nb *= dims[k];
    for (bi = 0; bi < nb; bi++) {
        int64_t qo = 0, ko = 0, vo = 0, mo = 0;
        for (k = 0; k < r; k++) qo += idx[k] * qs[k], ko += idx[k] * ks[k], vo += idx[k] * vs[k], mo += idx[k] * ms[k];
        qk.a = Q + qo, qk.b = K + ko;
        if (mask) qk.e.add[0] = mask + mo;
        kiln_sgemm(&qk, gs);
        kiln_softmax_rows(s, Sq, Sk);
        pv.b = V + vo, pv.c = Y + bi * Sq * Dv;
        kiln_sgemm(&pv, gs);
        for (k = r - 1; k >= 0 && ++idx[k] == dims[k]; k--) idx[k] = 0;
    }
}

#endif
