/* infer_movement.c — shape rules of the movement operators (see ops.def). */
#include <math.h>
#include <string.h>

#include "kiln.h"

#define MAXR KILN_MAX_RANK
#define MAX_SPLITS 1024

/* The movement kernels copy elements of 1, 2, 4 or 8 bytes. */
static Status check_elem(const Node *n, DType t, Diag *d)
{
    size_t es = dtype_size(t);
    if (es == 1 || es == 2 || es == 4 || es == 8) return ST_OK;
    return diag_unsupported(d, n, "%s tensors are not supported", dtype_name(t));
}

static Status check_index_type(const Node *n, int k, Diag *d)
{
    if (dtype_is_int(n->in[k]->dtype)) return ST_OK;
    return diag_error(d, ST_INPUT, n, "input %d ('%s') holds indices and must be an integer tensor, not %s", k,
                      n->in[k]->name, dtype_name(n->in[k]->dtype));
}

static Status set_out(Node *n, int k, DType t, int rank, const int64_t *dims, Diag *d)
{
    if (rank > MAXR) return diag_unsupported(d, n, "output rank %d is more than kiln's %d", rank, MAXR);
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0) return diag_error(d, ST_INPUT, n, "output dim %d would be negative (%lld)", i, (long long)dims[i]);
    Shape s = shape_make(rank, dims);
    if (shape_numel(&s) < 0) return diag_error(d, ST_INPUT, n, "output has too many elements");
    if (n->out[k]) value_set_type(n->out[k], t, &s);
    return ST_OK;
}

/* An integer list given as input k (newer opsets) or as attribute attr
 * (older ones). *count is -1 if neither is there. */
static Status ints_arg(const Node *n, int k, const char *attr, int64_t *out, int max, int *count, Diag *d)
{
    if (has_input(n, k)) {
        *count = const_ints(n, k, out, max, d);
        return *count < 0 ? d->status : ST_OK;
    }
    const int64_t *a;
    *count = attr ? attr_ints(n, attr, &a) : -1;
    if (*count > max) return diag_error(d, ST_INPUT, n, "attribute '%s' has %d values, at most %d allowed", attr, *count, max);
    if (*count > 0) memcpy(out, a, (size_t)*count * sizeof *out);
    return ST_OK;
}

/* Normalise axes against rank, rejecting out-of-range and repeated ones. */
static Status norm_axes(const Node *n, int64_t *axes, int count, int rank, Diag *d)
{
    for (int i = 0; i < count; i++) {
        if (!norm_axis(axes[i], rank, &axes[i]) || rank == 0)
            return diag_error(d, ST_INPUT, n, "axis %lld is out of range for rank %d", (long long)axes[i], rank);
        for (int j = 0; j < i; j++)
            if (axes[j] == axes[i]) return diag_error(d, ST_INPUT, n, "axis %lld is repeated", (long long)axes[i]);
    }
    return ST_OK;
}

static Status get_axis(const Node *n, int64_t def, int rank, int64_t *axis, Diag *d)
{
    int64_t a = attr_int(n, "axis", def);
    if (rank == 0 || !norm_axis(a, rank, axis))
        return diag_error(d, ST_INPUT, n, "axis %lld is out of range for rank %d", (long long)a, rank);
    return ST_OK;
}

/* ---- reshaping: the bytes stay, the shape changes ---------------------- */

