/*
 * movement.h — reference kernels of the movement operators.
 *
 * These ops only move elements, so kernels work on element SIZES, not dtypes:
 * an element is `es` bytes (1, 2, 4 or 8), copied with a fixed-size memcpy
 * that compiles to one load and store and is safe under strict aliasing.
 * Only the scatter reductions and Range compute, and they switch on a dtype
 * code (the kiln_dtype / ONNX TensorProto numbering) passed as a parameter.
 *
 * Index tensors (Gather*, Scatter*, OneHot) may hold any integer type; a
 * negative index counts from the end. An index still out of range cannot be
 * reported from here, so it reads zeros (gathers) or is skipped (scatters):
 * never an access out of bounds.
 */
#ifndef KILN_KERNELS_MOVEMENT_H
#define KILN_KERNELS_MOVEMENT_H
#include "common.h"

/* Strided copies can double the rank (Tile), so they allow more axes. */
#define KILN_MV_MAXR 16

/* dtype codes (kiln_dtype) the kernels switch on */
enum {
    KILN_MV_F32 = 1, KILN_MV_U8 = 2, KILN_MV_I8 = 3, KILN_MV_U16 = 4, KILN_MV_I16 = 5, KILN_MV_I32 = 6,
    KILN_MV_I64 = 7, KILN_MV_BOOL = 9, KILN_MV_F16 = 10, KILN_MV_F64 = 11, KILN_MV_U32 = 12, KILN_MV_U64 = 13,
    KILN_MV_BF16 = 16
};

/* Copy one element of es bytes. */
static KILN_UNUSED void kiln_mv_elem(void *d, const void *s, int64_t es)
{
    switch (es) {
    case 1: memcpy(d, s, 1); break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    default: memcpy(d, s, 8); break;
    }
}

/* Element i of an index tensor of dtype dt as int64 (floats truncate). */
static KILN_UNUSED int64_t kiln_mv_index(const void *p, int64_t i, int64_t dt)
{
    union { int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint8_t u8; uint16_t u16; uint32_t u32;
            uint64_t u64; float f32; double f64; } v;
    double x;
    switch (dt) {
    case KILN_MV_I64: memcpy(&v.i64, (const char *)p + i * 8, 8); return v.i64;
    case KILN_MV_I32: memcpy(&v.i32, (const char *)p + i * 4, 4); return v.i32;
    case KILN_MV_I16: memcpy(&v.i16, (const char *)p + i * 2, 2); return v.i16;
    case KILN_MV_I8: memcpy(&v.i8, (const char *)p + i, 1); return v.i8;
    case KILN_MV_U8: case KILN_MV_BOOL: memcpy(&v.u8, (const char *)p + i, 1); return v.u8;
    case KILN_MV_U16: memcpy(&v.u16, (const char *)p + i * 2, 2); return v.u16;
    case KILN_MV_U32: memcpy(&v.u32, (const char *)p + i * 4, 4); return v.u32;
    case KILN_MV_U64: memcpy(&v.u64, (const char *)p + i * 8, 8); return (int64_t)v.u64;
    case KILN_MV_F32: memcpy(&v.f32, (const char *)p + i * 4, 4); x = v.f32; break;
    case KILN_MV_F64: memcpy(&v.f64, (const char *)p + i * 8, 8); x = v.f64; break;
    case KILN_MV_F16: memcpy(&v.u16, (const char *)p + i * 2, 2); x = kiln_f16_to_f32(v.u16); break;
    case KILN_MV_BF16: memcpy(&v.u16, (const char *)p + i * 2, 2); x = kiln_bf16_to_f32(v.u16); break;
    default: return 0;
    }
    /* out-of-range doubles do not convert: map them to an index that is out of range */
    return x == x && x > -9.2e18 && x < 9.2e18 ? (int64_t)x : INT64_MIN;
}

/* Index x wrapped into [0, n), or -1 if out of range. */
static KILN_UNUSED int64_t kiln_mv_wrap(int64_t x, int64_t n)
{
    if (x < 0) x += n;
    return x >= 0 && x < n ? x : -1;
}

