/* linalg_plan.h — the compiler side of the linalg ops: geometry that shape
 * rules and lowerings share (included after kiln.h and kernels/c/linalg.h). */
#ifndef KILN_LINALG_PLAN_H
#define KILN_LINALG_PLAN_H
/*
 * Compile-time geometry shared by ir/infer_linalg.c (output shapes) and
 * codegen/lower_linalg.c (kernel parameters), so the two never disagree.
 * Each la_* function validates the node and fills its plan, or returns a Diag.
 */

/* NumPy's matmul: 1-D operands are promoted, batch dims broadcast. */
typedef struct {
    int r;                          /* batch rank of the output */
    int64_t M, N, K;
    int64_t batch[KILN_MAX_RANK];   /* output batch dims */
    int64_t as[KILN_MAX_RANK], bs[KILN_MAX_RANK];  /* batch strides, 0 where broadcast */
    Shape out;
} LaMatMul;

static KILN_UNUSED Status la_matmul(const Node *n, LaMatMul *g, Diag *d)
{
    const Shape *a = &n->in[0]->shape, *b = &n->in[1]->shape;
    char sa[128], sb[128];
    if (n->in[0]->dtype != n->in[1]->dtype)
        return diag_error(d, ST_INPUT, n, "operands differ in type: %s and %s", dtype_name(n->in[0]->dtype),
                          dtype_name(n->in[1]->dtype));
    if (a->rank < 1 || b->rank < 1) return diag_error(d, ST_INPUT, n, "operands must have rank 1 or more, not 0");
    int ra = a->rank > 1 ? a->rank - 2 : 0, rb = b->rank > 1 ? b->rank - 2 : 0;
    int64_t ka = a->dims[a->rank - 1], kb = b->rank > 1 ? b->dims[b->rank - 2] : b->dims[0];
    *g = (LaMatMul){.M = a->rank > 1 ? a->dims[a->rank - 2] : 1, .N = b->rank > 1 ? b->dims[b->rank - 1] : 1, .K = ka};
    if (ka != kb)
        return diag_error(d, ST_INPUT, n, "inner dimensions differ: %s times %s", shape_str(a, sa, sizeof sa),
                          shape_str(b, sb, sizeof sb));
    Shape ba = shape_make(ra, a->dims), bb = shape_make(rb, b->dims), bo;
    if (!shape_broadcast(&ba, &bb, &bo))
        return diag_error(d, ST_INPUT, n, "batch dimensions of %s and %s do not broadcast", shape_str(a, sa, sizeof sa),
                          shape_str(b, sb, sizeof sb));
    g->r = bo.rank;
    int64_t sta = g->M * g->K, stb = g->K * g->N;
    for (int i = bo.rank - 1; i >= 0; i--) {
        int ia = i - (bo.rank - ra), ib = i - (bo.rank - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        g->batch[i] = bo.dims[i];
        g->as[i] = da == 1 ? 0 : sta;
        g->bs[i] = db == 1 ? 0 : stb;
        sta *= da;
        stb *= db;
    }
    g->out = bo;
    if (a->rank > 1) g->out.dims[g->out.rank++] = g->M;
    if (b->rank > 1) {
        if (g->out.rank >= KILN_MAX_RANK) return diag_unsupported(d, n, "output rank above %d", KILN_MAX_RANK);
        g->out.dims[g->out.rank++] = g->N;
    }
    return ST_OK;
}

typedef struct {
    int64_t M, N, K, ars, acs, brs, bcs, crs, ccs;
    double alpha, beta;
    Shape out;
} LaGemm;

static KILN_UNUSED Status la_gemm(const Node *n, LaGemm *g, Diag *d)
{
    const Shape *a = &n->in[0]->shape, *b = &n->in[1]->shape;
    bool ta = attr_int(n, "transA", 0) != 0, tb = attr_int(n, "transB", 0) != 0;
    char sa[128], sb[128];
    for (int k = 1; k < n->nin; k++)
        if (n->in[k] && n->in[k]->dtype != n->in[0]->dtype)
            return diag_error(d, ST_INPUT, n, "input %d is %s, input 0 %s", k, dtype_name(n->in[k]->dtype),
                              dtype_name(n->in[0]->dtype));
    if (a->rank != 2 || b->rank != 2)
        return diag_error(d, ST_INPUT, n, "A and B must be matrices, not %s and %s", shape_str(a, sa, sizeof sa),
                          shape_str(b, sb, sizeof sb));
    *g = (LaGemm){.M = a->dims[ta], .K = a->dims[!ta], .N = b->dims[!tb], .alpha = attr_float(n, "alpha", 1.0),
                  .beta = attr_float(n, "beta", 1.0)};
    if (b->dims[tb] != g->K)
        return diag_error(d, ST_INPUT, n, "op(A) %s and op(B) %s do not multiply", shape_str(a, sa, sizeof sa),
                          shape_str(b, sb, sizeof sb));
    /* a is [M,K] stored, or [K,M] read transposed */
    g->ars = ta ? 1 : g->K;
    g->acs = ta ? g->M : 1;
    g->brs = tb ? 1 : g->N;
    g->bcs = tb ? g->K : 1;
    g->out = shape_make(2, (int64_t[]){g->M, g->N});
    if (has_input(n, 2)) {
        const Shape *c = &n->in[2]->shape;
        int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        /* opsets 6 and below broadcast C only with broadcast=1 */
        bool full = c->rank == 2 && cm == g->M && cn == g->N;
        if (n->opset <= 6 && !attr_int(n, "broadcast", 0) && !full)
            return diag_error(d, ST_INPUT, n, "C %s must be [%lld, %lld] without broadcast=1", shape_str(c, sa, sizeof sa),
                              (long long)g->M, (long long)g->N);
        if (c->rank > 2 || (cm != 1 && cm != g->M) || (cn != 1 && cn != g->N))
            return diag_error(d, ST_INPUT, n, "C %s does not broadcast to [%lld, %lld]", shape_str(c, sa, sizeof sa),
                              (long long)g->M, (long long)g->N);
        g->crs = cm == 1 ? 0 : cn;
        g->ccs = cn == 1 ? 0 : 1;
    }
    return ST_OK;
}

/* Einsum labels: the output's first, in output order, then the summed ones. */
typedef struct {
    int nin, nlab, nout;
    int64_t dims[KILN_EINSUM_MAX_LAB];
    int64_t st[KILN_EINSUM_MAX_IN][KILN_EINSUM_MAX_LAB];
    Shape out;
} LaEinsum;

/* One term of an equation: letters, and '.' standing for the whole ellipsis. */
static KILN_UNUSED bool la_einsum_term(const char *s, size_t len, char *items, int *nitems, bool *ell)
{
    *nitems = 0;
    *ell = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (*ell || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.') return false;
            *ell = true;
            i += 2;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
            return false;
        }
        if (*nitems >= KILN_EINSUM_MAX_LAB) return false;
        items[(*nitems)++] = ch;
    }
    return true;
}

