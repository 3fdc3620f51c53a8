/* cmd_run.c — kiln run: compile to a temporary module, build it with the
 * system C compiler, run it on .npy inputs, write .npy outputs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln.h"
#include "config.h"

static const char run_usage[] =
    "usage: kiln run MODEL [options]\n"
    "\n"
    "Compile MODEL to a temporary C module, build it with the system compiler ($CC or cc,\n"
    "with $KILN_MODULE_CFLAGS added), run it, and write graph output K to DIR/output_K.npy.\n"
    "\n"
    "  --input NAME=FILE.npy  an input (NAME= may be left out for a model with one input);\n"
    "                         inputs that decide shapes are compiled in as constants\n"
    "  --output-dir DIR       where to write output_K.npy (default: .)\n"
    "  --bench N              also time N runs: latency percentiles and throughput;\n"
    "                         inputs not given are filled with seeded random values\n"
    "  --keep                 keep the temporary module and print its folder\n"
    "  --target cuda          build with nvcc and run on the GPU (--cuda-arch SM, default 90);\n"
    "                         --bench times GPU work with CUDA events, without and with\n"
    "                         CUDA graphs; --with-copies adds the host-device copies;\n"
    "                         --profile prints each node's GPU time\n"
    "  -O0/-O1/-O2, --passes, --dim, --bind, --dump-ir, --dump-ir-after, --verify-each,\n"
    "  --time-passes, --checked, --max-memory, --allow-absolute-paths:\n"
    "                         as for kiln compile\n";

typedef struct {
    const char *name;  /* NULL: the only input */
    const char *file;
} InputArg;

/* Run argv; returns its exit status, or 128+signal. With log, its output
 * goes to that file instead of ours. */
int run_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (log) {
            FILE *f = fopen(log, "w");
            if (f) {
                dup2(fileno(f), STDOUT_FILENO);
                dup2(fileno(f), STDERR_FILENO);
            }
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

Status run_write_raw(const char *path, const void *data, size_t n, Diag *d)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        return diag_error(d, ST_INTERNAL, NULL, "cannot write '%s': %s", path, strerror(errno));
    return ST_OK;
}

/* Deterministic, non-zero data for inputs a benchmark was not given. */
static void fill_random(Value *v, void *data)
{
    uint64_t state = 0x9e3779b97f4a7c15u ^ (uint64_t)v->id;
    int64_t n = shape_numel(&v->shape);
    for (int64_t i = 0; i < n; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        double u = (double)(state >> 11) / 9007199254740992.0;
        dtype_store_f64(v->dtype, data, (size_t)i, dtype_is_float(v->dtype) ? u * 2 - 1 : (double)(int)(u * 4));
    }
}

/* Match the given .npy files to the model's inputs; bind symbolic dims to their shapes. */
static Status attach_inputs(Graph *g, const InputArg *args, int nargs, bool bench, CompileOptions *o, Diag *d)
{
    for (int i = 0; i < nargs; i++) {
        Value *v = NULL;
        if (!args[i].name) {
            if (g->ninputs != 1)
                return diag_error(d, ST_USAGE, NULL, "--input %s: the model has %d inputs; write --input NAME=FILE.npy",
                                  args[i].file, g->ninputs);
            v = g->inputs[0];
        } else {
            for (int k = 0; k < g->ninputs; k++)
                if (strcmp(g->inputs[k]->name, args[i].name) == 0) v = g->inputs[k];
            if (!v) return diag_error(d, ST_INPUT, NULL, "--input %s: the model has no input of that name", args[i].name);
        }
        if (v->data) return diag_error(d, ST_USAGE, NULL, "input '%s' is given twice", v->name);
        NpyArray a;
        if (npy_read(args[i].file, &a, d)) return d->status;
        char s1[128], s2[128];
        /* NumPy has no bfloat16: such inputs arrive as their uint16 bits. */
        bool same_type = a.dtype == v->dtype || (v->dtype == KILN_DTYPE_BF16 && a.dtype == KILN_DTYPE_U16);
        bool ok = same_type && a.shape.rank == v->shape.rank;
        for (int ax = 0; ok && ax < a.shape.rank; ax++) {
            if (v->shape.dims[ax] >= 0 && v->shape.dims[ax] != a.shape.dims[ax]) ok = false;
            if (v->shape.dims[ax] < 0 && o->ndim < MAX_BINDINGS) {
                o->dim[o->ndim].name = v->shape.sym[ax];
                o->dim[o->ndim++].value = a.shape.dims[ax];
                /* the same symbol elsewhere takes this value too */
                for (int k = 0; k < g->ninputs; k++)
                    for (int bx = 0; bx < g->inputs[k]->shape.rank; bx++)
                        if (g->inputs[k]->shape.sym[bx] && strcmp(g->inputs[k]->shape.sym[bx], v->shape.sym[ax]) == 0 &&
                            (k != (int)(v - g->inputs[0]) || bx != ax)) {
                            g->inputs[k]->shape.dims[bx] = a.shape.dims[ax];
                            g->inputs[k]->shape.sym[bx] = NULL;
                        }
                v->shape.dims[ax] = a.shape.dims[ax];
                v->shape.sym[ax] = NULL;
                o->ndim--; /* applied directly */
            }
        }
        if (!ok) {
            free(a.data);
            return diag_error(d, ST_INPUT, NULL, "--input %s: '%s' holds %s%s, the input is %s%s", v->name, args[i].file,
                              dtype_name(a.dtype), shape_str(&a.shape, s1, sizeof s1), dtype_name(v->dtype),
                              shape_str(&v->shape, s2, sizeof s2));
        }
        void *copy = arena_alloc(g->arena, a.bytes ? a.bytes : 1);
        if (copy && a.bytes) memcpy(copy, a.data, a.bytes);
        free(a.data);
        v->data = copy; /* known, so shape rules may bind it */
    }
    for (int k = 0; k < g->ninputs; k++) {
        Value *v = g->inputs[k];
        if (v->data) continue;
        char s[128];
        if (!bench || !shape_is_static(&v->shape))
            return diag_error(d, ST_INPUT, NULL, "input '%s' (%s%s) is not given: add --input %s=FILE.npy", v->name,
                              dtype_name(v->dtype), shape_str(&v->shape, s, sizeof s), v->name);
        void *data = arena_alloc(g->arena, value_bytes(v) + 1);
        fill_random(v, data);
        v->data = data;
    }
    return ST_OK;
}

