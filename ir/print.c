/* print.c — a graph as kiln text, the language compiler/kir_parser.y reads
 * back (README.md, "kiln text"):
 *
 *   kiln 1
 *   graph mlp opset 17 @{workspace = 256} {
 *     input x: f32[1, 64]
 *     const w1: f32[64, 32] = file("mlp.kir.bin", offset = 0)
 *     const b1: f32[32] = [0.5, -1, ...]
 *     h1: f32[1, 32] @{offset = 0} = MatMul(x, w1) @{name = "fc1"}
 *     probs: f32[1, 10] = Softmax(h1) {axis = -1}
 *     output probs
 *   }
 *
 * Numbers are the shortest text that reads back to the same bits, so
 * print -> parse -> print is byte-identical. What passes decided (workspace
 * offsets, and later fusion, precision, layout, tactics) goes in @{...}
 * annotations, which the parser keeps.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln.h"

enum { MAX_INLINE_ELEMENTS = 64 };

typedef enum {
    LARGE_ELIDE,   /* elided(N elements): for people; the parser rejects it */
    LARGE_INLINE,  /* every element in the text */
    LARGE_FILE,    /* file("NAME.bin", offset = N): raw little-endian bytes */
} LargeData;

typedef struct {
    FILE *f;
    LargeData large;
    const char *bin_path;  /* LARGE_FILE: where the bytes go (opened on first use) */
    const char *bin_name;  /* ... and how the text names it, relative to the .kir */
    FILE *bin;
    int64_t bin_off;
    bool failed;
} Printer;

/* The words the lexer reserves; a value with such a name is printed quoted. */
static const char *const keywords[] = {"kiln", "graph", "opset", "input", "const", "param", "output", "bound",
                                       "tensor", "zeros", "ones", "random", "file", "elided", "inf", "nan", "_"};

static bool isalpha_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void print_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < ' ' || c == 127) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_name(FILE *f, const char *s)
{
    bool bare = isalpha_ascii(s[0]) || s[0] == '_';
    for (const char *p = s; *p && bare; p++)
        bare = isalpha_ascii(*p) || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.';
    for (size_t i = 0; bare && i < sizeof keywords / sizeof *keywords; i++) bare = strcmp(s, keywords[i]) != 0;
    if (bare) fputs(s, f);
    else print_string(f, s);
}

static void print_type(FILE *f, const Value *v)
{
    fprintf(f, "%s[", dtype_name(v->dtype));
    for (int i = 0; i < v->shape.rank; i++) {
        if (i) fputs(", ", f);
        if (v->shape.sym[i]) print_name(f, v->shape.sym[i]);
        else fprintf(f, "%" PRId64, v->shape.dims[i]);
    }
    fputc(']', f);
}

/* Significant digits as written, the rule kir_load.c applies to float
 * attributes: at most 9 make a 32-bit float (as ONNX's are), more a double. */
int kir_sig_digits(const char *s)
{
    if (strchr(s, 'x') || strchr(s, 'X')) return 99; /* hex floats are exact doubles */
    int n = 0;
    bool lead = true;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s < '0' || *s > '9' || (lead && *s == '0')) continue;
        lead = false;
        n++;
    }
    return n;
}

/* A float attribute as the shortest text kir_load.c reads back to exactly x. */
void kir_format_float(double x, char *buf, size_t n)
{
    if (isnan(x) || isinf(x)) {
        snprintf(buf, n, "%s%s", signbit(x) ? "-" : "", isnan(x) ? "nan" : "inf");
        return;
    }
    if ((double)(float)x == x) {
        for (int p = 1; p <= 9; p++) {
            snprintf(buf, n, "%.*g", p, x);
            if ((double)strtof(buf, NULL) == x) return;
        }
    }
    for (int p = 10; p <= 17; p++) { /* '#' keeps the trailing zeros, so the digits say "double" */
        snprintf(buf, n, "%#.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
    snprintf(buf, n, "%a", x);
}

/* Element i of data as the shortest text that stores back to the same bits. */
static void format_element(DType t, const void *data, size_t i, char *buf, size_t n)
{
    if (dtype_is_float(t)) {
        double x = dtype_load_f64(t, data, i);
        if (isnan(x) || isinf(x)) {
            kir_format_float(x, buf, n);
            return;
        }
        size_t size = dtype_size(t);
        const unsigned char *want = (const unsigned char *)data + i * size;
        unsigned char got[8];
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, n, "%.*g", p, x);
            dtype_store_f64(t, got, 0, strtod(buf, NULL));
            if (memcmp(got, want, size) == 0) return;
        }
        return;
    }
    if (t == KILN_DTYPE_U64) snprintf(buf, n, "%" PRIu64, ((const uint64_t *)data)[i]);
    else snprintf(buf, n, "%" PRId64, dtype_load_i64(t, data, i));
}

