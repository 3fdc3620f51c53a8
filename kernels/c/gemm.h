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
 *   KILN_THREADS          N > 1: split the work across rtlib's pool (parallel.h)
 * The micro-kernel, tile and blocking sizes are the only ISA-specific parts.
 */
#ifndef KILN_KERNELS_GEMM_H
#define KILN_KERNELS_GEMM_H
#include "common.h"
#include "parallel.h"

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

/* Cache blocking: an MC x KC block of A is packed, then each KC x NR panel
 * of B meets its MC / MR panels; both kinds of panel stream from L2. A long
 * KC (one pass over C for most products) with a short MC measured best: on
 * Zen 4 (1 MiB L2), 1024^3 ran at 109 GFLOP/s against 102 with KC 256 and
 * MC 32 MR (bench/cpu/gemm_bench.c). The compiler sizes scratch with the
 * target's MR and NR, so these are functions of the tile (the bench may
 * override them). */
#ifndef KILN_GEMM_KC
#define KILN_GEMM_KC 1024
#endif
#ifndef KILN_GEMM_MC_FOR
#define KILN_GEMM_MC_FOR(mr) ((mr) * 8)
#endif
#ifndef KILN_GEMM_NC_FOR
#define KILN_GEMM_NC_FOR(nr) ((nr) * 16)
#endif
#define KILN_GEMM_MC KILN_GEMM_MC_FOR(KILN_GEMM_MR)
#define KILN_GEMM_NC KILN_GEMM_NC_FOR(KILN_GEMM_NR)
/* Floats of the next panel of B a tile fetches for it, per k: a 64-byte line. */
#define KILN_GEMM_PF 16
#define KILN_VL (KILN_VEC_BYTES / 4)
#define KILN_NV (KILN_GEMM_NR / KILN_VL)
/* A's panels hold their rows in blocks of KB columns (see kiln_sgemm_pack_a);
 * KB_MAX: the largest KB of any target, for sizes the compiler computes */
#define KILN_GEMM_KB KILN_VL
#define KILN_GEMM_KB_MAX 16

static KILN_UNUSED int64_t kiln_gemm_round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static KILN_UNUSED int64_t kiln_gemm_min(int64_t a, int64_t b) { return a < b ? a : b; }

/* How B reaches the micro-kernel: packed into NR-wide panels block by block
 * at run time, pre-packed over the whole K (a weight), or read in place when
 * its rows are contiguous (only a ragged last panel is packed). */
enum { KILN_B_PACK, KILN_B_PACKED, KILN_B_DIRECT };

/* Floats of scratch one thread of an M x N x K product needs: an A block
 * unless A is pre-packed, and what B's mode needs. Sized by the problem, not
 * by the block constants, so a small product needs little. */
static KILN_UNUSED int64_t kiln_sgemm_scratch(int64_t M, int64_t N, int64_t K, int a_packed, int b_mode, int64_t mr,
                                              int64_t nr)
{
    int64_t kc = K < 1 ? 1 : kiln_gemm_min(K, KILN_GEMM_KC);
    int64_t mc = kiln_gemm_min(kiln_gemm_round_up(M, mr), KILN_GEMM_MC_FOR(mr));
    int64_t nc = kiln_gemm_min(kiln_gemm_round_up(N, nr), KILN_GEMM_NC_FOR(nr));
    return (a_packed ? 0 : mc * kiln_gemm_round_up(kc, KILN_GEMM_KB_MAX)) +
           (b_mode == KILN_B_PACKED ? 0 : b_mode == KILN_B_DIRECT ? kc * nr : kc * nc);
}

typedef char kiln_gemm_nr_fits_lanes[(KILN_GEMM_NR % KILN_VL) == 0 ? 1 : -1];

/* What the product goes through on its way to C: y = clamp(alpha * AB +
 * s0 * add0[i*rs0 + j*cs0] + s1 * add1[...] + s2 * add2[...], lo, hi), the
 * adds in that order. An add with a 0 stride broadcasts (a bias per row has
 * cs 0, one per column rs 0). Gemm's C, a fused bias and a residual: 3. */
#define KILN_SGEMM_NADD 3
typedef struct {
    float alpha;
    const float *add[KILN_SGEMM_NADD];
    int64_t rs[KILN_SGEMM_NADD], cs[KILN_SGEMM_NADD];
    float scale[KILN_SGEMM_NADD];
    int clamp;
    float lo, hi;
} kiln_sgemm_epi;

/* A channels-last convolution's epilogue, into a zeroed e: y = clamp(AB +
 * bias[column], lo, hi), the bias optional, the clamp where clamp is set. */
static KILN_UNUSED void kiln_sgemm_epi_bias_clamp(kiln_sgemm_epi *e, const float *bias, int clamp, double lo, double hi)
{
    e->alpha = 1.0f, e->clamp = clamp, e->lo = (float)lo, e->hi = (float)hi;
    if (bias) e->add[0] = bias, e->cs[0] = 1, e->scale[0] = 1.0f;
}

/* im2col of a 2-D convolution input: read as B[K = Cg*KH*KW, N = OH*OW] from
 * NCHW, or as A[M = OH*OW, K = KH*KW*C] from NHWC (k = (kh*KW + kw)*C + c). */
typedef struct {
    const float *x;  /* the group's first input channel (NCHW), the image (NHWC) */
    int64_t H, W, KH, KW, OH, OW, sh, sw, dh, dw, ph, pw, C;
} kiln_im2col;

typedef struct {
    int64_t M, N, K;
    const float *a, *ap;   /* A strided (a, ars, acs), or packed (ap) */
    int64_t ars, acs;
    const float *b, *bp;   /* B strided, packed, or an im2col (im) */
    int64_t brs, bcs;
    const kiln_im2col *im, *ima; /* B from NCHW, A from NHWC */
    float *c;
    int64_t ldc;
    kiln_sgemm_epi e;
} kiln_sgemm_args;

/* B's mode for these arguments: the one rule the kernel and the scratch size share. */
static KILN_UNUSED int kiln_sgemm_b_mode(int b_packed, int has_im, int64_t bcs)
{
    return b_packed ? KILN_B_PACKED : !has_im && bcs == 1 ? KILN_B_DIRECT : KILN_B_PACK;
}


/*
 * Packing. Rows [i0, i0+mc) of A, k in [k0, k0+kc), into panels of mr rows,
 * each in blocks of kb columns: a panel is [ceil(kc/kb)][mr][kb] (the last
 * block's columns past kc unused), zero past M. Rows of a block are then
 * whole vectors of a row-major A, and the micro-kernel finds the mr values
 * of each k at fixed offsets. Columns of B go into panels of nr,
 * dst[(j/nr)][k][j%nr]. The compiler calls these with the target's mr, kb,
 * nr to pre-pack weights over the whole K; run time packs activations block
 * by block (kc is then a multiple of kb but for the last block of K).
 */

/* Where element (r, k) of such a panel lies. */
static KILN_UNUSED int64_t kiln_sgemm_apan_at(int64_t r, int64_t k, int64_t mr, int64_t kb)
{
    return (k - k % kb) * mr + r * kb + k % kb;
}