/*
 * Reshape, Flatten, Squeeze, Unsqueeze: the bytes do not change.
 * p: nbytes
 */
KILN_KERNEL kiln_copy(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    (void)f;
    if (p[0] > 0 && out[0] != in[0]) memmove(out[0], in[0], (size_t)p[0]);
}

/*
 * Transpose, Slice, Expand, Tile: out (contiguous, dims d) gathers
 * in[base + sum_a idx[a] * stride[a]]; strides in elements, 0 to broadcast,
 * negative for reverse steps. Instantiated per element size.
 * p: rank, base, dims[rank], strides[rank]
 * A transposed plane (the last axis strided, the one before it contiguous in
 * the input) goes in blocks of KILN_MV_TBLOCK output columns: the input lines
 * a block reads stay in cache while its rows are written, where reading whole
 * output rows would, with a power-of-two stride, evict them from one cache set.
 */
#define KILN_MV_TBLOCK 8
#define KILN_STRIDED_COPY(N)                                                                     \
    KILN_KERNEL kiln_strided_copy_##N(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)           \
    {                                                                                            \
        int r = (int)p[0], a, plane;                                                             \
        const int64_t *dims = p + 2, *st = p + 2 + r;                                            \
        const unsigned char *x = (const unsigned char *)in[0] + p[1] * N;                        \
        unsigned char *y = (unsigned char *)out[0];                                              \
        int64_t idx[KILN_MV_MAXR], off = 0, n = r ? dims[r - 1] : 1, s = r ? st[r - 1] : 0;     \
        int64_t rows = 1, o, i, m, jb, j;                                                        \
        (void)f;                                                                                 \
        for (a = 0; a < r; a++) { rows *= dims[a]; idx[a] = 0; }                                 \
        if (rows == 0) return;                                                                   \
        rows /= n;                                                                               \
        plane = r >= 2 && s != 1 && st[r - 2] == 1;                                              \
        m = plane ? dims[r - 2] : 1;                                                             \
        for (o = 0; o < rows; o += m) {                                                          \
            if (plane) {                                                                         \
                for (jb = 0; jb < n; jb += KILN_MV_TBLOCK)                                       \
                    for (i = 0; i < m; i++)                                                      \
                        for (j = jb; j < n && j < jb + KILN_MV_TBLOCK; j++)                      \
                            memcpy(y + (i * n + j) * N, x + (off + i + j * s) * N, N);           \
            } else if (s == 1) {                                                                 \
                memcpy(y, x + off * N, (size_t)(n * N));                                         \
            } else {                                                                             \
                for (i = 0; i < n; i++) memcpy(y + i * N, x + (off + i * s) * N, N);             \
            }                                                                                    \
            y += m * n * N;                                                                      \
            for (a = r - 2 - plane; a >= 0; a--) {                                               \
                off += st[a];                                                                    \
                if (++idx[a] < dims[a]) break;                                                   \
                off -= st[a] * dims[a];                                                          \
                idx[a] = 0;                                                                      \
            }                                                                                    \
        }                                                                                        \
    }
KILN_STRIDED_COPY(1)
KILN_STRIDED_COPY(2)
KILN_STRIDED_COPY(4)
KILN_STRIDED_COPY(8)

/*
 * Concat: out rows are the inputs' rows side by side.
 * p: ninputs, outer, inner_bytes, axis_len[ninputs]
 */
KILN_KERNEL kiln_concat(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t k, o, nk = p[0], outer = p[1], ib = p[2];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    for (o = 0; o < outer; o++)
        for (k = 0; k < nk; k++) {
            int64_t row = p[3 + k] * ib;
            if (row) memcpy(y, (const unsigned char *)in[k] + o * row, (size_t)row);
            y += row;
        }
}

/*
 * Split: the inverse of Concat.
 * p: noutputs, outer, inner_bytes, axis_len[noutputs]
 */
