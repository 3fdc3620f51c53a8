/*
 * linalg.cuh — MatMul and Gemm through cuBLAS, Conv through cuDNN (f32),
 * reading the parameters of kernels/c/linalg.h from the host copy of p.
 * cuBLAS is column-major: a row-major Y = A B is computed as Y^T = B^T A^T.
 * fp32 stays fp32: no TF32 (cuBLAS's default math, cuDNN's FMA math).
 */
#ifndef KILN_KERNELS_CUDA_LINALG_CUH
#define KILN_KERNELS_CUDA_LINALG_CUH

#include <cublas_v2.h>
#include <cudnn.h>

#define KILN_CU_BLAS(call, node)                                                                   \
    do {                                                                                           \
        cublasStatus_t e_ = (call);                                                                \
        if (e_ != CUBLAS_STATUS_SUCCESS) return kiln_cuda_check(1, (int)e_, #call, node);          \
    } while (0)
#define KILN_CU_DNN(call, node)                                                                    \
    do {                                                                                           \
        cudnnStatus_t e_ = (call);                                                                 \
        if (e_ != CUDNN_STATUS_SUCCESS) return kiln_cuda_check(2, (int)e_, #call, node);           \
    } while (0)

/* Is offset(batch index) affine in the flat batch index? Then its stride. */
static int kiln_cu_batch_stride(int r, const int64_t *dims, const int64_t *st, int64_t *out)
{
    int64_t want = -1;
    int a;
    for (a = r - 1; a >= 0; a--) {
        if (dims[a] == 1) continue;
        if (want < 0) want = st[a] ? st[a] : 0, *out = st[a];
        else if (st[a] != want) return 0;
        want *= dims[a];
    }
    if (want < 0) *out = 0;
    return 1;
}

/* MatMul: p = r, M, N, K, batch dims[r], a strides[r], b strides[r]. */
static kiln_status kiln_cu_matmul_f32(cublasHandle_t h, const int64_t *p, const float *A, const float *B, float *Y,
                                      const char *node)
{
    int r = (int)p[0], a;
    int64_t M = p[1], N = p[2], K = p[3], nb = 1, sa, sb, idx[KILN_KMAX_RANK] = {0};
    const int64_t *dims = p + 4, *as = dims + r, *bs = as + r;
    const float one = 1, zero = 0;
    for (a = 0; a < r; a++) nb *= dims[a];
    if (nb == 0 || M == 0 || N == 0) return KILN_STATUS_OK;
    if (kiln_cu_batch_stride(r, dims, as, &sa) && kiln_cu_batch_stride(r, dims, bs, &sb)) {
        KILN_CU_BLAS(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, B, (int)N, sb,
                                               A, (int)(K ? K : 1), sa, &zero, Y, (int)N, M * N, (int)nb),
                     node);
        return KILN_STATUS_OK;
    }
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t ao = 0, bo = 0;
        for (a = 0; a < r; a++) { ao += idx[a] * as[a]; bo += idx[a] * bs[a]; }
        KILN_CU_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, B + bo, (int)N, A + ao,
                                 (int)(K ? K : 1), &zero, Y + bi * M * N, (int)N),
                     node);
        for (a = r - 1; a >= 0 && ++idx[a] == dims[a]; a--) idx[a] = 0;
    }
    return KILN_STATUS_OK;
}

template <int NI, int NO> static __global__ void kiln_cu_gemm_c_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)
{
    const float *C = (const float *)io.in[2];
    float *Y = (float *)io.out[0];
    (void)f;
    KILN_CU_LOOP(i, p[0] * p[1]) Y[i] = C[(i / p[1]) * p[8] + (i % p[1]) * p[9]];
}

/* One operand of Y^T = op(B^T) op(A^T): a row-major [rows, cols] matrix with
 * strides (rs, cs), seen from cuBLAS as its transpose. */
static void kiln_cu_operand(int64_t rows, int64_t cols, int64_t rs, int64_t cs, cublasOperation_t *op, int *ld)
{
    if (cs == 1 && (rs >= cols || rows == 1)) {
        *op = CUBLAS_OP_N;
        *ld = (int)(rs >= cols ? rs : cols);
    } else {
        *op = CUBLAS_OP_T;
        *ld = (int)(cs >= rows ? cs : rows);
    }
    if (*ld < 1) *ld = 1;
}

/* Gemm: p = M, N, K, a strides, b strides, has c, c strides; f = alpha, beta.
 * C (broadcast) is first copied into Y by kiln_cu_gemm_c_f32. */
