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
        if (sb == 0 && (sa == M * K || nb == 1)) { /* a shared B (a weight): one GEMM of nb * M rows, as large as it gets */
            KILN_CU_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)(nb * M), (int)K, &one, B, (int)N, A,
                                     (int)(K ? K : 1), &zero, Y, (int)N),
                         node);
            return KILN_STATUS_OK;
        }
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
 * FP32 plan of the graph API, else the fastest FMA-only legacy algorithm,
 * timed by cudnnFind, that fits the workspace), run per inference. ok = 0 where cuDNN cannot express the node (pads that change
 * the output size if made symmetric, more than 3 spatial axes): the module
 * then runs the reference kernel.
 * p: S, N, C, M, group, has bias, in dims[S], out dims[S], kernel[S],
 *    strides[S], dilations[S], begin pads[S].
 */
typedef struct {
    int ok;                       /* 0: not cuDNN, 1: the legacy algorithm, 2: the graph API's plan */
    cudnnTensorDescriptor_t x, y, b;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t algo;
    cudnnBackendDescriptor_t plan;
    size_t ws;
} kiln_cu_conv;

/*
 * The graph API sees engines the legacy cudnnFind does not (the fastest
 * FP32 implicit-GEMM kernels among them). Heuristics (modes A and fallback)
 * propose engine configurations; each one without TF32 or other reduced
 * precision that finalizes and fits the workspace is timed on scratch
 * buffers, and the fastest plan is kept. Any failure here only means "no
 * plan": the legacy path still runs.
 */
#define KILN_CU_MAX_CFG 24
#define KILN_CU_BE(call)                                                                           \
    do {                                                                                           \
        if ((call) != CUDNN_STATUS_SUCCESS) goto out;                                              \
    } while (0)

static cudnnBackendDescriptor_t kiln_cu_be_tensor(int64_t uid, int n, const int *d)
{
    cudnnBackendDescriptor_t t = 0;
    cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    int64_t dims[5], st[5], align = 16;
    for (int i = 0; i < n; i++) dims[i] = d[i];
    st[n - 1] = 1;
    for (int i = n - 2; i >= 0; i--) st[i] = st[i + 1] * dims[i + 1];
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t)) return 0;
    if (cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt) ||
        cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, n, dims) ||
        cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, n, st) ||
        cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid) ||
        cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align) || cudnnBackendFinalize(t)) {
        cudnnBackendDestroyDescriptor(t);
        return 0;
    }
    return t;
}

static cudnnStatus_t kiln_cu_be_exec(cudnnHandle_t h, cudnnBackendDescriptor_t plan, const void *x, const void *w, void *y,
                                     void *ws)
{
    cudnnBackendDescriptor_t vp = 0;
    int64_t uids[3] = {'x', 'w', 'y'};
    void *ptrs[3] = {(void *)x, (void *)w, y};
    cudnnStatus_t e = cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp);
    if (!e) e = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    if (!e) e = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
    if (!e) e = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    if (!e) e = cudnnBackendFinalize(vp);
    if (!e) e = cudnnBackendExecute(h, plan, vp);
    if (vp) cudnnBackendDestroyDescriptor(vp);
    return e;
}

/* True if the engine of cfg computes in full FP32 (no TF32, no down-conversion). */
static int kiln_cu_be_fp32(cudnnBackendDescriptor_t cfg)
{
    cudnnBackendDescriptor_t eng = 0;
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t n = 0, nn = 0;
    int ok = 0;
    KILN_CU_BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &eng));
    KILN_CU_BE(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &eng));
    KILN_CU_BE(cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                        CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &nn, notes));
    ok = 1;
    for (int64_t i = 0; i < nn; i++)
        if (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE || notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS ||
            notes[i] == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION)
            ok = 0;
out:
    if (eng) cudnnBackendDestroyDescriptor(eng);
    return ok;
}

/* Median of three timed runs of plan after one warm-up, in ms; -1 if it fails. */
static float kiln_cu_be_time(cudnnHandle_t h, cudnnBackendDescriptor_t plan, const void *x, const void *w, void *y, void *ws)
{
    cudaStream_t s = 0;
    cudaEvent_t e0 = 0, e1 = 0;
    float t[3] = {-1, -1, -1}, tmp;
    cudnnGetStream(h, &s);
    if (kiln_cu_be_exec(h, plan, x, w, y, ws) || cudaEventCreate(&e0) || cudaEventCreate(&e1)) goto out;
    for (int k = 0; k < 3; k++) {
        cudaEventRecord(e0, s);
        if (kiln_cu_be_exec(h, plan, x, w, y, ws)) goto out;
        cudaEventRecord(e1, s);
        if (cudaEventSynchronize(e1) || cudaEventElapsedTime(&t[k], e0, e1)) goto out;
    }
    if (t[0] > t[1]) tmp = t[0], t[0] = t[1], t[1] = tmp;
    if (t[1] > t[2]) tmp = t[1], t[1] = t[2], t[2] = tmp;
    if (t[0] > t[1]) tmp = t[0], t[0] = t[1], t[1] = tmp;
out:
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    cudaGetLastError(); /* a failed candidate must not leave its error behind */
    return t[1];
}