static Status infer_reshape(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t dims[MAXR];
    int r = const_ints(n, 1, dims, MAXR, d), infer = -1;
    if (r < 0 || check_elem(n, x->dtype, d)) return d->status;
    bool allowzero = attr_int(n, "allowzero", 0) != 0;
    int64_t known = 1;
    for (int i = 0; i < r; i++) {
        if (dims[i] == 0 && !allowzero) {
            if (i >= x->shape.rank) return diag_error(d, ST_INPUT, n, "shape[%d] = 0 copies a dim the input lacks", i);
            dims[i] = x->shape.dims[i];
        } else if (dims[i] == -1) {
            if (infer >= 0) return diag_error(d, ST_INPUT, n, "shape has more than one -1");
            infer = i;
            continue;
        } else if (dims[i] < -1) {
            return diag_error(d, ST_INPUT, n, "shape[%d] = %lld is negative", i, (long long)dims[i]);
        }
        if (dims[i] && known > INT64_MAX / dims[i]) return diag_error(d, ST_INPUT, n, "shape is too large");
        known *= dims[i];
    }
    int64_t numel = shape_numel(&x->shape);
    if (infer >= 0) {
        if (known == 0) return diag_error(d, ST_INPUT, n, "shape has a -1 beside a zero dim: the -1 is ambiguous");
        if (numel % known) return diag_error(d, ST_INPUT, n, "cannot reshape %lld elements with that shape", (long long)numel);
        dims[infer] = numel / known;
    } else if (known != numel) {
        return diag_error(d, ST_INPUT, n, "cannot reshape %lld elements into %lld", (long long)numel, (long long)known);
    }
    return set_out(n, 0, x->dtype, r, dims, d);
}

static Status infer_flatten(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axis = attr_int(n, "axis", 1);
    if (check_elem(n, n->in[0]->dtype, d)) return d->status;
    if (axis < -s->rank || axis > s->rank)
        return diag_error(d, ST_INPUT, n, "axis %lld is out of range for rank %d", (long long)axis, s->rank);
    if (axis < 0) axis += s->rank;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < s->rank; i++) dims[i >= axis] *= s->dims[i];
    return set_out(n, 0, n->in[0]->dtype, 2, dims, d);
}

static Status infer_squeeze(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axes[MAXR], dims[MAXR];
    int na, r = 0;
    bool drop[MAXR] = {0};
    if (check_elem(n, n->in[0]->dtype, d) || ints_arg(n, 1, "axes", axes, MAXR, &na, d)) return d->status;
    if (norm_axes(n, axes, na, s->rank, d)) return d->status;
    for (int i = 0; i < na; i++) {
        if (s->dims[axes[i]] != 1)
            return diag_error(d, ST_INPUT, n, "cannot squeeze axis %lld of size %lld", (long long)axes[i],
                              (long long)s->dims[axes[i]]);
        drop[axes[i]] = true;
    }
    for (int i = 0; i < s->rank; i++)
        if (!(na < 0 ? s->dims[i] == 1 : drop[i])) dims[r++] = s->dims[i];
    return set_out(n, 0, n->in[0]->dtype, r, dims, d);
}

static Status infer_unsqueeze(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axes[MAXR], dims[MAXR];
    int na;
    bool ins[MAXR] = {0};
    if (check_elem(n, n->in[0]->dtype, d) || ints_arg(n, 1, "axes", axes, MAXR, &na, d)) return d->status;
    if (na < 0) return diag_error(d, ST_INPUT, n, "axes are missing");
    int r = s->rank + na;
    if (r > MAXR) return diag_unsupported(d, n, "output rank %d is more than kiln's %d", r, MAXR);
    if (norm_axes(n, axes, na, r, d)) return d->status;
    for (int i = 0; i < na; i++) ins[axes[i]] = true;
    for (int i = 0, j = 0; i < r; i++) dims[i] = ins[i] ? 1 : s->dims[j++];
    return set_out(n, 0, n->in[0]->dtype, r, dims, d);
}

/* ---- reordering and joining ------------------------------------------- */

