/* c.c — the portable C target: NAME.h, NAME.c (and a copy of kiln_rt.h).
 * The module is C99 with no malloc, no stdio and no state: weights are const
 * arrays, parameters are static const arrays, every node is one kernel call. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

typedef struct {
    const Graph *g;
    const CodegenOptions *o;
    Buf c;         /* NAME.c */
    Diag *d;
} Emitter;

/* Where the module finds a value at run time. */
static void value_ref(const Graph *g, const Value *v, char *buf, size_t n)
{
    for (int k = 0; k < g->noutputs; k++)
        if (g->outputs[k] == v && v->kind == VAL_ACT) {
            snprintf(buf, n, "outputs[%d]", k);
            return;
        }
    if (v->kind == VAL_INPUT) {
        for (int k = 0; k < g->ninputs; k++)
            if (g->inputs[k] == v) snprintf(buf, n, "inputs[%d]", k);
    } else if (v->kind == VAL_CONST) {
        snprintf(buf, n, "w%d", v->id);
    } else {
        snprintf(buf, n, "(ws + %" PRId64 ")", v->offset);
    }
}

/* Names go into comments: keep a star-slash inside one from ending it. */
static void comment_text(Buf *b, const char *s)
{
    for (; *s; s++) {
        if (s[0] == '*' && s[1] == '/') buf_put(b, "* /", 3);
        else if (s[0] == '/' && s[1] == '*') buf_put(b, "/ *", 3);
        else if ((unsigned char)*s >= ' ' && *s != 0x7f) buf_put(b, s, 1);
        else buf_put(b, "?", 1);
        if ((s[0] == '*' && s[1] == '/') || (s[0] == '/' && s[1] == '*')) s++;
    }
}

/* A C string literal for a name. */
static void string_lit(Buf *b, const char *s)
{
    buf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') buf_printf(b, "\\%c", ch);
        else if (ch < ' ' || ch >= 0x7f || ch == '?') buf_printf(b, "\\%03o", ch);
        else buf_put(b, s, 1);
    }
    buf_put(b, "\"", 1);
}

static void float_lit(Buf *b, double x, bool single)
{
    if (isnan(x)) { buf_printf(b, "%sNAN", single ? "" : "(double)"); return; }
    if (isinf(x)) { buf_printf(b, "%s%sINFINITY", x < 0 ? "-" : "", single ? "" : "(double)"); return; }
    char s[64];
    snprintf(s, sizeof s, single ? "%.9g" : "%.17g", x);
    buf_printf(b, "%s%s%s", s, strpbrk(s, ".e") ? "" : ".0", single ? "f" : "");
}

static void element_lit(Buf *b, DType t, const void *data, size_t i)
{
    switch (t) {
    case KILN_DTYPE_F32: float_lit(b, ((const float *)data)[i], true); break;
    case KILN_DTYPE_F64: float_lit(b, ((const double *)data)[i], false); break;
    case KILN_DTYPE_F16: case KILN_DTYPE_BF16: case KILN_DTYPE_U16:
        buf_printf(b, "0x%04x", ((const uint16_t *)data)[i]);
        break;
    case KILN_DTYPE_I64: {
        int64_t v = ((const int64_t *)data)[i];
        if (v == INT64_MIN) buf_printf(b, "(-INT64_C(9223372036854775807) - 1)");
        else buf_printf(b, "INT64_C(%" PRId64 ")", v);
        break;
    }
    case KILN_DTYPE_U64: buf_printf(b, "UINT64_C(%" PRIu64 ")", ((const uint64_t *)data)[i]); break;
    case KILN_DTYPE_I32: {
        int32_t v = ((const int32_t *)data)[i];
        if (v == INT32_MIN) buf_printf(b, "(-2147483647 - 1)");
        else buf_printf(b, "%" PRId32, v);
        break;
    }
    case KILN_DTYPE_U32: buf_printf(b, "%" PRIu32 "u", ((const uint32_t *)data)[i]); break;
    default: buf_printf(b, "%" PRId64, dtype_load_i64(t, data, i)); break;
    }
}

