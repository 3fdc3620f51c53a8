/* emit.c — emission helpers the C and CUDA targets share: value references,
 * literals, comments, weights, kernel parameters, descriptors, files. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

/* Where the module finds a value at run time. */
void emit_value_ref(const Graph *g, const Value *v, char *buf, size_t n)
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
void emit_comment(Buf *b, const char *s)
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
void emit_string_lit(Buf *b, const char *s)
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

void emit_float_lit(Buf *b, double x, bool single)
{
    if (isnan(x)) { buf_printf(b, "%sNAN", single ? "" : "(double)"); return; }
    if (isinf(x)) { buf_printf(b, "%s%sINFINITY", x < 0 ? "-" : "", single ? "" : "(double)"); return; }
    char s[64];
    snprintf(s, sizeof s, single ? "%.9g" : "%.17g", x);
    buf_printf(b, "%s%s%s", s, strpbrk(s, ".e") ? "" : ".0", single ? "f" : "");
}

void emit_element_lit(Buf *b, DType t, const void *data, size_t i)
{
    switch (t) {
    case KILN_DTYPE_F32: emit_float_lit(b, ((const float *)data)[i], true); break;
    case KILN_DTYPE_F64: emit_float_lit(b, ((const double *)data)[i], false); break;
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

void emit_const(Buf *b, const Value *v)
{
    int64_t n = shape_numel(&v->shape);
    char sb[256];
    buf_printf(b, "/* ");
    emit_comment(b, v->name);
    buf_printf(b, ": %s%s */\n", dtype_name(v->dtype), shape_str(&v->shape, sb, sizeof sb));
    buf_printf(b, "static const %s w%d[%" PRId64 "] KILN_ALIGNED = {", dtype_ctype(v->dtype), v->id, n ? n : 1);
    for (int64_t i = 0; i < n; i++) {
        buf_printf(b, "%s", i % 8 ? " " : "\n    ");
        emit_element_lit(b, v->dtype, v->data, (size_t)i);
        buf_put(b, ",", 1);
    }
    buf_printf(b, "%s};\n", n ? "\n" : "0");
}

void emit_params(Buf *b, const Node *n, const KernelCall *kc)
{
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
            emit_float_lit(b, kc->f[i], false);
        }
        buf_printf(b, "};\n");
    }
}

void emit_tensor_descs(Buf *b, const char *what, Value *const *vals, int count)
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
        emit_string_lit(b, v->name);
        buf_printf(b, ", (kiln_dtype)%d, %d, %s_dims%d},\n", (int)v->dtype, v->shape.rank, what, k);
    }
    buf_printf(b, "%s};\n", count ? "" : "    {0, KILN_DTYPE_UNDEFINED, 0, 0}\n");
}

Status emit_write_file(const char *dir, const char *name, const char *text, size_t len, Diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    bool ok = fwrite(text, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    return ST_OK;
}

/* One header, after the headers of the same kind (NAME.ext) it includes,
 * each once; other #include "..." lines are dropped. */
static void emit_kernel_header(Buf *b, const char *dir, const char *file, const char *ext, char (*done)[64], int *ndone)
{
    for (int i = 0; i < *ndone; i++)
        if (strcmp(done[i], file) == 0) return;
    if (*ndone == 64) return;
    snprintf(done[(*ndone)++], 64, "%s", file);
    const char *text = embedded_file(file);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line), el = strlen(ext);
        if (strncmp(line, "#include \"", 10) == 0) {
            size_t nl = strcspn(line + 10, "\"\n");
            char dep[64];
            snprintf(dep, sizeof dep, "%.*s", (int)nl, line + 10);
            if (nl < sizeof dep && nl > el && strcmp(dep + nl - el, ext) == 0 && embedded_file(dep))
                emit_kernel_header(b, dir, dep, ext, done, ndone);
        }
        line += len;
    }
    buf_printf(b, "\n/* ---- kernels/%s/%s ---- */\n", dir, file);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        if (strncmp(line, "#include \"", 10) != 0) buf_put(b, line, len);
        line += len;
    }
}

/* Copy kernel headers dir/NAME.ext into a module, each after the ones it
 * includes: everything is in the one file. */
void emit_kernel_headers(Buf *b, const char *dir, const char *ext, const char *const *headers, int nheaders)
{
    char done[64][64];
    int ndone = 0;
    for (int h = 0; h < nheaders; h++) {
        char file[64];
        snprintf(file, sizeof file, "%s%s", headers[h], ext);
        emit_kernel_header(b, dir, file, ext, done, &ndone);
    }
}

/* The banner of NAME.h: what wrote it, and the model's inputs and outputs. */
void emit_header_banner(Buf *h, const Graph *g, const CodegenOptions *o, const char *target)
{
    char sb[256];
    buf_printf(h, "/* %s.h — generated by kiln %s", o->name, KILN_VERSION_STRING);
    if (o->source) {
        buf_printf(h, " from ");
        emit_comment(h, o->source);
    }
    buf_printf(h, "%s. Do not edit.\n *\n * Inputs:\n", target);
    for (int k = 0; k < g->ninputs; k++) {
        buf_printf(h, " *   %d  ", k);
        emit_comment(h, g->inputs[k]->name);
        buf_printf(h, ": %s%s\n", dtype_name(g->inputs[k]->dtype), shape_str(&g->inputs[k]->shape, sb, sizeof sb));
    }
    buf_printf(h, " * Outputs:\n");
    for (int k = 0; k < g->noutputs; k++) {
        buf_printf(h, " *   %d  ", k);
        emit_comment(h, g->outputs[k]->name);
        buf_printf(h, ": %s%s\n", dtype_name(g->outputs[k]->dtype), shape_str(&g->outputs[k]->shape, sb, sizeof sb));
    }
    buf_printf(h, " */\n");
}
