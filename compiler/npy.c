/* npy.c — reading and writing NumPy .npy files for kiln run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln.h"

static const struct { const char *descr; DType t; } descrs[] = {
    {"f4", KILN_DTYPE_F32}, {"f8", KILN_DTYPE_F64}, {"f2", KILN_DTYPE_F16}, {"i1", KILN_DTYPE_I8},
    {"i2", KILN_DTYPE_I16}, {"i4", KILN_DTYPE_I32}, {"i8", KILN_DTYPE_I64}, {"u1", KILN_DTYPE_U8},
    {"u2", KILN_DTYPE_U16}, {"u4", KILN_DTYPE_U32}, {"u8", KILN_DTYPE_U64}, {"b1", KILN_DTYPE_BOOL},
};

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p = strchr(p + strlen(pat), ':');
    if (!p) return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static Status parse_header(const char *path, const char *hdr, NpyArray *a, Diag *d)
{
    const char *descr = dict_value(hdr, "descr"), *fortran = dict_value(hdr, "fortran_order"),
               *shape = dict_value(hdr, "shape");
    if (!descr || !fortran || !shape || *descr != '\'' || *shape != '(')
        return diag_error(d, ST_INPUT, NULL, "'%s': malformed .npy header", path);
    if (strncmp(fortran, "False", 5) != 0)
        return diag_error(d, ST_INPUT, NULL, "'%s': Fortran-order arrays are not supported; save it in C order", path);
    char order = descr[1];
    if (order == '>') return diag_error(d, ST_INPUT, NULL, "'%s': big-endian arrays are not supported", path);
    const char *code = order == '<' || order == '|' || order == '=' ? descr + 2 : descr + 1;
    a->dtype = KILN_DTYPE_UNDEFINED;
    for (size_t i = 0; i < sizeof descrs / sizeof *descrs; i++)
        if (strncmp(code, descrs[i].descr, 2) == 0 && code[2] == '\'') a->dtype = descrs[i].t;
    if (!a->dtype) return diag_error(d, ST_INPUT, NULL, "'%s': unsupported element type %.8s", path, descr);
    a->shape = (Shape){0};
    for (const char *p = shape + 1; *p != ')';) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || errno) return diag_error(d, ST_INPUT, NULL, "'%s': malformed shape in .npy header", path);
        if (a->shape.rank == KILN_MAX_RANK)
            return diag_error(d, ST_INPUT, NULL, "'%s': rank above %d is not supported", path, KILN_MAX_RANK);
        if (v > KILN_MAX_ELEMENTS)
            return diag_error(d, ST_INPUT, NULL, "'%s': dimension %lld is above kiln's limit of %lld", path, v,
                              (long long)KILN_MAX_ELEMENTS);
        a->shape.dims[a->shape.rank++] = v;
        p = end;
    }
    return ST_OK;
}

Status npy_decode(const void *bytes, size_t len, const char *path, NpyArray *a, Diag *d)
{
    const unsigned char *pre = bytes;
    *a = (NpyArray){0};
    if (len < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) return diag_error(d, ST_INPUT, NULL, "'%s' is not a .npy file", path);
    if (pre[6] < 1 || pre[6] > 3)
        return diag_error(d, ST_INPUT, NULL, "'%s': .npy format version %d is not supported", path, pre[6]);
    size_t hlen = pre[8] | (size_t)pre[9] << 8, start = 10;
    if (pre[6] >= 2) { /* versions 2 and 3 have a 4-byte header length */
        if (len < 12) return diag_error(d, ST_INPUT, NULL, "'%s': truncated .npy header", path);
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        start = 12;
    }
    if (hlen > 1 << 20 || hlen > len - start)
        return diag_error(d, ST_INPUT, NULL, "'%s': truncated or oversized .npy header", path);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return diag_error(d, ST_INPUT, NULL, "'%s': out of memory", path);
    memcpy(hdr, pre + start, hlen);
    hdr[hlen] = 0;
    Status st = parse_header(path, hdr, a, d);
    free(hdr);
    if (st) return st;
    int64_t numel = shape_numel(&a->shape);
    char buf[256];
    if (numel < 0 || numel > KILN_MAX_ELEMENTS || !mul_size((size_t)numel, dtype_size(a->dtype), &a->bytes))
        return diag_error(d, ST_INPUT, NULL, "'%s': shape %s has more than %lld elements", path,
                          shape_str(&a->shape, buf, sizeof buf), (long long)KILN_MAX_ELEMENTS);
    size_t have = len - start - hlen;
    if (have != a->bytes)
        return diag_error(d, ST_INPUT, NULL, "'%s' holds %zu bytes of data; its header (%s%s) needs %zu", path, have,
                          dtype_name(a->dtype), shape_str(&a->shape, buf, sizeof buf), a->bytes);
    if (mem_reserve(a->bytes, NULL, path, d)) return d->status;
    a->data = malloc(a->bytes ? a->bytes : 1);
    if (!a->data) return diag_error(d, ST_INPUT, NULL, "'%s': out of memory for %zu bytes", path, a->bytes);
    if (a->bytes) memcpy(a->data, pre + start + hlen, a->bytes);
    return ST_OK;
}

Status npy_read(const char *path, NpyArray *a, Diag *d)
{
    *a = (NpyArray){0};
    size_t n;
    FILE *f = open_regular_file(path, &n, d);
    if (!f) return d->status;
    if (mem_reserve(n, NULL, path, d)) {
        fclose(f);
        return d->status;
    }
    unsigned char *bytes = malloc(n ? n : 1);
    bool ok = bytes && fread(bytes, 1, n, f) == n;
    fclose(f);
    Status status = ok ? npy_decode(bytes, n, path, a, d) : diag_error(d, ST_INPUT, NULL, "cannot read '%s'", path);
    free(bytes);
    return status;
}

Status npy_write(const char *path, DType t, const Shape *s, const void *data, Diag *d)
{
    const char *code = NULL;
    if (t == KILN_DTYPE_BF16) t = KILN_DTYPE_U16; /* NumPy has no bfloat16: write its bits */
    for (size_t i = 0; i < sizeof descrs / sizeof *descrs; i++)
        if (descrs[i].t == t) code = descrs[i].descr;
    if (!code) return diag_unsupported(d, NULL, "'%s': %s cannot be stored in .npy", path, dtype_name(t));
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     dtype_size(t) == 1 ? '|' : '<', code);
    for (int i = 0; i < s->rank; i++) k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld,%s", (long long)s->dims[i], i + 1 < s->rank ? " " : "");
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    /* Pad so the data starts at a multiple of 64 bytes, ending in a newline. */
    int total = 10 + k + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    int hlen = k + pad + 1;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(dict, 1, (size_t)k, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t bytes = (size_t)shape_numel(s) * dtype_size(t);
    if (bytes) fwrite(data, 1, bytes, f);
    if (fclose(f) != 0) return diag_error(d, ST_INPUT, NULL, "cannot write '%s': %s", path, strerror(errno));
    return ST_OK;
}