static Status infer_transpose(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t perm[MAXR], dims[MAXR];
    const int64_t *p;
    int np = attr_ints(n, "perm", &p);
    if (np >= 0 && np != s->rank)
        return diag_error(d, ST_INPUT, n, "perm has %d values for rank %d", np, s->rank);
    bool seen[MAXR] = {0};
    for (int i = 0; i < s->rank; i++) {
        perm[i] = np >= 0 ? p[i] : s->rank - 1 - i;
        if (perm[i] < 0 || perm[i] >= s->rank || seen[perm[i]])
            return diag_error(d, ST_INPUT, n, "perm is not a permutation of the axes");
        seen[perm[i]] = true;
        dims[i] = s->dims[perm[i]];
    }
    if (check_elem(n, n->in[0]->dtype, d)) return d->status;
    return set_out(n, 0, n->in[0]->dtype, s->rank, dims, d);
}

static Status infer_concat(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t axis, dims[MAXR];
    for (int k = 0; k < n->nin; k++)
        if (!n->in[k]) return diag_error(d, ST_INPUT, n, "input %d is missing", k);
    if (!attr_get(n, "axis") && n->opset >= 4) return diag_error(d, ST_INPUT, n, "attribute 'axis' is missing");
    if (get_axis(n, 1, x->shape.rank, &axis, d) || check_elem(n, x->dtype, d)) return d->status;
    memcpy(dims, x->shape.dims, sizeof dims);
    for (int k = 1; k < n->nin; k++) {
        const Value *y = n->in[k];
        if (y->dtype != x->dtype || y->shape.rank != x->shape.rank)
            return diag_error(d, ST_INPUT, n, "input %d ('%s') differs in dtype or rank from input 0", k, y->name);
        for (int i = 0; i < x->shape.rank; i++)
            if (i != axis && y->shape.dims[i] != x->shape.dims[i])
                return diag_error(d, ST_INPUT, n, "input %d ('%s') differs from input 0 in dim %d", k, y->name, i);
        dims[axis] += y->shape.dims[axis];
    }
    return set_out(n, 0, x->dtype, x->shape.rank, dims, d);
}

static Status infer_split(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t axis, dims[MAXR], split[MAX_SPLITS];
    int ns, nout = n->nout;
    if (nout > MAX_SPLITS) return diag_unsupported(d, n, "more than %d outputs", MAX_SPLITS);
    if (get_axis(n, 0, x->shape.rank, &axis, d) || check_elem(n, x->dtype, d)) return d->status;
    if (ints_arg(n, 1, "split", split, MAX_SPLITS, &ns, d)) return d->status;
    int64_t len = x->shape.dims[axis], num = attr_int(n, "num_outputs", 0), total = 0;
    if (ns < 0 && num) { /* opset 18: the last part may be smaller */
        if (num != nout) return diag_error(d, ST_INPUT, n, "num_outputs is %lld but the node has %d outputs", (long long)num, nout);
        int64_t chunk = (len + num - 1) / num;
        for (int k = 0; k < nout; k++) split[k] = k < nout - 1 ? chunk : len - chunk * (nout - 1);
        ns = nout;
    } else if (ns < 0) {
        if (len % nout) return diag_error(d, ST_INPUT, n, "dim %lld does not split into %d equal parts", (long long)len, nout);
        for (int k = 0; k < nout; k++) split[k] = len / nout;
        ns = nout;
    }
    if (ns != nout) return diag_error(d, ST_INPUT, n, "split has %d values for %d outputs", ns, nout);
    for (int k = 0; k < nout; k++) {
        if (split[k] < 0) return diag_error(d, ST_INPUT, n, "split sizes must not be negative");
        total += split[k];
        if (total > len) break;
    }
    if (total != len) return diag_error(d, ST_INPUT, n, "split sizes do not add up to the dim, %lld", (long long)len);
    memcpy(dims, x->shape.dims, sizeof dims);
    for (int k = 0; k < nout; k++) {
        dims[axis] = split[k];
        if (set_out(n, k, x->dtype, x->shape.rank, dims, d)) return d->status;
    }
    return ST_OK;
}

/* Per-axis start and step of Slice, and the output shape; shared with the
 * lowering (codegen/lower_movement.c). Axes not sliced keep start 0, step 1. */