static void write_bin(Printer *P, const Value *v)
{
    if (!P->bin) {
        P->bin = fopen(P->bin_path, "wb");
        if (!P->bin) {
            P->failed = true;
            return;
        }
    }
    static const unsigned char zero[KILN_ALIGNMENT];
    int64_t pad = (KILN_ALIGNMENT - P->bin_off % KILN_ALIGNMENT) % KILN_ALIGNMENT;
    size_t bytes = value_bytes(v);
    if (fwrite(zero, 1, (size_t)pad, P->bin) != (size_t)pad || fwrite(v->data, 1, bytes, P->bin) != bytes)
        P->failed = true;
    P->bin_off += pad;
    fputs("file(", P->f);
    print_string(P->f, P->bin_name);
    fprintf(P->f, ", offset = %" PRId64 ")", P->bin_off);
    P->bin_off += (int64_t)bytes;
}

static void print_data(Printer *P, const Value *v)
{
    int64_t n = shape_numel(&v->shape);
    if (n > MAX_INLINE_ELEMENTS && P->large == LARGE_ELIDE) {
        fprintf(P->f, "elided(%" PRId64 " elements)", n);
        return;
    }
    if (n > MAX_INLINE_ELEMENTS && P->large == LARGE_FILE) {
        write_bin(P, v);
        return;
    }
    fputc('[', P->f);
    for (int64_t i = 0; i < n; i++) {
        char buf[64];
        format_element(v->dtype, v->data, (size_t)i, buf, sizeof buf);
        fprintf(P->f, "%s%s", i ? ", " : "", buf);
    }
    fputc(']', P->f);
}

static void print_attr(Printer *P, const Attr *a)
{
    FILE *f = P->f;
    char buf[64];
    print_name(f, a->name);
    fputs(" = ", f);
    switch (a->kind) {
    case ATTR_FLOAT:
        kir_format_float(a->f, buf, sizeof buf);
        fputs(buf, f);
        break;
    case ATTR_INT: fprintf(f, "%" PRId64, a->i); break;
    case ATTR_STRING: print_string(f, a->s); break;
    case ATTR_TENSOR:
        fputs("tensor ", f);
        print_type(f, a->t);
        fputc(' ', f);
        print_data(P, a->t);
        break;
    case ATTR_FLOATS: case ATTR_INTS: case ATTR_STRINGS:
        fputc('[', f);
        for (int i = 0; i < a->n; i++) {
            if (i) fputs(", ", f);
            if (a->kind == ATTR_FLOATS) {
                kir_format_float(a->floats[i], buf, sizeof buf);
                fputs(buf, f);
            } else if (a->kind == ATTR_INTS) fprintf(f, "%" PRId64, a->ints[i]);
            else print_string(f, a->strings[i]);
        }
        fputc(']', f);
        break;
    default: fputs("unsupported", f); break; /* graphs and tensor lists are never imported */
    }
}

/* Annotations: " @{key = value, ...}" around the items a caller writes. */
typedef struct { FILE *f; int n; } Annot;
static void annot_key(Annot *a, const char *key)
{
    fprintf(a->f, "%s%s = ", a->n++ ? ", " : " @{", key);
}
static void annot_end(Annot *a)
{
    if (a->n) fputc('}', a->f);
}

/* The name kir_load.c gives a node that has none written: its first output's. */
static const char *default_node_name(const Node *n)
{
    for (int k = 0; k < n->nout; k++)
        if (n->out[k]) return n->out[k]->name;
    return "";
}