static KILN_UNUSED void kiln_sgemm_pack_a(float *dst, const float *a, int64_t ars, int64_t acs, int64_t M,
                                          int64_t i0, int64_t mc, int64_t k0, int64_t kc, int64_t mr, int64_t kb)
{
    int64_t ip, k, r;
    for (ip = 0; ip < mc; ip += mr, dst += mr * kiln_gemm_round_up(kc, kb)) {
        int64_t rows = kiln_gemm_min(kiln_gemm_min(mr, mc - ip), M - i0 - ip);
        for (r = 0; r < mr; r++)
            for (k = 0; k < kc; k++)
                dst[kiln_sgemm_apan_at(r, k, mr, kb)] = r < rows ? a[(i0 + ip + r) * ars + (k0 + k) * acs] : 0.0f;
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
            if (ow + nr <= g->OW && j + nr <= N && ih >= 0 && ih < g->H && iw0 >= 0 &&
                iw0 + (nr - 1) * g->sw < g->W && jp + nr <= nc) {
                const float *src = xc + ih * g->W + iw0;
                if (g->sw == 1) memcpy(dst, src, (size_t)nr * sizeof *dst);
                else for (r = 0; r < nr; r++) dst[r] = src[r * g->sw];
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

/* The rows of A's panel that kiln_sgemm_ukr_rows(mr, ...) reads: those of
 * its smallest variant of at least mr rows (1, 2, 4, 8 or MR). */
static KILN_UNUSED int64_t kiln_sgemm_rows_read(int64_t mr)
{
#ifdef KILN_GENERIC
    return mr;
#else
    int64_t v = mr <= 1 ? 1 : mr <= 2 ? 2 : mr <= 4 ? 4 : mr <= 8 ? 8 : KILN_GEMM_MR;
    return v < KILN_GEMM_MR ? v : KILN_GEMM_MR;
#endif
}

/* Panels of A (as kiln_sgemm_pack_a lays them out) read from a channels-last
 * convolution input: row i is output pixel i, k runs over the taps (kh, kw)
 * and their C channels. Element k of a pixel's window is off[k] past its
 * corner, at (th[k], tw[k]) from it: a window inside the input reads with no
 * tests, one at the border tests each k. The tables hold KILN_IM2COL_K
 * values of k (a multiple of any kb) at a time, on the stack. Rows past M
 * are zero up to those the micro-kernel reads. */
#define KILN_IM2COL_K 256
static KILN_UNUSED void kiln_sgemm_pack_a_nhwc(float *dst, const kiln_im2col *g, int64_t M, int64_t i0, int64_t mc,
                                               int64_t k0, int64_t kc, int64_t mr, int64_t kb)
{
    int64_t off[KILN_IM2COL_K], th[KILN_IM2COL_K], tw[KILN_IM2COL_K], ip, r, k, u, k1;
    int64_t c = k0 % g->C, kh = k0 / g->C / g->KW, kw = k0 / g->C % g->KW;
    for (k1 = 0; k1 < kc; k1 += KILN_IM2COL_K) {
        int64_t n1 = kiln_gemm_min(KILN_IM2COL_K, kc - k1);
        float *pan = dst + k1 * mr;
        for (k = 0; k < n1; k++) {
            th[k] = kh * g->dh, tw[k] = kw * g->dw, off[k] = (th[k] * g->W + tw[k]) * g->C + c;
            if (++c == g->C && (c = 0, ++kw == g->KW)) kw = 0, kh++;
        }
        for (ip = 0; ip < mc; ip += mr, pan += mr * kiln_gemm_round_up(kc, kb)) {
            int64_t rows = kiln_gemm_min(kiln_gemm_min(mr, mc - ip), M - i0 - ip);
            for (r = 0; r < kiln_sgemm_rows_read(rows); r++) {
                int64_t i = i0 + ip + r, ih0 = i / g->OW * g->sh - g->ph, iw0 = i % g->OW * g->sw - g->pw;
                int inside = ih0 >= 0 && ih0 + (g->KH - 1) * g->dh < g->H && iw0 >= 0 &&
                             iw0 + (g->KW - 1) * g->dw < g->W;
                int64_t s = (ih0 * g->W + iw0) * g->C; /* the corner, perhaps outside */
                for (k = 0; k < n1; k += kb) {
                    int64_t w = kiln_gemm_min(kb, n1 - k);
                    float *d = pan + k * mr + r * kb;
                    if (r >= rows)
                        for (u = 0; u < w; u++) d[u] = 0.0f;
                    else if (inside)
                        for (u = 0; u < w; u++) d[u] = g->x[s + off[k + u]];
                    else
                        for (u = 0; u < w; u++) {
                            int64_t ih = ih0 + th[k + u], iw = iw0 + tw[k + u];
                            d[u] = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W ? g->x[s + off[k + u]] : 0.0f;
                        }
                }
            }
        }
    }
}

/* One element of the epilogue, for the tiles that take the scalar path. */
static KILN_UNUSED float kiln_sgemm_epi_at(const kiln_sgemm_epi *e, float x, int64_t i, int64_t j)
{
    int q;
    x *= e->alpha;
    for (q = 0; q < KILN_SGEMM_NADD; q++)
        if (e->add[q]) x += e->scale[q] * e->add[q][i * e->rs[q] + j * e->cs[q]];
    if (e->clamp) x = x < e->lo ? e->lo : x > e->hi ? e->hi : x;
    return x;
}

/* An epilogue that changes nothing. */
static KILN_UNUSED int kiln_sgemm_epi_none(const kiln_sgemm_epi *e)
{
    int q;
    for (q = 0; q < KILN_SGEMM_NADD; q++)
        if (e->add[q]) return 0;
    return e->alpha == 1.0f && !e->clamp;
}

/* An epilogue the micro-kernel applies in registers: its adds are contiguous
 * along a row of C or constant on it. */
static KILN_UNUSED int kiln_sgemm_epi_vector(const kiln_sgemm_epi *e)
{
    int q;
    for (q = 0; q < KILN_SGEMM_NADD; q++)
        if (e->add[q] && e->cs[q] != 0 && e->cs[q] != 1) return 0;
    return 1;
}

/*
 * The micro-kernel: an MR x NR tile of C at c (row stride ldc) is set
 * (first) or increased by a[kc][MR]^T b[kc][NR] (B's rows ldb apart), then
 * goes through the epilogue e (NULL: none; rows from i0, columns from j0)
 * while still in registers. The accumulators are MR * NR/VL vectors.
 */
#ifndef KILN_GENERIC
/* AVX and AVX-512 builds name their instruction set (codegen's
 * KILN_TARGET_ISA), so their max and min intrinsics are available */
#if defined(KILN_TARGET_ISA) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define KILN_X86_MAXMIN_
#endif
typedef float kiln_vf __attribute__((vector_size(KILN_VEC_BYTES)));
typedef int32_t kiln_vi __attribute__((vector_size(KILN_VEC_BYTES)));
/* loads and stores that do not assume the caller's buffers are vector-aligned */
typedef float kiln_vfu __attribute__((vector_size(KILN_VEC_BYTES), aligned(4)));
/* the tile of a ragged edge, aligned for the micro-kernel's stores */
typedef union { float f[KILN_GEMM_MR * KILN_GEMM_NR]; kiln_vf v; } kiln_gemm_tile;

/* where m is set, y; else x (bitwise, so a NaN in x passes through a clamp) */
KILN_TARGET static inline kiln_vf kiln_vsel(kiln_vi m, kiln_vf y, kiln_vf x)
{
    return (kiln_vf)(((kiln_vi)y & m) | ((kiln_vi)x & ~m));
}

KILN_TARGET static inline kiln_vf kiln_vsplat(float x) { return (kiln_vf){0} + x; }

/* lo > x ? lo : x and hi < x ? hi : x, lane by lane, so a NaN in x stays:
 * one instruction on x86, whose max and min return their second operand
 * when either is a NaN; a compare and a select elsewhere. */
#if KILN_VEC_BYTES == 64 && defined(KILN_X86_MAXMIN_)
#define KILN_VMAXMIN_(op, a, b) ((kiln_vf)_mm512_##op##_ps((__m512)(a), (__m512)(b)))
#elif KILN_VEC_BYTES == 32 && defined(KILN_X86_MAXMIN_)
#define KILN_VMAXMIN_(op, a, b) ((kiln_vf)_mm256_##op##_ps((__m256)(a), (__m256)(b)))
#endif
KILN_TARGET static inline kiln_vf kiln_vmax(kiln_vf lo, kiln_vf x)
{
#ifdef KILN_VMAXMIN_
    return KILN_VMAXMIN_(max, lo, x);
#else
    return kiln_vsel(x < lo, lo, x);
#endif
}

KILN_TARGET static inline kiln_vf kiln_vmin(kiln_vf hi, kiln_vf x)
{
#ifdef KILN_VMAXMIN_
    return KILN_VMAXMIN_(min, hi, x);
#else
    return kiln_vsel(x > hi, hi, x);
#endif
}

/* x clamped to [lo, hi], a NaN passing through */
KILN_TARGET static inline kiln_vf kiln_vclamp(kiln_vf x, kiln_vf lo, kiln_vf hi)
{
    return kiln_vmin(hi, kiln_vmax(lo, x));
}

/* kiln_sgemm_pack_a at run time for a row-major A (acs 1): a block's rows
 * are whole vectors of A's rows. Rows past M are zero only where the
 * micro-kernel for a ragged panel reads them. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_pack_a_rows(float *dst, const float *a, int64_t ars, int64_t M,
                                                           int64_t i0, int64_t mc, int64_t k0, int64_t kc)
{
    enum { MR = KILN_GEMM_MR, KB = KILN_GEMM_KB };
    int64_t ip, k, r, u;
    for (ip = 0; ip < mc; ip += MR, dst += MR * kiln_gemm_round_up(kc, KB)) {
        const float *row = a + (i0 + ip) * ars + k0;
        int64_t rows = kiln_gemm_min(kiln_gemm_min(MR, mc - ip), M - i0 - ip);
        int64_t used = rows < MR ? kiln_sgemm_rows_read(rows) : MR;
        for (k = 0; k + KB <= kc; k += KB) {
            float *d = dst + k * MR;
            for (r = 0; r < rows; r++) *(kiln_vfu *)(d + r * KB) = *(const kiln_vfu *)(row + r * ars + k);
            for (; r < used; r++) *(kiln_vfu *)(d + r * KB) = kiln_vsplat(0.0f);
        }
        if (k < kc) { /* the last block, narrower than a vector */
            float *d = dst + k * MR;
            for (r = 0; r < used; r++)
                for (u = 0; u < kc - k; u++) d[r * KB + u] = r < rows ? row[r * ars + k + u] : 0.0f;
        }
    }
}

KILN_TARGET static inline kiln_vf kiln_sgemm_epi_v(const kiln_sgemm_epi *e, kiln_vf x, int64_t i, int64_t j)
{
    int q;
    if (e->alpha != 1.0f) x *= e->alpha;
    for (q = 0; q < KILN_SGEMM_NADD; q++) {
        const float *ad = e->add[q];
        if (!ad) continue;
        ad += i * e->rs[q] + j * e->cs[q];
        x += e->scale[q] * (e->cs[q] ? *(const kiln_vfu *)ad : kiln_vsplat(*ad));
    }
    return e->clamp ? kiln_vclamp(x, kiln_vsplat(e->lo), kiln_vsplat(e->hi)) : x;
}

/* The epilogue of one tile with what is constant on it read once: adds
 * broadcast down the columns (a bias per column) summed into col[], those
 * constant along a row into row[]; a tile with any other add (general)
 * takes kiln_sgemm_epi_tile_mem instead. The steps a tile does not need
 * (alpha 1: not scaled; no add per row) are skipped. */
typedef struct {
    kiln_vf alpha, lo, hi, col[KILN_NV];
    float row[KILN_GEMM_MR];
    int general, clamp, scaled, rows;
} kiln_sgemm_epi_tile;

KILN_TARGET static inline __attribute__((always_inline)) void
kiln_sgemm_epi_plan(kiln_sgemm_epi_tile *t, const kiln_sgemm_epi *e, int R, int64_t i0, int64_t j0)
{
    int q, i, v;
    t->alpha = kiln_vsplat(e->alpha), t->lo = kiln_vsplat(e->lo), t->hi = kiln_vsplat(e->hi);
    t->general = 0, t->clamp = e->clamp, t->scaled = e->alpha != 1.0f, t->rows = 0;
    for (v = 0; v < KILN_NV; v++) t->col[v] = kiln_vsplat(0.0f);
    for (i = 0; i < R; i++) t->row[i] = 0.0f;
    for (q = 0; q < KILN_SGEMM_NADD; q++) {
        const float *ad = e->add[q];
        if (!ad) continue;
        if (e->rs[q] == 0 && e->cs[q] == 1)
            for (v = 0; v < KILN_NV; v++) t->col[v] += e->scale[q] * *(const kiln_vfu *)(ad + j0 + v * KILN_VL);
        else if (e->cs[q] == 0)
            for (t->rows = 1, i = 0; i < R; i++) t->row[i] += e->scale[q] * ad[(i0 + i) * e->rs[q]];
        else
            t->general = 1;
    }
}