KILN_KERNEL kiln_split(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t k, o, nk = p[0], outer = p[1], ib = p[2];
    const unsigned char *x = (const unsigned char *)in[0];
    (void)f;
    for (o = 0; o < outer; o++)
        for (k = 0; k < nk; k++) {
            int64_t row = p[3 + k] * ib;
            if (row && out[k]) memcpy((unsigned char *)out[k] + o * row, x, (size_t)row);
            x += row;
        }
}

/*
 * Gather: out[o, j, :] = data[o, idx[j], :], with data viewed as
 * [outer, axis_dim, inner].
 * p: outer, axis_dim, inner_bytes, nidx, idx_dtype
 */
KILN_KERNEL kiln_gather(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t o, j, outer = p[0], dim = p[1], ib = p[2], nidx = p[3];
    const unsigned char *x = (const unsigned char *)in[0];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    if (!ib) return;
    for (o = 0; o < outer; o++)
        for (j = 0; j < nidx; j++, y += ib) {
            int64_t i = kiln_mv_wrap(kiln_mv_index(in[1], j, p[4]), dim);
            if (i < 0) memset(y, 0, (size_t)ib);
            else memcpy(y, x + (o * dim + i) * ib, (size_t)ib);
        }
}

/*
 * Offset in data of element `e` of an index tensor (GatherElements,
 * ScatterElements): the index's own coordinates, with the axis coordinate
 * replaced by the index value. -1 if that value is out of range.
 * q: rank, axis, idx_dims[rank], data_strides[rank], data_axis_dim
 */
static KILN_UNUSED int64_t kiln_mv_elem_offset(kiln_ip q, const int64_t *pos, const void *idx, int64_t e,
                                               int64_t idx_dtype)
{
    int r = (int)q[0], a, axis = (int)q[1];
    const int64_t *st = q + 2 + r;
    int64_t off = 0, i = kiln_mv_wrap(kiln_mv_index(idx, e, idx_dtype), q[2 + 2 * r]);
    if (i < 0) return -1;
    for (a = 0; a < r; a++) off += (a == axis ? i : pos[a]) * st[a];
    return off;
}

/* Advance a row-major coordinate pos within dims. */
static KILN_UNUSED void kiln_mv_next(int64_t *pos, const int64_t *dims, int r)
{
    int a;
    for (a = r - 1; a >= 0; a--) {
        if (++pos[a] < dims[a]) return;
        pos[a] = 0;
    }
}

/*
 * GatherElements: out has the indices' shape.
 * p: esize, idx_dtype, numel(indices), then q of kiln_mv_elem_offset
 */
KILN_KERNEL kiln_gather_elements(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t es = p[0], n = p[2], e, pos[KILN_MV_MAXR] = {0};
    kiln_ip q = p + 3;
    const unsigned char *x = (const unsigned char *)in[0];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    for (e = 0; e < n; e++, y += es) {
        int64_t off = kiln_mv_elem_offset(q, pos, in[1], e, p[1]);
        if (off < 0) memset(y, 0, (size_t)es);
        else kiln_mv_elem(y, x + off * es, es);
        kiln_mv_next(pos, q + 2, (int)q[0]);
    }
}

/*
 * GatherND: for each batch b and index tuple t (k integers), copies the
 * data slice data[b, t...] of slice_elems elements.
 * p: nbatch, ntuples (per batch), k, esize, idx_dtype, slice_elems,
 *    batch_stride (elements), dims[k], strides[k] (elements)
 */
KILN_KERNEL kiln_gather_nd(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t nb = p[0], nt = p[1], k = p[2], es = p[3], sb = p[5] * es, b, t, j;
    const int64_t *dims = p + 7, *st = p + 7 + k;
    const unsigned char *x = (const unsigned char *)in[0];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    if (!sb) return;
    for (b = 0; b < nb; b++)
        for (t = 0; t < nt; t++, y += sb) {
            int64_t off = b * p[6];
            for (j = 0; j < k && off >= 0; j++) {
                int64_t i = kiln_mv_wrap(kiln_mv_index(in[1], (b * nt + t) * k + j, p[4]), dims[j]);
                off = i < 0 ? -1 : off + i * st[j];
            }
            if (off < 0) memset(y, 0, (size_t)sb);
            else memcpy(y, x + off * es, (size_t)sb);
        }
}

