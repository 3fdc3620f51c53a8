/*
 * pool_norm.cuh — CUDA kernels of pooling and the normalizations (f32),
 * with the parameters of kernels/c/pool_norm.h, which documents them.
 * codegen/cuda.c picks them only where they apply (pool: max and average
 * without Indices); the rest run the C kernel as the reference fallback.
 */
#ifndef KILN_KERNELS_CUDA_POOL_NORM_CUH
#define KILN_KERNELS_CUDA_POOL_NORM_CUH

/* One thread per output element; the window walk is the C core's. */
template <int NI, int NO> static __global__ void kiln_cu_pool_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    int64_t mode = p[0], nsp = p[1], nc = p[2], cip = p[3], a;
    const int64_t *id = p + 6, *od = id + nsp, *k = od + nsp, *s = k + nsp, *d = s + nsp, *pb = d + nsp,
                  *pe = pb + nsp;
    const float *X = (const float *)io.in[0];
    float *Y = (float *)io.out[0];
    int64_t isz = 1, osz = 1, rstr[KILN_KMAX_RANK];
    (void)f;
    for (a = nsp - 1; a >= 0; a--) { rstr[a] = isz; isz *= id[a]; osz *= od[a]; }
    KILN_CU_LOOP(e, nc * osz)
    {
        int64_t c = e / osz, o = e % osz, oi[KILN_KMAX_RANK], ki[KILN_KMAX_RANK], rem = o, npad = 0, nin = 0;
        float acc = mode == 0 ? -INFINITY : 0.0f;
        int more = 1, first = 1;
        const float *xc = X + c * isz;
        for (a = nsp - 1; a >= 0; a--) { oi[a] = rem % od[a]; rem /= od[a]; ki[a] = 0; }
        while (more) {
            int64_t off = 0;
            int inside = 1, inpad = 1;
            for (a = 0; a < nsp; a++) {
                int64_t pos = oi[a] * s[a] - pb[a] + ki[a] * d[a];
                if (pos < -pb[a] || pos >= id[a] + pe[a]) inpad = 0;
                if (pos < 0 || pos >= id[a]) inside = 0;
                off += pos * rstr[a];
            }
            npad += inpad;
            if (inside) {
                float v = xc[off];
                nin++;
                if (mode == 0) {
                    if (first || v > acc || (v != v && acc == acc)) acc = v;
                    first = 0;
                } else {
                    acc += v;
                }
            }
            for (a = nsp - 1; a >= 0; a--) {
                if (++ki[a] < k[a]) break;
                ki[a] = 0;
            }
            more = a >= 0;
        }
        if (mode == 1) acc = nin ? acc / (float)(cip ? npad : nin) : 0.0f;
        Y[e] = acc;
    }
}

/* The same for two spatial axes in 32-bit index arithmetic (64-bit division
 * is many instructions on the GPU): codegen picks it when every index fits. */
template <int NI, int NO> static __global__ void kiln_cu_pool2d_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    const int mode = (int)p[0], cip = (int)p[3], ih = (int)p[6], iw = (int)p[7], oh = (int)p[8], ow = (int)p[9];
    const int kh = (int)p[10], kw = (int)p[11], sh = (int)p[12], sw = (int)p[13], dh = (int)p[14], dw = (int)p[15];
    const int ph = (int)p[16], pw = (int)p[17], peh = (int)p[18], pew = (int)p[19], total = (int)p[2] * oh * ow;
    const float *X = (const float *)io.in[0];
    float *Y = (float *)io.out[0];
    (void)f;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
        int ox = e % ow, t = e / ow, oy = t % oh, c = t / oh, nin = 0, npad = 0, first = 1;
        const float *xc = X + (int64_t)c * ih * iw;
        float acc = mode == 0 ? -INFINITY : 0.0f;
        for (int ky = 0; ky < kh; ky++) {
            int py = oy * sh - ph + ky * dh;
            int rowpad = py >= -ph && py < ih + peh, rowin = py >= 0 && py < ih;
            for (int kx = 0; kx < kw; kx++) {
                int px = ox * sw - pw + kx * dw;
                npad += rowpad && px >= -pw && px < iw + pew;
                if (rowin && px >= 0 && px < iw) {
                    float v = xc[py * iw + px];
                    nin++;
                    if (mode == 0) {
                        if (first || v > acc || (v != v && acc == acc)) acc = v;
                        first = 0;
                    } else {
                        acc += v;
                    }
                }
            }
        }
        if (mode == 1) acc = nin ? acc / (float)(cip ? npad : nin) : 0.0f;
        Y[e] = acc;
    }
}