Status movement_slice_plan(const Node *n, int64_t *start, int64_t *step, int64_t *len, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t st[MAXR], en[MAXR], ax[MAXR], sp[MAXR];
    int ns, ne, na, nsp;
    bool input_form = n->nin > 1;
    if (ints_arg(n, 1, input_form ? NULL : "starts", st, MAXR, &ns, d) ||
        ints_arg(n, 2, input_form ? NULL : "ends", en, MAXR, &ne, d) ||
        ints_arg(n, 3, input_form ? NULL : "axes", ax, MAXR, &na, d))
        return d->status;
    if (ints_arg(n, 4, NULL, sp, MAXR, &nsp, d)) return d->status;
    if (ns < 0 || ne < 0) return diag_error(d, ST_INPUT, n, "starts and ends are missing");
    if (ns != ne || (na >= 0 && na != ns) || (nsp >= 0 && nsp != ns))
        return diag_error(d, ST_INPUT, n, "starts, ends, axes and steps differ in length");
    if (na < 0)
        for (int i = 0; i < ns; i++) ax[i] = i;
    if (norm_axes(n, ax, ns, s->rank, d)) return d->status;
    for (int a = 0; a < s->rank; a++) start[a] = 0, step[a] = 1, len[a] = s->dims[a];
    for (int i = 0; i < ns; i++) {
        int64_t a = ax[i], dim = s->dims[a], b = st[i], e = en[i], k = nsp >= 0 ? sp[i] : 1, span;
        if (k == 0) return diag_error(d, ST_INPUT, n, "step of axis %lld is 0", (long long)a);
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        if (k > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            span = e - b;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            span = b - e;
        }
        uint64_t mag = k > 0 ? (uint64_t)k : 0 - (uint64_t)k;
        len[a] = span <= 0 || dim == 0 ? 0 : 1 + (int64_t)((uint64_t)(span - 1) / mag);
        start[a] = len[a] ? b : 0;
        step[a] = len[a] > 1 ? k : 1; /* a huge unused step would overflow the strides */
    }
    return ST_OK;
}

static Status infer_slice(Node *n, Diag *d)
{
    int64_t start[MAXR], step[MAXR], len[MAXR];
    if (check_elem(n, n->in[0]->dtype, d) || movement_slice_plan(n, start, step, len, d)) return d->status;
    return set_out(n, 0, n->in[0]->dtype, n->in[0]->shape.rank, len, d);
}

/* ---- indexing ---------------------------------------------------------- */

static Status infer_gather(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t axis, dims[2 * MAXR];
    int r = 0;
    if (get_axis(n, 0, s->rank, &axis, d) || check_index_type(n, 1, d) || check_elem(n, n->in[0]->dtype, d))
        return d->status;
    for (int i = 0; i < s->rank; i++) {
        if (i == axis)
            for (int j = 0; j < is->rank; j++) dims[r++] = is->dims[j];
        else
            dims[r++] = s->dims[i];
    }
    return set_out(n, 0, n->in[0]->dtype, r, dims, d);
}

/* GatherElements and Scatter*: indices (and updates) of data's rank, no
 * larger than data off the axis, so their coordinates are data's. */
static Status check_elements(Node *n, bool scatter, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t axis;
    if (get_axis(n, 0, s->rank, &axis, d) || check_index_type(n, 1, d) || check_elem(n, n->in[0]->dtype, d))
        return d->status;
    if (is->rank != s->rank) return diag_error(d, ST_INPUT, n, "indices and data differ in rank");
    for (int i = 0; i < s->rank; i++)
        if (i != axis && is->dims[i] > s->dims[i])
            return diag_error(d, ST_INPUT, n, "indices dim %d (%lld) is larger than data's (%lld)", i,
                              (long long)is->dims[i], (long long)s->dims[i]);
    if (scatter && (n->in[2]->dtype != n->in[0]->dtype || !shape_equal(&n->in[2]->shape, is)))
        return diag_error(d, ST_INPUT, n, "updates must have data's dtype and the indices' shape");
    return ST_OK;
}