/* pad: both ends (kiln_cu_conv_plan checked that this gives the node's output size) */
static void kiln_cu_conv_graph(kiln_cu_conv *c, cudnnHandle_t h, int nd, const int *xd, const int *wd, const int *yd,
                               const int *pad, const int *str, const int *dil, void *ws, size_t ws_limit)
{
    cudnnBackendDescriptor_t x = 0, w = 0, y = 0, cv = 0, op = 0, graph = 0, heur = 0, cfg[KILN_CU_MAX_CFG] = {0};
    cudnnDataType_t ct = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    cudnnBackendHeurMode_t modes[2] = {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK};
    int64_t sp = nd, pre[3], st[3], dl[3], ncfg = 0, xb = 4, wb = 4, yb = 4;
    float one = 1, zero = 0, best = -1;
    unsigned char *buf = 0;
    for (int i = 0; i < nd; i++) pre[i] = pad[i], st[i] = str[i], dl[i] = dil[i];
    for (int i = 0; i < nd + 2; i++) xb *= xd[i], wb *= wd[i], yb *= yd[i];
    x = kiln_cu_be_tensor('x', nd + 2, xd), w = kiln_cu_be_tensor('w', nd + 2, wd), y = kiln_cu_be_tensor('y', nd + 2, yd);
    if (!x || !w || !y) goto out;
    KILN_CU_BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &cv));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &ct));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &sp));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, sp, dl));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, sp, st));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, sp, pre));
    KILN_CU_BE(cudnnBackendSetAttribute(cv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, sp, pre));
    KILN_CU_BE(cudnnBackendFinalize(cv));
    KILN_CU_BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, &op));
    KILN_CU_BE(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x));
    KILN_CU_BE(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w));
    KILN_CU_BE(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y));
    KILN_CU_BE(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cv));
    KILN_CU_BE(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &one));
    KILN_CU_BE(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &zero));
    KILN_CU_BE(cudnnBackendFinalize(op));
    KILN_CU_BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &graph));
    KILN_CU_BE(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op));
    KILN_CU_BE(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h));
    KILN_CU_BE(cudnnBackendFinalize(graph));
    for (int m = 0; m < 2 && ncfg < KILN_CU_MAX_CFG; m++) {
        int64_t n = 0, room = KILN_CU_MAX_CFG - ncfg;
        if (heur) cudnnBackendDestroyDescriptor(heur), heur = 0;
        if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur) ||
            cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph) ||
            cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &modes[m]) ||
            cudnnBackendFinalize(heur) ||
            cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, 0))
            continue;
        if (n > room) n = room;
        for (int64_t i = 0; i < n; i++)
            if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfg[ncfg + i])) n = i;
        if (cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n, &n, cfg + ncfg))
            n = 0;
        ncfg += n;
    }
    if (cudaMalloc((void **)&buf, (size_t)(xb + wb + yb + 512))) buf = 0;
    cudaMemset(buf, 0, buf ? (size_t)(xb + wb + yb + 512) : 0);
    for (int64_t i = 0; i < ncfg; i++) {
        cudnnBackendDescriptor_t plan = 0;
        int64_t need = 0, n = 0;
        float t;
        if (!cfg[i] || !kiln_cu_be_fp32(cfg[i])) continue;
        if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan) ||
            cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h) ||
            cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg[i]) ||
            cudnnBackendFinalize(plan) ||
            cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &need) ||
            need < 0 || (size_t)need > ws_limit) {
            if (plan) cudnnBackendDestroyDescriptor(plan);
            continue;
        }
        /* without scratch buffers, the heuristics' first choice */
        t = buf ? kiln_cu_be_time(h, plan, buf, buf + ((xb + 255) & ~255), buf + ((xb + 255) & ~255) + ((wb + 255) & ~255), ws)
                : 0;
        if (t >= 0 && (best < 0 || t < best)) {
            if (c->plan) cudnnBackendDestroyDescriptor(c->plan);
            c->plan = plan, c->ws = (size_t)need, best = t;
            if (!buf) break;
        } else {
            cudnnBackendDestroyDescriptor(plan);
        }
    }
    if (c->plan) c->ok = 2;