/* BatchNormalization (inference): p = N, C, inner; f = epsilon. */
template <int NI, int NO> static __global__ void kiln_cu_batchnorm_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    const float *X = (const float *)io.in[0], *g = (const float *)io.in[1], *b = (const float *)io.in[2],
                *m = (const float *)io.in[3], *v = (const float *)io.in[4];
    float *Y = (float *)io.out[0];
    int64_t C = p[1], inner = p[2];
    float eps = (float)f[0];
    KILN_CU_LOOP(i, p[0] * C * inner)
    {
        int64_t c = (i / inner) % C;
        Y[i] = (X[i] - m[c]) * (g[c] * rsqrtf(v[c] + eps)) + b[c];
    }
}

/* Block-wide sum of one float per thread (blockDim.x a multiple of 32, at most 1024). */
static __device__ float kiln_cu_block_sum(float v, float *shared)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = threadIdx.x < nw ? shared[threadIdx.x] : 0.0f;
    if (warp == 0)
        for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    return shared[0];
}

/* Softmax / LogSoftmax / Hardmax over [outer, n, inner]: one block per
 * (outer, inner) line; p = outer, n, inner, kind. */
template <int NI, int NO> static __global__ void kiln_cu_softmax_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    __shared__ float sh[32];
    int64_t n = p[1], inner = p[2], kind = p[3];
    const float *X = (const float *)io.in[0];
    float *Y = (float *)io.out[0];
    (void)f;
    for (int64_t line = blockIdx.x; line < p[0] * inner; line += gridDim.x) {
        int64_t base = (line / inner) * n * inner + line % inner;
        float mx = -INFINITY;
        int nan = 0;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            float v = X[base + j * inner];
            nan |= v != v;
            mx = fmaxf(mx, v);
        }
        /* max through the sum helper's reduction tree: negate-free via shuffles */
        for (int o = 16; o; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        __syncthreads();
        if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = mx;
        __syncthreads();
        mx = -INFINITY;
        for (int w = 0; w < (int)((blockDim.x + 31) >> 5); w++) mx = fmaxf(mx, sh[w]);
        float anynan = kiln_cu_block_sum((float)nan, sh);
        if (anynan > 0) mx = NAN;
        float sum = 0;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += expf(X[base + j * inner] - mx);
        sum = kiln_cu_block_sum(sum, sh);
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
            float t = X[base + j * inner] - mx;
            Y[base + j * inner] = kind ? t - logf(sum) : expf(t) / sum;
        }
    }
}

/* LayerNormalization: one block per row of [outer, inner]; the Scale and B
 * offsets of element j come from the normalized dims and their strides. */
template <int NI, int NO> static __global__ void kiln_cu_layernorm_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    __shared__ float sh[32];
    int64_t outer = p[0], inner = p[1];
    int nr = (int)p[2];
    const int64_t *dims = p + 6, *ss = dims + nr, *bs = ss + nr;
    const float *X = (const float *)io.in[0], *S = (const float *)io.in[1], *B = (const float *)io.in[2];
    float *Y = (float *)io.out[0];
    for (int64_t r = blockIdx.x; r < outer; r += gridDim.x) {
        const float *x = X + r * inner;
        float sum = 0, var = 0;
        for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) sum += x[j];
        float mean = kiln_cu_block_sum(sum, sh) / (float)inner;
        for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) var += (x[j] - mean) * (x[j] - mean);
        float inv = rsqrtf(kiln_cu_block_sum(var, sh) / (float)inner + (float)f[0]);
        for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) {
            int64_t rem = j, so = 0, bo = 0;
            for (int a = nr - 1; a >= 0; a--) {
                int64_t c = rem % dims[a];
                rem /= dims[a];
                so += c * ss[a];
                bo += c * bs[a];
            }
            float y = (x[j] - mean) * inv * S[so];
            Y[r * inner + j] = p[3] ? y + B[bo] : y;
        }
        if (threadIdx.x == 0 && p[4]) ((float *)io.out[1])[r] = mean;
        if (threadIdx.x == 0 && p[5]) ((float *)io.out[2])[r] = inv;
    }
}