static kiln_status kiln_cu_gemm_f32(cublasHandle_t h, const int64_t *p, const double *f, const float *A, const float *B,
                                    float *Y, const char *node)
{
    int64_t M = p[0], N = p[1], K = p[2];
    cublasOperation_t oa, ob;
    int lda, ldb;
    float alpha = (float)f[0], beta = p[7] ? (float)f[1] : 0.0f;
    if (M == 0 || N == 0) return KILN_STATUS_OK;
    kiln_cu_operand(M, K, p[3], p[4], &oa, &lda);
    kiln_cu_operand(K, N, p[5], p[6], &ob, &ldb);
    KILN_CU_BLAS(cublasSgemm(h, ob, oa, (int)N, (int)M, (int)K, &alpha, B, ldb, A, lda, &beta, Y, (int)N), node);
    return KILN_STATUS_OK;
}

/*
 * Conv through cuDNN: planned once at create (descriptors, and the fastest
 * FMA-only algorithm that fits the workspace, timed by cudnnFind), run per
 * inference. ok = 0 where cuDNN cannot express the node (pads that change
 * the output size if made symmetric, more than 3 spatial axes): the module
 * then runs the reference kernel.
 * p: S, N, C, M, group, has bias, in dims[S], out dims[S], kernel[S],
 *    strides[S], dilations[S], begin pads[S].
 */
typedef struct {
    int ok;
    cudnnTensorDescriptor_t x, y, b;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws;
} kiln_cu_conv;

static kiln_status kiln_cu_conv_plan(kiln_cu_conv *c, cudnnHandle_t h, const int64_t *p, size_t ws_limit, const char *node)
{
    int S = (int)p[0], nd = S < 2 ? 2 : S, i;
    const int64_t *id = p + 6, *od = id + S, *kd = od + S, *st = kd + S, *dl = st + S, *pb = dl + S;
    int xd[5], yd[5], wd[5], bd[5], xs[5], ys[5], bs[5], pad[3], str[3], dil[3], got[5];
    c->ok = 0;
    if (S < 1 || S > 3) return KILN_STATUS_OK;
    xd[0] = (int)p[1], xd[1] = (int)p[2], yd[0] = (int)p[1], yd[1] = (int)p[3];
    wd[0] = (int)p[3], wd[1] = (int)(p[2] / p[4]);
    for (i = 0; i < nd; i++) {
        int j = i - (nd - S); /* a 1-D conv is a 2-D one of height 1 */
        xd[2 + i] = j < 0 ? 1 : (int)id[j];
        yd[2 + i] = j < 0 ? 1 : (int)od[j];
        wd[2 + i] = j < 0 ? 1 : (int)kd[j];
        pad[i] = j < 0 ? 0 : (int)pb[j];
        str[i] = j < 0 ? 1 : (int)st[j];
        dil[i] = j < 0 ? 1 : (int)dl[j];
        /* cuDNN pads both ends by pad: fine when that yields the same output size */
        if (j >= 0 && (xd[2 + i] + 2 * pad[i] - dil[i] * (wd[2 + i] - 1) - 1) / str[i] + 1 != yd[2 + i]) return KILN_STATUS_OK;
    }
    for (i = 0; i < nd + 2; i++) bd[i] = i == 1 ? (int)p[3] : 1;
    xs[nd + 1] = ys[nd + 1] = bs[nd + 1] = 1;
    for (i = nd; i >= 0; i--) {
        xs[i] = xs[i + 1] * xd[i + 1];
        ys[i] = ys[i + 1] * yd[i + 1];
        bs[i] = bs[i + 1] * bd[i + 1];
    }
    KILN_CU_DNN(cudnnCreateTensorDescriptor(&c->x), node);
    KILN_CU_DNN(cudnnCreateTensorDescriptor(&c->y), node);
    KILN_CU_DNN(cudnnCreateTensorDescriptor(&c->b), node);
    KILN_CU_DNN(cudnnCreateFilterDescriptor(&c->w), node);
    KILN_CU_DNN(cudnnCreateConvolutionDescriptor(&c->conv), node);
    KILN_CU_DNN(cudnnSetTensorNdDescriptor(c->x, CUDNN_DATA_FLOAT, nd + 2, xd, xs), node);
    KILN_CU_DNN(cudnnSetTensorNdDescriptor(c->y, CUDNN_DATA_FLOAT, nd + 2, yd, ys), node);
    KILN_CU_DNN(cudnnSetTensorNdDescriptor(c->b, CUDNN_DATA_FLOAT, nd + 2, bd, bs), node);
    KILN_CU_DNN(cudnnSetFilterNdDescriptor(c->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, nd + 2, wd), node);
    KILN_CU_DNN(cudnnSetConvolutionNdDescriptor(c->conv, nd, pad, str, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), node);
    KILN_CU_DNN(cudnnSetConvolutionGroupCount(c->conv, (int)p[4]), node);
    KILN_CU_DNN(cudnnSetConvolutionMathType(c->conv, CUDNN_FMA_MATH), node);
    KILN_CU_DNN(cudnnGetConvolutionNdForwardOutputDim(c->conv, c->x, c->w, nd + 2, got), node);
    for (i = 0; i < nd + 2; i++)
        if (got[i] != yd[i]) return KILN_STATUS_OK;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    KILN_CU_DNN(cudnnFindConvolutionForwardAlgorithm(h, c->x, c->w, c->conv, c->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
                node);
    for (i = 0; i < n; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].mathType == CUDNN_FMA_MATH && perf[i].memory <= ws_limit) {
            c->algo = perf[i].algo;
            c->ws = perf[i].memory;
            c->ok = 1;
            return KILN_STATUS_OK;
        }
    return KILN_STATUS_OK;
}

