/* print.c — the kiln text form of a graph, regular enough to parse back:
 *
 *   kiln 1
 *   graph "name" opset 17 {
 *     input x: f32[1, 3, 8, 8]
 *     const w: f32[2] = [0.5, 1]
 *     y: f32[1, 3, 8, 8] = Relu(x)  # node 'relu_1', workspace 0
 *     output y
 *   }
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "kiln.h"

enum { MAX_INLINE_ELEMENTS = 64 };

static void print_name(FILE *f, const char *s)
{
    bool bare = isalpha((unsigned char)s[0]) || s[0] == '_';
    for (const char *p = s; *p && bare; p++) bare = isalnum((unsigned char)*p) || *p == '_' || *p == '.';
    if (bare) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < ' ') fprintf(f, "\\x%02x", (unsigned char)*s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void print_type(FILE *f, const Value *v)
{
    char buf[256];
    if (!v->typed) {
        fputs("?", f);
        return;
    }
    fprintf(f, "%s%s", dtype_name(v->dtype), shape_str(&v->shape, buf, sizeof buf));
}

static void print_elements(FILE *f, const Value *v)
{
    int64_t n = shape_numel(&v->shape);
    if (n > MAX_INLINE_ELEMENTS) {
        fprintf(f, "elided(%" PRId64 " elements)", n);
        return;
    }
    fputc('[', f);
    for (int64_t i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        if (dtype_is_float(v->dtype)) fprintf(f, "%.9g", dtype_load_f64(v->dtype, v->data, (size_t)i));
        else if (v->dtype == KILN_DTYPE_U64) fprintf(f, "%" PRIu64, ((const uint64_t *)v->data)[i]);
        else fprintf(f, "%" PRId64, dtype_load_i64(v->dtype, v->data, (size_t)i));
    }
    fputc(']', f);
}

static void print_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < ' ') fprintf(f, "\\x%02x", (unsigned char)*s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void print_attr(FILE *f, const Attr *a)
{
    fprintf(f, "%s = ", a->name);
    switch (a->kind) {
    case ATTR_FLOAT: fprintf(f, "%.9g", a->f); break;
    case ATTR_INT: fprintf(f, "%" PRId64, a->i); break;
    case ATTR_STRING: print_string(f, a->s); break;
    case ATTR_TENSOR:
        fputs("tensor ", f);
        print_type(f, a->t);
        fputc(' ', f);
        print_elements(f, a->t);
        break;
    case ATTR_FLOATS: case ATTR_INTS: case ATTR_STRINGS:
        fputc('[', f);
        for (int i = 0; i < a->n; i++) {
            if (i) fputs(", ", f);
            if (a->kind == ATTR_FLOATS) fprintf(f, "%.9g", a->floats[i]);
            else if (a->kind == ATTR_INTS) fprintf(f, "%" PRId64, a->ints[i]);
            else print_string(f, a->strings[i]);
        }
        fputc(']', f);
        break;
    default: fputs("unsupported", f); break;
    }
}

void graph_print(const Graph *g, FILE *f)
{
    fprintf(f, "kiln 1\ngraph ");
    print_name(f, g->name);
    fprintf(f, " opset %" PRId64 " {\n", g->opset);
    for (int i = 0; i < g->ninputs; i++) {
        fputs("  input ", f);
        print_name(f, g->inputs[i]->name);
        fputs(": ", f);
        print_type(f, g->inputs[i]);
        if (g->inputs[i]->bound) {
            fputs(" bound ", f);
            print_elements(f, g->inputs[i]);
        }
        fputc('\n', f);
    }
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (v->kind != VAL_CONST) continue;
        fputs("  const ", f);
        print_name(f, v->name);
        fputs(": ", f);
        print_type(f, v);
        fputs(" = ", f);
        print_elements(f, v);
        fputc('\n', f);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        fputs("  ", f);
        for (int k = 0; k < n->nout; k++) {
            if (k) fputs(", ", f);
            if (!n->out[k]) {
                fputs("_", f);
                continue;
            }
            print_name(f, n->out[k]->name);
            fputs(": ", f);
            print_type(f, n->out[k]);
        }
        fprintf(f, " = %s(", op_info[n->op].name);
        for (int k = 0; k < n->nin; k++) {
            if (k) fputs(", ", f);
            if (n->in[k]) print_name(f, n->in[k]->name);
            else fputs("_", f);
        }
        fputc(')', f);
        if (n->nattrs) {
            fputs(" {", f);
            for (int a = 0; a < n->nattrs; a++) {
                if (a) fputs(", ", f);
                print_attr(f, &n->attrs[a]);
            }
            fputc('}', f);
        }
        fputs("  # node ", f);
        print_string(f, n->name);
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] && n->out[k]->offset >= 0) fprintf(f, ", %s at workspace %" PRId64, n->out[k]->name, n->out[k]->offset);
        fputc('\n', f);
    }
    for (int i = 0; i < g->noutputs; i++) {
        fputs("  output ", f);
        print_name(f, g->outputs[i]->name);
        fputc('\n', f);
    }
    if (g->workspace_size >= 0) fprintf(f, "  # workspace %" PRId64 " bytes\n", g->workspace_size);
    fputs("}\n", f);
}