static KILN_UNUSED Status la_einsum(const Node *n, LaEinsum *e, Diag *d)
{
    const char *eq = attr_str(n, "equation", NULL);
    char buf[256], items[KILN_EINSUM_MAX_IN + 1][KILN_EINSUM_MAX_LAB];
    int nitems[KILN_EINSUM_MAX_IN + 1], nl = 0, ell_rank = 0, label_of[128], count[128] = {0};
    bool ell[KILN_EINSUM_MAX_IN + 1];
    int64_t ldim[128], edim[KILN_MAX_RANK] = {1, 1, 1, 1, 1, 1, 1, 1};  /* edim[j]: j-th from the right */
    size_t len = 0;
    if (!eq) return diag_error(d, ST_INPUT, n, "the equation attribute is required");
    for (const char *s = eq; *s; s++)
        if (*s != ' ') {
            if (len + 1 >= sizeof buf) return diag_unsupported(d, n, "equation longer than %zu characters", sizeof buf - 1);
            buf[len++] = *s;
        }
    buf[len] = 0;
    if (n->nin > KILN_EINSUM_MAX_IN) return diag_unsupported(d, n, "more than %d operands", KILN_EINSUM_MAX_IN);
    for (int k = 1; k < n->nin; k++)
        if (n->in[k]->dtype != n->in[0]->dtype) return diag_error(d, ST_INPUT, n, "operands differ in type");
    *e = (LaEinsum){.nin = n->nin};
    char *arrow = strstr(buf, "->"), *term = buf;
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;
    for (int k = 0; k < n->nin; k++) {
        const char *comma = memchr(term, ',', lhs_len - (size_t)(term - buf));
        size_t tl = comma ? (size_t)(comma - term) : lhs_len - (size_t)(term - buf);
        if ((k + 1 < n->nin) != (comma != NULL))
            return diag_error(d, ST_INPUT, n, "equation '%s' does not have %d operand terms", eq, n->nin);
        if (!la_einsum_term(term, tl, items[k], &nitems[k], &ell[k]))
            return diag_error(d, ST_INPUT, n, "cannot parse term %d of equation '%s'", k, eq);
        const Shape *sh = &n->in[k]->shape;
        int er = sh->rank - (nitems[k] - ell[k]);
        if (er < 0 || (!ell[k] && er != 0))
            return diag_error(d, ST_INPUT, n, "term %d of '%s' does not match the rank %d of input %d", k, eq, sh->rank, k);
        if (er > ell_rank) ell_rank = er;
        for (int i = 0, ax = 0; i < nitems[k]; i++) {
            char ch = items[k][i];
            int64_t dv;
            if (ch == '.') {
                for (int j = 0; j < er; j++, ax++) {
                    int64_t *t = &edim[er - 1 - j];  /* ellipsis dims align to the right */
                    dv = sh->dims[ax];
                    if (*t != dv && *t != 1 && dv != 1)
                        return diag_error(d, ST_INPUT, n, "ellipsis dimensions of the operands do not broadcast");
                    if (dv != 1) *t = dv;
                }
                continue;
            }
            dv = sh->dims[ax++];
            if (!count[(int)ch]) ldim[(int)ch] = dv;
            else if (ldim[(int)ch] != dv && ldim[(int)ch] != 1 && dv != 1)
                return diag_error(d, ST_INPUT, n, "label '%c' has sizes %lld and %lld", ch, (long long)ldim[(int)ch],
                                  (long long)dv);
            if (dv != 1) ldim[(int)ch] = dv;
            count[(int)ch]++;
        }
        if (comma) term = (char *)comma + 1;
    }
    /* the output term: given, or NumPy's implicit one */
    char *oitems = items[KILN_EINSUM_MAX_IN];
    int no = 0;
    bool oell = false;
    if (arrow) {
        if (!la_einsum_term(arrow + 2, strlen(arrow + 2), oitems, &no, &oell))
            return diag_error(d, ST_INPUT, n, "cannot parse the output of equation '%s'", eq);
    } else {
        if (ell_rank) oitems[no++] = '.', oell = true;
        for (int ch = 'A'; ch <= 'z'; ch++)
            if (count[ch] == 1) oitems[no++] = (char)ch;
    }
    if (ell_rank && !oell) return diag_unsupported(d, n, "equation '%s' sums over ellipsis dimensions", eq);
    for (int i = 0; i < 128; i++) label_of[i] = -1;
    for (int i = 0; i < no; i++) {
        char ch = oitems[i];
        if (ch == '.') {
            for (int j = ell_rank - 1; j >= 0; j--) e->dims[nl++] = edim[j];
            continue;
        }
        if (!count[(int)ch] || label_of[(int)ch] >= 0)
            return diag_error(d, ST_INPUT, n, "output label '%c' of '%s' is repeated or not in an input", ch, eq);
        label_of[(int)ch] = nl;
        e->dims[nl++] = ldim[(int)ch];
    }
    e->nout = nl;
    if (nl > KILN_MAX_RANK) return diag_unsupported(d, n, "output rank %d above %d", nl, KILN_MAX_RANK);
    e->out = shape_make(nl, e->dims);
    for (int ch = 'A'; ch <= 'z'; ch++)
        if (count[ch] && label_of[ch] < 0) {
            if (nl >= KILN_EINSUM_MAX_LAB) return diag_unsupported(d, n, "more than %d labels", KILN_EINSUM_MAX_LAB);
            label_of[ch] = nl;
            e->dims[nl++] = ldim[ch];
        }
    e->nlab = nl;
    /* strides: ellipsis labels are the first ell_rank of the output's */
    int ell0 = 0;
    for (int i = 0; i < no && oitems[i] != '.'; i++) ell0++;
    for (int k = 0; k < n->nin; k++) {
        const Shape *sh = &n->in[k]->shape;
        int64_t stride[KILN_MAX_RANK], s = 1;
        int er = sh->rank - (nitems[k] - ell[k]);
        for (int ax = sh->rank - 1; ax >= 0; ax--) stride[ax] = s, s *= sh->dims[ax];
        for (int i = 0, ax = 0; i < nitems[k]; i++) {
            if (items[k][i] == '.') {
                for (int j = 0; j < er; j++, ax++)
                    if (sh->dims[ax] != 1) e->st[k][ell0 + ell_rank - er + j] += stride[ax];
                continue;
            }
            if (sh->dims[ax] != 1) e->st[k][label_of[(int)items[k][i]]] += stride[ax];
            ax++;
        }
    }
    return ST_OK;
}

