/* run_main_cuda.cu — the program kiln run --target cuda builds around a module.
 *
 *   prog DIR [BENCH_ITERATIONS [with-copies] [profile]]
 *
 * Reads DIR/in_K.bin, copies the inputs to the GPU, runs the module, copies
 * the outputs back to DIR/out_K.bin. With BENCH_ITERATIONS it times that many
 * inferences with CUDA events, without and with CUDA graphs, host-device
 * copies excluded unless with-copies (trtexec's split); profile prints the
 * GPU time of every node. kiln handles .npy; this moves raw bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static void *read_all(const char *path, size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    FILE *f = fopen(path, "rb");
    if (!p || !f || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "run: cannot read %zu bytes from %s\n", bytes, path);
        exit(3);
    }
    fclose(f);
    return p;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, kiln_status st)
{
    fprintf(stderr, "run: %s failed: %s: %s\n", what, kiln_status_string(st), kiln_cuda_last_error());
    exit(st == KILN_STATUS_SHAPE_MISMATCH || st == KILN_STATUS_INVALID_ARGUMENT ? 1 : 3);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "run: %s: %s\n", #call, cudaGetErrorString(e_));                       \
            exit(3);                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    double total[4096];
    int count[4096];
} Profile;

static void on_node(void *user, int node, const char *name, const char *op, float ms)
{
    Profile *p = (Profile *)user;
    (void)name;
    (void)op;
    if (node < 4096) p->total[node] += ms, p->count[node]++;
}

static const char *node_name_of[4096];
static const char *node_op_of[4096];
static void remember(void *user, int node, const char *name, const char *op, float ms)
{
    if (node < 4096) node_name_of[node] = name, node_op_of[node] = op;
    on_node(user, node, name, op, ms);
}

int main(int argc, char **argv)
{
    const kiln_model_desc *desc = model_desc();
    const void *host_in[model_NUM_INPUTS + 1];
    void *host_out[model_NUM_OUTPUTS + 1];
    const void *dev_in[model_NUM_INPUTS + 1];
    void *dev_out[model_NUM_OUTPUTS + 1];
    size_t in_bytes[model_NUM_INPUTS + 1], out_bytes[model_NUM_OUTPUTS + 1];
    char path[4096];
    int k, iters = argc > 2 ? atoi(argv[2]) : 0, with_copies = 0, profile = 0;
    model_context *ctx;
    kiln_status st;
    for (k = 3; k < argc; k++) {
        with_copies |= strcmp(argv[k], "with-copies") == 0;
        profile |= strcmp(argv[k], "profile") == 0;
    }
    if (argc < 2 || !desc) {
        fprintf(stderr, "usage: %s DIR [ITERATIONS [with-copies] [profile]]\n", argv[0]);
        return 3;
    }
    const char *dev_env = getenv("KILN_CUDA_DEVICE");
    if ((st = model_create(dev_env ? atoi(dev_env) : 0, NULL, NULL, &ctx)) != KILN_STATUS_OK) die("model_create", st);
    if (getenv("KILN_CUDA_DEBUG_SYNC")) {
        kiln_cuda_options o = {KILN_CUDA_DEBUG_SYNC, 0, 0};
        if ((st = model_configure(ctx, &o)) != KILN_STATUS_OK) die("model_configure", st);
    }
    for (k = 0; k < desc->num_inputs; k++) {
        void *d = 0;
        in_bytes[k] = kiln_tensor_bytes(&desc->inputs[k]);
        snprintf(path, sizeof path, "%s/in_%d.bin", argv[1], k);
        host_in[k] = read_all(path, in_bytes[k]);
        CHECK(cudaMalloc(&d, in_bytes[k] ? in_bytes[k] : 1));
        CHECK(cudaMemcpy(d, host_in[k], in_bytes[k], cudaMemcpyHostToDevice));
        dev_in[k] = d;
    }
    /* a copy from pageable memory may still be landing: the module's stream does not wait for it */
    CHECK(cudaDeviceSynchronize());
    for (k = 0; k < desc->num_outputs; k++) {
        out_bytes[k] = kiln_tensor_bytes(&desc->outputs[k]);
        host_out[k] = calloc(1, out_bytes[k] ? out_bytes[k] : 1);
        CHECK(cudaMalloc(&dev_out[k], out_bytes[k] ? out_bytes[k] : 1));
    }
    if ((st = model_run(ctx, dev_in, dev_out)) != KILN_STATUS_OK) die("model_run", st);
    for (k = 0; k < desc->num_outputs; k++) {
        FILE *f;
        CHECK(cudaMemcpy(host_out[k], dev_out[k], out_bytes[k], cudaMemcpyDeviceToHost));
        snprintf(path, sizeof path, "%s/out_%d.bin", argv[1], k);
        f = fopen(path, "wb");
        if (!f || fwrite(host_out[k], 1, out_bytes[k], f) != out_bytes[k] || fclose(f) != 0) {
            fprintf(stderr, "run: cannot write %s\n", path);
            return 3;
        }
    }
    if (iters > 0) {
        cudaStream_t s;
        cudaEvent_t e0, e1;
        float *t = (float *)malloc(sizeof *t * (size_t)iters);
        CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
        CHECK(cudaEventCreate(&e0));
        CHECK(cudaEventCreate(&e1));
        for (int graph = 0; graph < 2; graph++) {
            kiln_cuda_options o = {graph ? (unsigned)KILN_CUDA_GRAPH : 0u, 0, 0};
            int warm = iters < 10 ? iters : 10, i;
            double total = 0;
            if ((st = model_configure(ctx, &o)) != KILN_STATUS_OK) die("model_configure", st);
            for (i = 0; i < warm + iters; i++) {
                CHECK(cudaEventRecord(e0, s));
                if (with_copies)
                    for (k = 0; k < desc->num_inputs; k++)
                        CHECK(cudaMemcpyAsync((void *)dev_in[k], host_in[k], in_bytes[k], cudaMemcpyHostToDevice, s));
                if ((st = model_enqueue(ctx, dev_in, dev_out, s)) != KILN_STATUS_OK) die("model_enqueue", st);
                if (with_copies)
                    for (k = 0; k < desc->num_outputs; k++)
                        CHECK(cudaMemcpyAsync(host_out[k], dev_out[k], out_bytes[k], cudaMemcpyDeviceToHost, s));
                CHECK(cudaEventRecord(e1, s));
                CHECK(cudaEventSynchronize(e1));
                if (i >= warm) {
                    CHECK(cudaEventElapsedTime(&t[i - warm], e0, e1));
                    total += t[i - warm];
                }
            }
            qsort(t, (size_t)iters, sizeof *t, cmp_float);
            printf("gpu time (ms, %s, %d runs after %d warm-up%s): min %.4f  p10 %.4f  median %.4f  p90 %.4f  max %.4f\n",
                   graph ? "cuda graph" : "stream", iters, warm, with_copies ? ", with copies" : ", no copies", t[0],
                   t[iters / 10], t[iters / 2], t[iters * 9 / 10], t[iters - 1]);
            printf("throughput (%s): %.2f inferences/s\n", graph ? "cuda graph" : "stream", iters / (total / 1e3));
        }
        free(t);
    }
    if (profile) {
        static Profile prof;
        kiln_cuda_options o = {0, remember, &prof};
        int runs = iters > 0 ? (iters < 20 ? iters : 20) : 5, i, n = 0;
        double sum = 0;
        if ((st = model_configure(ctx, &o)) != KILN_STATUS_OK) die("model_configure", st);
        for (i = 0; i < runs; i++)
            if ((st = model_run(ctx, dev_in, dev_out)) != KILN_STATUS_OK) die("model_run", st);
        for (i = 0; i < 4096 && prof.count[i]; i++, n++) sum += prof.total[i] / prof.count[i];
        printf("per-node GPU time (ms, mean of %d runs):\n", runs);
        for (i = 0; i < n; i++)
            printf("  %4d  %-14s %9.4f  %5.1f%%  %s\n", i, node_op_of[i], prof.total[i] / prof.count[i],
                   100 * prof.total[i] / prof.count[i] / (sum > 0 ? sum : 1), node_name_of[i]);
        printf("  total %.4f ms\n", sum);
    }
    model_destroy(ctx);
    return 0;
}