/*
 * d = d (op) s for a scatter reduction: 1 add, 2 mul, 3 max, 4 min
 * (0, none, never gets here). Integers wrap; NaN propagates through max/min.
 */
#define KILN_MV_RED_INT(T)                                                                       \
    {                                                                                            \
        T a, b;                                                                                  \
        memcpy(&a, d, sizeof a);                                                                 \
        memcpy(&b, s, sizeof b);                                                                 \
        a = op == 1 ? (T)((uint64_t)a + (uint64_t)b) : op == 2 ? (T)((uint64_t)a * (uint64_t)b)  \
          : op == 3 ? (a > b ? a : b) : (a < b ? a : b);                                         \
        memcpy(d, &a, sizeof a);                                                                 \
        return;                                                                                  \
    }
#define KILN_MV_RED_FLOAT(a, b)                                                                  \
    (op == 1 ? a + b : op == 2 ? a * b : a != a || b != b ? a + b                                \
     : op == 3 ? (a > b ? a : b) : (a < b ? a : b))

static KILN_UNUSED void kiln_mv_reduce(void *d, const void *s, int64_t dt, int64_t op)
{
    switch (dt) {
    case KILN_MV_I8: KILN_MV_RED_INT(int8_t)
    case KILN_MV_I16: KILN_MV_RED_INT(int16_t)
    case KILN_MV_I32: KILN_MV_RED_INT(int32_t)
    case KILN_MV_I64: KILN_MV_RED_INT(int64_t)
    case KILN_MV_U8: KILN_MV_RED_INT(uint8_t)
    case KILN_MV_U16: KILN_MV_RED_INT(uint16_t)
    case KILN_MV_U32: KILN_MV_RED_INT(uint32_t)
    case KILN_MV_U64: KILN_MV_RED_INT(uint64_t)
    case KILN_MV_BOOL: { /* add and max are or, mul and min are and */
        uint8_t a, b;
        memcpy(&a, d, 1);
        memcpy(&b, s, 1);
        a = (uint8_t)(op == 1 || op == 3 ? (a || b) : (a && b));
        memcpy(d, &a, 1);
        return;
    }
    case KILN_MV_F32: {
        float a, b;
        memcpy(&a, d, 4);
        memcpy(&b, s, 4);
        a = KILN_MV_RED_FLOAT(a, b);
        memcpy(d, &a, 4);
        return;
    }
    case KILN_MV_F64: {
        double a, b;
        memcpy(&a, d, 8);
        memcpy(&b, s, 8);
        a = KILN_MV_RED_FLOAT(a, b);
        memcpy(d, &a, 8);
        return;
    }
    case KILN_MV_F16: case KILN_MV_BF16: {
        uint16_t h;
        float a, b;
        int bf = dt == KILN_MV_BF16;
        memcpy(&h, d, 2);
        a = bf ? kiln_bf16_to_f32(h) : kiln_f16_to_f32(h);
        memcpy(&h, s, 2);
        b = bf ? kiln_bf16_to_f32(h) : kiln_f16_to_f32(h);
        a = KILN_MV_RED_FLOAT(a, b);
        h = bf ? kiln_f32_to_bf16(a) : kiln_f32_to_f16(a);
        memcpy(d, &h, 2);
        return;
    }
    default: return;
    }
}

/* Store update element s at d, combined with what is there by reduction op. */
static KILN_UNUSED void kiln_mv_update(void *d, const void *s, int64_t es, int64_t dt, int64_t op)
{
    if (op == 0) kiln_mv_elem(d, s, es);
    else kiln_mv_reduce(d, s, dt, op);
}

/*
 * Scatter, ScatterElements: out = data, then updates land where the indices
 * point (kiln_mv_elem_offset), in index order.
 * p: esize, idx_dtype, numel(indices), reduction, dtype, data_bytes, then q
 */
