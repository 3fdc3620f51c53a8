/* gemm_bench.c — GFLOP/s of kernels/c/gemm.h on an fp32 GEMM, against the
 * single-core peak. Built and run by bench/cpu/gemm_bench.sh:
 *
 *   gemm_bench [N] [REPEATS]     (default 1024, 10)
 *
 * B is pre-packed (as kiln packs weights at compile time); A is packed at
 * run time. Times are per-thread CPU time (the machine is shared: wall time
 * also counts the time other processes hold the core) and wall time; the
 * median of the repeats is reported. The result is checked against a plain
 * triple loop in double. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
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
    if (posix_memalign(&p, 64, (size_t)n * sizeof(float)) != 0) exit(3);
    return p;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 1024, i, j, k;
    int reps = argc > 2 ? atoi(argv[2]) : 10, r;
    int64_t np = kiln_gemm_round_up(n, KILN_GEMM_NR);
    float *a = alloc_floats(n * n), *b = alloc_floats(n * n), *c = alloc_floats(n * n), *bp = alloc_floats(np * n);
    float *scratch = alloc_floats(kiln_sgemm_scratch(n, 0, 1, KILN_GEMM_MR, KILN_GEMM_NR));
    double *cpu = malloc(sizeof *cpu * (size_t)reps), *wall = malloc(sizeof *wall * (size_t)reps), err = 0;
    uint32_t s = 12345;
    kiln_sgemm_args g = {0};
    for (i = 0; i < n * n; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        s = s * 1664525u + 1013904223u;
        b[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    kiln_sgemm_pack_b(bp, b, n, 1, n, 0, np, 0, n, KILN_GEMM_NR);
    g.M = g.N = g.K = n;
    g.a = a, g.ars = n, g.acs = 1, g.bp = bp, g.c = c, g.ldc = n, g.e.alpha = 1.0f;
    kiln_sgemm(&g, scratch); /* warm-up */
    for (r = 0; r < reps; r++) {
        double c0 = secs(CLOCK_THREAD_CPUTIME_ID), w0 = secs(CLOCK_MONOTONIC);
        kiln_sgemm(&g, scratch);
        cpu[r] = secs(CLOCK_THREAD_CPUTIME_ID) - c0;
        wall[r] = secs(CLOCK_MONOTONIC) - w0;
    }
    for (i = 0; i < n; i += 97) /* spot-check rows against double precision */
        for (j = 0; j < n; j++) {
            double acc = 0, d;
            for (k = 0; k < n; k++) acc += (double)a[i * n + k] * b[k * n + j];
            d = acc - c[i * n + j];
            if (d < 0) d = -d;
            if (d > err) err = d;
        }
    qsort(cpu, (size_t)reps, sizeof *cpu, cmp);
    qsort(wall, (size_t)reps, sizeof *wall, cmp);
    printf("gemm %lldx%lldx%lld fp32 (vec %d bytes, tile %dx%d): median %.2f GFLOP/s (thread CPU time), "
           "%.2f GFLOP/s (wall), max abs error %.2e\n",
           (long long)n, (long long)n, (long long)n, KILN_VEC_BYTES, KILN_GEMM_MR, KILN_GEMM_NR,
           2.0 * n * n * n / cpu[reps / 2] / 1e9, 2.0 * n * n * n / wall[reps / 2] / 1e9, err);
    return err > 1e-3 * n ? 1 : 0;
}