/* Conv and ConvTranspose geometry: what the kernels' parameters need. */
typedef struct {
    int S;
    bool channels_last;  /* Y is [N, spatial..., C], and X too unless nchw_in */
    bool nchw_in;        /* X is [N, C, spatial...] (channels_last = 2) */
    int64_t N, C, M, group;
    int64_t in[KILN_MAX_RANK], out[KILN_MAX_RANK], k[KILN_MAX_RANK], st[KILN_MAX_RANK], dl[KILN_MAX_RANK],
        pb[KILN_MAX_RANK];
    Shape oshape;
} LaConv;

/* An ints attribute of length want (or absent: def), each at least lo. */
static KILN_UNUSED Status la_ints(const Node *n, const char *name, int want, int64_t def, int64_t lo, int64_t *v,
                                  Diag *d)
{
    const int64_t *a;
    int cnt = attr_ints(n, name, &a);
    if (cnt < 0) {
        for (int i = 0; i < want; i++) v[i] = def;
        return ST_OK;
    }
    if (cnt != want) return diag_error(d, ST_INPUT, n, "%s has %d values, expected %d", name, cnt, want);
    for (int i = 0; i < want; i++) {
        if (a[i] < lo) return diag_error(d, ST_INPUT, n, "%s[%d] = %lld is below %lld", name, i, (long long)a[i], (long long)lo);
        v[i] = a[i];
    }
    return ST_OK;
}