static Status check_reduction(Node *n, Diag *d)
{
    const char *r = attr_str(n, "reduction", "none");
    if (strcmp(r, "none") && strcmp(r, "add") && strcmp(r, "mul") && strcmp(r, "max") && strcmp(r, "min"))
        return diag_error(d, ST_INPUT, n, "unknown reduction '%s'", r);
    return ST_OK;
}

static Status infer_gather_elements(Node *n, Diag *d)
{
    if (check_elements(n, false, d)) return d->status;
    return set_out(n, 0, n->in[0]->dtype, n->in[1]->shape.rank, n->in[1]->shape.dims, d);
}

static Status infer_scatter_elements(Node *n, Diag *d)
{
    if (check_elements(n, true, d) || check_reduction(n, d)) return d->status;
    return set_out(n, 0, n->in[0]->dtype, n->in[0]->shape.rank, n->in[0]->shape.dims, d);
}

static Status infer_gather_nd(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t b = attr_int(n, "batch_dims", 0), dims[2 * MAXR];
    if (check_index_type(n, 1, d) || check_elem(n, n->in[0]->dtype, d)) return d->status;
    if (s->rank < 1 || is->rank < 1) return diag_error(d, ST_INPUT, n, "data and indices must have rank >= 1");
    if (b < 0 || b >= s->rank || b >= is->rank)
        return diag_error(d, ST_INPUT, n, "batch_dims %lld must be less than both ranks", (long long)b);
    int64_t k = is->dims[is->rank - 1];
    if (k < 1 || k > s->rank - b)
        return diag_error(d, ST_INPUT, n, "index tuples of %lld values for data of rank %d", (long long)k, s->rank);
    for (int i = 0; i < b; i++)
        if (s->dims[i] != is->dims[i]) return diag_error(d, ST_INPUT, n, "batch dim %d differs between data and indices", i);
    int r = 0;
    for (int i = 0; i < is->rank - 1; i++) dims[r++] = is->dims[i];
    for (int i = (int)(b + k); i < s->rank; i++) dims[r++] = s->dims[i];
    return set_out(n, 0, n->in[0]->dtype, r, dims, d);
}

static Status infer_scatter_nd(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape, *is = &n->in[1]->shape, *us = &n->in[2]->shape;
    if (check_index_type(n, 1, d) || check_elem(n, n->in[0]->dtype, d) || check_reduction(n, d)) return d->status;
    if (s->rank < 1 || is->rank < 1) return diag_error(d, ST_INPUT, n, "data and indices must have rank >= 1");
    int64_t k = is->dims[is->rank - 1];
    if (k < 1 || k > s->rank)
        return diag_error(d, ST_INPUT, n, "index tuples of %lld values for data of rank %d", (long long)k, s->rank);
    bool ok = n->in[2]->dtype == n->in[0]->dtype && us->rank == is->rank - 1 + s->rank - k;
    for (int i = 0; ok && i < us->rank; i++)
        ok = us->dims[i] == (i < is->rank - 1 ? is->dims[i] : s->dims[i - (is->rank - 1) + k]);
    if (!ok) return diag_error(d, ST_INPUT, n, "updates must have data's dtype and shape indices[:-1] + data[k:]");
    return set_out(n, 0, n->in[0]->dtype, s->rank, s->dims, d);
}

/* ---- repeating and padding -------------------------------------------- */

static Status infer_expand(Node *n, Diag *d)
{
    int64_t dims[MAXR];
    int r = const_ints(n, 1, dims, MAXR, d);
    if (r < 0 || check_elem(n, n->in[0]->dtype, d)) return d->status;
    for (int i = 0; i < r; i++)
        if (dims[i] < 0) return diag_error(d, ST_INPUT, n, "shape[%d] = %lld is negative", i, (long long)dims[i]);
    Shape want = shape_make(r, dims), out;
    if (!shape_broadcast(&n->in[0]->shape, &want, &out))
        return diag_error(d, ST_INPUT, n, "input does not broadcast to the requested shape");
    return set_out(n, 0, n->in[0]->dtype, out.rank, out.dims, d);
}