/* The tile's epilogue where it has an add of its own per element (a
 * residual): a pass over the R x NR tile at c, just stored, still in cache. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_epi_tile_mem(const kiln_sgemm_epi *e, float *c, int64_t ldc, int R,
                                                            int64_t i0, int64_t j0)
{
    int i, v;
    for (i = 0; i < R; i++)
        for (v = 0; v < KILN_NV; v++) {
            kiln_vfu *cv = (kiln_vfu *)(c + i * ldc + v * KILN_VL);
            *cv = kiln_sgemm_epi_v(e, *cv, i0 + i, j0 + v * KILN_VL);
        }
}

/* GCC keeps the accumulators in registers only if it unrolls every loop
 * over them, the epilogue's too; Clang does without being told */
#if defined(__GNUC__) && !defined(__clang__)
#define KILN_UNROLL _Pragma("GCC unroll 16")
#else
#define KILN_UNROLL
#endif

/* A micro-kernel's R x NR tile of accumulators, before its k loop: zero,
 * and the tile's lines of C fetched for writing while the loop runs. */
KILN_TARGET_FMA static inline __attribute__((always_inline)) void
kiln_sgemm_ukr_start(int R, kiln_vf acc[][KILN_NV], float *c, int64_t ldc)
{
    int i, v;
    for (i = 0; i < R; i++) {
        __builtin_prefetch(c + i * ldc, 1);
        __builtin_prefetch(c + i * ldc + KILN_GEMM_NR - 1, 1);
    }
    for (i = 0; i < R; i++)
        for (v = 0; v < KILN_NV; v++) acc[i][v] = (kiln_vf){0};
}

/* After the k loop: add what C holds unless first, the epilogue e (none if
 * 0) in registers where it can be, and the tile to C. */
KILN_TARGET_FMA static inline __attribute__((always_inline)) void
kiln_sgemm_ukr_end(int R, kiln_vf acc[][KILN_NV], float *c, int64_t ldc, int first, const kiln_sgemm_epi *e,
                   int64_t i0, int64_t j0)
{
    kiln_sgemm_epi_tile et;
    int i, v;
    if (!first)
        KILN_UNROLL for (i = 0; i < R; i++)
            for (v = 0; v < KILN_NV; v++) acc[i][v] += *(const kiln_vfu *)(c + i * ldc + v * KILN_VL);
    if (e) kiln_sgemm_epi_plan(&et, e, R, i0, j0);
    if (e && !et.general) { /* in registers: loops without branches, which the compiler unrolls */
        if (et.scaled)
            KILN_UNROLL for (i = 0; i < R; i++)
                for (v = 0; v < KILN_NV; v++) acc[i][v] *= et.alpha;
        if (et.rows)
            KILN_UNROLL for (i = 0; i < R; i++)
                for (v = 0; v < KILN_NV; v++) acc[i][v] += et.row[i];
        KILN_UNROLL for (i = 0; i < R; i++)
            for (v = 0; v < KILN_NV; v++) acc[i][v] += et.col[v];
        if (et.clamp)
            KILN_UNROLL for (i = 0; i < R; i++)
                for (v = 0; v < KILN_NV; v++) acc[i][v] = kiln_vclamp(acc[i][v], et.lo, et.hi);
    }
    KILN_UNROLL for (i = 0; i < R; i++)
        for (v = 0; v < KILN_NV; v++) *(kiln_vfu *)(c + i * ldc + v * KILN_VL) = acc[i][v];
    if (e && et.general) kiln_sgemm_epi_tile_mem(e, c, ldc, R, i0, j0);
}

/* The body, for R of the MR rows (A's panels stay MR wide): inlined with R
 * constant, so that the accumulators live in registers. pf, unless 0: kc
 * lines from there on are fetched into cache while the tile runs, one a
 * step of k (kiln_sgemm_part points it at the next panel of B). */
KILN_TARGET_FMA static inline __attribute__((always_inline)) void
kiln_sgemm_ukr_body(int R, int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc, int first,
                    const kiln_sgemm_epi *e, int64_t i0, int64_t j0, const float *pf)
{
    kiln_vf acc[KILN_GEMM_MR][KILN_NV];
    int64_t k;
    int i, v;
    kiln_sgemm_ukr_start(R, acc, c, ldc);
    for (k = 0; k < kc; k += KILN_GEMM_KB, a += KILN_GEMM_MR * KILN_GEMM_KB) { /* A's blocks: [MR][KB] */
        int64_t kk, w = kiln_gemm_min(KILN_GEMM_KB, kc - k);
        for (kk = 0; kk < w; kk++, b += ldb) {
            kiln_vf bv[KILN_NV];
            if (pf) __builtin_prefetch(pf + (k + kk) * KILN_GEMM_PF);
            for (v = 0; v < KILN_NV; v++) bv[v] = *(const kiln_vfu *)(b + v * KILN_VL);
            for (i = 0; i < R; i++)
                for (v = 0; v < KILN_NV; v++) acc[i][v] += bv[v] * a[i * KILN_GEMM_KB + kk];
        }
    }
    kiln_sgemm_ukr_end(R, acc, c, ldc, first, e, i0, j0);
}

/* kiln_sgemm_ukrR: R rows. The full tile, and fewer rows for a ragged last
 * panel (M = 64 with MR = 14 leaves 8; a matrix-vector product has 1). */
#define KILN_SGEMM_UKR(R)                                                                                   \
    KILN_TARGET_FMA static KILN_UNUSED void kiln_sgemm_ukr##R(int64_t kc, const float *a, const float *b,   \
                                                             int64_t ldb, float *c, int64_t ldc, int first, \
                                                             const kiln_sgemm_epi *e, int64_t i0, int64_t j0, \
                                                             const float *pf)                             \
    {                                                                                                       \
        kiln_sgemm_ukr_body(R, kc, a, b, ldb, c, ldc, first, e, i0, j0, pf);                               \
    }
#if KILN_GEMM_MR > 8
KILN_SGEMM_UKR(8)
#endif
#if KILN_GEMM_MR > 4
KILN_SGEMM_UKR(4)
#endif
#if KILN_GEMM_MR > 2
KILN_SGEMM_UKR(2)
#endif
#if KILN_GEMM_MR > 1
KILN_SGEMM_UKR(1)
#endif

/* Run the smallest variant of at least mr rows; returns its row count. */
KILN_TARGET_FMA static KILN_UNUSED int kiln_sgemm_ukr_rows(int64_t mr, int64_t kc, const float *a, const float *b,
                                                          int64_t ldb, float *c, int64_t ldc, int first,
                                                          const kiln_sgemm_epi *e, int64_t i0, int64_t j0,
                                                          const float *pf)
{
#define KILN_SGEMM_UKR_IF(R) \
    if (mr <= R) return kiln_sgemm_ukr##R(kc, a, b, ldb, c, ldc, first, e, i0, j0, pf), R;
#if KILN_GEMM_MR > 1
    KILN_SGEMM_UKR_IF(1)
#endif
#if KILN_GEMM_MR > 2
    KILN_SGEMM_UKR_IF(2)
#endif
#if KILN_GEMM_MR > 4
    KILN_SGEMM_UKR_IF(4)
#endif
#if KILN_GEMM_MR > 8
    KILN_SGEMM_UKR_IF(8)
#endif
    kiln_sgemm_ukr_body(KILN_GEMM_MR, kc, a, b, ldb, c, ldc, first, e, i0, j0, pf);
    return KILN_GEMM_MR;
}
#else
typedef struct { float f[KILN_GEMM_MR * KILN_GEMM_NR]; } kiln_gemm_tile;
static KILN_UNUSED int kiln_sgemm_ukr_rows(int64_t mr, int64_t kc, const float *a, const float *b, int64_t ldb,
                                           float *c, int64_t ldc, int first, const kiln_sgemm_epi *e, int64_t i0,
                                           int64_t j0, const float *pf)
{
    float acc[KILN_GEMM_MR][KILN_GEMM_NR];
    int64_t k;
    int i, j, R = (int)mr;
    (void)pf;
    for (i = 0; i < R; i++)
        for (j = 0; j < KILN_GEMM_NR; j++) acc[i][j] = 0.0f;
    for (k = 0; k < kc; k++, b += ldb)
        for (i = 0; i < R; i++)
            for (j = 0; j < KILN_GEMM_NR; j++) acc[i][j] += a[kiln_sgemm_apan_at(i, k, KILN_GEMM_MR, KILN_GEMM_KB)] * b[j];
    for (i = 0; i < R; i++)
        for (j = 0; j < KILN_GEMM_NR; j++) {
            float *cp = c + i * ldc + j, x = acc[i][j] + (first ? 0.0f : *cp);
            *cp = e ? kiln_sgemm_epi_at(e, x, i0 + i, j0 + j) : x;
        }
    return R;
}
#endif

/* Whether kiln_sgemm_ukr_rows(mr, ...) writes exactly mr rows. */
static KILN_UNUSED int kiln_sgemm_rows_exact(int64_t mr)
{
    return mr > 0 && kiln_sgemm_rows_read(mr) == mr;
}