KILN_KERNEL kiln_scatter_elements(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t es = p[0], n = p[2], e, pos[KILN_MV_MAXR] = {0};
    kiln_ip q = p + 6;
    const unsigned char *u = (const unsigned char *)in[2];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    if (p[5] && out[0] != in[0]) memmove(out[0], in[0], (size_t)p[5]);
    for (e = 0; e < n; e++) {
        int64_t off = kiln_mv_elem_offset(q, pos, in[1], e, p[1]);
        if (off >= 0) kiln_mv_update(y + off * es, u + e * es, es, p[4], p[3]);
        kiln_mv_next(pos, q + 2, (int)q[0]);
    }
}

/*
 * ScatterND: out = data, then slice t of updates (slice_elems elements)
 * lands at data[indices[t, 0..k-1], ...].
 * p: ntuples, k, esize, idx_dtype, reduction, dtype, data_bytes, slice_elems,
 *    dims[k], strides[k] (elements)
 */
KILN_KERNEL kiln_scatter_nd(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t nt = p[0], k = p[1], es = p[2], ns = p[7], t, j, e;
    const int64_t *dims = p + 8, *st = p + 8 + k;
    const unsigned char *u = (const unsigned char *)in[2];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    if (p[6] && out[0] != in[0]) memmove(out[0], in[0], (size_t)p[6]);
    for (t = 0; t < nt; t++) {
        int64_t off = 0;
        for (j = 0; j < k && off >= 0; j++) {
            int64_t i = kiln_mv_wrap(kiln_mv_index(in[1], t * k + j, p[3]), dims[j]);
            off = i < 0 ? -1 : off + i * st[j];
        }
        if (off < 0) continue;
        for (e = 0; e < ns; e++) kiln_mv_update(y + (off + e) * es, u + (t * ns + e) * es, es, p[5], p[4]);
    }
}

/* Source coordinate of padded coordinate i on an axis of n elements, or -1
 * for the constant. mode: 0 constant, 1 reflect, 2 edge. */