/*
 * Lines of at most 1024 contiguous floats, one warp each, the line held in
 * registers (L floats a lane, a compile-time count so the arrays stay in
 * registers): one read and one write of memory instead of three reads.
 * Codegen picks these for Softmax with inner 1 and for LayerNormalization
 * whose Scale and B are dense along the normalized axes, with L = ceil(n / 32).
 */
static __device__ float kiln_cu_warp_sum(float v)
{
    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ float kiln_cu_warp_max(float v)
{
    for (int o = 16; o; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

template <int NI, int NO, int L> static __global__ void kiln_cu_layernorm_warp_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    int lane = threadIdx.x & 31, n = (int)p[1];
    int64_t r = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const float *S = (const float *)io.in[1], *B = (const float *)io.in[2];
    float v[L], sum = 0, var = 0;
    if (r >= p[0]) return;
    const float *x = (const float *)io.in[0] + r * n;
    float *y = (float *)io.out[0] + r * n;
#pragma unroll
    for (int k = 0; k < L; k++) {
        int j = k * 32 + lane;
        v[k] = j < n ? x[j] : 0.0f;
        sum += v[k];
    }
    float mean = kiln_cu_warp_sum(sum) / (float)n;
#pragma unroll
    for (int k = 0; k < L; k++)
        if (k * 32 + lane < n) var += (v[k] - mean) * (v[k] - mean);
    float inv = rsqrtf(kiln_cu_warp_sum(var) / (float)n + (float)f[0]);
#pragma unroll
    for (int k = 0; k < L; k++) {
        int j = k * 32 + lane;
        if (j < n) y[j] = p[3] ? (v[k] - mean) * inv * S[j] + B[j] : (v[k] - mean) * inv * S[j];
    }
    if (lane == 0 && p[4]) ((float *)io.out[1])[r] = mean;
    if (lane == 0 && p[5]) ((float *)io.out[2])[r] = inv;
}

/* A broadcast input's offset for line l of a [lines, n] view: the lines'
 * dims and the input's strides along them. */
typedef struct {
    int r;
    int64_t dims[8], st[8];
} kiln_cu_bcast;

/* Softmax (log: LogSoftmax) of t * scale + mask along contiguous lines of n
 * floats, a warp a line; the mask (NULL: none) broadcast as mb and mcol
 * say. Plain Softmax is scale 1 without a mask; attention scores fold their
 * scale and mask in (codegen's masked_softmax). */
template <int L>
static __global__ void kiln_cu_softmax_lines_f32(const float *t, float scale, const float *mask, kiln_cu_bcast mb,
                                                 int64_t mcol, float *y, int64_t lines, int n, int log)
{
    int lane = threadIdx.x & 31, nan = 0;
    int64_t line = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), rem, mo = 0;
    float v[L], mx = -INFINITY, sum = 0;
    if (line >= lines) return;
    rem = line;
    for (int a = mb.r - 1; a >= 0; a--) {
        mo += rem % mb.dims[a] * mb.st[a];
        rem /= mb.dims[a];
    }
    t += line * n, y += line * n;
#pragma unroll
    for (int k = 0; k < L; k++) {
        int j = k * 32 + lane;
        v[k] = j >= n ? -INFINITY : mask ? t[j] * scale + mask[mo + j * mcol] : t[j];
        nan |= v[k] != v[k];
        mx = fmaxf(mx, v[k]);
    }
    mx = __any_sync(0xffffffffu, nan) ? NAN : kiln_cu_warp_max(mx);
#pragma unroll
    for (int k = 0; k < L; k++)
        if (k * 32 + lane < n) sum += expf(v[k] - mx);
    sum = kiln_cu_warp_sum(sum);
    float ls = logf(sum), inv = 1.0f / sum;
#pragma unroll
    for (int k = 0; k < L; k++) {
        int j = k * 32 + lane;
        if (j < n) y[j] = log ? v[k] - mx - ls : expf(v[k] - mx) * inv;
    }
}

#endif