/* A ragged tile (mr x nr of the t the micro-kernel wrote) to C: add what
 * earlier K blocks left there, and on the last K block apply the epilogue;
 * whole vectors of a row in registers, as the micro-kernel would. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_store(const float *t, const kiln_sgemm_args *g, int64_t i0, int64_t j0,
                                                     int64_t mr, int64_t nr, int first, int last)
{
    int64_t i, j;
    for (i = 0; i < mr; i++) {
        float *c = g->c + (i0 + i) * g->ldc + j0;
        const float *ti = t + i * KILN_GEMM_NR;
        j = 0;
#ifndef KILN_GENERIC
        if (!last || kiln_sgemm_epi_vector(&g->e))
            for (; j + KILN_VL <= nr; j += KILN_VL) {
                kiln_vf x = *(const kiln_vf *)(ti + j);
                if (!first) x += *(const kiln_vfu *)(c + j);
                if (last) x = kiln_sgemm_epi_v(&g->e, x, i0 + i, j0 + j);
                *(kiln_vfu *)(c + j) = x;
            }
#endif
        for (; j < nr; j++) {
            float x = first ? ti[j] : c[j] + ti[j];
            c[j] = last ? kiln_sgemm_epi_at(&g->e, x, i0 + i, j0 + j) : x;
        }
    }
}

/* Rows [i0, i0+mc) of g's A, k in [k0, k0+kc), packed at run time into
 * panels of the target's tile, by the packer for its layout. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_pack_a_of(float *dst, const kiln_sgemm_args *g, int64_t i0, int64_t mc,
                                                         int64_t k0, int64_t kc)
{
    if (g->ima) kiln_sgemm_pack_a_nhwc(dst, g->ima, g->M, i0, mc, k0, kc, KILN_GEMM_MR, KILN_GEMM_KB);
#ifndef KILN_GENERIC
    else if (g->acs == 1) kiln_sgemm_pack_a_rows(dst, g->a, g->ars, g->M, i0, mc, k0, kc);
#endif
    else kiln_sgemm_pack_a(dst, g->a, g->ars, g->acs, g->M, i0, mc, k0, kc, KILN_GEMM_MR, KILN_GEMM_KB);
}

/* Rows [i0, i1) and columns [j0, j1) of C (both multiples of the tile),
 * with this thread's scratch. */
KILN_TARGET static KILN_UNUSED void kiln_sgemm_part(const kiln_sgemm_args *g, int64_t i0, int64_t i1, int64_t j0,
                                                    int64_t j1, float *scratch)
{
    enum { MR = KILN_GEMM_MR, NR = KILN_GEMM_NR };
    int bmode = kiln_sgemm_b_mode(g->bp != 0, g->im != 0, g->bcs);
    int64_t M = g->M, K = g->K, jc, pc, ic, jr, ir;
    int64_t kcmax = K < 1 ? 1 : kiln_gemm_min(K, KILN_GEMM_KC), Kp = kiln_gemm_round_up(K, KILN_GEMM_KB);
    float *abuf = scratch, *bbuf = abuf + (g->ap ? 0 : kiln_gemm_min(kiln_gemm_round_up(M, MR), KILN_GEMM_MC) *
                                                          kiln_gemm_round_up(kcmax, KILN_GEMM_KB_MAX));
    int vec_epi = kiln_sgemm_epi_vector(&g->e);
    kiln_gemm_tile t;
    for (jc = j0; jc < j1; jc += KILN_GEMM_NC) {
        int64_t nc = kiln_gemm_min(j1 - jc, KILN_GEMM_NC);
        for (pc = 0; pc < K || pc == 0; pc += KILN_GEMM_KC) {
            int64_t kc = kiln_gemm_min(K - pc, KILN_GEMM_KC), bstride = 0, ldb = NR;
            const float *bblk;
            int first = pc == 0, last = pc + KILN_GEMM_KC >= K;
            const kiln_sgemm_epi *e = last && vec_epi && !kiln_sgemm_epi_none(&g->e) ? &g->e : 0;
            if (bmode == KILN_B_PACKED) {
                bblk = g->bp + jc * K + pc * NR; /* panels over the whole K */
                bstride = K * NR;
            } else if (bmode == KILN_B_DIRECT) {
                bblk = g->b + pc * g->brs + jc;
                ldb = g->brs;
            } else {
                if (g->im) kiln_sgemm_pack_im2col(bbuf, g->im, g->N, jc, nc, pc, kc, NR);
                else kiln_sgemm_pack_b(bbuf, g->b, g->brs, g->bcs, g->N, jc, nc, pc, kc, NR);
                bblk = bbuf;
                bstride = kc * NR;
            }
            for (ic = i0; ic < i1; ic += KILN_GEMM_MC) {
                int64_t mc = kiln_gemm_min(i1 - ic, KILN_GEMM_MC), astride;
                const float *ablk;
                if (g->ap) {
                    ablk = g->ap + ic * Kp + pc * MR;
                    astride = Kp * MR;
                } else {
                    kiln_sgemm_pack_a_of(abuf, g, ic, mc, pc, kc);
                    ablk = abuf;
                    astride = kiln_gemm_round_up(kc, KILN_GEMM_KB) * MR;
                }
                for (jr = 0; jr < nc; jr += NR) {
                    int64_t nr = kiln_gemm_min(nc - jr, NR), pldb = ldb;
                    const float *bpan = bmode == KILN_B_DIRECT ? bblk + jr : bblk + jr / NR * bstride;
                    if (nr < NR && bmode == KILN_B_DIRECT) { /* a ragged edge read in place would overrun B */
                        if (ic == i0) kiln_sgemm_pack_b(bbuf, g->b, g->brs, 1, g->N, jc + jr, NR, pc, kc, NR);
                        bpan = bbuf, pldb = NR;
                    }
                    for (ir = 0; ir < mc; ir += MR) {
                        int64_t mr = kiln_gemm_min(mc - ir, MR), slice = (ir / MR - 1) * kc * KILN_GEMM_PF;
                        const float *apan = ablk + ir / MR * astride, *pf = 0;
                        /* pre-packed B comes from memory: a panel's first tile brings it
                         * in, the tiles after it fetch the next panel, a slice each */
                        if (bmode == KILN_B_PACKED && ir > 0 && jr + NR < nc && slice < kc * NR)
                            pf = bpan + bstride + slice;
                        if (nr == NR && (vec_epi || !last) && kiln_sgemm_rows_exact(mr)) {
                            kiln_sgemm_ukr_rows(mr, kc, apan, bpan, pldb, g->c + (ic + ir) * g->ldc + jc + jr, g->ldc,
                                                first, e, ic + ir, jc + jr, pf);
                        } else {
                            kiln_sgemm_ukr_rows(mr, kc, apan, bpan, pldb, t.f, NR, 1, 0, 0, 0, pf);
                            kiln_sgemm_store(t.f, g, ic + ir, jc + jr, mr, nr, first, last);
                        }
                    }
                }
            }
            if (K == 0) break;
        }
    }
}

/* How kiln_sgemm splits a product across n threads: not at all (too little
 * work to pay for waking the pool, or too few rows and columns), by rows
 * (also when A is packed at run time and has many: split by columns, every
 * thread would pack all of it), or by columns. Split by columns with A
 * packed at run time, A is packed once first, each thread packing its share
 * of the rows into a copy they all then read. One rule for the kernel and
 * for the scratch it is given. */
enum { KILN_SPLIT_NONE, KILN_SPLIT_ROWS, KILN_SPLIT_COLS, KILN_SPLIT_COLS_SHARED_A };

static KILN_UNUSED int kiln_sgemm_split(int64_t M, int64_t N, int64_t K, int a_packed, int b_packed, int n, int64_t mr,
                                        int64_t nr)
{
    if (n <= 1 || (double)M * (double)N * (double)K < 1e6) return KILN_SPLIT_NONE;
    if ((N < 4 * n * nr && M >= 2 * n * mr) || (!a_packed && b_packed && M >= 8 * n * mr)) return KILN_SPLIT_ROWS;
    if (N < 2 * nr) return KILN_SPLIT_NONE;
    return a_packed ? KILN_SPLIT_COLS : KILN_SPLIT_COLS_SHARED_A;
}

/* Floats of scratch kiln_sgemm needs with n threads: each thread's, and
 * the shared copy of A where there is one. */
static KILN_UNUSED int64_t kiln_sgemm_scratch_all(int64_t M, int64_t N, int64_t K, int a_packed, int b_mode, int64_t mr,
                                                  int64_t nr, int n)
{
    int shared = kiln_sgemm_split(M, N, K, a_packed, b_mode == KILN_B_PACKED, n, mr, nr) == KILN_SPLIT_COLS_SHARED_A;
    return n * kiln_sgemm_scratch(M, N, K, a_packed || shared, b_mode, mr, nr) +
           (shared ? kiln_gemm_round_up(M, mr) * kiln_gemm_round_up(K, KILN_GEMM_KB_MAX) : 0);
}

typedef struct {
    const kiln_sgemm_args *g;
    float *scratch, *ap; /* ap: the shared copy of A */
    int64_t chunk, stride;
    int by_rows;
} kiln_sgemm_task;

static KILN_UNUSED void kiln_sgemm_task_run(void *ctx, int i)
{
    const kiln_sgemm_task *t = (const kiln_sgemm_task *)ctx;
    int64_t n = t->by_rows ? t->g->M : t->g->N, lo = i * t->chunk, hi = kiln_gemm_min(lo + t->chunk, n);
    float *s = t->scratch + i * t->stride;
    if (lo >= hi) return;
    if (t->by_rows) kiln_sgemm_part(t->g, lo, hi, 0, t->g->N, s);
    else kiln_sgemm_part(t->g, 0, t->g->M, lo, hi, s);
}

/* Task i of packing the shared copy of A: its chunk of rows, all of K. */
static KILN_UNUSED void kiln_sgemm_share_a(void *ctx, int i)
{
    const kiln_sgemm_task *t = (const kiln_sgemm_task *)ctx;
    int64_t lo = i * t->chunk, hi = kiln_gemm_min(lo + t->chunk, t->g->M);
    if (lo < hi)
        kiln_sgemm_pack_a_of(t->ap + lo * kiln_gemm_round_up(t->g->K, KILN_GEMM_KB), t->g, lo, hi - lo, 0, t->g->K);
}

