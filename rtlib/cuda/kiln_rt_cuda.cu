/* kiln_rt_cuda.cu — error reporting and device checks for CUDA modules. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <mutex>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "kiln_rt_cuda.h"

/* One message per thread: contexts on different threads do not race. */
static thread_local char last_error[1024];

extern "C" const char *kiln_cuda_last_error(void) { return last_error; }

extern "C" kiln_status kiln_cuda_fail(kiln_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

extern "C" kiln_status kiln_cuda_check(int kind, int code, const char *call, const char *node)
{
    if (code == 0) return KILN_STATUS_OK;
    const char *what = kind == 0 ? cudaGetErrorString((cudaError_t)code)
                     : kind == 1 ? cublasGetStatusString((cublasStatus_t)code)
                                 : cudnnGetErrorString((cudnnStatus_t)code);
    kiln_status s = KILN_STATUS_DEVICE_ERROR;
    if ((kind == 0 && code == cudaErrorMemoryAllocation) || (kind == 1 && code == CUBLAS_STATUS_ALLOC_FAILED) ||
        (kind == 2 && code == CUDNN_STATUS_ALLOC_FAILED))
        s = KILN_STATUS_OUT_OF_MEMORY;
    if (kind == 0) cudaGetLastError(); /* clear a sticky non-fatal error */
    return kiln_cuda_fail(s, "%s%s%s%s: %s (%s error %d)", node ? "node " : "", node ? node : "", node ? ": " : "", call,
                          what, kind == 0 ? "CUDA" : kind == 1 ? "cuBLAS" : "cuDNN", code);
}

extern "C" kiln_status kiln_cuda_check_device(int device, int arch, const char *module)
{
    int count = 0, major = 0, minor = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return kiln_cuda_check(0, e, "cudaGetDeviceCount", NULL);
    if (device < 0 || device >= count)
        return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, "%s: device %d does not exist (this machine has %d)", module,
                              device, count);
    if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device)) ||
        (e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device)))
        return kiln_cuda_check(0, e, "cudaDeviceGetAttribute", NULL);
    /* sm_XY machine code runs on X.Y and on later minors of the same major only */
    if (major != arch / 10 || minor < arch % 10)
        return kiln_cuda_fail(KILN_STATUS_VERSION_MISMATCH,
                              "%s was built for compute capability %d.%d (sm_%d); device %d has %d.%d: "
                              "recompile with --cuda-arch %d%d",
                              module, arch / 10, arch % 10, arch, device, major, minor, major, minor);
    return KILN_STATUS_OK;
}

/* A small set guarded by a mutex: contexts are few and made rarely. */
static std::mutex live_mutex;
static const void **live;
static size_t nlive, live_cap;

extern "C" void kiln_cuda_register(const void *ctx)
{
    std::lock_guard<std::mutex> lock(live_mutex);
    if (nlive == live_cap) {
        size_t cap = live_cap ? 2 * live_cap : 16;
        const void **p = (const void **)realloc((void *)live, cap * sizeof *p);
        if (!p) return; /* then is_live says no, which fails safe */
        live = p;
        live_cap = cap;
    }
    live[nlive++] = ctx;
}

extern "C" void kiln_cuda_unregister(const void *ctx)
{
    std::lock_guard<std::mutex> lock(live_mutex);
    for (size_t i = 0; i < nlive; i++)
        if (live[i] == ctx) {
            live[i] = live[--nlive];
            return;
        }
}

extern "C" int kiln_cuda_is_live(const void *ctx)
{
    std::lock_guard<std::mutex> lock(live_mutex);
    for (size_t i = 0; i < nlive; i++)
        if (live[i] == ctx) return 1;
    return 0;
}
