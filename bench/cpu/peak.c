/* peak.c — the single-core fp32 FMA peak, measured: 12 independent
 * vfmadd231ps ymm chains (enough to cover the FMA latency on both pipes),
 * timed in thread CPU time, next to a 1-cycle dependent add chain that
 * gives the clock. x86-64 with AVX2/FMA only; bench/cpu/gemm_bench.sh runs it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    long n = 300000000, x = 0, i;
    double t0 = cpu_s(), fma_s, clk_s;
    __asm__ volatile("vxorps %%ymm1,%%ymm1,%%ymm1\n\tvxorps %%ymm2,%%ymm2,%%ymm2\n"
                     "1:\n\t"
                     "vfmadd231ps %%ymm1,%%ymm2,%%ymm3\n\tvfmadd231ps %%ymm1,%%ymm2,%%ymm4\n\t"
                     "vfmadd231ps %%ymm1,%%ymm2,%%ymm5\n\tvfmadd231ps %%ymm1,%%ymm2,%%ymm6\n\t"
                     "vfmadd231ps %%ymm1,%%ymm2,%%ymm7\n\tvfmadd231ps %%ymm1,%%ymm2,%%ymm8\n\t"
                     "vfmadd231ps %%ymm1,%%ymm2,%%ymm9\n\tvfmadd231ps %%ymm1,%%ymm2,%%ymm10\n\t"
                     "vfmadd231ps %%ymm1,%%ymm2,%%ymm11\n\tvfmadd231ps %%ymm1,%%ymm2,%%ymm12\n\t"
                     "vfmadd231ps %%ymm1,%%ymm2,%%ymm13\n\tvfmadd231ps %%ymm1,%%ymm2,%%ymm14\n\t"
                     "dec %0\n\tjnz 1b"
                     : "+r"(n)::"xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                       "xmm11", "xmm12", "xmm13", "xmm14");
    fma_s = cpu_s() - t0;
    t0 = cpu_s();
    for (i = 0; i < 1000000000L; i++) __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    clk_s = cpu_s() - t0;
    printf("clock %.3f GHz (dependent adds); FMA peak %.1f GFLOP/s measured (%.1f flops/cycle)\n", 4e9 / clk_s / 1e9,
           300000000.0 * 12 * 8 * 2 / fma_s / 1e9, 300000000.0 * 12 * 8 * 2 / fma_s / (4e9 / clk_s));
    return 0;
}