static Status infer_tile(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t rep[MAXR], dims[MAXR];
    int r = const_ints(n, 1, rep, MAXR, d);
    if (r < 0 || check_elem(n, n->in[0]->dtype, d)) return d->status;
    if (r != s->rank) return diag_error(d, ST_INPUT, n, "repeats has %d values for rank %d", r, s->rank);
    for (int i = 0; i < r; i++) {
        if (rep[i] < 0) return diag_error(d, ST_INPUT, n, "repeats[%d] = %lld is negative", i, (long long)rep[i]);
        if (rep[i] && s->dims[i] > INT64_MAX / rep[i]) return diag_error(d, ST_INPUT, n, "output is too large");
        dims[i] = s->dims[i] * rep[i];
    }
    return set_out(n, 0, n->in[0]->dtype, r, dims, d);
}

/* Pads before (begin) and after (end) each axis, and the mode: 0 constant,
 * 1 reflect, 2 edge; shared with the lowering. */
Status movement_pad_plan(const Node *n, int64_t *begin, int64_t *end, int *mode, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t pads[2 * MAXR], axes[MAXR];
    int np, na = s->rank;
    const char *m = attr_str(n, "mode", "constant");
    if (!strcmp(m, "constant")) *mode = 0;
    else if (!strcmp(m, "reflect")) *mode = 1;
    else if (!strcmp(m, "edge")) *mode = 2;
    else return diag_unsupported(d, n, "pad mode '%s'", m);
    if (ints_arg(n, 1, "pads", pads, 2 * MAXR, &np, d)) return d->status;
    if (has_input(n, 3)) {
        if (ints_arg(n, 3, NULL, axes, MAXR, &na, d) || norm_axes(n, axes, na, s->rank, d)) return d->status;
    } else {
        for (int i = 0; i < na; i++) axes[i] = i;
    }
    if (np != 2 * na) return diag_error(d, ST_INPUT, n, "pads has %d values, %d expected", np < 0 ? 0 : np, 2 * na);
    for (int a = 0; a < s->rank; a++) begin[a] = end[a] = 0;
    for (int i = 0; i < na; i++) begin[axes[i]] = pads[i], end[axes[i]] = pads[na + i];
    for (int a = 0; a < s->rank; a++) {
        int64_t b = begin[a], e = end[a], dim = s->dims[a];
        if (b < -dim || e < -dim || b > INT32_MAX || e > INT32_MAX || dim + b + e < 0)
            return diag_error(d, ST_INPUT, n, "pads of axis %d (%lld, %lld) do not fit its size %lld", a, (long long)b,
                              (long long)e, (long long)dim);
        if (*mode && dim == 0 && dim + b + e > 0)
            return diag_error(d, ST_INPUT, n, "cannot %s-pad axis %d: it is empty", m, a);
    }
    return ST_OK;
}

static Status infer_pad(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t begin[MAXR], end[MAXR], dims[MAXR];
    int mode;
    if (check_elem(n, x->dtype, d) || movement_pad_plan(n, begin, end, &mode, d)) return d->status;
    if (has_input(n, 2) && (n->in[2]->dtype != x->dtype || shape_numel(&n->in[2]->shape) != 1))
        return diag_error(d, ST_INPUT, n, "constant_value must be one element of the data's dtype");
    for (int a = 0; a < x->shape.rank; a++) dims[a] = x->shape.dims[a] + begin[a] + end[a];
    return set_out(n, 0, x->dtype, x->shape.rank, dims, d);
}

/* ---- shapes and generated tensors -------------------------------------- */