static void emit_const(Emitter *e, const Value *v)
{
    Buf *b = &e->c;
    int64_t n = shape_numel(&v->shape);
    char sb[256];
    buf_printf(b, "/* ");
    comment_text(b, v->name);
    buf_printf(b, ": %s%s */\n", dtype_name(v->dtype), shape_str(&v->shape, sb, sizeof sb));
    buf_printf(b, "static const %s w%d[%" PRId64 "] KILN_ALIGNED = {", dtype_ctype(v->dtype), v->id, n ? n : 1);
    for (int64_t i = 0; i < n; i++) {
        buf_printf(b, "%s", i % 8 ? " " : "\n    ");
        element_lit(b, v->dtype, v->data, (size_t)i);
        buf_put(b, ",", 1);
    }
    buf_printf(b, "%s};\n", n ? "\n" : "0");
}

static void emit_params(Emitter *e, const Node *n, const KernelCall *kc)
{
    Buf *b = &e->c;
    if (kc->np) {
        buf_printf(b, "static const int64_t p%d[%d] = {", n->id, kc->np);
        for (int i = 0; i < kc->np; i++) {
            if (kc->p[i] == INT64_MIN) buf_printf(b, "%s(-INT64_C(9223372036854775807) - 1)", i ? ", " : "");
            else buf_printf(b, "%sINT64_C(%" PRId64 ")", i ? ", " : "", kc->p[i]);
        }
        buf_printf(b, "};\n");
    }
    if (kc->nf) {
        buf_printf(b, "static const double f%d[%d] = {", n->id, kc->nf);
        for (int i = 0; i < kc->nf; i++) {
            buf_printf(b, "%s", i ? ", " : "");
            float_lit(b, kc->f[i], false);
        }
        buf_printf(b, "};\n");
    }
}

static void emit_call(Emitter *e, const Node *n, const KernelCall *kc)
{
    Buf *b = &e->c;
    char ref[64];
    buf_printf(b, "    /* %s '", op_info[n->op].name);
    comment_text(b, n->name);
    buf_printf(b, "' */\n    {\n");
    if (n->nin) {
        buf_printf(b, "        const void *in[%d] = {", n->nin);
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k]) value_ref(e->g, n->in[k], ref, sizeof ref);
            buf_printf(b, "%s%s", k ? ", " : "", n->in[k] ? ref : "0");
        }
        buf_printf(b, "};\n");
    }
    buf_printf(b, "        void *out[%d] = {", n->nout + (kc->scratch > 0));
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k]) value_ref(e->g, n->out[k], ref, sizeof ref);
        buf_printf(b, "%s%s", k ? ", " : "", n->out[k] ? ref : "0");
    }
    if (kc->scratch > 0) buf_printf(b, ", (ws + %" PRId64 ")", n->scratch_offset);
    buf_printf(b, "};\n        %s(", kc->name);
    buf_printf(b, kc->np ? "p%d, " : "0, ", n->id);
    buf_printf(b, kc->nf ? "f%d, " : "0, ", n->id);
    buf_printf(b, "%s, out);\n    }\n", n->nin ? "in" : "0");
}

static void emit_tensor_descs(Buf *b, const char *what, Value *const *vals, int count)
{
    for (int k = 0; k < count; k++) {
        const Value *v = vals[k];
        buf_printf(b, "static const int64_t %s_dims%d[%d] = {", what, k, v->shape.rank ? v->shape.rank : 1);
        for (int i = 0; i < v->shape.rank; i++) buf_printf(b, "%s%" PRId64, i ? ", " : "", v->shape.dims[i]);
        buf_printf(b, "%s};\n", v->shape.rank ? "" : "0");
    }
    buf_printf(b, "static const kiln_tensor_desc %s[%d] = {\n", what, count ? count : 1);
    for (int k = 0; k < count; k++) {
        const Value *v = vals[k];
        buf_printf(b, "    {");
        string_lit(b, v->name);
        buf_printf(b, ", (kiln_dtype)%d, %d, %s_dims%d},\n", (int)v->dtype, v->shape.rank, what, k);
    }
    buf_printf(b, "%s};\n", count ? "" : "    {0, KILN_DTYPE_UNDEFINED, 0, 0}\n");
}