static KILN_UNUSED int64_t kiln_mv_pad_src(int64_t i, int64_t n, int64_t mode)
{
    if (i >= 0 && i < n) return i;
    if (mode == 0 || n == 0) return -1;
    if (mode == 2 || n == 1) return i < 0 ? 0 : n - 1;
    { /* reflect without repeating the edge: period 2(n-1), as numpy.pad does */
        int64_t period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}

/*
 * Pad: out[o] = in[o - begin] per axis, out-of-range coordinates resolved by
 * mode (kiln_mv_pad_src); begin may be negative (cropping). The constant is
 * in[2] when has_value, else the element whose bytes are `bits`.
 * p: rank, esize, mode, bits, has_value, in_dims[rank], out_dims[rank], begin[rank]
 */
KILN_KERNEL kiln_pad(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int r = (int)p[0], a;
    int64_t es = p[1], mode = p[2], n = 1, e, pos[KILN_MV_MAXR] = {0}, st[KILN_MV_MAXR];
    const int64_t *id = p + 5, *od = p + 5 + r, *beg = p + 5 + 2 * r;
    const unsigned char *x = (const unsigned char *)in[0];
    unsigned char *y = (unsigned char *)out[0], value[8];
    (void)f;
    memcpy(value, &p[3], 8);
    if (p[4] && in[2]) kiln_mv_elem(value, in[2], es);
    for (a = r - 1; a >= 0; a--) { st[a] = n; n *= id[a]; }
    for (a = 0, n = 1; a < r; a++) n *= od[a];
    for (e = 0; e < n; e++, y += es) {
        int64_t off = 0;
        for (a = 0; a < r && off >= 0; a++) {
            int64_t i = kiln_mv_pad_src(pos[a] - beg[a], id[a], mode);
            off = i < 0 ? -1 : off + i * st[a];
        }
        kiln_mv_elem(y, off < 0 ? value : x + off * es, es);
        kiln_mv_next(pos, od, r);
    }
}

/*
 * ConstantOfShape: numel copies of the element whose bytes are `bits`.
 * p: numel, esize, bits
 */
KILN_KERNEL kiln_fill(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t i, es = p[1];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    (void)in;
    for (i = 0; i < p[0]; i++) kiln_mv_elem(y + i * es, &p[2], es);
}

/*
 * EyeLike: ones (bytes `one`) on diagonal k of a rows x cols matrix, else zeros.
 * p: rows, cols, k, esize, one
 */
KILN_KERNEL kiln_eye_like(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t rows = p[0], cols = p[1], k = p[2], es = p[3], i;
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    (void)in;
    if (rows > 0 && cols > 0) memset(y, 0, (size_t)(rows * cols * es));
    for (i = 0; i < rows; i++)
        if (i + k >= 0 && i + k < cols) kiln_mv_elem(y + (i * cols + i + k) * es, &p[4], es);
}

/*
 * Trilu: keeps the elements on and above (upper) or below diagonal k of
 * each rows x cols matrix, zeroes the rest. k is in[1] (int64) when has_k.
 * p: batch, rows, cols, upper, esize, has_k
 */
KILN_KERNEL kiln_trilu(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t nb = p[0], rows = p[1], cols = p[2], upper = p[3], es = p[4], k = 0, b, i, j;
    const unsigned char *x = (const unsigned char *)in[0];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    if (p[5] && in[1]) memcpy(&k, in[1], 8);
    for (b = 0; b < nb; b++)
        for (i = 0; i < rows; i++)
            for (j = 0; j < cols; j++, x += es, y += es) {
                int keep = upper ? j - i >= k : j - i <= k;
                if (keep) kiln_mv_elem(y, x, es);
                else memset(y, 0, (size_t)es);
            }
}

/*
 * OneHot: out[o, d, i] = values[idx[o, i] == d] with the indices viewed as
 * [outer, inner] and in[2] = [off, on]. Negative indices count from depth
 * when wrap is set (opset 11), else they are all off.
 * p: outer, depth, inner, esize, idx_dtype, wrap
 */
KILN_KERNEL kiln_onehot(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    int64_t outer = p[0], depth = p[1], inner = p[2], es = p[3], o, dd, i;
    const unsigned char *v = (const unsigned char *)in[2];
    unsigned char *y = (unsigned char *)out[0];
    (void)f;
    for (o = 0; o < outer; o++)
        for (dd = 0; dd < depth; dd++)
            for (i = 0; i < inner; i++, y += es) {
                int64_t x = kiln_mv_index(in[0], o * inner + i, p[4]);
                x = p[5] ? kiln_mv_wrap(x, depth) : x;
                kiln_mv_elem(y, v + (x == dd ? es : 0), es);
            }
}

/*
 * Shape and Size are folded whenever their input's shape is known, so they
 * write what the parameters say and never read in[0].
 * p: n, values[n]  (Shape: the dims; Size: n = 1, the element count)
 */
KILN_KERNEL kiln_shape(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)
{
    (void)f;
    (void)in;
    if (p[0]) memcpy(out[0], p + 1, (size_t)p[0] * 8);
}

/*
 * Range: out[i] = start + i * delta, computed in int64 (wrapping) or double.
 * p: n, start, delta   f: start, delta
 */
#define KILN_RANGE(name, T, expr)                                                                \
    KILN_KERNEL kiln_range_##name(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)               \
    {                                                                                            \
        int64_t i;                                                                               \
        T *y = (T *)out[0];                                                                      \
        (void)in;                                                                                \
        (void)f;                                                                                 \
        for (i = 0; i < p[0]; i++) y[i] = (T)(expr);                                             \
    }
#define KILN_RANGE_INT (int64_t)((uint64_t)p[1] + (uint64_t)i * (uint64_t)p[2])
KILN_RANGE(i16, int16_t, KILN_RANGE_INT)
KILN_RANGE(i32, int32_t, KILN_RANGE_INT)
KILN_RANGE(i64, int64_t, KILN_RANGE_INT)
KILN_RANGE(f32, float, f[0] + (double)i * f[1])
KILN_RANGE(f64, double, f[0] + (double)i * f[1])

#endif
