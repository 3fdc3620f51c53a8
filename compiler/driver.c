/* driver.c — the steps kiln compile and kiln run share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln.h"

Status load_model(const char *path, Graph **out, Diag *d)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcmp(dot, ".kir") == 0) return kir_load(path, out, d);
    if (!dot || strcmp(dot, ".onnx") != 0)
        return diag_error(d, ST_INPUT, NULL, "'%s': unknown model format (expected a .onnx or .kir file)", path);
    return onnx_load(path, out, d);
}

/* Give symbolic dims values (--dim) and bind inputs to known values (--bind). */
Status specialise_inputs(Graph *g, const CompileOptions *o, Diag *d)
{
    for (int i = 0; i < o->ndim; i++) {
        bool used = false;
        for (int k = 0; k < g->ninputs; k++) {
            Shape *s = &g->inputs[k]->shape;
            for (int a = 0; a < s->rank; a++)
                if (s->sym[a] && strcmp(s->sym[a], o->dim[i].name) == 0) {
                    s->dims[a] = o->dim[i].value;
                    s->sym[a] = NULL;
                    used = true;
                }
        }
        if (!used) return diag_error(d, ST_INPUT, NULL, "--dim %s: the model has no symbolic dimension of that name", o->dim[i].name);
    }
    for (int i = 0; i < o->nbind; i++) {
        Value *v = graph_find(g, o->bind[i].name);
        if (!v || v->kind != VAL_INPUT)
            return diag_error(d, ST_INPUT, NULL, "--bind %s: the model has no input of that name", o->bind[i].name);
        NpyArray a;
        if (npy_read(o->bind[i].file, &a, d)) return d->status;
        bool ok = a.dtype == v->dtype && shape_is_static(&v->shape) && shape_equal(&a.shape, &v->shape);
        if (ok) {
            void *copy = arena_alloc(g->arena, a.bytes ? a.bytes : 1);
            if (copy) memcpy(copy, a.data, a.bytes);
            v->data = copy;
            v->bound = true;
        }
        free(a.data);
        if (!ok) {
            char s1[128], s2[128];
            return diag_error(d, ST_INPUT, NULL, "--bind %s: '%s' holds %s%s, the input is %s%s", o->bind[i].name,
                              o->bind[i].file, dtype_name(a.dtype), shape_str(&a.shape, s1, sizeof s1),
                              dtype_name(v->dtype), shape_str(&v->shape, s2, sizeof s2));
        }
    }
    return ST_OK;
}

/* Write the IR after a step to OUTDIR/NAME.NN.STEP.kir when asked for. */
static Status dump(const Graph *g, const CompileOptions *o, int step, const char *pass, Diag *d)
{
    if (!o->dump_after || (strcmp(o->dump_after, "all") != 0 && strcmp(o->dump_after, pass) != 0)) return ST_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%02d.%s.kir", o->outdir ? o->outdir : ".", o->name, step, pass);
    return graph_write_kir(g, path, d); /* complete, so it compiles: large constants in PATH.bin */
}

/* The passes to run: --passes if given, else the level's pipeline. */
static Status pipeline(const CompileOptions *o, const Pass **list, int *count, Diag *d)
{
    *count = 0;
    if (!o->pass_list) {
        for (const char *const *p = pipeline_for_level(o->level); *p; p++) list[(*count)++] = pass_find(*p);
        return ST_OK;
    }
    if (strcmp(o->pass_list, "none") == 0) return ST_OK;
    for (const char *p = o->pass_list; *p;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        const Pass *pass = pass_find(name);
        if (!pass) return diag_error(d, ST_USAGE, NULL, "--passes: no pass named '%s' (see kiln compile --list-passes)", name);
        if (*count == 64) return diag_error(d, ST_USAGE, NULL, "--passes: too many passes");
        list[(*count)++] = pass;
        p += len + (p[len] == ',');
    }
    return ST_OK;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int live_nodes(const Graph *g)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++) n += !g->nodes[i]->dead;
    return n;
}

Status run_pipeline(Graph *g, const CompileOptions *o, Diag *d)
{
    const Pass *list[64];
    int count;
    if (pipeline(o, list, &count, d)) return d->status;
    if (o->dump_after && strcmp(o->dump_after, "all") != 0 && strcmp(o->dump_after, "import") != 0 &&
        !pass_find(o->dump_after))
        return diag_error(d, ST_USAGE, NULL, "--dump-ir-after=%s: no such pass (see kiln compile --list-passes)", o->dump_after);
    if (dump(g, o, 0, "import", d)) return d->status;
    if (o->time_passes) fprintf(stderr, "%-20s %10s %8s %8s\n", "pass", "ms", "nodes", "after");
    double total = 0;
    for (int i = 0; i < count; i++) {
        int before = live_nodes(g);
        double t0 = now_ms();
        Status st = list[i]->run(g, d);
        double ms = now_ms() - t0;
        total += ms;
        if (o->time_passes) fprintf(stderr, "%-20s %10.3f %8d %8d\n", list[i]->name, ms, before, live_nodes(g));
        if (st) return st;
        if (o->verify_each && graph_verify(g, d)) return d->status;
        if (dump(g, o, i + 1, list[i]->name, d)) return d->status;
    }
    if (o->time_passes) fprintf(stderr, "%-20s %10.3f %8s %8d\n", "total", total, "", live_nodes(g));
    return ST_OK;
}

/* Codegen needs every value typed and placed, whatever --passes chose. */
Status require_codegen_passes(Graph *g, Diag *d)
{
    bool typed = true;
    for (int i = 0; i < g->nvalues; i++) typed = typed && g->values[i]->typed;
    if (!typed && pass_infer_shapes(g, d)) return d->status;
    return g->workspace_size < 0 ? pass_plan_memory(g, d) : ST_OK;
}

int report(const char *file, const Diag *d)
{
    fprintf(stderr, "%s: %s: %s%s\n", d->where[0] ? d->where : file ? file : "kiln",
            d->status == ST_INTERNAL ? "internal error" : "error",
            d->unsupported && !strstr(d->msg, "unsupported") ? "unsupported: " : "", d->msg);
    fputs(d->context, stderr);
    return d->status ? (int)d->status : ST_INTERNAL;
}