static Status build_and_run(Graph *g, const char *dir, int bench, Diag *d)
{
    static const char *const files[] = {"kiln_rt.c", "kiln_threads.c", "run_main.c"};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        const char *text = embedded_file(files[i]);
        if (run_write_raw(path, text, strlen(text), d)) return d->status;
    }
    for (int k = 0; k < g->ninputs; k++) {
        snprintf(path, sizeof path, "%s/in_%d.bin", dir, k);
        if (run_write_raw(path, g->inputs[k]->data, value_bytes(g->inputs[k]), d)) return d->status;
    }
    const char *cc = getenv("CC") && getenv("CC")[0] ? getenv("CC") : KILN_CONFIG_CC;
    char src[4][4200], prog[4200], inc[4200];
    snprintf(src[0], sizeof src[0], "%s/model.c", dir);
    snprintf(src[1], sizeof src[1], "%s/run_main.c", dir);
    snprintf(src[2], sizeof src[2], "%s/kiln_rt.c", dir);
    snprintf(src[3], sizeof src[3], "%s/kiln_threads.c", dir); /* the pool of --threads modules */
    snprintf(prog, sizeof prog, "%s/model", dir);
    snprintf(inc, sizeof inc, "-I%s", dir);
    char *ccargv[48] = {(char *)cc, "-std=c99", bench ? "-O3" : "-O1", bench ? "-march=native" : "-g0", inc, src[0], src[1], src[2],
                        src[3], "-pthread", "-o", prog, "-lm"};
    /* $KILN_MODULE_CFLAGS: more flags for the module's build (sanitizers, for one) */
    char extra[1024];
    snprintf(extra, sizeof extra, "%s", getenv("KILN_MODULE_CFLAGS") ? getenv("KILN_MODULE_CFLAGS") : "");
    int nargs = 13;
    for (char *save = NULL, *t = strtok_r(extra, " \t", &save); t && nargs < 47; t = strtok_r(NULL, " \t", &save))
        ccargv[nargs++] = t;
    char log[4200];
    snprintf(log, sizeof log, "%s/cc.log", dir);
    int rc = run_spawn(ccargv, log);
    if (rc != 0)
        return diag_error(d, ST_INTERNAL, NULL, "the generated module did not build (%s exited with %d): see %s", cc, rc, log);
    char iters[32];
    snprintf(iters, sizeof iters, "%d", bench);
    char *runargv[] = {prog, (char *)dir, bench ? iters : NULL, NULL};
    rc = run_spawn(runargv, NULL);
    if (rc == 1) return diag_error(d, ST_INPUT, NULL, "the module rejected its inputs (see above)");
    if (rc == 4) return diag_error(d, ST_INPUT, NULL, "--checked: an output holds NaN or Inf (see above)");
    if (rc != 0) return diag_error(d, ST_INTERNAL, NULL, "the generated module failed (exit %d%s)", rc, rc > 128 ? ", a signal" : "");
    return ST_OK;
}