/* The whole product; scratch holds kiln_sgemm_scratch_all(..., KILN_THREADS) floats. */
static KILN_UNUSED void kiln_sgemm(const kiln_sgemm_args *g, float *scratch)
{
    int n = KILN_THREADS, bmode = kiln_sgemm_b_mode(g->bp != 0, g->im != 0, g->bcs);
    int split = kiln_sgemm_split(g->M, g->N, g->K, g->ap != 0, g->bp != 0, n, KILN_GEMM_MR, KILN_GEMM_NR);
    int64_t rows = kiln_gemm_round_up((g->M + n - 1) / n, KILN_GEMM_MR); /* a thread's share of the rows */
    kiln_sgemm_args shared;
    kiln_sgemm_task t;
    if (split == KILN_SPLIT_NONE) {
        kiln_sgemm_part(g, 0, g->M, 0, g->N, scratch);
        return;
    }
    t.g = g, t.scratch = scratch, t.by_rows = split == KILN_SPLIT_ROWS;
    t.stride = kiln_sgemm_scratch(g->M, g->N, g->K, g->ap != 0 || split == KILN_SPLIT_COLS_SHARED_A, bmode,
                                  KILN_GEMM_MR, KILN_GEMM_NR);
    if (split == KILN_SPLIT_COLS_SHARED_A) {
        t.ap = scratch + n * t.stride;
        t.chunk = rows;
        kiln_parallel(n, kiln_sgemm_share_a, &t);
        shared = *g;
        shared.ap = t.ap, shared.a = 0, shared.ima = 0;
        t.g = &shared;
    }
    t.chunk = t.by_rows ? rows : kiln_gemm_round_up((g->N + n - 1) / n, KILN_GEMM_NR);
    kiln_parallel(n, kiln_sgemm_task_run, &t);
}

/* ---- kernels (the uniform kernel ABI) ----------------------------------- */

/* Packed operands: whether A or B arrives pre-packed (panels over the whole K)
 * is a parameter, so one kernel serves weights on either side. */

/*
 * A fused node's epilogue, applied in registers (codegen/lower_linalg.c
 * decides when it can be): y = clamp(product + bias + residual, lo, hi), the
 * bias and residual in[3] and in[4], either absent. p: for each of the two,
 * whether it is there and its strides (batch [r], row, column; 0 where
 * broadcast); then whether to clamp. f: lo, hi.
 */
typedef struct {
    const float *x[2];
    const int64_t *st[2];
    int r;
} kiln_sgemm_fz;

#define KILN_SGEMM_FZ_PARAMS(r) (2 * ((r) + 3) + 1)

static KILN_UNUSED void kiln_sgemm_fz_read(kiln_sgemm_fz *z, kiln_sgemm_epi *e, int r, kiln_ip p, kiln_fp f,
                                           kiln_in in)
{
    int q;
    z->r = r;
    for (q = 0; q < 2; q++, p += r + 3) {
        z->x[q] = p[0] ? (const float *)in[3 + q] : 0;
        z->st[q] = p + 1;
    }
    e->clamp = (int)p[0], e->lo = (float)f[0], e->hi = (float)f[1];
}

/* The adds of batch index idx[r], into e's adds from slot on. */
static KILN_UNUSED void kiln_sgemm_fz_at(const kiln_sgemm_fz *z, kiln_sgemm_epi *e, int slot, const int64_t *idx)
{
    int q, k;
    for (q = 0; q < 2; q++) {
        const int64_t *st = z->st[q];
        int64_t o = 0;
        e->add[slot + q] = 0;
        if (!z->x[q]) continue;
        for (k = 0; k < z->r; k++) o += idx[k] * st[k];
        e->add[slot + q] = z->x[q] + o, e->rs[slot + q] = st[z->r], e->cs[slot + q] = st[z->r + 1];
        e->scale[slot + q] = 1.0f;
    }
}

/*
 * MatMul: y[batch..., M, N] = a[..., M, K] b[..., K, N], then the fused
 * epilogue. p: r, M, N, K, batch dims[r], a batch strides[r], b batch
 * strides[r], a packed, b packed (a packed operand has batch strides 0), the
 * fused epilogue's block. f: its lo, hi. Scratch: out[1].
 */
KILN_KERNEL kiln_matmul_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int r = (int)p[0], k;
    int64_t M = p[1], N = p[2], K = p[3], idx[KILN_KMAX_RANK] = {0}, nb = 1, bi;
    const int64_t *dims = p + 4, *as = dims + r, *bs = as + r;
    int ap = (int)bs[r], bp = (int)bs[r + 1];
    kiln_sgemm_args g;
    kiln_sgemm_fz z;
    memset(&g, 0, sizeof g);
    g.M = M, g.N = N, g.K = K, g.ars = K, g.acs = 1, g.brs = N, g.bcs = 1, g.ldc = N, g.e.alpha = 1.0f;
    kiln_sgemm_fz_read(&z, &g.e, r, bs + r + 2, f, in);
    for (k = 0; k < r; k++) nb *= dims[k];
    for (bi = 0; bi < nb; bi++) {
        int64_t ao = 0, bo = 0;
        for (k = 0; k < r; k++) ao += idx[k] * as[k], bo += idx[k] * bs[k];
        if (ap) g.ap = (const float *)in[0];
        else g.a = (const float *)in[0] + ao;
        if (bp) g.bp = (const float *)in[1];
        else g.b = (const float *)in[1] + bo;
        g.c = (float *)out[0] + bi * M * N;
        kiln_sgemm_fz_at(&z, &g.e, 0, idx);
        kiln_sgemm(&g, (float *)out[1]);
        for (k = r - 1; k >= 0 && ++idx[k] == dims[k]; k--) idx[k] = 0;
    }
}

/*
 * Gemm: y[M,N] = alpha * op(a) op(b) + beta * c, then the fused epilogue.
 * p: M, N, K, a row stride, a col stride, b row stride, b col stride, has c,
 * c row stride, c col stride, a packed, b packed, the fused epilogue's block
 * (r = 0). f: alpha, beta, its lo, hi. Scratch: out[1].
 */
KILN_KERNEL kiln_gemm_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_sgemm_args g;
    kiln_sgemm_fz z;
    memset(&g, 0, sizeof g);
    g.M = p[0], g.N = p[1], g.K = p[2], g.ars = p[3], g.acs = p[4], g.brs = p[5], g.bcs = p[6];
    if (p[10]) g.ap = (const float *)in[0];
    else g.a = (const float *)in[0];
    if (p[11]) g.bp = (const float *)in[1];
    else g.b = (const float *)in[1];
    g.c = (float *)out[0], g.ldc = g.N, g.e.alpha = (float)f[0];
    if (p[7]) g.e.add[0] = (const float *)in[2], g.e.rs[0] = p[8], g.e.cs[0] = p[9], g.e.scale[0] = (float)f[1];
    kiln_sgemm_fz_read(&z, &g.e, 0, p + 12, f + 2, in);
    kiln_sgemm_fz_at(&z, &g.e, 1, 0);
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
/* A 1x1, stride-1, unpadded convolution (OH = H, OW = W rules out a pad at
 * the end): its input is the GEMM operand as it is. */
#define KILN_CONV2D_DIRECT(p)                                                                          \
    ((p)[8] == 1 && (p)[9] == 1 && (p)[10] == 1 && (p)[11] == 1 && (p)[14] == 0 && (p)[15] == 0 && \
     (p)[6] == (p)[4] && (p)[7] == (p)[5])

#define KILN_CONV2D_PARAMS                                                                        \
    int64_t N = p[0], C = p[1], M = p[2], G = p[3], H = p[4], W = p[5], OH = p[6], OW = p[7];    \
    int64_t KH = p[8], KW = p[9], Cg = C / G, Mg = M / G, n, gi;                                 \
    const float *x = (const float *)in[0], *bias = p[16] ? (const float *)in[2] : 0;            \
    float *y = (float *)out[0]

KILN_KERNEL kiln_conv_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    KILN_CONV2D_PARAMS;
    int64_t K = Cg * KH * KW, wstride = kiln_gemm_round_up(Mg, KILN_GEMM_MR) * kiln_gemm_round_up(K, KILN_GEMM_KB);
    int direct = KILN_CONV2D_DIRECT(p);
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
 * 2-D convolution (group 1), channels last: per image, y[OH*OW, M] =
 * im2col(x)[OH*OW, KH*KW*C] w[KH*KW*C, M], the pixels as A (read as a plain
 * matrix when the convolution is 1x1, stride 1, unpadded) and the weights
 * pre-packed as B, so the long side of the product is the pixels'. Bias per
 * column and the clamp in the epilogue. Parameters as kiln_conv_fast_f32;
 * x, y are [N, H, W, C] and [N, OH, OW, M]. Scratch: out[1].
 */
KILN_KERNEL kiln_conv_nhwc_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    KILN_CONV2D_PARAMS;
    int direct = KILN_CONV2D_DIRECT(p);
    kiln_im2col im;
    kiln_sgemm_args g;
    (void)G, (void)Cg, (void)Mg, (void)gi;
    memset(&g, 0, sizeof g);
    im.H = H, im.W = W, im.KH = KH, im.KW = KW, im.OH = OH, im.OW = OW, im.C = C;
    im.sh = p[10], im.sw = p[11], im.dh = p[12], im.dw = p[13], im.ph = p[14], im.pw = p[15];
    g.M = OH * OW, g.N = M, g.K = KH * KW * C, g.ldc = M, g.bp = (const float *)in[1];
    kiln_sgemm_epi_bias_clamp(&g.e, bias, (int)p[17], f[0], f[1]);
    g.ars = C, g.acs = 1;
    for (n = 0; n < N; n++) {
        if (direct) g.a = x + n * H * W * C;
        else im.x = x + n * H * W * C, g.ima = &im;
        g.c = y + n * OH * OW * M;
        kiln_sgemm(&g, (float *)out[1]);
    }
}

/* [*owa, *owb): the output columns of a convolution whose kernel columns
 * all fall inside the input's W columns (owa: the first with ow*sw - pw >=
 * 0; owb: past the last with ow*sw - pw + (KW-1)*dw <= W-1). */
