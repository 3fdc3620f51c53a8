/* main.c — the kiln command: subcommand dispatch and kiln compile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln.h"

static const char usage[] =
    "usage: kiln <command> [options]\n"
    "\n"
    "  kiln compile MODEL -o OUTDIR [--target c] [--name NAME]   write NAME.c and NAME.h\n"
    "  kiln run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--bench N]\n"
    "  kiln inspect MODEL                                        ops, shapes and memory plan\n"
    "  kiln --version\n"
    "\n"
    "Run 'kiln COMMAND --help' for a command's options.\n"
    "Exit codes: 0 success, 1 a problem with the input, 2 bad command line, 3 internal error.\n";

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
    "  --dump-ir              print the IR after the pipeline to stderr\n"
    "  --dump-ir-after=PASS   print the IR after PASS ('import', a pass, or 'all')\n"
    "  --verify-each          check the IR's invariants after every pass\n"
    "  --list-passes          print the passes and exit\n"
    "  -MD -MF DEPFILE        write a Make-style depfile for build systems\n";

/* Options kiln compile and kiln run share; returns 1 if argv[*i] was one (and consumed). */
int parse_common_option(int argc, char **argv, int *i, CompileOptions *o, Diag *d)
{
    const char *a = argv[*i];
    const char *val = NULL;
#define TAKES(flag) (strcmp(a, flag) == 0 ? (*i + 1 < argc ? (val = argv[++*i], 1) : (diag_error(d, ST_USAGE, NULL, "%s needs a value", flag), 1)) : \
                     strncmp(a, flag "=", sizeof(flag)) == 0 ? (val = a + sizeof(flag), 1) : 0)
    if (TAKES("--name")) o->name = val;
    else if (TAKES("--target")) o->target = val;
    else if (TAKES("--dump-ir-after")) o->dump_after = val;
    else if (strcmp(a, "--dump-ir") == 0) o->dump_ir = true;
    else if (strcmp(a, "--verify-each") == 0) o->verify_each = true;
    else if (TAKES("--dim")) {
        const char *eq = val ? strchr(val, '=') : NULL;
        char *end;
        if (!eq || o->ndim == MAX_BINDINGS) return diag_error(d, ST_USAGE, NULL, "--dim takes NAME=VALUE"), 1;
        o->dim[o->ndim].name = strndup(val, (size_t)(eq - val));
        o->dim[o->ndim].value = strtoll(eq + 1, &end, 10);
        if (*end || o->dim[o->ndim].value <= 0) return diag_error(d, ST_USAGE, NULL, "--dim %s: VALUE must be a positive integer", val), 1;
        o->ndim++;
    } else if (TAKES("--bind")) {
        const char *eq = val ? strchr(val, '=') : NULL;
        if (!eq || o->nbind == MAX_BINDINGS) return diag_error(d, ST_USAGE, NULL, "--bind takes NAME=FILE.npy"), 1;
        o->bind[o->nbind].name = strndup(val, (size_t)(eq - val));
        o->bind[o->nbind].file = eq + 1;
        o->nbind++;
    } else return 0;
#undef TAKES
    return 1;
}

static bool is_identifier(const char *s)
{
    if (!s[0] || (s[0] >= '0' && s[0] <= '9')) return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z'))) return false;
    return true;
}

Status check_options(const CompileOptions *o, Diag *d)
{
    if (!o->model) return diag_error(d, ST_USAGE, NULL, "no model given");
    if (strcmp(o->target, "c") != 0)
        return diag_error(d, ST_USAGE, NULL, "--target %s: unknown target (this build has: c)", o->target);
    if (!is_identifier(o->name)) return diag_error(d, ST_USAGE, NULL, "--name %s: must be a C identifier", o->name);
    return ST_OK;
}

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
    CompileOptions o = {.name = "model", .target = "c"};
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
    if (load_model(o.model, &g, &d) || specialise_inputs(g, &o, &d) || run_pipeline(g, &o, &d)) goto fail;
    if (o.dump_ir) graph_print(g, stderr);
    if (o.outdir) {
        if (mkdir(o.outdir, 0777) != 0 && errno != EEXIST) {
            diag_error(&d, ST_INPUT, NULL, "cannot create '%s': %s", o.outdir, strerror(errno));
            goto fail;
        }
        if (codegen_c(g, &co, &d)) goto fail;
        if (o.depfile && write_depfile(&o, &d)) goto fail;
    }
    graph_free(g);
    return 0;
fail:
    graph_free(g);
    return report(o.model, &d);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? ST_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("kiln %s\n", KILN_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "compile") == 0) return cmd_compile(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "inspect") == 0) return cmd_inspect(argc - 2, argv + 2);
    fprintf(stderr, "kiln: unknown command '%s'\n\n%s", argv[1], usage);
    return ST_USAGE;
}