static Status write_outputs(const Graph *g, const char *dir, const char *outdir, Diag *d)
{
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
        return diag_error(d, ST_INPUT, NULL, "cannot create output directory '%s': %s", outdir, strerror(errno));
    for (int k = 0; k < g->noutputs; k++) {
        const Value *v = g->outputs[k];
        size_t n = value_bytes(v);
        char path[4200];
        snprintf(path, sizeof path, "%s/out_%d.bin", dir, k);
        void *data = malloc(n ? n : 1);
        FILE *f = fopen(path, "rb");
        bool ok = data && f && fread(data, 1, n, f) == n;
        if (f) fclose(f);
        if (!ok) {
            free(data);
            return diag_error(d, ST_INTERNAL, NULL, "the module wrote no output %d", k);
        }
        snprintf(path, sizeof path, "%s/output_%d.npy", outdir, k);
        Status st = npy_write(path, v->dtype, &v->shape, data, d);
        free(data);
        if (st) return st;
    }
    return ST_OK;
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"model.c", "model.h", "kiln_rt.h", "kiln_rt.c", "kiln_threads.c", "run_main.c", "model", "cc.log",
                                        "model.cu", "kiln_rt_cuda.h", "kiln_rt_cuda.cu", "run_main_cuda.cu", "nvcc.log"};
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    for (int k = 0; k < 1024; k++) {
        snprintf(path, sizeof path, "%s/in_%d.bin", dir, k);
        bool in = unlink(path) == 0;
        snprintf(path, sizeof path, "%s/out_%d.bin", dir, k);
        bool out = unlink(path) == 0;
        if (!in && !out) break;
    }
    rmdir(dir);
}

int cmd_run(int argc, char **argv)
{
    CompileOptions o = {.name = "model", .target = "c", .level = 2};
    Diag d = {0};
    InputArg inputs[256];
    int ninputs = 0, bench = 0;
    bool keep = false;
    CudaRunOptions cro = {0};
    const char *outdir = ".";
    for (int i = 0; i < argc && !d.status; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(run_usage, stdout);
            return 0;
        }
        if (parse_common_option(argc, argv, &i, &o, &d)) continue;
        if (strcmp(a, "--input") == 0 && i + 1 < argc) {
            if (ninputs == 256) { diag_error(&d, ST_USAGE, NULL, "too many --input options"); break; }
            char *v = argv[++i], *eq = strchr(v, '=');
            inputs[ninputs].name = eq ? option_name(v, (size_t)(eq - v)) : NULL;
            inputs[ninputs++].file = eq ? eq + 1 : v;
        } else if (strcmp(a, "--output-dir") == 0 && i + 1 < argc) outdir = argv[++i];
        else if (strcmp(a, "--bench") == 0 && i + 1 < argc) {
            char *end;
            bench = (int)strtol(argv[++i], &end, 10);
            if (*end || bench <= 0) diag_error(&d, ST_USAGE, NULL, "--bench takes a positive count");
        } else if (strcmp(a, "--keep") == 0) keep = true;
        else if (strcmp(a, "--with-copies") == 0) cro.with_copies = true;
        else if (strcmp(a, "--profile") == 0) cro.profile = true;
        else if (a[0] == '-') diag_error(&d, ST_USAGE, NULL, "unknown option '%s' (see kiln run --help)", a);
        else if (o.model) diag_error(&d, ST_USAGE, NULL, "more than one model given ('%s' and '%s')", o.model, a);
        else o.model = a;
    }
    if (d.status || check_options(&o, &d)) {
        report("kiln run", &d);
        return ST_USAGE;
    }
    o.name = "model"; /* the run harness calls model_run */
    if (strcmp(o.target, "cuda") == 0 && !o.pass_list) o.pass_list = cuda_pass_list(o.level);
    Graph *g = NULL;
    char dir[] = "/tmp/kiln-run-XXXXXX";
    bool made_dir = false;
    if (load_model(o.model, &g, &d) || attach_inputs(g, inputs, ninputs, bench > 0, &o, &d) ||
        specialise_inputs(g, &o, &d) || run_pipeline(g, &o, &d))
        goto done;
    if (o.dump_ir) graph_print(g, stderr);
    if (!mkdtemp(dir)) {
        diag_error(&d, ST_INTERNAL, NULL, "cannot create a temporary directory: %s", strerror(errno));
        goto done;
    }
    made_dir = true;
    CodegenOptions co = {.name = "model", .outdir = dir, .source = o.model, .cuda_arch = o.cuda_arch ? o.cuda_arch : 90,
                         .cuda_graph = o.cuda_graph, .checked = o.checked};
    cro.arch = co.cuda_arch;
    if (strcmp(o.target, "cuda") == 0) {
        if (require_codegen_passes(g, &d) || codegen_cuda(g, &co, &d) || build_and_run_cuda(g, dir, bench, &cro, &d) ||
            write_outputs(g, dir, outdir, &d))
            goto done;
    } else if (require_codegen_passes(g, &d) || codegen_c(g, &co, &d) || build_and_run(g, dir, bench, &d) || write_outputs(g, dir, outdir, &d)) goto done;
done:
    if (made_dir && keep) fprintf(stderr, "kiln run: module kept in %s\n", dir);
    else if (made_dir && d.status != ST_INTERNAL) remove_dir(dir);
    graph_free(g);
    return d.status ? report(o.model, &d) : 0;
}
