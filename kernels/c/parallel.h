/*
 * parallel.h — a kernel's work split across rtlib's thread pool.
 *
 * KILN_THREADS (codegen emits it from --threads): above 1, kiln_parallel
 * runs its tasks on libkiln_rt's pool (kiln_rt_parallel_for, declared by
 * kiln_rt.h, which a module includes first); 1, the default, runs them in
 * order, and the module has no thread code at all.
 */
#ifndef KILN_KERNELS_PARALLEL_H
#define KILN_KERNELS_PARALLEL_H
#include "common.h"

#ifndef KILN_THREADS
#define KILN_THREADS 1
#endif

/* Run fn(ctx, 0..n-1): across the pool with threads, else in order. */
static KILN_UNUSED void kiln_parallel(int n, void (*fn)(void *, int), void *ctx)
{
#if KILN_THREADS > 1
    kiln_rt_parallel_for(n, fn, ctx);
#else
    int i;
    for (i = 0; i < n; i++) fn(ctx, i);
#endif
}

/* count items in contiguous chunks, one a task and at most KILN_THREADS
 * tasks: *chunk (which task i reads from ctx) is set, then fn runs. */
static KILN_UNUSED void kiln_parallel_chunks(int64_t count, int64_t *chunk, void (*fn)(void *, int), void *ctx)
{
    int64_t n = KILN_THREADS < count ? KILN_THREADS : count;
    if (count <= 0) return;
    *chunk = (count + n - 1) / n;
    kiln_parallel((int)((count + *chunk - 1) / *chunk), fn, ctx);
}

#endif
