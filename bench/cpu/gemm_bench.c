/* gemm_bench.c — GFLOP/s of kernels/c/gemm.h on an fp32 GEMM, against the
 * single-core peak. Built and run by bench/cpu/gemm_bench.sh:
 *
 *   gemm_bench [N] [REPEATS]             an N^3 product, B pre-packed (a weight)
 *   gemm_bench M N K REPEATS conv        a 1x1 convolution: A the pre-packed
 *                                        weights, B the input read in place,
 *                                        bias and ReLU in the epilogue
 *   gemm_bench M N K REPEATS nhwc        the same channels last: A the pixels
 *                                        (packed at run time), B the weights
 *                                        pre-packed, a bias per column
 *
 * Times are per-thread CPU time (the machine is shared: wall time also counts
 * the time other processes hold the core) and wall time; the median of the
 * repeats is reported. The result is checked against a plain triple loop in
 * double. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../kernels/c/gemm.h"

static double secs(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *alloc_floats(int64_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (size_t)(n > 0 ? n : 1) * sizeof(float)) != 0) exit(3);
    return p;
}

static float *random_floats(int64_t n, uint32_t *s)
{
    float *p = alloc_floats(n);
    int64_t i;
    for (i = 0; i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        p[i] = (float)(*s >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

int main(int argc, char **argv)
{
    int conv = argc > 5 && strcmp(argv[5], "conv") == 0, nhwc = argc > 5 && strcmp(argv[5], "nhwc") == 0;
    int64_t M = argc > 3 ? atoll(argv[1]) : argc > 1 ? atoll(argv[1]) : 1024;
    int64_t N = argc > 3 ? atoll(argv[2]) : M, K = argc > 3 ? atoll(argv[3]) : M, i, j, k;
    int reps = argc > 4 ? atoi(argv[4]) : argc == 3 ? atoi(argv[2]) : 10, r;
    uint32_t s = 12345;
    float *a = random_floats(M * K, &s), *b = random_floats(K * N, &s), *bias = random_floats(M > N ? M : N, &s);
    float *c = alloc_floats(M * N), *pk, *scratch;
    double *cpu = malloc(sizeof *cpu * (size_t)reps), *wall = malloc(sizeof *wall * (size_t)reps), err = 0;
    kiln_sgemm_args g;
    memset(&g, 0, sizeof g);
    g.M = M, g.N = N, g.K = K, g.c = c, g.ldc = N, g.e.alpha = 1.0f;
    if (conv) { /* weights packed as A, the input read in place as B */
        pk = alloc_floats(kiln_gemm_round_up(M, KILN_GEMM_MR) * kiln_gemm_round_up(K, KILN_GEMM_KB));
        kiln_sgemm_pack_a(pk, a, K, 1, M, 0, kiln_gemm_round_up(M, KILN_GEMM_MR), 0, K, KILN_GEMM_MR, KILN_GEMM_KB);
        g.ap = pk, g.b = b, g.brs = N, g.bcs = 1;
        g.e.add[0] = bias, g.e.rs[0] = 1, g.e.scale[0] = 1.0f, g.e.clamp = 1, g.e.lo = 0.0f, g.e.hi = 1e30f;
    } else { /* weights packed as B */
        pk = alloc_floats(kiln_gemm_round_up(N, KILN_GEMM_NR) * K);
        kiln_sgemm_pack_b(pk, b, N, 1, N, 0, kiln_gemm_round_up(N, KILN_GEMM_NR), 0, K, KILN_GEMM_NR);
        g.a = a, g.ars = K, g.acs = 1, g.bp = pk;
        if (nhwc) kiln_sgemm_epi_bias_clamp(&g.e, bias, 1, 0.0, 1e30);
    }
    scratch = alloc_floats(kiln_sgemm_scratch_all(M, N, K, g.ap != 0, kiln_sgemm_b_mode(g.bp != 0, 0, g.bcs),
                                                  KILN_GEMM_MR, KILN_GEMM_NR, KILN_THREADS));
    kiln_sgemm(&g, scratch); /* warm-up */
    for (r = 0; r < reps; r++) {
        double c0 = secs(CLOCK_THREAD_CPUTIME_ID), w0 = secs(CLOCK_MONOTONIC);
        kiln_sgemm(&g, scratch);
        cpu[r] = secs(CLOCK_THREAD_CPUTIME_ID) - c0;
        wall[r] = secs(CLOCK_MONOTONIC) - w0;
    }
    for (i = 0; i < M; i += 1 + M / 11) /* spot-check rows against double precision */
        for (j = 0; j < N; j++) {
            double acc = 0, d;
            for (k = 0; k < K; k++) acc += (double)a[i * K + k] * b[k * N + j];
            if (conv) acc = acc + bias[i] < 0 ? 0 : acc + bias[i];
            if (nhwc) acc = acc + bias[j] < 0 ? 0 : acc + bias[j];
            d = acc - c[i * N + j];
            if (d < 0) d = -d;
            if (d > err) err = d;
        }
    qsort(cpu, (size_t)reps, sizeof *cpu, cmp);
    qsort(wall, (size_t)reps, sizeof *wall, cmp);
    printf("%s %lldx%lldx%lld fp32 (vec %d bytes, tile %dx%d): median %.2f GFLOP/s (thread CPU time), "
           "%.2f GFLOP/s (wall), max abs error %.2e\n",
           conv ? "conv1x1" : nhwc ? "conv1x1 nhwc" : "gemm", (long long)M, (long long)N, (long long)K, KILN_VEC_BYTES, KILN_GEMM_MR,
           KILN_GEMM_NR, 2.0 * M * N * K / cpu[reps / 2] / 1e9, 2.0 * M * N * K / wall[reps / 2] / 1e9, err);
    return err > 1e-3 * K ? 1 : 0;
}