static KILN_UNUSED void kiln_conv_cols_inside(int64_t W, int64_t OW, int64_t KW, int64_t sw, int64_t dw, int64_t pw,
                                              int64_t *owa, int64_t *owb)
{
    int64_t span = W - 1 - (KW - 1) * dw + pw;
    *owa = kiln_gemm_min((pw + sw - 1) / sw, OW);
    *owb = span < 0 ? 0 : kiln_gemm_min(span / sw + 1, OW);
}

/*
 * 2-D convolution (group 1) from a channels-first input to a channels-last
 * output: a network's first convolution, whose few input channels make
 * channels-last windows short. y[OH*OW, M] = im2col(x)[OH*OW, C*KH*KW]
 * w[C*KH*KW, M], k = (c*KH + kh)*KW + kw, the weights pre-packed as B. A
 * tile is MR consecutive pixels of one output row: where all their taps are
 * inside the image and the column stride is 1 or 2, the micro-kernel reads
 * them in place (pixel i of tap k at x[off[k] + i*sw] past the tile's
 * corner); any other tile is packed first, zero where a tap is in the pad.
 * Output rows are split across threads. Parameters as kiln_conv_fast_f32;
 * x is [N, C, H, W], y [N, OH, OW, M]. Scratch: out[1],
 * kiln_conv_nchw_scratch(K, MR) floats a thread.
 */
typedef struct {
    const float *x, *w;
    float *y;
    const int64_t *p;
    kiln_sgemm_epi e;
    float *scratch;
    int64_t chunk;
} kiln_conv_nchw_task;

#ifndef KILN_GENERIC
/* A full tile read in place, SX the column stride. */
KILN_TARGET_FMA static inline __attribute__((always_inline)) void
kiln_sgemm_ukr_x_body(int SX, int64_t K, const float *x, const int64_t *off, const float *b, float *c, int64_t ldc,
                      const kiln_sgemm_epi *e, int64_t i0, int64_t j0)
{
    kiln_vf acc[KILN_GEMM_MR][KILN_NV];
    int64_t k;
    int i, v;
    kiln_sgemm_ukr_start(KILN_GEMM_MR, acc, c, ldc);
    for (k = 0; k < K; k++, b += KILN_GEMM_NR) {
        const float *xk = x + off[k];
        kiln_vf bv[KILN_NV];
        for (v = 0; v < KILN_NV; v++) bv[v] = *(const kiln_vfu *)(b + v * KILN_VL);
        for (i = 0; i < KILN_GEMM_MR; i++)
            for (v = 0; v < KILN_NV; v++) acc[i][v] += bv[v] * xk[i * SX];
    }
    kiln_sgemm_ukr_end(KILN_GEMM_MR, acc, c, ldc, 1, e, i0, j0);
}

KILN_TARGET_FMA static void kiln_sgemm_ukr_x1(int64_t K, const float *x, const int64_t *off, const float *b, float *c,
                                              int64_t ldc, const kiln_sgemm_epi *e, int64_t i0, int64_t j0)
{
    kiln_sgemm_ukr_x_body(1, K, x, off, b, c, ldc, e, i0, j0);
}

KILN_TARGET_FMA static void kiln_sgemm_ukr_x2(int64_t K, const float *x, const int64_t *off, const float *b, float *c,
                                              int64_t ldc, const kiln_sgemm_epi *e, int64_t i0, int64_t j0)
{
    kiln_sgemm_ukr_x_body(2, K, x, off, b, c, ldc, e, i0, j0);
}
#endif

/* The taps of a kiln_conv_nchw_task: tap k at (th[k], tw[k]) from a
 * window's corner, off[k] floats past it in x. */
typedef struct {
    int64_t *off, *th, *tw;
} kiln_conv_nchw_taps;

/* Floats of scratch a thread needs with tiles of mr rows: a panel and the taps. */
static KILN_UNUSED int64_t kiln_conv_nchw_scratch(int64_t K, int64_t mr)
{
    return mr * kiln_gemm_round_up(K, KILN_GEMM_KB_MAX) + 6 * K;
}

/* mr pixels of output row oh from column ow packed as an A panel, zero in
 * the pad, and their product into C's columns from j0 on. */
KILN_TARGET static KILN_UNUSED void kiln_conv_nchw_packed(const kiln_conv_nchw_task *t, const kiln_conv_nchw_taps *tp,
                                                          const kiln_sgemm_args *g, const float *x, int64_t oh,
                                                          int64_t ow, int64_t mr, int64_t j0, float *panel)
{
    enum { MR = KILN_GEMM_MR, NR = KILN_GEMM_NR, KB = KILN_GEMM_KB };
    const int64_t *p = t->p;
    int64_t M = p[2], H = p[4], W = p[5], K = p[1] * p[8] * p[9], sw = p[11];
    int64_t ih0 = oh * p[10] - p[14], iw0 = ow * sw - p[15], i0 = oh * p[7] + ow, i, k, j;
    kiln_gemm_tile tile;
    for (i = 0; i < kiln_sgemm_rows_read(mr); i++)
        for (k = 0; k < K; k++) {
            int64_t ih = ih0 + tp->th[k], iw = iw0 + i * sw + tp->tw[k];
            int in = i < mr && ih >= 0 && ih < H && iw >= 0 && iw < W;
            panel[kiln_sgemm_apan_at(i, k, MR, KB)] = in ? x[ih0 * W + iw0 + tp->off[k] + i * sw] : 0.0f;
        }
    for (j = j0; j < M; j += NR) {
        if (M - j >= NR && kiln_sgemm_rows_exact(mr)) {
            kiln_sgemm_ukr_rows(mr, K, panel, t->w + j * K, NR, g->c + i0 * M + j, M, 1,
                                kiln_sgemm_epi_none(&g->e) ? 0 : &g->e, i0, j, 0);
        } else {
            kiln_sgemm_ukr_rows(mr, K, panel, t->w + j * K, NR, tile.f, NR, 1, 0, 0, 0, 0);
            kiln_sgemm_store(tile.f, g, i0, j, mr, kiln_gemm_min(NR, M - j), 1, 1);
        }
    }
}

/* Rows [r0, r1) of the N*OH output rows. In a row whose kernel rows are
 * all inside, the columns [owa, owb) whose taps are all inside run in
 * place, MR at a time, the last tile moved back to overlap the one before
 * (its pixels computed twice, the same way); the rest are packed. */
KILN_TARGET static KILN_UNUSED void kiln_conv_nchw_rows(const kiln_conv_nchw_task *t, int64_t r0, int64_t r1,
                                                        float *scratch)
{
    enum { MR = KILN_GEMM_MR, NR = KILN_GEMM_NR };
    const int64_t *p = t->p;
    int64_t C = p[1], M = p[2], H = p[4], W = p[5], OH = p[6], OW = p[7], KH = p[8], KW = p[9];
    int64_t sh = p[10], sw = p[11], dh = p[12], dw = p[13], ph = p[14], pw = p[15], K = C * KH * KW;
    int64_t owa, owb, r, ow, k;
    float *panel = scratch;
    kiln_conv_nchw_taps tp;
    kiln_sgemm_args g; /* C and the epilogue, for kiln_sgemm_store */
    tp.off = (int64_t *)(void *)(scratch + KILN_GEMM_MR * kiln_gemm_round_up(K, KILN_GEMM_KB_MAX));
    tp.th = tp.off + K, tp.tw = tp.th + K;
    kiln_conv_cols_inside(W, OW, KW, sw, dw, pw, &owa, &owb);
    for (k = 0; k < K; k++) {
        tp.th[k] = k / KW % KH * dh, tp.tw[k] = k % KW * dw;
        tp.off[k] = k / (KH * KW) * H * W + tp.th[k] * W + tp.tw[k];
    }
    memset(&g, 0, sizeof g);
    g.ldc = M, g.e = t->e;
    for (r = r0; r < r1; r++) {
        int64_t n = r / OH, oh = r % OH, ih0 = oh * sh - ph;
        const float *x = t->x + n * C * H * W;
        /* whether this row has in-place tiles */
        int fast = ih0 >= 0 && ih0 + (KH - 1) * dh < H && owb - owa >= MR && (sw == 1 || sw == 2);
#ifdef KILN_GENERIC
        fast = 0;
#endif
        g.c = t->y + n * OH * OW * M;
        for (ow = 0; ow < OW;) {
            if (fast && ow >= owa && ow < owb) {
#ifndef KILN_GENERIC
                int64_t s = kiln_gemm_min(ow, owb - MR), i0 = oh * OW + s, j;
                const float *corner = x + ih0 * W + s * sw - pw;
                for (j = 0; j + NR <= M; j += NR)
                    if (sw == 1) kiln_sgemm_ukr_x1(K, corner, tp.off, t->w + j * K, g.c + i0 * M + j, M, &g.e, i0, j);
                    else kiln_sgemm_ukr_x2(K, corner, tp.off, t->w + j * K, g.c + i0 * M + j, M, &g.e, i0, j);
                if (j < M) kiln_conv_nchw_packed(t, &tp, &g, x, oh, s, MR, j, panel); /* a ragged last panel of B */
                ow = s + MR;
#endif
            } else {
                int64_t mr = kiln_gemm_min(MR, (fast && ow < owa ? owa : OW) - ow);
                kiln_conv_nchw_packed(t, &tp, &g, x, oh, ow, mr, 0, panel);
                ow += mr;
            }
        }
    }
}

static KILN_UNUSED void kiln_conv_nchw_task_run(void *ctx, int i)
{
    const kiln_conv_nchw_task *t = (const kiln_conv_nchw_task *)ctx;
    const int64_t *p = t->p;
    int64_t rows = p[0] * p[6], r0 = i * t->chunk, r1 = kiln_gemm_min(r0 + t->chunk, rows);
    if (r0 < r1) kiln_conv_nchw_rows(t, r0, r1, t->scratch + i * kiln_conv_nchw_scratch(p[1] * p[8] * p[9], KILN_GEMM_MR));
}