static void print_node(Printer *P, const Graph *g, const Node *n)
{
    FILE *f = P->f;
    fputs("  ", f);
    for (int k = 0; k < n->nout; k++) {
        const Value *v = n->out[k];
        if (k) fputs(", ", f);
        if (!v) {
            fputc('_', f);
            continue;
        }
        print_name(f, v->name);
        if (v->typed) {
            fputs(": ", f);
            print_type(f, v);
        }
        Annot a = {f, 0};
        if (v->offset >= 0) {
            annot_key(&a, "offset");
            fprintf(f, "%" PRId64, v->offset);
        }
        annot_end(&a);
    }
    fprintf(f, " = %s(", op_info[n->op].name);
    for (int k = 0; k < n->nin; k++) {
        if (k) fputs(", ", f);
        if (n->in[k]) print_name(f, n->in[k]->name);
        else fputc('_', f);
    }
    fputc(')', f);
    if (n->nattrs) {
        fputs(" {", f);
        for (int i = 0; i < n->nattrs; i++) {
            if (i) fputs(", ", f);
            print_attr(P, &n->attrs[i]);
        }
        fputc('}', f);
    }
    Annot a = {f, 0};
    if (strcmp(n->name, default_node_name(n)) != 0) {
        annot_key(&a, "name");
        print_string(f, n->name);
    }
    if (n->opset != g->opset) {
        annot_key(&a, "opset");
        fprintf(f, "%d", n->opset);
    }
    if (g->workspace_size >= 0 && n->scratch_offset >= 0) {
        annot_key(&a, "scratch");
        fprintf(f, "%" PRId64, n->scratch_offset);
    }
    annot_end(&a);
    fputc('\n', f);
}

static void print_graph(Printer *P, const Graph *g)
{
    FILE *f = P->f;
    fputs("kiln 1\ngraph ", f);
    print_name(f, g->name);
    fprintf(f, " opset %" PRId64, g->opset);
    Annot a = {f, 0};
    if (g->workspace_size >= 0) {
        annot_key(&a, "workspace");
        fprintf(f, "%" PRId64, g->workspace_size);
    }
    annot_end(&a);
    fputs(" {\n", f);
    for (int i = 0; i < g->ninputs; i++) {
        const Value *v = g->inputs[i];
        fputs("  input ", f);
        print_name(f, v->name);
        fputs(": ", f);
        print_type(f, v);
        if (v->bound) {
            fputs(" bound ", f);
            print_data(P, v);
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
        print_data(P, v);
        fputc('\n', f);
    }
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead) print_node(P, g, g->nodes[i]);
    for (int i = 0; i < g->noutputs; i++) {
        fputs("  output ", f);
        print_name(f, g->outputs[i]->name);
        fputc('\n', f);
    }
    fputs("}\n", f);
}

void graph_print(const Graph *g, FILE *f)
{
    Printer P = {.f = f, .large = LARGE_ELIDE};
    print_graph(&P, g);
}

Status graph_write_kir(const Graph *g, const char *path, Diag *d)
{
    if (strcmp(path, "-") == 0) {
        Printer P = {.f = stdout, .large = LARGE_INLINE};
        print_graph(&P, g);
        return fflush(stdout) == 0 ? ST_OK : diag_error(d, ST_INPUT, NULL, "cannot write the IR to stdout");
    }
    const char *slash = strrchr(path, '/');
    char *bin_path = malloc(strlen(path) + 5);
    if (!bin_path) return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    sprintf(bin_path, "%s.bin", path);
    Printer P = {.large = LARGE_FILE, .bin_path = bin_path, .bin_name = slash ? bin_path + (slash - path) + 1 : bin_path};
    unlink(bin_path); /* a stale one from an earlier dump would only mislead */
    P.f = fopen(path, "w");
    if (!P.f) {
        free(bin_path);
        return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    }
    print_graph(&P, g);
    bool failed = P.failed || ferror(P.f);
    failed |= fclose(P.f) != 0;
    if (P.bin) failed |= fclose(P.bin) != 0;
    Status st = failed ? diag_error(d, ST_INPUT, NULL, "cannot write '%s' or '%s': %s", path, bin_path, strerror(errno)) : ST_OK;
    free(bin_path);
    return st;
}
