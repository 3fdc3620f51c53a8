/* run_cuda.c — kiln run --target cuda: build the CUDA module and its run
 * harness with nvcc (for the GPU's compute capability) and run it. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "config.h"

Status build_and_run_cuda(Graph *g, const char *dir, int bench, const CudaRunOptions *ro, Diag *d)
{
    static const char *const files[] = {"kiln_rt.c", "kiln_rt_cuda.cu", "run_main_cuda.cu"};
    char path[4200];
    const char *nvcc = getenv("NVCC") && getenv("NVCC")[0] ? getenv("NVCC") : KILN_CONFIG_NVCC;
    if (!nvcc[0]) return diag_unsupported(d, NULL, "--target cuda: this kiln was configured without nvcc (set $NVCC)");
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        const char *text = embedded_file(files[i]);
        if (!text || run_write_raw(path, text, strlen(text), d)) return d->status ? d->status : ST_INTERNAL;
    }
    for (int k = 0; k < g->ninputs; k++) {
        snprintf(path, sizeof path, "%s/in_%d.bin", dir, k);
        if (run_write_raw(path, g->inputs[k]->data, value_bytes(g->inputs[k]), d)) return d->status;
    }
    /* kiln_rt.c is C: nvcc compiles .c files as C, and the rest as CUDA C++ */
    char src[3][4300], prog[4300], inc[4300], arch[64], log[4300];
    snprintf(src[0], sizeof src[0], "%s/model.cu", dir);
    snprintf(src[1], sizeof src[1], "%s/run_main_cuda.cu", dir);
    snprintf(src[2], sizeof src[2], "%s/kiln_rt_cuda.cu", dir);
    snprintf(prog, sizeof prog, "%s/model", dir);
    snprintf(inc, sizeof inc, "-I%s", dir);
    snprintf(arch, sizeof arch, "-arch=sm_%d", ro->arch);
    snprintf(path, sizeof path, "%s/kiln_rt.c", dir);
    snprintf(log, sizeof log, "%s/nvcc.log", dir);
    char *argv[] = {(char *)nvcc, arch, "-O2", "-w", "-std=c++17", inc, src[0], src[1], src[2], path, "-o", prog,
                    "-lcublas", "-lcudnn", NULL};
    int rc = run_spawn(argv, log);
    if (rc != 0)
        return diag_error(d, ST_INTERNAL, NULL, "the generated CUDA module did not build (%s exited with %d): see %s", nvcc, rc, log);
    char iters[32];
    snprintf(iters, sizeof iters, "%d", bench);
    char *runargv[6] = {prog, (char *)dir};
    int na = 2;
    if (bench || ro->profile) {
        runargv[na++] = iters;
        if (ro->with_copies) runargv[na++] = "with-copies";
        if (ro->profile) runargv[na++] = "profile";
    }
    rc = run_spawn(runargv, NULL);
    if (rc == 1) return diag_error(d, ST_INPUT, NULL, "the module rejected its inputs (see above)");
    if (rc != 0) return diag_error(d, ST_INTERNAL, NULL, "the generated CUDA module failed (exit %d%s)", rc, rc > 128 ? ", a signal" : "");
    return ST_OK;
}