/* Shape's [start, end) clamped into [0, rank]. */
static void shape_range(const Node *n, int64_t *start, int64_t *end)
{
    int r = n->in[0]->shape.rank;
    int64_t b = attr_int(n, "start", 0), e = attr_int(n, "end", r);
    if (b < 0) b += r;
    if (e < 0) e += r;
    *start = b < 0 ? 0 : b > r ? r : b;
    *end = e < *start ? *start : e > r ? r : e;
}

static Status infer_shape(Node *n, Diag *d)
{
    int64_t b, e, len;
    shape_range(n, &b, &e);
    len = e - b;
    return set_out(n, 0, KILN_DTYPE_I64, 1, &len, d);
}

static Status infer_size(Node *n, Diag *d)
{
    return set_out(n, 0, KILN_DTYPE_I64, 0, NULL, d);
}

static Status infer_constant_of_shape(Node *n, Diag *d)
{
    int64_t dims[MAXR];
    int r = const_ints(n, 0, dims, MAXR, d);
    if (r < 0) return d->status;
    const Attr *a = attr_get(n, "value");
    DType t = KILN_DTYPE_F32;
    if (a && a->t) {
        t = a->t->dtype;
        if (shape_numel(&a->t->shape) != 1) return diag_error(d, ST_INPUT, n, "value must hold one element");
    }
    if (check_elem(n, t, d)) return d->status;
    return set_out(n, 0, t, r, dims, d);
}

/* Range's element count, start and delta; shared with the lowering. */
Status movement_range_plan(const Node *n, int64_t *count, double *start, double *delta, Diag *d)
{
    DType t = n->in[0]->dtype;
    double v[3];
    int64_t iv[3];
    if (t != KILN_DTYPE_F32 && t != KILN_DTYPE_F64 && t != KILN_DTYPE_I16 && t != KILN_DTYPE_I32 && t != KILN_DTYPE_I64)
        return diag_unsupported(d, n, "Range of %s", dtype_name(t));
    for (int k = 0; k < 3; k++) {
        if (n->in[k]->dtype != t || shape_numel(&n->in[k]->shape) != 1)
            return diag_error(d, ST_INPUT, n, "start, limit and delta must be scalars of one dtype");
        if (dtype_is_int(t) ? const_ints(n, k, &iv[k], 1, d) < 0 : const_f64s(n, k, &v[k], 1, d) < 0) return d->status;
    }
    double n_f;
    if (dtype_is_int(t)) {
        if (iv[2] == 0) return diag_error(d, ST_INPUT, n, "delta is 0");
        /* ceil((limit - start) / delta), exactly */
        int64_t span, step = iv[2];
        if (__builtin_sub_overflow(iv[1], iv[0], &span)) return diag_error(d, ST_INPUT, n, "Range is too long");
        n_f = span == 0 || (span > 0) != (step > 0) ? 0 : (double)(span / step + (span % step != 0));
        v[0] = (double)iv[0];
        v[2] = (double)iv[2];
        *start = v[0], *delta = v[2];
    } else {
        if (v[2] == 0) return diag_error(d, ST_INPUT, n, "delta is 0");
        n_f = ceil((v[1] - v[0]) / v[2]);
        if (!(n_f > 0)) n_f = 0;
        *start = v[0], *delta = v[2];
    }
    if (n_f > (double)INT32_MAX) return diag_error(d, ST_INPUT, n, "Range would have %.0f elements", n_f);
    *count = (int64_t)n_f;
    return ST_OK;
}

static Status infer_range(Node *n, Diag *d)
{
    int64_t count;
    double start, delta;
    if (movement_range_plan(n, &count, &start, &delta, d)) return d->status;
    return set_out(n, 0, n->in[0]->dtype, 1, &count, d);
}