static KILN_UNUSED Status la_conv(const Node *n, bool transpose, LaConv *g, Diag *d)
{
    const Shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    const char *ap = attr_str(n, "auto_pad", "NOTSET");
    int64_t pads[2 * KILN_MAX_RANK], opad[KILN_MAX_RANK], oshape[KILN_MAX_RANK];
    Status st;
    char sx[128], sw[128];
    for (int k = 1; k < n->nin; k++)
        if (n->in[k] && n->in[k]->dtype != n->in[0]->dtype)
            return diag_error(d, ST_INPUT, n, "input %d is %s, input 0 %s", k, dtype_name(n->in[k]->dtype),
                              dtype_name(n->in[0]->dtype));
    if (x->rank < 3 || w->rank != x->rank)
        return diag_error(d, ST_INPUT, n, "X %s and W %s must have one rank, at least 3", shape_str(x, sx, sizeof sx),
                          shape_str(w, sw, sizeof sw));
    int S = x->rank - 2;
    int64_t layout = attr_int(n, "channels_last", 0);
    bool last = layout == 1; /* X [N, spatial..., C] */
    if (layout < 0 || layout > 2)
        return diag_error(d, ST_INPUT, n, "channels_last is %lld: 0, 1 or 2", (long long)layout);
    *g = (LaConv){.S = S, .N = x->dims[0], .C = x->dims[last ? x->rank - 1 : 1], .group = attr_int(n, "group", 1),
                  .channels_last = layout != 0, .nchw_in = layout == 2};
    if (g->group < 1) return diag_error(d, ST_INPUT, n, "group must be positive, not %lld", (long long)g->group);
    /* Conv W is [M, C/group, k...]; ConvTranspose W is [C, M/group, k...] */
    if (transpose ? w->dims[0] != g->C : w->dims[1] * g->group != g->C)
        return diag_error(d, ST_INPUT, n, "W %s does not fit X %s with group %lld", shape_str(w, sw, sizeof sw),
                          shape_str(x, sx, sizeof sx), (long long)g->group);
    if (g->C % g->group) return diag_error(d, ST_INPUT, n, "channels %lld not divisible by group %lld", (long long)g->C, (long long)g->group);
    g->M = transpose ? w->dims[1] * g->group : w->dims[0];
    if (!transpose && g->M % g->group)
        return diag_error(d, ST_INPUT, n, "output channels %lld not divisible by group %lld", (long long)g->M,
                          (long long)g->group);
    if (has_input(n, 2) && (n->in[2]->shape.rank != 1 || n->in[2]->shape.dims[0] != g->M))
        return diag_error(d, ST_INPUT, n, "B %s must be [%lld]", shape_str(&n->in[2]->shape, sx, sizeof sx), (long long)g->M);
    for (int i = 0; i < S; i++) g->in[i] = x->dims[i + 2 - last];
    if ((st = la_ints(n, "kernel_shape", S, 0, 1, g->k, d)) || (st = la_ints(n, "strides", S, 1, 1, g->st, d)) ||
        (st = la_ints(n, "dilations", S, 1, 1, g->dl, d)) || (st = la_ints(n, "pads", 2 * S, 0, 0, pads, d)) ||
        (st = la_ints(n, "output_padding", S, 0, 0, opad, d)))
        return st;
    /* output_shape lists the spatial dims; some exporters prepend N and C */
    const int64_t *os;
    int nos = attr_ints(n, "output_shape", &os);
    if (nos >= 0 && nos != S && nos != S + 2)
        return diag_error(d, ST_INPUT, n, "output_shape has %d values, expected %d", nos, S);
    for (int i = 0; i < S; i++) {
        oshape[i] = nos >= 0 ? os[nos - S + i] : -1;
        if (nos >= 0 && oshape[i] < 0) return diag_error(d, ST_INPUT, n, "output_shape has a negative value");
    }
    for (int i = 0; i < S; i++) {
        if (attr_get(n, "kernel_shape") && g->k[i] != w->dims[i + 2])
            return diag_error(d, ST_INPUT, n, "kernel_shape differs from W %s", shape_str(w, sw, sizeof sw));
        g->k[i] = w->dims[i + 2];
        if (g->k[i] < 1) return diag_error(d, ST_INPUT, n, "W %s has an empty kernel", shape_str(w, sw, sizeof sw));
    }
    bool upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER"), valid = !strcmp(ap, "VALID");
    if (!upper && !lower && !valid && strcmp(ap, "NOTSET"))
        return diag_error(d, ST_INPUT, n, "unknown auto_pad '%s'", ap);
    for (int i = 0; i < S; i++) {
        int64_t in = g->in[i], s = g->st[i], dk = (g->k[i] - 1) * g->dl[i] + 1, out, total = 0;
        if (!transpose) {
            if (upper || lower) {
                out = (in + s - 1) / s;
                total = (out - 1) * s + dk - in;
                if (total < 0) total = 0;
            } else if (valid) {
                out = in >= dk ? (in - dk) / s + 1 : 0;
            } else {
                out = in + pads[i] + pads[i + S] >= dk ? (in + pads[i] + pads[i + S] - dk) / s + 1 : 0;
            }
        } else {
            /* the full output, before pads are cut from it */
            int64_t full = s * (in - 1) + opad[i] + dk;
            if (oshape[i] >= 0 || upper || lower) {
                out = oshape[i] >= 0 ? oshape[i] : in * s;
                total = full - out;
                if (total < 0) total = 0;  /* a longer output is zero beyond the input's reach */
            } else {
                out = full - (valid ? 0 : pads[i] + pads[i + S]);
            }
        }
        /* SAME_UPPER puts the odd pad at the end, the rest at the start (the spec's
         * rule for ConvTranspose's output_shape too) */
        if (upper || lower || (transpose && oshape[i] >= 0)) g->pb[i] = upper ? total / 2 : total - total / 2;
        else g->pb[i] = valid ? 0 : pads[i];
        if (out < 0 || (!transpose && out == 0 && in > 0))
            return diag_error(d, ST_INPUT, n, "the kernel does not fit the input %s along spatial axis %d",
                              shape_str(x, sx, sizeof sx), i);
        g->out[i] = out;
    }
    int64_t od[KILN_MAX_RANK] = {g->N, g->M};
    for (int i = 0; i < S; i++) od[i + 2 - g->channels_last] = g->out[i];
    if (g->channels_last) od[S + 1] = g->M;
    g->oshape = shape_make(S + 2, od);
    return ST_OK;
}