static void emit_kernels(Emitter *e, const char *const *headers, int nheaders)
{
    for (int h = -1; h < nheaders; h++) {
        char file[64];
        snprintf(file, sizeof file, "%s.h", h < 0 ? "common" : headers[h]);
        const char *text = embedded_file(file);
        buf_printf(&e->c, "\n/* ---- kernels/c/%s ---- */\n", file);
        /* Drop the kernels' own #include "..." lines: everything is in this file. */
        for (const char *line = text; line && *line;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line + 1) : strlen(line);
            if (strncmp(line, "#include \"", 10) != 0) buf_put(&e->c, line, len);
            line += len;
        }
    }
}

static Status write_file(const char *dir, const char *name, const char *text, size_t len, Diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    bool ok = fwrite(text, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    return ST_OK;
}

static void emit_header(Buf *h, const Graph *g, const CodegenOptions *o)
{
    const char *N = o->name;
    char sb[256];
    buf_printf(h, "/* %s.h — generated by kiln %s", N, KILN_VERSION_STRING);
    if (o->source) {
        buf_printf(h, " from ");
        comment_text(h, o->source);
    }
    buf_printf(h, ". Do not edit.\n *\n * Inputs:\n");
    for (int k = 0; k < g->ninputs; k++) {
        buf_printf(h, " *   %d  ", k);
        comment_text(h, g->inputs[k]->name);
        buf_printf(h, ": %s%s\n", dtype_name(g->inputs[k]->dtype), shape_str(&g->inputs[k]->shape, sb, sizeof sb));
    }
    buf_printf(h, " * Outputs:\n");
    for (int k = 0; k < g->noutputs; k++) {
        buf_printf(h, " *   %d  ", k);
        comment_text(h, g->outputs[k]->name);
        buf_printf(h, ": %s%s\n", dtype_name(g->outputs[k]->dtype), shape_str(&g->outputs[k]->shape, sb, sizeof sb));
    }
    buf_printf(h, " */\n#ifndef %s_H\n#define %s_H\n\n#include \"kiln_rt.h\"\n\n", N, N);
    buf_printf(h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    buf_printf(h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", N, g->ninputs, N, g->noutputs);
    buf_printf(h, "#define %s_WORKSPACE_SIZE %" PRId64 " /* bytes, aligned to KILN_ALIGNMENT */\n\n", N, g->workspace_size);
    buf_printf(h, "/* Names, dtypes and shapes of the inputs and outputs. */\n");
    buf_printf(h, "const kiln_model_desc *%s_desc(void);\n\n", N);
    buf_printf(h, "/* Run the model: inputs and outputs are dense row-major buffers in the order\n"
                  " * above; workspace holds %s_WORKSPACE_SIZE bytes. No allocation, no state:\n"
                  " * reentrant with one workspace per concurrent call. */\n", N);
    buf_printf(h, "kiln_status %s_run(const void *const inputs[], void *const outputs[], void *workspace);\n\n", N);
    buf_printf(h, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

Status codegen_c(const Graph *g, const CodegenOptions *o, Diag *d)
{
    Emitter e = {.g = g, .o = o, .d = d};
    Buf *b = &e.c;
    const char *N = o->name;
    Status st = ST_OK;
    KernelCall *calls = calloc((size_t)g->nnodes + 1, sizeof *calls);
    const char **headers = calloc((size_t)g->nnodes + 1, sizeof *headers);
    int nheaders = 0;
    if (!calls || !headers) {
        st = diag_error(d, ST_INTERNAL, NULL, "out of memory");
        goto done;
    }
    for (int i = 0; i < g->nnodes; i++) {
        if ((st = lower_node(g->nodes[i], &calls[i], d))) goto done;
        bool seen = false;
        for (int h = 0; h < nheaders; h++) seen = seen || strcmp(headers[h], calls[i].header) == 0;
        if (!seen) headers[nheaders++] = calls[i].header;
    }

    buf_printf(b, "/* %s.c — generated by kiln %s", N, KILN_VERSION_STRING);
    if (o->source) {
        buf_printf(b, " from ");
        comment_text(b, o->source);
    }
    buf_printf(b, ". Do not edit.\n * Portable C99: no allocation, no I/O, no state. */\n");
    buf_printf(b, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n#include \"%s.h\"\n", N);
    emit_kernels(&e, headers, nheaders);

    buf_printf(b, "\n/* ---- weights ---- */\n");
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->kind == VAL_CONST || (g->values[i]->bound && value_bytes(g->values[i])))
            emit_const(&e, g->values[i]);

    buf_printf(b, "\n/* ---- kernel parameters ---- */\n");
    for (int i = 0; i < g->nnodes; i++) emit_params(&e, g->nodes[i], &calls[i]);

    buf_printf(b, "\n/* ---- descriptor ---- */\n");
    emit_tensor_descs(b, "input_descs", g->inputs, g->ninputs);
    emit_tensor_descs(b, "output_descs", g->outputs, g->noutputs);
    buf_printf(b, "static const kiln_model_desc desc = {\n    ");
    string_lit(b, N);
    buf_printf(b, ", \"%s\", %d, input_descs, %d, output_descs, %" PRId64 "\n};\n\n", KILN_VERSION_STRING,
               g->ninputs, g->noutputs, g->workspace_size);
    /* Reading the runtime's version symbol makes a mismatched runtime fail to link. */
    buf_printf(b, "const kiln_model_desc *%s_desc(void)\n{\n"
                  "    return KILN_RT_VERSION_SYMBOL == %d ? &desc : 0;\n}\n\n",
               N, KILN_VERSION_MAJOR * 10000 + KILN_VERSION_MINOR * 100 + KILN_VERSION_PATCH);

    buf_printf(b, "kiln_status %s_run(const void *const inputs[], void *const outputs[], void *workspace)\n{\n", N);
    buf_printf(b, "    unsigned char *ws = (unsigned char *)workspace;\n");
    buf_printf(b, "    int k;\n    (void)ws;\n");
    buf_printf(b, "    if ((%s_NUM_INPUTS && !inputs) || !outputs) return KILN_STATUS_INVALID_ARGUMENT;\n", N);
    buf_printf(b, "    if (%s_WORKSPACE_SIZE && (!workspace || (uintptr_t)workspace %% KILN_ALIGNMENT))\n"
                  "        return KILN_STATUS_INVALID_ARGUMENT;\n", N);
    buf_printf(b, "    for (k = 0; k < %s_NUM_INPUTS; k++)\n        if (!inputs[k]) return KILN_STATUS_INVALID_ARGUMENT;\n", N);
    buf_printf(b, "    for (k = 0; k < %s_NUM_OUTPUTS; k++)\n        if (!outputs[k]) return KILN_STATUS_INVALID_ARGUMENT;\n", N);
    for (int k = 0; k < g->ninputs; k++)
        if (g->inputs[k]->bound && value_bytes(g->inputs[k])) {
            buf_printf(b, "    /* compiled for this value of '");
            comment_text(b, g->inputs[k]->name);
            buf_printf(b, "' */\n    if (memcmp(inputs[%d], w%d, %zu) != 0) return KILN_STATUS_SHAPE_MISMATCH;\n", k,
                       g->inputs[k]->id, value_bytes(g->inputs[k]));
        }
    for (int i = 0; i < g->nnodes; i++) emit_call(&e, g->nodes[i], &calls[i]);
    /* Outputs no node wrote in place: inputs, constants, repeats. */
    for (int k = 0; k < g->noutputs; k++) {
        const Value *v = g->outputs[k];
        char ref[64];
        value_ref(g, v, ref, sizeof ref);
        char self[32];
        snprintf(self, sizeof self, "outputs[%d]", k);
        if (strcmp(ref, self) != 0 && value_bytes(v))
            buf_printf(b, "    memcpy(outputs[%d], %s, %zu);\n", k, ref, value_bytes(v));
    }
    buf_printf(b, "    return KILN_STATUS_OK;\n}\n");

    Buf h = {0};
    emit_header(&h, g, o);
    char cname[256], hname[256];
    snprintf(cname, sizeof cname, "%s.c", N);
    snprintf(hname, sizeof hname, "%s.h", N);
    const char *rt = embedded_file("kiln_rt.h");
    if (!(st = write_file(o->outdir, hname, h.data, h.len, d)) && !(st = write_file(o->outdir, cname, b->data, b->len, d)))
        st = write_file(o->outdir, "kiln_rt.h", rt, strlen(rt), d);
    buf_free(&h);
done:
    for (int i = 0; calls && i < g->nnodes; i++) kc_free(&calls[i]);
    free(calls);
    free(headers);
    buf_free(b);
    return st;
}
