/*
 * kiln_rt_cuda.h — what CUDA modules (NAME.cu from kiln compile --target cuda)
 * share at run time: error reporting, the caller's allocator, run options
 * (CUDA graphs, debug sync, a per-node profiler). Link libkiln_rt_cuda.a.
 *
 * A module NAME has a context that owns its device memory and handles:
 *
 *     NAME_context *ctx;
 *     if (NAME_create(0, NULL, NULL, &ctx) != KILN_STATUS_OK)
 *         fail(kiln_cuda_last_error());       // why, in words
 *     NAME_run(ctx, d_inputs, d_outputs);      // device buffers, synchronous
 *     NAME_enqueue(ctx, d_inputs, d_outputs, stream);   // asynchronous
 *     NAME_destroy(ctx);
 *
 * Every CUDA, cuBLAS and cuDNN call is checked; a failure returns a
 * kiln_status and leaves a message (the call, the node, the library's
 * words) that kiln_cuda_last_error() returns on the same thread.
 */
#ifndef KILN_RT_CUDA_H
#define KILN_RT_CUDA_H

#include <stddef.h>

#include "kiln_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device memory from the caller: alloc returns NULL when it cannot. */
typedef struct {
    void *(*alloc)(void *user, size_t bytes);
    void (*free)(void *user, void *ptr);
    void *user;
} kiln_cuda_allocator;

/* Called after a profiled run with each node's GPU time. */
typedef void (*kiln_cuda_profiler)(void *user, int node, const char *name, const char *op, float ms);

enum {
    KILN_CUDA_GRAPH = 1,       /* capture the forward pass once, replay it */
    KILN_CUDA_DEBUG_SYNC = 2,  /* synchronise and check after every node; errors name the node */
};

typedef struct {
    unsigned flags;               /* KILN_CUDA_* */
    kiln_cuda_profiler profiler;  /* non-NULL: time every node (implies no graph) */
    void *profiler_user;
} kiln_cuda_options;

/* The message of the last failure on this thread ("" if none). */
const char *kiln_cuda_last_error(void);

/* For modules: record a failure and return its status. */
kiln_status kiln_cuda_fail(kiln_status s, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Check a CUDA runtime (kind 0), cuBLAS (1) or cuDNN (2) result code. */
kiln_status kiln_cuda_check(int kind, int code, const char *call, const char *node);
/* The contexts alive now, so that using a destroyed one is an error, not a crash. */
void kiln_cuda_register(const void *ctx);
void kiln_cuda_unregister(const void *ctx);
int kiln_cuda_is_live(const void *ctx);
/* Check that the current device can run code built for compute capability arch (e.g. 90). */
kiln_status kiln_cuda_check_device(int device, int arch, const char *module);

#ifdef __cplusplus
}
#endif

#endif