out:
    if (buf) cudaFree(buf);
    for (int64_t i = 0; i < KILN_CU_MAX_CFG; i++)
        if (cfg[i]) cudnnBackendDestroyDescriptor(cfg[i]);
    cudnnBackendDescriptor_t all[] = {heur, graph, op, cv, x, w, y};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]) cudnnBackendDestroyDescriptor(all[i]);
    cudaGetLastError();
}

static kiln_status kiln_cu_conv_plan(kiln_cu_conv *c, cudnnHandle_t h, const int64_t *p, void *ws, size_t ws_limit,
                                     const char *node)
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
    kiln_cu_conv_graph(c, h, nd, xd, wd, yd, pad, str, dil, ws, ws_limit);
    if (c->ok) return KILN_STATUS_OK;
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
    if (c->ok == 2)
        KILN_CU_DNN(kiln_cu_be_exec(h, c->plan, x, w, y, ws), node);
    else
        KILN_CU_DNN(cudnnConvolutionForward(h, &one, c->x, x, c->w, w, c->conv, c->algo, ws, c->ws, &zero, c->y, y), node);
    if (p[5] && bias) KILN_CU_DNN(cudnnAddTensor(h, &one, c->b, b, &one, c->y, y), node);
    return KILN_STATUS_OK;
}

/*
 * Depthwise 2-D convolution (group == C == M), one thread per output, with
 * the conv's bias and a ReLU or Clip epilogue clamped to [lo, hi] in the
 * same pass (cuDNN's FP32 grouped kernels are several times slower). The
 * comparisons keep NaN, as the reference Relu and Clip do.
 */
static __global__ void kiln_cu_dwconv_f32(const float *x, const float *w, const float *b, float *y, unsigned total,
                                          int C, int H, int W, int OH, int OW, int KH, int KW, int sh, int sw, int dh,
                                          int dw, int ph, int pw, float lo, float hi)
{
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
        int ow = (int)(i % (unsigned)OW), oh = (int)(i / (unsigned)OW % (unsigned)OH);
        unsigned nc = i / (unsigned)(OW * OH);
        const float *xp = x + (size_t)nc * H * W, *wp = w + (size_t)(nc % (unsigned)C) * KH * KW;
        float v = b ? b[nc % (unsigned)C] : 0.0f;
        for (int kh = 0; kh < KH; kh++) {
            int ih = oh * sh - ph + kh * dh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                int iw = ow * sw - pw + kw * dw;
                if (iw >= 0 && iw < W) v += xp[ih * W + iw] * wp[kh * KW + kw];
            }
        }
        y[i] = v < lo ? lo : v > hi ? hi : v;
    }
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

/* The common epilogues, four floats a thread with 32-bit indices: a conv's
 * bias per channel (channel = i / inner % nch, inner a multiple of 4), a
 * bias per column (i % ncol, ncol a multiple of 4), a residual with y's
 * layout. Codegen checks those conditions (emit_fused). */
template <int NI, int NO>
static __global__ void kiln_cu_epilogue4_f32(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io, const float *cb, unsigned n4,
                                             unsigned nch, unsigned inner, unsigned ncol)
{
    int act = (int)p[2];
    const float4 *b = (const float4 *)io.in[3], *res = (const float4 *)io.in[4];
    float4 *y = (float4 *)io.out[0];
    float alpha = (float)f[0], beta = (float)f[1];
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += gridDim.x * blockDim.x) {
        float4 v = y[i];
        if (cb) {
            float c = cb[i * 4 / inner % nch];
            v.x += c, v.y += c, v.z += c, v.w += c;
        }
        if (b) {
            float4 t = b[i % (ncol / 4)];
            v.x += t.x, v.y += t.y, v.z += t.z, v.w += t.w;
        }
        if (res) {
            float4 t = res[i];
            v.x += t.x, v.y += t.y, v.z += t.z, v.w += t.w;
        }
        if (act >= 0) {
            v.x = (float)kiln_fz_apply_f32(act, v.x, alpha, beta), v.y = (float)kiln_fz_apply_f32(act, v.y, alpha, beta);
            v.z = (float)kiln_fz_apply_f32(act, v.z, alpha, beta), v.w = (float)kiln_fz_apply_f32(act, v.w, alpha, beta);
        }
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
    if (c->plan) cudnnBackendDestroyDescriptor(c->plan);
}

#endif