/* bias: add the conv's bias here (0: an epilogue kernel adds it). */
static kiln_status kiln_cu_conv_run(const kiln_cu_conv *c, cudnnHandle_t h, const int64_t *p, const void *x, const void *w,
                                    const void *b, void *y, void *ws, int bias, const char *node)
{
    const float one = 1, zero = 0;
    KILN_CU_DNN(cudnnConvolutionForward(h, &one, c->x, x, c->w, w, c->conv, c->algo, ws, c->ws, &zero, c->y, y), node);
    if (p[5] && bias) KILN_CU_DNN(cudnnAddTensor(h, &one, c->b, b, &one, c->y, y), node);
    return KILN_STATUS_OK;
}

#ifdef KILN_KERNELS_FUSED_H /* modules with fused nodes include kernels/c/fused.h */
/*
 * The epilogue of FusedConv / FusedGemm / FusedMatMul (kernels/c/fused.h),
 * one pass after the library call: y = act(y + cbias[channel] + bias +
 * residual). p: E, F, act, r, dims[r], bias strides[r], residual strides[r]
 * (elements), then the base kernel's; f: alpha, beta. cb is the conv's own
 * bias with `inner` elements per channel of `nch` (NULL for the others);
 * dense: the residual has y's layout, so its offset is the element's.
 */
template <int NI, int NO>
static __global__ void kiln_cu_epilogue_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io, const float *cb, int64_t nch,
                                            int64_t inner, int dense)
{
    int64_t act = p[2], numel = 1;
    int r = (int)p[3], a;
    const int64_t *dims = p + 4, *bs = dims + r, *rs = bs + r;
    const float *b = (const float *)io.in[3], *res = (const float *)io.in[4];
    float *y = (float *)io.out[0];
    float alpha = (float)f[0], beta = (float)f[1];
    for (a = 0; a < r; a++) numel *= dims[a];
    KILN_CU_LOOP(i, numel)
    {
        float v = y[i];
        if (cb) v += cb[numel <= 0xffffffff ? (unsigned)i / (unsigned)inner % (unsigned)nch : i / inner % nch];
        if (b || (res && !dense)) {
            int64_t rem = i, ob = 0, orr = 0;
            for (a = r - 1; a >= 0; a--) {
                int64_t c = rem % dims[a];
                rem /= dims[a];
                ob += c * bs[a];
                orr += c * rs[a];
            }
            if (b) v += b[ob];
            if (res) v += res[orr];
        } else if (res) {
            v += res[i];
        }
        if (act >= 0) v = (float)kiln_fz_apply_f32(act, v, alpha, beta);
        y[i] = v;
    }
}
#endif

static void kiln_cu_conv_free(kiln_cu_conv *c)
{
    if (c->x) cudnnDestroyTensorDescriptor(c->x);
    if (c->y) cudnnDestroyTensorDescriptor(c->y);
    if (c->b) cudnnDestroyTensorDescriptor(c->b);
    if (c->w) cudnnDestroyFilterDescriptor(c->w);
    if (c->conv) cudnnDestroyConvolutionDescriptor(c->conv);
}

#endif
