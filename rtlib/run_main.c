/* run_main.c — the program kiln run builds around a generated module.
 *
 *   prog DIR [BENCH_ITERATIONS]
 *
 * Reads DIR/in_K.bin (raw inputs, as the descriptor lists them), runs the
 * module, writes DIR/out_K.bin. With BENCH_ITERATIONS it also times that many
 * runs after a warm-up and prints latency percentiles and throughput.
 * kiln itself handles .npy files; this program only moves raw bytes. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const kiln_model_desc *desc = model_desc();
    const void *inputs[model_NUM_INPUTS + 1];
    void *outputs[model_NUM_OUTPUTS + 1];
    char path[4096];
    int k, iters = argc > 2 ? atoi(argv[2]) : 0, rc = 0;
    void *ws = NULL;
    kiln_status st;
    if (argc < 2 || !desc || posix_memalign(&ws, KILN_ALIGNMENT, model_WORKSPACE_SIZE + 1) != 0) {
        fprintf(stderr, "usage: %s DIR [ITERATIONS]\n", argv[0]);
        return 3;
    }
    memset(outputs, 0, sizeof outputs);
    for (k = 0; k < desc->num_inputs; k++) {
        snprintf(path, sizeof path, "%s/in_%d.bin", argv[1], k);
        inputs[k] = read_all(path, kiln_tensor_bytes(&desc->inputs[k]));
    }
    for (k = 0; k < desc->num_outputs; k++) {
        size_t n = kiln_tensor_bytes(&desc->outputs[k]);
        outputs[k] = calloc(1, n ? n : 1);
    }
    st = model_run(inputs, outputs, ws);
    if (st == KILN_STATUS_NONFINITE) { /* --checked: say where */
        for (k = 0; k < desc->num_outputs; k++) {
            size_t i = kiln_tensor_find_nonfinite(&desc->outputs[k], outputs[k]);
            if (i != (size_t)-1)
                fprintf(stderr, "run: output %d '%s' holds NaN or Inf (first at flat index %lu)\n", k,
                        desc->outputs[k].name, (unsigned long)i);
        }
        rc = 4;
        goto done;
    }
    if (st != KILN_STATUS_OK) {
        fprintf(stderr, "run: model_run failed: %s\n", kiln_status_string(st));
        rc = 1;
        goto done;
    }
    for (k = 0; k < desc->num_outputs; k++) {
        size_t n = kiln_tensor_bytes(&desc->outputs[k]);
        FILE *f;
        snprintf(path, sizeof path, "%s/out_%d.bin", argv[1], k);
        f = fopen(path, "wb");
        if (!f || fwrite(outputs[k], 1, n, f) != n || fclose(f) != 0) {
            fprintf(stderr, "run: cannot write %s\n", path);
            rc = 3;
            goto done;
        }
    }
    if (iters > 0) {
        double *t = malloc(sizeof *t * (size_t)iters), total = 0;
        int warm = iters < 10 ? iters : 10;
        for (k = 0; k < warm; k++) model_run(inputs, outputs, ws);
        for (k = 0; k < iters; k++) {
            double t0 = now_ms();
            model_run(inputs, outputs, ws);
            t[k] = now_ms() - t0;
            total += t[k];
        }
        qsort(t, (size_t)iters, sizeof *t, cmp_double);
        printf("latency (ms, %d runs after %d warm-up): min %.4f  p10 %.4f  median %.4f  p90 %.4f  p99 %.4f  max %.4f\n",
               iters, warm, t[0], t[iters / 10], t[iters / 2], t[iters * 9 / 10], t[iters * 99 / 100], t[iters - 1]);
        printf("throughput: %.2f inferences/s\n", iters / (total / 1e3));
        free(t);
    }
done: /* free everything, so a sanitized build reports no leaks */
    for (k = 0; k < desc->num_inputs; k++) free((void *)inputs[k]);
    for (k = 0; k < desc->num_outputs; k++) free(outputs[k]);
    free(ws);
    return rc;
}
