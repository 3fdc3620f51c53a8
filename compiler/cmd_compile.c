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
    "  --target c             code generator (c is the only one yet)\n"
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
    "  -MD -MF DEPFILE        write a Make-style depfile for build systems\n";

static Status write_depfile(const CompileOptions *o, Diag *d)
{
    FILE *f = fopen(o->depfile, "w");
    if (!f) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", o->depfile, strerror(errno));
    fprintf(f, "%s/%s.c %s/%s.h: %s", o->outdir, o->name, o->outdir, o->name, o->model);
    for (int i = 0; i < o->nbind; i++) fprintf(f, " %s", o->bind[i].file);
    fprintf(f, "\n");
    return fclose(f) == 0 ? ST_OK : diag_error(d, ST_INPUT, NULL, "cannot write '%s'", o->depfile);
}

int cmd_compile(int argc, char **argv)
{
    CompileOptions o = {.name = "model", .target = "c", .level = 2};
    Diag d = {0};
    bool md = false;
    for (int i = 0; i < argc && !d.status; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(compile_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--list-passes") == 0) {
            for (int p = 0; p < npasses; p++) printf("%-16s %s\n", passes[p].name, passes[p].help);
            for (int level = 0; level <= 2; level++) {
                printf("\n-O%d:", level);
                for (const char *const *p = pipeline_for_level(level); *p; p++) printf(" %s", *p);
            }
            printf("\n");
            return 0;
        }
        if (parse_common_option(argc, argv, &i, &o, &d)) continue;
        if (strcmp(a, "-o") == 0 && i + 1 < argc) o.outdir = argv[++i];
        else if (strcmp(a, "-MD") == 0) md = true;
        else if (strcmp(a, "-MF") == 0 && i + 1 < argc) o.depfile = argv[++i];
        else if (a[0] == '-') diag_error(&d, ST_USAGE, NULL, "unknown option '%s' (see kiln compile --help)", a);
        else if (o.model) diag_error(&d, ST_USAGE, NULL, "more than one model given ('%s' and '%s')", o.model, a);
        else o.model = a;
    }
    if (!d.status && !o.outdir && !o.dump_ir && !o.dump_after) diag_error(&d, ST_USAGE, NULL, "no output directory (-o OUTDIR)");
    if (!d.status && md && !o.depfile) diag_error(&d, ST_USAGE, NULL, "-MD needs -MF DEPFILE");
    if (d.status || check_options(&o, &d)) {
        report("kiln compile", &d);
        return ST_USAGE;
    }
    Graph *g = NULL;
    CodegenOptions co = {.name = o.name, .outdir = o.outdir, .source = o.model};
    if (o.outdir && mkdir(o.outdir, 0777) != 0 && errno != EEXIST) {
        diag_error(&d, ST_INPUT, NULL, "cannot create '%s': %s", o.outdir, strerror(errno));
        goto fail;
    }
    if (load_model(o.model, &g, &d) || specialise_inputs(g, &o, &d) || run_pipeline(g, &o, &d)) goto fail;
    if (o.dump_ir) graph_print(g, stderr);
    if (o.outdir) {
        if (require_codegen_passes(g, &d) || codegen_c(g, &co, &d)) goto fail;
        if (o.depfile && write_depfile(&o, &d)) goto fail;
    }
    graph_free(g);
    return 0;
fail:
    graph_free(g);
    return report(o.model, &d);
}

