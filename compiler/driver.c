/* driver.c — the steps kiln compile and kiln run share. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

Status load_model(const char *path, Graph **out, Diag *d)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strcmp(dot, ".onnx") != 0)
        return diag_error(d, ST_INPUT, NULL, "'%s': unknown model format (expected a .onnx file)", path);
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

static Status dump(const Graph *g, const CompileOptions *o, const char *pass, Diag *d)
{
    if (!o->dump_after || (strcmp(o->dump_after, "all") != 0 && strcmp(o->dump_after, pass) != 0)) return ST_OK;
    fprintf(stderr, "# IR after %s\n", pass);
    graph_print(g, stderr);
    (void)d;
    return ST_OK;
}

Status run_pipeline(Graph *g, const CompileOptions *o, Diag *d)
{
    if (o->dump_after && strcmp(o->dump_after, "all") != 0 && strcmp(o->dump_after, "import") != 0 &&
        !pass_find(o->dump_after))
        return diag_error(d, ST_USAGE, NULL, "--dump-ir-after=%s: no such pass (see kiln compile --list-passes)", o->dump_after);
    if (dump(g, o, "import", d)) return d->status;
    for (int i = 0; i < npasses; i++) {
        if (passes[i].run(g, d)) return d->status;
        if (o->verify_each && graph_verify(g, d)) return d->status;
        if (dump(g, o, passes[i].name, d)) return d->status;
    }
    return ST_OK;
}

int report(const char *file, const Diag *d)
{
    fprintf(stderr, "%s: %s: %s%s\n", file ? file : "kiln", d->status == ST_INTERNAL ? "internal error" : "error",
            d->unsupported && !strstr(d->msg, "unsupported") ? "unsupported: " : "", d->msg);
    return d->status ? (int)d->status : ST_INTERNAL;
}
