/* api_test.cu — bad use of a CUDA module gets clear errors, and the run
 * modes agree. Built by tests/device/run.sh around a module named mlp:
 *
 *   api_test  (prints one line per check and "N passed, N failed")
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thread>

#include "mlp.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s: %s%s%s\n", ok ? "ok" : "FAILED", what, ok ? "" : " -- last error: ", ok ? "" : kiln_cuda_last_error());
    ok ? passed++ : failed++;
}

static int expect(kiln_status got, kiln_status want, const char *needle, const char *what)
{
    int ok = got == want && strstr(kiln_cuda_last_error(), needle) != NULL;
    printf("%s: %s: %s: \"%s\"\n", ok ? "ok" : "FAILED", what, kiln_status_string(got), kiln_cuda_last_error());
    ok ? passed++ : failed++;
    return ok;
}

static void *no_alloc(void *user, size_t n) { (void)user; (void)n; return NULL; }
static void no_free(void *user, void *p) { (void)user; (void)p; }

static int nodes_seen;
static void on_node(void *user, int node, const char *name, const char *op, float ms)
{
    (void)user; (void)node; (void)name; (void)op;
    if (ms >= 0) nodes_seen++;
}

int main(void)
{
    const kiln_model_desc *desc = mlp_desc();
    size_t nin = kiln_tensor_numel(&desc->inputs[0]), nout = kiln_tensor_numel(&desc->outputs[0]);
    float *x = (float *)malloc(nin * 4), *y0 = (float *)calloc(nout, 4), *y1 = (float *)calloc(nout, 4);
    void *dx, *dy, *dy2;
    mlp_context *ctx = NULL, *ctx2 = NULL;
    for (size_t i = 0; i < nin; i++) x[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
    cudaMalloc(&dx, nin * 4);
    cudaMalloc(&dy, nout * 4);
    cudaMalloc(&dy2, nout * 4);
    cudaMemcpy(dx, x, nin * 4, cudaMemcpyHostToDevice);
    const void *in[1] = {dx};
    void *out[1] = {dy}, *out2[1] = {dy2};

    expect(mlp_create(0, NULL, NULL, NULL), KILN_STATUS_INVALID_ARGUMENT, "out is NULL", "create with out NULL");
    expect(mlp_create(99, NULL, NULL, &ctx), KILN_STATUS_INVALID_ARGUMENT, "device 99 does not exist", "create on a wrong device");
    check(ctx == NULL, "a failed create leaves *out NULL");
    kiln_cuda_allocator bad = {no_alloc, no_free, NULL};
    expect(mlp_create(0, NULL, &bad, &ctx), KILN_STATUS_OUT_OF_MEMORY, "allocator gave no", "create when the allocator has no memory");
    expect(mlp_create(0, (void *)((char *)dy + 4), NULL, &ctx), KILN_STATUS_INVALID_ARGUMENT, "aligned", "create with misaligned device memory");
    check(mlp_create(0, NULL, NULL, &ctx) == KILN_STATUS_OK, "create");
    expect(mlp_run(ctx, NULL, out), KILN_STATUS_INVALID_ARGUMENT, "NULL", "run with inputs NULL");
    const void *nullin[1] = {NULL};
    expect(mlp_run(ctx, nullin, out), KILN_STATUS_INVALID_ARGUMENT, "input 0 is NULL", "run with a NULL input");
    expect(mlp_run(NULL, in, out), KILN_STATUS_INVALID_ARGUMENT, "context is NULL", "run with no context");
    check(mlp_run(ctx, in, out) == KILN_STATUS_OK, "run");
    cudaMemcpy(y0, dy, nout * 4, cudaMemcpyDeviceToHost);

    kiln_cuda_options graph = {KILN_CUDA_GRAPH, 0, 0};
    check(mlp_configure(ctx, &graph) == KILN_STATUS_OK, "configure: CUDA graph");
    cudaMemset(dy, 0, nout * 4);
    check(mlp_run(ctx, in, out) == KILN_STATUS_OK && mlp_run(ctx, in, out) == KILN_STATUS_OK, "run twice as a CUDA graph");
    cudaMemcpy(y1, dy, nout * 4, cudaMemcpyDeviceToHost);
    check(memcmp(y0, y1, nout * 4) == 0, "the CUDA graph gives the same bits");

    kiln_cuda_options dbg = {KILN_CUDA_DEBUG_SYNC, on_node, NULL};
    check(mlp_configure(ctx, &dbg) == KILN_STATUS_OK && mlp_run(ctx, in, out) == KILN_STATUS_OK, "debug sync with the profiler");
    check(nodes_seen > 0, "the profiler saw every node");

    /* two contexts on two threads at once */
    check(mlp_create(0, NULL, NULL, &ctx2) == KILN_STATUS_OK, "a second context");
    kiln_status s1 = KILN_STATUS_INTERNAL, s2 = KILN_STATUS_INTERNAL;
    std::thread t1([&] { for (int i = 0; i < 50; i++) s1 = mlp_run(ctx, in, out); });
    std::thread t2([&] { for (int i = 0; i < 50; i++) s2 = mlp_run(ctx2, in, out2); });
    t1.join();
    t2.join();
    cudaMemcpy(y1, dy2, nout * 4, cudaMemcpyDeviceToHost);
    check(s1 == KILN_STATUS_OK && s2 == KILN_STATUS_OK && memcmp(y0, y1, nout * 4) == 0, "two contexts in parallel threads agree");

    mlp_destroy(ctx);
    expect(mlp_run(ctx, in, out), KILN_STATUS_INVALID_ARGUMENT, "destroyed", "run on a destroyed context");
    mlp_destroy(ctx); /* a second destroy is harmless */
    mlp_destroy(ctx2);

    /* out of device memory at create: hold nearly all of it first */
    size_t free_b = 0, total_b = 0;
    void *hog = NULL;
    cudaMemGetInfo(&free_b, &total_b);
    if (free_b > ((size_t)64 << 20) && cudaMalloc(&hog, free_b - ((size_t)48 << 20)) == cudaSuccess) {
        expect(mlp_create(0, NULL, NULL, &ctx), KILN_STATUS_OUT_OF_MEMORY, "", "create with the device memory taken");
        cudaFree(hog);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