KILN_KERNEL kiln_conv_nchw_nhwc_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_conv_nchw_task t;
    memset(&t, 0, sizeof t);
    t.x = (const float *)in[0], t.w = (const float *)in[1], t.y = (float *)out[0], t.p = p;
    t.scratch = (float *)out[1];
    kiln_sgemm_epi_bias_clamp(&t.e, p[16] ? (const float *)in[2] : 0, (int)p[17], f[0], f[1]);
    kiln_parallel_chunks(p[0] * p[6], &t.chunk, kiln_conv_nchw_task_run, &t);
}

/*
 * Depthwise convolution (group = C = M), direct. Each channel is first copied
 * into a zero-bordered plane whose rows are split into the sw phases of the
 * column stride (phase q holds padded columns q, q + sw, ...), so that for
 * every tap (kh, kw) the inputs of consecutive outputs of a row are
 * consecutive floats: each output vector is KH*KW vector loads and FMAs,
 * then bias and clamp in registers, with no edge cases. Parameters as
 * kiln_conv_fast_f32, but the weights are as ONNX has them, [C, 1, KH, KW].
 */
typedef struct {
    int64_t Hp, Wq; /* the plane: Hp rows of sw phases of Wq floats */
} kiln_dw_plane;

/* vl: the target's vector length in floats (the compiler sizes scratch for the target) */
static KILN_UNUSED kiln_dw_plane kiln_dw_geometry(int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                                                  int64_t dh, int64_t dw, int64_t vl)
{
    kiln_dw_plane g;
    /* a row is computed in whole vectors: the last one reads up to vl - 1 columns past OW */
    int64_t wpad = (kiln_gemm_round_up(OW, vl) - 1) * sw + (KW - 1) * dw + 1;
    g.Hp = (OH - 1) * sh + (KH - 1) * dh + 1;
    g.Wq = (wpad + sw - 1) / sw;
    return g;
}

/* Floats of scratch per thread: one plane, and a vector of room past it. */
static KILN_UNUSED int64_t kiln_dwconv_scratch(int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                                               int64_t dh, int64_t dw, int64_t vl)
{
    kiln_dw_plane g = kiln_dw_geometry(OH, OW, KH, KW, sh, sw, dh, dw, vl);
    return g.Hp * sw * g.Wq + vl;
}

typedef struct {
    kiln_ip p;
    kiln_fp f;
    kiln_in in;
    kiln_out out;
    int64_t chunk, stride;
} kiln_dw_task;

/* Output rows of one channel from its plane: taps t at plane offsets off[t]
 * (from the start of an output row's first plane row), weights w[t]. Inlined
 * with ntaps constant for 3x3, so the taps unroll into registers. */
KILN_TARGET_FMA static inline __attribute__((always_inline)) void
kiln_dwconv_rows(int ntaps, const float *plane, int64_t rowstep, const int64_t *off, const float *w, float b, int clamp,
                 float lo, float hi, float *y, int64_t OH, int64_t OW, const float *yend)
{
    int64_t oh, ow;
    int t;
    for (oh = 0; oh < OH; oh++, y += OW, plane += rowstep) {
#ifndef KILN_GENERIC
        for (ow = 0; ow < OW; ow += KILN_VL) {
            kiln_vf acc = kiln_vsplat(b);
            for (t = 0; t < ntaps; t++) acc += w[t] * *(const kiln_vfu *)(plane + off[t] + ow);
            if (clamp) acc = kiln_vclamp(acc, kiln_vsplat(lo), kiln_vsplat(hi));
            /* a whole vector past the row's end lands on outputs this thread computes after it */
            if (y + ow + KILN_VL <= yend) {
                *(kiln_vfu *)(y + ow) = acc;
            } else {
                int64_t j;
                for (j = 0; ow + j < OW; j++) y[ow + j] = acc[j];
            }
        }
#else
        (void)yend;
        for (ow = 0; ow < OW; ow++) {
            float acc = b;
            for (t = 0; t < ntaps; t++) acc += w[t] * plane[off[t] + ow];
            if (clamp) acc = acc < lo ? lo : acc > hi ? hi : acc;
            y[ow] = acc;
        }
#endif
    }
}

#define KILN_DW_MAX_TAPS 64

/* n floats from src to dst, in whole vectors: a ragged end (or a row shorter
 * than a vector) is blended into what dst holds, reading src no further than
 * end. dst has a vector of room past n. */
KILN_TARGET static inline void kiln_dw_copy(float *dst, const float *src, int64_t n, const float *end)
{
    int64_t u = 0;
#ifndef KILN_GENERIC
    for (; u + KILN_VL <= n; u += KILN_VL) *(kiln_vfu *)(dst + u) = *(const kiln_vfu *)(src + u);
    if (u < n && src + u + KILN_VL <= end) {
        kiln_vi lane;
        int j;
        for (j = 0; j < KILN_VL; j++) lane[j] = j;
        *(kiln_vfu *)(dst + u) = kiln_vsel(lane < (int32_t)(n - u), *(const kiln_vfu *)(src + u), *(kiln_vfu *)(dst + u));
        return;
    }
#else
    (void)end;
#endif
    for (; u < n; u++) dst[u] = src[u];
}

KILN_TARGET_FMA static KILN_UNUSED void kiln_dwconv_channel(const kiln_dw_task *t, int64_t ci, float *plane,
                                                            const float *yend)
{
    kiln_ip p = t->p;
    kiln_in in = t->in;
    int64_t C = p[1], H = p[4], W = p[5], OH = p[6], OW = p[7], KH = p[8], KW = p[9], sh = p[10], sw = p[11];
    int64_t dh = p[12], dw = p[13], ph = p[14], pw = p[15], c = ci % C, r, q, u, kh, kw;
    int64_t off[KILN_DW_MAX_TAPS];
    kiln_dw_plane g = kiln_dw_geometry(OH, OW, KH, KW, sh, sw, dh, dw, KILN_VL);
    const float *w = (const float *)in[1] + c * KH * KW, *x = (const float *)in[0] + ci * H * W;
    float *y = (float *)t->out[0] + ci * OH * OW, b = p[16] ? ((const float *)in[2])[c] : 0.0f;
    float lo = (float)t->f[0], hi = (float)t->f[1];
    int clamp = (int)p[17];
    /* the plane: padded column col = u * sw + q of padded row r is x[r - ph][col - pw]; the
     * zeros around it were written once per thread (kiln_dwconv_chunk) and are never overwritten */
    for (q = 0; q < sw; q++) {
        /* u where 0 <= u * sw + q - pw < W */
        int64_t u0 = pw - q <= 0 ? 0 : (pw - q + sw - 1) / sw, u1 = (W + pw - q + sw - 1) / sw;
        if (u1 > g.Wq) u1 = g.Wq;
        if (u0 >= u1) continue;
        for (r = ph > 0 ? ph : 0; r < g.Hp && r - ph < H; r++) {
            float *dst = plane + (r * sw + q) * g.Wq + u0;
            const float *src = x + (r - ph) * W + u0 * sw + q - pw;
            if (sw == 1) kiln_dw_copy(dst, src, u1 - u0, x + H * W);
            else if (sw == 2) for (u = 0; u < u1 - u0; u++) dst[u] = src[2 * u]; /* a constant stride vectorises */
            else for (u = 0; u < u1 - u0; u++) dst[u] = src[u * sw];
        }
    }
    /* tap (kh, kw) of output (oh, ow): padded row oh * sh + kh * dh, column ow * sw + kw * dw */
    if (KH * KW <= KILN_DW_MAX_TAPS) {
        for (kh = 0; kh < KH; kh++)
            for (kw = 0; kw < KW; kw++) off[kh * KW + kw] = (kh * dh * sw + kw * dw % sw) * g.Wq + kw * dw / sw;
        if (KH * KW == 9) kiln_dwconv_rows(9, plane, sh * sw * g.Wq, off, w, b, clamp, lo, hi, y, OH, OW, yend);
        else kiln_dwconv_rows((int)(KH * KW), plane, sh * sw * g.Wq, off, w, b, clamp, lo, hi, y, OH, OW, yend);
        return;
    }
    for (kh = 0; kh < KH; kh++) /* a kernel this large: one row of taps at a time */
        for (kw = 0; kw < KW; kw++) {
            int64_t o = (kh * dh * sw + kw * dw % sw) * g.Wq + kw * dw / sw, oh, ow;
            float wv = w[kh * KW + kw];
            for (oh = 0; oh < OH; oh++)
                for (ow = 0; ow < OW; ow++) {
                    float *yo = y + oh * OW + ow, v = plane[oh * sh * sw * g.Wq + o + ow] * wv;
                    *yo = kh == 0 && kw == 0 ? b + v : *yo + v;
                    if (clamp && kh == KH - 1 && kw == KW - 1) *yo = *yo < lo ? lo : *yo > hi ? hi : *yo;
                }
        }
}

/* A thread's share of the channels (of all images), with its own plane. */
static KILN_UNUSED void kiln_dwconv_chunk(void *ctx, int i)
{
    const kiln_dw_task *t = (const kiln_dw_task *)ctx;
    int64_t total = t->p[0] * t->p[1], k = i * t->chunk, end = k + t->chunk < total ? k + t->chunk : total;
    float *plane = (float *)t->out[1] + i * t->stride;
    if (k < end) memset(plane, 0, (size_t)t->stride * sizeof *plane); /* the padding, for all its channels */
    for (; k < end; k++) kiln_dwconv_channel(t, k, plane, (float *)t->out[0] + end * t->p[6] * t->p[7]);
}

/* Scratch out[1]: KILN_THREADS * kiln_dwconv_scratch(...) floats. */
KILN_KERNEL kiln_dwconv_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    kiln_dw_task t;
    int n = KILN_THREADS;
    t.p = p, t.f = f, t.in = in, t.out = out;
    t.chunk = (p[0] * p[1] + n - 1) / n;
    t.stride = kiln_dwconv_scratch(p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], KILN_VL);
    kiln_parallel(n, kiln_dwconv_chunk, &t);
}