/* A depthwise Conv: one input and one output channel a group. */
static KILN_UNUSED bool la_conv_depthwise(const LaConv *g) { return g->group == g->C && g->group == g->M; }

/* A Conv the channels-last kernels take: 2-D, group 1 or depthwise; group 1
 * only from a channels-first input. */
static KILN_UNUSED bool la_conv_nhwc_ok(const LaConv *g)
{
    return g->S == 2 && (g->group == 1 || (la_conv_depthwise(g) && !g->nchw_in));
}

/* QuantizeLinear / DequantizeLinear: which scale each element uses. */
typedef struct {
    int64_t numel, adim, inner;
} LaQuant;

static KILN_UNUSED Status la_quant(const Node *n, LaQuant *q, Diag *d)
{
    const Shape *x = &n->in[0]->shape, *s = &n->in[1]->shape;
    char sx[128], ss[128];
    *q = (LaQuant){.numel = shape_numel(x), .adim = 1, .inner = 1};
    if (has_input(n, 2) && !shape_equal(&n->in[2]->shape, s))
        return diag_error(d, ST_INPUT, n, "zero point %s and scale %s differ in shape",
                          shape_str(&n->in[2]->shape, sx, sizeof sx), shape_str(s, ss, sizeof ss));
    if (shape_numel(s) == 1) return ST_OK;
    int64_t axis;
    if (s->rank != 1)
        return diag_unsupported(d, n, "scale %s for input %s: only per-tensor and per-axis scales are supported",
                                shape_str(s, ss, sizeof ss), shape_str(x, sx, sizeof sx));
    if (x->rank == 0 || !norm_axis(attr_int(n, "axis", 1), x->rank, &axis))
        return diag_error(d, ST_INPUT, n, "axis %lld is out of range for input %s", (long long)attr_int(n, "axis", 1),
                          shape_str(x, sx, sizeof sx));
    if (s->dims[0] != x->dims[axis])
        return diag_error(d, ST_INPUT, n, "scale %s does not match axis %lld of %s", shape_str(s, ss, sizeof ss),
                          (long long)axis, shape_str(x, sx, sizeof sx));
    q->adim = s->dims[0];
    for (int i = (int)axis + 1; i < x->rank; i++) q->inner *= x->dims[i];
    return ST_OK;
}

#endif
