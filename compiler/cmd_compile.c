/* cmd_compile.c — kiln compile: a model in, a C module out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln.h"

static const char compile_usage[] =
    "usage: kiln compile MODEL -o OUTDIR [options]\n"
    "\n"
    "Compile an ONNX model to a C module: OUTDIR/NAME.c, OUTDIR/NAME.h and a copy of\n"
    "kiln_rt.h. Build it with any C99 compiler and link libkiln_rt.a.\n"
    "\n"
    "  -o OUTDIR              where to write the module (created if missing)\n"
    "  --emit c|ir            c: the C module (default); ir: the IR after the passes as\n"
    "                         kiln text in the file -o names ('-': stdout), constants over\n"
    "                         64 elements in FILE.bin beside it; it compiles like a model\n"
    "  --target c|cuda        code generator: portable C (NAME.c), or CUDA (NAME.cu, built\n"
    "                         with nvcc, linked with libkiln_rt_cuda.a, cuBLAS and cuDNN)\n"
    "  --cuda-arch SM         CUDA: the compute capability to build for (default 90)\n"
    "  --cuda-graph           CUDA: replay the forward pass as a CUDA graph by default\n"
    "  --name NAME            C identifier prefix of the API (default: model)\n"
    "  --dim NAME=VALUE       give a symbolic input dimension a value\n"
    "  --bind NAME=FILE.npy   specialise an input to a value known now (shape tensors);\n"
    "                         the module checks at run time that it gets that value\n"
    "  -O0, -O1, -O2          optimisation level (default -O2)\n"
    "  --passes a,b,c         run exactly these passes instead (or 'none')\n"
    "  --list-passes          print the passes and each level's pipeline, and exit\n"
    "  --dump-ir              print the IR after the pipeline to stderr\n"
    "  --dump-ir-after=PASS   write the IR after PASS ('import', a pass, or 'all') to\n"
    "                         OUTDIR/NAME.NN.PASS.kir, one file per pass\n"
    "  --verify-each          check the IR's invariants after every pass\n"
    "  --time-passes          print each pass's time and node counts before and after\n"
    "  --checked              C: NAME_run also checks its outputs for NaN and Inf and\n"
    "                         returns KILN_STATUS_NONFINITE (a debug aid, off by default)\n"
    "  --max-memory=SIZE      most tensor data kiln may hold while compiling (default 8G)\n"
    "  --allow-absolute-paths external data may name absolute paths (default: only files\n"
    "                         in the model's folder)\n"
    "  -MD -MF DEPFILE        write a Make-style depfile for build systems\n";

static Status write_depfile(const CompileOptions *o, const Graph *g, bool emit_ir, Diag *d)
{
    FILE *f = fopen(o->depfile, "w");
    if (!f) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", o->depfile, strerror(errno));
    if (emit_ir) fprintf(f, "%s: %s", o->outdir, o->model);
    else fprintf(f, "%s/%s.%s %s/%s.h: %s", o->outdir, o->name, strcmp(o->target, "cuda") == 0 ? "cu" : "c", o->outdir,
                 o->name, o->model);
    for (int i = 0; i < o->nbind; i++) fprintf(f, " %s", o->bind[i].file);
    for (int i = 0; i < g->ndeps; i++) fprintf(f, " %s", g->deps[i]);
    fprintf(f, "\n");
    return fclose(f) == 0 ? ST_OK : diag_error(d, ST_INPUT, NULL, "cannot write '%s'", o->depfile);
}

int cmd_compile(int argc, char **argv)
{
    CompileOptions o = {.name = "model", .target = "c", .level = 2};
    Diag d = {0};
    bool md = false, emit_ir = false;
    for (int i = 0; i < argc && !d.status; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(compile_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--list-passes") == 0) {
            for (int p = 0; p < npasses; p++) printf("%-20s %s\n", passes[p].name, passes[p].help);
            for (int level = 0; level <= 2; level++) {
                printf("\n-O%d:", level);
                for (const char *const *p = pipeline_for_level(level); *p; p++) printf(" %s", *p);
            }
            printf("\n");
            return 0;
        }
        if (parse_common_option(argc, argv, &i, &o, &d)) continue;
        if (strcmp(a, "-o") == 0 && i + 1 < argc) o.outdir = argv[++i];
        else if ((strcmp(a, "--emit") == 0 && i + 1 < argc) || strncmp(a, "--emit=", 7) == 0) {
            const char *v = a[6] == '=' ? a + 7 : argv[++i];
            if (strcmp(v, "ir") == 0 || strcmp(v, "c") == 0) emit_ir = v[0] == 'i';
            else diag_error(&d, ST_USAGE, NULL, "--emit %s: expected c or ir", v);
        }
        else if (strcmp(a, "-MD") == 0) md = true;
        else if (strcmp(a, "-MF") == 0 && i + 1 < argc) o.depfile = argv[++i];
        else if (a[0] == '-') diag_error(&d, ST_USAGE, NULL, "unknown option '%s' (see kiln compile --help)", a);
        else if (o.model) diag_error(&d, ST_USAGE, NULL, "more than one model given ('%s' and '%s')", o.model, a);
        else o.model = a;
    }
    if (!d.status && !o.outdir && !o.dump_ir && !o.dump_after) diag_error(&d, ST_USAGE, NULL, "no output directory (-o OUTDIR)");
    if (!d.status && md && !o.depfile) diag_error(&d, ST_USAGE, NULL, "-MD needs -MF DEPFILE");
    if (!d.status && emit_ir && !o.outdir) diag_error(&d, ST_USAGE, NULL, "--emit ir needs -o FILE.kir (or -o - for stdout)");
    if (!d.status && emit_ir && o.dump_after) diag_error(&d, ST_USAGE, NULL, "--dump-ir-after writes into a directory: use it without --emit ir");
    if (d.status || check_options(&o, &d)) {
        report("kiln compile", &d);
        return ST_USAGE;
    }
    Graph *g = NULL;
    CodegenOptions co = {.name = o.name, .outdir = o.outdir, .source = o.model,
                         .cuda_arch = o.cuda_arch ? o.cuda_arch : 90, .cuda_graph = o.cuda_graph, .checked = o.checked};
    bool cuda = strcmp(o.target, "cuda") == 0;
    if (cuda && !o.pass_list) o.pass_list = cuda_pass_list(o.level);
    if (o.outdir && !emit_ir && mkdir(o.outdir, 0777) != 0 && errno != EEXIST) {
        diag_error(&d, ST_INPUT, NULL, "cannot create '%s': %s", o.outdir, strerror(errno));
        goto fail;
    }
    if (load_model(o.model, &g, &d) || specialise_inputs(g, &o, &d) || run_pipeline(g, &o, &d)) goto fail;
    if (o.dump_ir) graph_print(g, stderr);
    if (o.outdir && emit_ir) {
        if (graph_write_kir(g, o.outdir, &d)) goto fail;
        if (o.depfile && write_depfile(&o, g, emit_ir, &d)) goto fail;
    } else if (o.outdir) {
        if (require_codegen_passes(g, &d) || (cuda ? codegen_cuda(g, &co, &d) : codegen_c(g, &co, &d))) goto fail;
        if (o.depfile && write_depfile(&o, g, emit_ir, &d)) goto fail;
    }
    graph_free(g);
    return 0;
fail:
    graph_free(g);
    return report(o.model, &d);
}