/*
 * Attention through the GEMM: per batch index, S = scale * Q KT + mask into
 * scratch, softmax of each row in place, y = S V. With threads, the batch
 * indices are split across them, each with its own S and GEMM scratch (a
 * single batch index splits its products instead). Parameters as
 * kiln_attention_f32 (kernels/c/fused.h, its reference); scratch out[1]:
 * kiln_attention_scratch floats.
 */
static KILN_UNUSED int64_t kiln_attention_scratch(int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, int64_t mr, int64_t nr,
                                                  int64_t threads)
{
    /* both products pack B where it is strided (a transpose read in place);
     * their depth is at most KC a block */
    int64_t s = kiln_gemm_round_up(Sq * Sk, 16);
    int64_t one = s + kiln_sgemm_scratch(Sq, Sk > Dv ? Sk : Dv, KILN_GEMM_KC, 0, KILN_B_PACK, mr, nr);
    /* one batch index: S, then each product split across the threads */
    int64_t qk = kiln_sgemm_scratch_all(Sq, Sk, D, 0, KILN_B_PACK, mr, nr, (int)threads);
    int64_t pv = kiln_sgemm_scratch_all(Sq, Dv, Sk, 0, KILN_B_PACK, mr, nr, (int)threads);
    int64_t pooled = s + (qk > pv ? qk : pv);
    return threads * one > pooled ? threads * one : pooled;
}

#ifndef KILN_GENERIC
/* e^x in each lane, within 2 ulps of the exact value, as expf rounds NaN,
 * +-Inf, overflow and underflow (subnormal results included): x = n ln2 + r
 * with |r| <= ln2/2 (Cody-Waite, ln2 in two parts), e^r by Cephes' expf
 * polynomial, then 2^n applied as two powers of two that are both normal, so
 * that a subnormal result is rounded once. */
KILN_TARGET_FMA static inline kiln_vf kiln_vexp(kiln_vf x)
{
    const kiln_vf round = kiln_vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    kiln_vf xc = kiln_vsel(x > 89.0f, kiln_vsplat(89.0f), kiln_vsel(x < -104.0f, kiln_vsplat(-104.0f), x));
    kiln_vf t = xc * 1.44269504088896341f + round, n = t - round, r, p;
    kiln_vi ni = (kiln_vi)t - (kiln_vi)round, n1 = ni >> 1, n2 = ni - n1;
    r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    p = p * (kiln_vf)((n1 + 127) << 23) * (kiln_vf)((n2 + 127) << 23);
    return kiln_vsel(x != x, x, p);
}

/* The lanes of s[j..n) (fewer than a vector at the end of a row), the rest pad. */
KILN_TARGET static inline kiln_vf kiln_vload_tail(const float *s, int64_t j, int64_t n, float pad)
{
    kiln_vf v = kiln_vsplat(pad);
    int l;
    for (l = 0; j + l < n; l++) v[l] = s[j + l];
    return v;
}
#endif

/* Softmax of each row of s in place: the max (NaNs ignored, as the
 * reference's comparisons do), e^(x - max) and its sum, then the scale. */
KILN_TARGET_FMA static KILN_UNUSED void kiln_softmax_rows(float *s, int64_t rows, int64_t n)
{
    int64_t i, j;
    for (i = 0; i < rows; i++, s += n) {
        float mx = -INFINITY, sum = 0.0f, inv;
#ifndef KILN_GENERIC
        kiln_vf vm = kiln_vsplat(-INFINITY), vs = kiln_vsplat(0.0f), x;
        int l;
        for (j = 0; j + KILN_VL <= n; j += KILN_VL) x = *(const kiln_vfu *)(s + j), vm = kiln_vsel(x > vm, x, vm);
        if (j < n) x = kiln_vload_tail(s, j, n, -INFINITY), vm = kiln_vsel(x > vm, x, vm);
        for (l = 0; l < KILN_VL; l++) mx = vm[l] > mx ? vm[l] : mx;
        for (j = 0; j + KILN_VL <= n; j += KILN_VL) {
            x = kiln_vexp(*(const kiln_vfu *)(s + j) - mx);
            *(kiln_vfu *)(s + j) = x;
            vs += x;
        }
        if (j < n) {
            x = kiln_vexp(kiln_vload_tail(s, j, n, -INFINITY) - mx);
            for (l = 0; j + l < n; l++) s[j + l] = x[l];
            vs += x; /* the padding's e^-Inf is 0 */
        }
        for (l = 0; l < KILN_VL; l++) sum += vs[l];
        inv = 1.0f / sum;
        for (j = 0; j + KILN_VL <= n; j += KILN_VL) *(kiln_vfu *)(s + j) *= inv;
        for (; j < n; j++) s[j] *= inv;
#else
        for (j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
        for (j = 0; j < n; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        inv = 1.0f / sum;
        for (j = 0; j < n; j++) s[j] *= inv;
#endif
    }
}

typedef struct {
    kiln_ip p;
    kiln_fp f;
    kiln_in in;
    kiln_out out;
    int64_t chunk; /* batch indices per task */
} kiln_attention_task;

/* Batch indices [b0, b1) with scores s and GEMM scratch gs; pooled: each
 * product may split across the threads (gs holds scratch for all of them). */
static KILN_UNUSED void kiln_attention_range(const kiln_attention_task *t, int64_t b0, int64_t b1, float *s, float *gs,
                                             int pooled)
{
    kiln_ip p = t->p;
    int r = (int)p[0], k;
    const int64_t *dims = p + 1, *qs = dims + r, *ks = qs + r, *vs = ks + r, *ms = vs + r, *g = ms + r;
    const int64_t *e = g + 7, *ys = e + 6; /* operand strides: see kiln_attention_f32 */
    int64_t Sq = g[0], Sk = g[1], D = g[2], Dv = g[3], idx[KILN_KMAX_RANK] = {0}, bi, rest = b0;
    const float *Q = (const float *)t->in[0], *K = (const float *)t->in[1], *V = (const float *)t->in[2];
    const float *mask = g[4] ? (const float *)t->in[3] : 0;
    float *Y = (float *)t->out[0];
    kiln_sgemm_args qk, pv;
    memset(&qk, 0, sizeof qk);
    memset(&pv, 0, sizeof pv);
    qk.M = Sq, qk.N = Sk, qk.K = D, qk.ars = e[0], qk.acs = e[1], qk.brs = e[2], qk.bcs = e[3], qk.c = s, qk.ldc = Sk;
    qk.e.alpha = (float)t->f[0];
    if (mask) qk.e.rs[0] = g[5], qk.e.cs[0] = g[6], qk.e.scale[0] = 1.0f;
    pv.M = Sq, pv.N = Dv, pv.K = Sk, pv.a = s, pv.ars = Sk, pv.acs = 1, pv.brs = e[4], pv.bcs = e[5], pv.ldc = ys[r];
    pv.e.alpha = 1.0f;
    for (k = r - 1; k >= 0; k--) idx[k] = rest % dims[k], rest /= dims[k];
    for (bi = b0; bi < b1; bi++) {
        int64_t qo = 0, ko = 0, vo = 0, mo = 0, yo = 0;
        for (k = 0; k < r; k++)
            qo += idx[k] * qs[k], ko += idx[k] * ks[k], vo += idx[k] * vs[k], mo += idx[k] * ms[k], yo += idx[k] * ys[k];
        qk.a = Q + qo, qk.b = K + ko;
        if (mask) qk.e.add[0] = mask + mo;
        if (pooled) kiln_sgemm(&qk, gs);
        else kiln_sgemm_part(&qk, 0, Sq, 0, Sk, gs);
        kiln_softmax_rows(s, Sq, Sk);
        pv.b = V + vo, pv.c = Y + yo;
        if (pooled) kiln_sgemm(&pv, gs);
        else kiln_sgemm_part(&pv, 0, Sq, 0, Dv, gs);
        for (k = r - 1; k >= 0 && ++idx[k] == dims[k]; k--) idx[k] = 0;
    }
}

/* The number of batch indices: the product of p's batch dims. */
static KILN_UNUSED int64_t kiln_attention_batches(kiln_ip p)
{
    int64_t nb = 1, k;
    for (k = 0; k < p[0]; k++) nb *= p[1 + k];
    return nb;
}

static KILN_UNUSED void kiln_attention_task_run(void *ctx, int i)
{
    const kiln_attention_task *t = (const kiln_attention_task *)ctx;
    const int64_t *g = t->p + 1 + 5 * t->p[0];
    int64_t nb = kiln_attention_batches(t->p), b0 = i * t->chunk, b1 = kiln_gemm_min(b0 + t->chunk, nb);
    int64_t per = kiln_attention_scratch(g[0], g[1], g[2], g[3], KILN_GEMM_MR, KILN_GEMM_NR, 1);
    float *s = (float *)t->out[1] + i * per;
    if (b0 < b1) kiln_attention_range(t, b0, b1, s, s + kiln_gemm_round_up(g[0] * g[1], 16), 0);
}

KILN_KERNEL kiln_attention_fast_f32(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    const int64_t *g = p + 1 + 5 * p[0];
    int64_t nb = kiln_attention_batches(p), n = KILN_THREADS;
    float *s = (float *)out[1];
    kiln_attention_task t;
    t.p = p, t.f = f, t.in = in, t.out = out, t.chunk = (nb + n - 1) / n;
    /* the batch indices across the threads when each gets one and there is work enough to wake them */
    if (n > 1 && nb >= n && (double)nb * (double)g[0] * (double)g[1] * (double)(g[2] + g[3]) >= 1e6)
        kiln_parallel((int)n, kiln_attention_task_run, &t);
    else
        kiln_attention_range(&t, 0, nb, s, s + kiln_gemm_round_up(g[0] * g[1], 16), 1);
}

#endif
