/*
 * movement.cuh — CUDA kernels of the data-movement operators, with the
 * parameters of kernels/c/movement.h. Transpose, Slice, Expand and Tile are
 * one strided gather: p = rank, base, dims[rank], strides[rank] (elements).
 */
#ifndef KILN_KERNELS_CUDA_MOVEMENT_CUH
#define KILN_KERNELS_CUDA_MOVEMENT_CUH

#define KILN_CU_STRIDED_COPY(N, T)                                                                 \
    template <int NI, int NO>                                                                      \
    static __global__ void kiln_cu_strided_copy_##N(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)   \
    {                                                                                              \
        int r = (int)p[0];                                                                         \
        const int64_t *dims = p + 2, *st = p + 2 + r;                                              \
        const T *x = (const T *)io.in[0] + p[1];                                                   \
        T *y = (T *)io.out[0];                                                                     \
        int64_t n = 1;                                                                             \
        (void)f;                                                                                   \
        int64_t reach = p[1], small;                                                               \
        for (int a = 0; a < r; a++) {                                                              \
            n *= dims[a];                                                                          \
            reach += dims[a] > 0 ? (dims[a] - 1) * (st[a] < 0 ? -st[a] : st[a]) : 0;               \
        }                                                                                          \
        /* 32-bit division where every index fits: a fraction of the instructions */               \
        small = n < 0x3fffffff && reach < 0x7fffffff;                                              \
        if (small) {                                                                               \
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (int)n; i += gridDim.x * blockDim.x) {\
                int rem = i, off = 0;                                                              \
                for (int a = r - 1; a >= 0; a--) {                                                 \
                    int d = (int)dims[a];                                                          \
                    off += (rem % d) * (int)st[a];                                                 \
                    rem /= d;                                                                      \
                }                                                                                  \
                y[i] = x[off];                                                                     \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        KILN_CU_LOOP(i, n)                                                                         \
        {                                                                                          \
            int64_t rem = i, off = 0;                                                              \
            for (int a = r - 1; a >= 0; a--) {                                                     \
                off += (rem % dims[a]) * st[a];                                                    \
                rem /= dims[a];                                                                    \
            }                                                                                      \
            y[i] = x[off];                                                                         \
        }                                                                                          \
    }
KILN_CU_STRIDED_COPY(1, uint8_t)
KILN_CU_STRIDED_COPY(2, uint16_t)
KILN_CU_STRIDED_COPY(4, uint32_t)
KILN_CU_STRIDED_COPY(8, uint64_t)
KILN_CU_STRIDED_COPY(16, uint4) /* codegen widens contiguous runs (simplify_copy) */

/* Gather, with kernels/c/movement.h's parameters (outer, axis_dim,
 * inner_bytes, nidx, idx_dtype): one thread per 4-byte word of a row when
 * rows are whole words (embeddings), else per byte. */
template <int NI, int NO> static __global__ void kiln_cu_gather(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    int64_t dim = p[1], ib = p[2], nidx = p[3], w = ib % 4 == 0 ? 4 : 1, nw = ib / w;
    (void)f;
    KILN_CU_LOOP(e, p[0] * nidx * nw)
    {
        int64_t k = e % nw, j = (e / nw) % nidx, o = e / (nw * nidx);
        int64_t i = kiln_mv_wrap(kiln_mv_index(io.in[1], j, p[4]), dim);
        if (w == 4) {
            const uint32_t *x = (const uint32_t *)io.in[0];
            ((uint32_t *)io.out[0])[e] = i < 0 ? 0u : x[(o * dim + i) * nw + k];
        } else {
            const unsigned char *x = (const unsigned char *)io.in[0];
            ((unsigned char *)io.out[0])[e] = i < 0 ? 0 : x[(o * dim + i) * nw + k];
        }
    }
}

#endif
