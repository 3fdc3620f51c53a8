/*
 * common.cuh — what every kiln CUDA kernel and module shares.
 *
 * Kernels keep the C kernels' calling convention (kernels/c/common.h):
 * p and f are the node's parameters, here in device memory, and the node's
 * tensors travel by value in a kiln_cu_io, so every launch is
 *
 *     kernel<NI, NO><<<grid, block, 0, stream>>>(p, f, io);
 *
 * kiln_cu_ref runs a C reference kernel as one device thread: slow, but it
 * makes every op the C target supports correct on the GPU, and fast kernels
 * replace it op by op.
 */
#ifndef KILN_KERNELS_CUDA_COMMON_CUH
#define KILN_KERNELS_CUDA_COMMON_CUH

#include <cuda_runtime.h>

/* A module includes every helper of a header and uses some. */
#pragma nv_diag_suppress 177

/* The node's tensors; NI and NO are at least 1 (unused slots are NULL). */
template <int NI, int NO> struct kiln_cu_io {
    const void *in[NI];
    void *out[NO];
};

typedef void (*kiln_cu_fn)(kiln_ip, kiln_fp, kiln_in, kiln_out);

template <kiln_cu_fn F, int NI, int NO> static __global__ void kiln_cu_ref(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    F(p, f, io.in, io.out);
}

/* A grid-stride loop over n elements. */
#define KILN_CU_LOOP(i, n)                                                                         \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* The end of one node: launch errors always; with KILN_CUDA_DEBUG_SYNC also
 * the errors of the node's execution, so the message names the right node. */
static kiln_status kiln_cu_node_end(unsigned flags, cudaEvent_t ev, cudaStream_t s, const char *node)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && ev) e = cudaEventRecord(ev, s);
    if (e == cudaSuccess && (flags & KILN_CUDA_DEBUG_SYNC)) e = cudaStreamSynchronize(s);
    return e == cudaSuccess ? KILN_STATUS_OK : kiln_cuda_check(0, e, "kernel", node);
}

#endif