static Status infer_eye_like(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    DType t = (DType)attr_int(n, "dtype", x->dtype);
    if (x->shape.rank != 2) return diag_error(d, ST_INPUT, n, "input must have rank 2, not %d", x->shape.rank);
    if (t <= 0 || t >= KILN_DTYPE_COUNT_) return diag_error(d, ST_INPUT, n, "unknown dtype %d", (int)t);
    if (check_elem(n, t, d)) return d->status;
    return set_out(n, 0, t, 2, x->shape.dims, d);
}

static Status infer_trilu(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    if (x->shape.rank < 2) return diag_error(d, ST_INPUT, n, "input must have rank >= 2, not %d", x->shape.rank);
    if (has_input(n, 1) && (n->in[1]->dtype != KILN_DTYPE_I64 || shape_numel(&n->in[1]->shape) != 1))
        return diag_error(d, ST_INPUT, n, "k must be an int64 scalar");
    if (check_elem(n, x->dtype, d)) return d->status;
    return set_out(n, 0, x->dtype, x->shape.rank, x->shape.dims, d);
}

/* OneHot's depth and normalised axis; shared with the lowering. */
Status movement_onehot_plan(const Node *n, int64_t *depth, int64_t *axis, Diag *d)
{
    int r = n->in[0]->shape.rank;
    double v;
    DType t = n->in[1]->dtype;
    if (shape_numel(&n->in[1]->shape) != 1 || !(dtype_is_int(t) || dtype_is_float(t)))
        return diag_error(d, ST_INPUT, n, "depth must be a numeric scalar");
    if (const_f64s(n, 1, &v, 1, d) < 0) return d->status;
    if (!(v >= 1 && v < 2147483648.0)) return diag_error(d, ST_INPUT, n, "depth %g is out of range", v);
    *depth = (int64_t)v;
    *axis = attr_int(n, "axis", -1);
    if (*axis < -(r + 1) || *axis > r) return diag_error(d, ST_INPUT, n, "axis %lld is out of range", (long long)*axis);
    if (*axis < 0) *axis += r + 1;
    return ST_OK;
}

static Status infer_onehot(Node *n, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t depth, axis, dims[MAXR + 1];
    DType it = n->in[0]->dtype;
    if (!dtype_is_int(it) && !dtype_is_float(it))
        return diag_error(d, ST_INPUT, n, "indices must be numeric, not %s", dtype_name(it));
    if (shape_numel(&n->in[2]->shape) != 2) return diag_error(d, ST_INPUT, n, "values must hold [off, on]");
    if (check_elem(n, n->in[2]->dtype, d) || movement_onehot_plan(n, &depth, &axis, d)) return d->status;
    for (int i = 0, j = 0; i <= s->rank; i++) dims[i] = i == axis ? depth : s->dims[j++];
    return set_out(n, 0, n->in[2]->dtype, s->rank + 1, dims, d);
}

const InferRule infer_movement[] = {
    {OP_Reshape, infer_reshape},
    {OP_Flatten, infer_flatten},
    {OP_Squeeze, infer_squeeze},
    {OP_Unsqueeze, infer_unsqueeze},
    {OP_Transpose, infer_transpose},
    {OP_Concat, infer_concat},
    {OP_Split, infer_split},
    {OP_Slice, infer_slice},
    {OP_Gather, infer_gather},
    {OP_GatherElements, infer_gather_elements},
    {OP_GatherND, infer_gather_nd},
    {OP_Scatter, infer_scatter_elements},
    {OP_ScatterElements, infer_scatter_elements},
    {OP_ScatterND, infer_scatter_nd},
    {OP_Expand, infer_expand},
    {OP_Tile, infer_tile},
    {OP_Pad, infer_pad},
    {OP_Shape, infer_shape},
    {OP_Size, infer_size},
    {OP_ConstantOfShape, infer_constant_of_shape},
    {OP_Range, infer_range},
    {OP_EyeLike, infer_eye_like},
    {OP_Trilu, infer_trilu},
    {OP_OneHot, infer_onehot},
    {OP_COUNT_, NULL},
};
