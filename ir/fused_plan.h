/* fused_plan.h — the compiler side of kiln's fused operators (included after
 * kiln.h and kernels/c/fused.h): what the fusion passes, the shape rules in
 * ir/infer_fused.c and the lowerings in codegen/lower_fused.c share.
 *
 * Scalar ops are named as in KILN_FZ_OPS ("add", "relu", "clip", ...).
 * An Elementwise node's `expr` is a postfix program over them: tokens
 * separated by spaces, each "xK" (input K), a number (a constant) or an op
 * name, which pops its arity and pushes one value; e.g. "x0 x1 add 0 6 clip".
 * A fused linalg node's epilogue activation is an op name in `activation`
 * ("" for none), its extra arguments in activation_alpha and activation_beta. */
#ifndef KILN_FUSED_PLAN_H
#define KILN_FUSED_PLAN_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The KILN_FZ_ number of an op name, or -1. */
#define KILN_FZ_NAME_ROW(name, arity, expr) #name,
static KILN_UNUSED int fz_op_find(const char *name, size_t len)
{
    static const char *const names[] = {KILN_FZ_OPS(KILN_FZ_NAME_ROW)};
    for (int i = 0; i < KILN_FZ_COUNT; i++)
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) return i;
    return -1;
}

static KILN_UNUSED const char *fz_op_name(int op)
{
    static const char *const names[] = {KILN_FZ_OPS(KILN_FZ_NAME_ROW)};
    return op >= 0 && op < KILN_FZ_COUNT ? names[op] : "?";
}

/* An ONNX node as a scalar op: its tensor operands (inputs 0..ntensor-1)
 * then nparam constant arguments taken from attributes or constant inputs. */
typedef struct {
    int op;
    int ntensor, nparam;
    double param[2];
} FzScalar;

/* A constant scalar input (any numeric dtype), or absent: false otherwise. */
static KILN_UNUSED bool fz_const_scalar(const Node *n, int k, double def, double *out)
{
    if (!has_input(n, k)) {
        *out = def;
        return true;
    }
    const Value *v = n->in[k];
    if (!value_is_const(v) || !v->typed || shape_numel(&v->shape) != 1) return false;
    *out = dtype_load_f64(v->dtype, v->data, 0);
    return true;
}

/* True if n is a float elementwise op that fused kernels can compute. */
static KILN_UNUSED bool fz_scalar_of(const Node *n, FzScalar *s)
{
    static const struct { Op op; const char *name; int ntensor; } plain[] = {
        {OP_Neg, "neg", 1}, {OP_Abs, "abs", 1}, {OP_Floor, "floor", 1}, {OP_Ceil, "ceil", 1},
        {OP_Round, "round", 1}, {OP_Sqrt, "sqrt", 1}, {OP_Reciprocal, "reciprocal", 1}, {OP_Exp, "exp", 1},
        {OP_Log, "log", 1}, {OP_Sin, "sin", 1}, {OP_Cos, "cos", 1}, {OP_Tan, "tan", 1}, {OP_Asin, "asin", 1},
        {OP_Acos, "acos", 1}, {OP_Atan, "atan", 1}, {OP_Sinh, "sinh", 1}, {OP_Cosh, "cosh", 1},
        {OP_Asinh, "asinh", 1}, {OP_Acosh, "acosh", 1}, {OP_Atanh, "atanh", 1}, {OP_Erf, "erf", 1},
        {OP_Sign, "sign", 1}, {OP_Relu, "relu", 1}, {OP_Tanh, "tanh", 1}, {OP_Sigmoid, "sigmoid", 1},
        {OP_Softplus, "softplus", 1}, {OP_Softsign, "softsign", 1}, {OP_Mish, "mish", 1},
        {OP_HardSwish, "hardswish", 1}, {OP_Add, "add", 2}, {OP_Sub, "sub", 2}, {OP_Mul, "mul", 2},
        {OP_Div, "div", 2}, {OP_Pow, "pow", 2}, {OP_Max, "max", 2}, {OP_Min, "min", 2}, {OP_PRelu, "prelu", 2},
    };
    DType t = n->nout == 1 && n->out[0] && n->out[0]->typed ? n->out[0]->dtype : KILN_DTYPE_UNDEFINED;
    if (!dtype_is_float(t) || n->nin < 1) return false;
    for (int k = 0; k < n->nin; k++)
        if (!n->in[k] || !n->in[k]->typed) return false;
    /* legacy broadcasting (opset < 7 with axis) is not NumPy's */
    if (n->opset < 7 && (attr_get(n, "broadcast") || n->op == OP_PRelu)) return false;
    *s = (FzScalar){.op = -1};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (plain[i].op == n->op && n->nin == plain[i].ntensor) {
            s->op = fz_op_find(plain[i].name, strlen(plain[i].name));
            s->ntensor = plain[i].ntensor;
        }
    double a = 0, b = 0;
    switch (n->op) {
    case OP_LeakyRelu: s->op = KILN_FZ_prelu, s->nparam = 1, a = attr_float(n, "alpha", 0.01); break;
    case OP_Elu: s->op = KILN_FZ_elu, s->nparam = 1, a = attr_float(n, "alpha", 1.0); break;
    case OP_Celu: s->op = KILN_FZ_celu, s->nparam = 1, a = attr_float(n, "alpha", 1.0); break;
    case OP_ThresholdedRelu: s->op = KILN_FZ_thresholdedrelu, s->nparam = 1, a = attr_float(n, "alpha", 1.0); break;
    case OP_Selu:
        s->op = KILN_FZ_selu, s->nparam = 2;
        a = attr_float(n, "alpha", 1.67326319217681884765625), b = attr_float(n, "gamma", 1.05070102214813232421875);
        break;
    case OP_HardSigmoid:
        s->op = KILN_FZ_hardsigmoid, s->nparam = 2, a = attr_float(n, "alpha", 0.2), b = attr_float(n, "beta", 0.5);
        break;
    case OP_Gelu:
        s->op = strcmp(attr_str(n, "approximate", "none"), "tanh") == 0 ? KILN_FZ_gelu_tanh : KILN_FZ_gelu;
        break;
    case OP_Clip:
        s->op = KILN_FZ_clip, s->nparam = 2;
        if (n->opset < 11) a = attr_float(n, "min", -INFINITY), b = attr_float(n, "max", INFINITY);
        else if (!fz_const_scalar(n, 1, -INFINITY, &a) || !fz_const_scalar(n, 2, INFINITY, &b)) return false;
        break;
    default: break;
    }
    if (!s->ntensor) s->ntensor = 1; /* the activations above */
    s->param[0] = a, s->param[1] = b;
    /* every tensor operand has the output's type */
    for (int k = 0; k < s->ntensor; k++)
        if (n->in[k]->dtype != t) return false;
    return s->op >= 0;
}

/* Strides of a tensor of shape s read broadcast along each axis of out (0 where broadcast). */
static KILN_UNUSED void fz_strides(const Shape *s, const Shape *out, int64_t *st)
{
    int64_t acc = 1;
    for (int a = out->rank - 1; a >= 0; a--) {
        int ia = a - (out->rank - s->rank);
        if (ia < 0 || s->dims[ia] == 1) {
            st[a] = 0;
        } else {
            st[a] = acc;
            acc *= s->dims[ia];
        }
    }
}

/* True if s broadcasts to out without changing it. */
static KILN_UNUSED bool fz_broadcasts_to(const Shape *s, const Shape *out)
{
    Shape b;
    return shape_broadcast(s, out, &b) && shape_equal(&b, out);
}

/* A parsed postfix program. */
enum { FZ_MAX_PROG = 256 };
typedef struct {
    int n;
    int64_t kind[FZ_MAX_PROG], arg[FZ_MAX_PROG];   /* as in kiln_elementwise_S's p */
    int nconst;
    double consts[FZ_MAX_PROG];
} FzProg;

static KILN_UNUSED Status fz_parse(const Node *n, FzProg *pr, Diag *d)
{
    const char *s = attr_str(n, "expr", NULL);
    int depth = 0;
    if (!s) return diag_error(d, ST_INPUT, n, "the expr attribute is required");
    *pr = (FzProg){0};
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        size_t len = strcspn(s, " ");
        char tok[64];
        if (len >= sizeof tok) return diag_error(d, ST_INPUT, n, "expr: token '%.16s...' is too long", s);
        snprintf(tok, sizeof tok, "%.*s", (int)len, s);
        if (pr->n == FZ_MAX_PROG) return diag_unsupported(d, n, "expr longer than %d tokens", FZ_MAX_PROG);
        char *end;
        if (tok[0] == 'x' && len > 1 && strspn(tok + 1, "0123456789") == len - 1) {
            long k = strtol(tok + 1, NULL, 10);
            if (k >= n->nin || k >= KILN_FZ_MAX_IN)
                return diag_error(d, ST_INPUT, n, "expr reads %s but the node has %d inputs", tok, n->nin);
            pr->kind[pr->n] = 0, pr->arg[pr->n++] = k, depth++;
        } else if (strtod(tok, &end), end == tok + len) {
            pr->consts[pr->nconst] = strtod(tok, NULL);
            pr->kind[pr->n] = 1, pr->arg[pr->n++] = pr->nconst++, depth++;
        } else {
            int op = fz_op_find(tok, len);
            if (op < 0) return diag_error(d, ST_INPUT, n, "expr: unknown op '%s'", tok);
            if (depth < kiln_fz_arity(op)) return diag_error(d, ST_INPUT, n, "expr: '%s' lacks operands", tok);
            depth -= kiln_fz_arity(op) - 1;
            pr->kind[pr->n] = 2, pr->arg[pr->n++] = op;
        }
        if (depth > KILN_FZ_MAX_STACK) return diag_unsupported(d, n, "expr nests deeper than %d", KILN_FZ_MAX_STACK);
        s += len;
    }
    if (depth != 1) return diag_error(d, ST_INPUT, n, "expr leaves %d values, not one", depth);
    return ST_OK;
}

/* Attention: Q [b.., Sq, D], KT [b.., D, Sk], V [b.., Sk, Dv], optional mask
 * broadcasting to [b.., Sq, Sk]; batch dims of Q, KT and V broadcast.
 * perm[k] are perm_q, perm_k, perm_v and perm_y (the identity where
 * absent), as Transpose takes them: operand k is Transpose(input k, perm[k])
 * and the output is Transpose(y, perm[3]). */
typedef struct {
    Shape out, batch;
    int64_t Sq, Sk, D, Dv;
    int64_t perm[4][KILN_MAX_RANK];
} FzAttention;

/* Attribute name's permutation of rank axes into perm; false if it is not one. */
static KILN_UNUSED bool fz_attention_perm(const Node *n, const char *name, int rank, int64_t *perm)
{
    const int64_t *v;
    int cnt = attr_ints(n, name, &v);
    bool seen[KILN_MAX_RANK] = {false};
    for (int a = 0; a < rank; a++) perm[a] = cnt < 0 ? a : a < cnt ? v[a] : -1;
    if (cnt >= 0 && cnt != rank) return false;
    for (int a = 0; a < rank; a++) {
        if (perm[a] < 0 || perm[a] >= rank || seen[perm[a]]) return false;
        seen[perm[a]] = true;
    }
    return true;
}

static KILN_UNUSED Status fz_attention(const Node *n, FzAttention *a, Diag *d)
{
    static const char *const perm_names[4] = {"perm_q", "perm_k", "perm_v", "perm_y"};
    Shape in[3];
    char b1[128], b2[128], b3[128];
    DType t = n->in[0]->dtype;
    int rank = n->in[0]->shape.rank;
    for (int i = 1; i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != t) return diag_error(d, ST_INPUT, n, "inputs differ in type");
    if (t != KILN_DTYPE_F32 && t != KILN_DTYPE_F64) return diag_unsupported(d, n, "no kernel for type %s", dtype_name(t));
    for (int k = 0; k < 4; k++)
        if (!fz_attention_perm(n, perm_names[k], rank, a->perm[k]))
            return diag_error(d, ST_INPUT, n, "%s is not a permutation of %d axes", perm_names[k], rank);
    if (rank >= 2 && a->perm[3][rank - 1] != rank - 1)
        return diag_error(d, ST_INPUT, n, "perm_y must keep the last axis last");
    for (int k = 0; k < 3; k++) {
        const Shape *s = &n->in[k]->shape;
        in[k] = *s;
        for (int x = 0; x < s->rank && s->rank == rank; x++) in[k].dims[x] = s->dims[a->perm[k][x]];
    }
    const Shape *q = &in[0], *k = &in[1], *v = &in[2];
    if (q->rank < 2 || k->rank != q->rank || v->rank != q->rank || q->dims[q->rank - 1] != k->dims[k->rank - 2] ||
        k->dims[k->rank - 1] != v->dims[v->rank - 2])
        return diag_error(d, ST_INPUT, n, "Q %s, KT %s and V %s do not fit", shape_str(q, b1, sizeof b1),
                          shape_str(k, b2, sizeof b2), shape_str(v, b3, sizeof b3));
    int r = q->rank - 2;
    a->Sq = q->dims[r], a->D = q->dims[r + 1], a->Sk = k->dims[r + 1], a->Dv = v->dims[r + 1];
    Shape qb = shape_make(r, q->dims), kb = shape_make(r, k->dims), vb = shape_make(r, v->dims), t1;
    if (!shape_broadcast(&qb, &kb, &t1) || !shape_broadcast(&t1, &vb, &a->batch))
        return diag_error(d, ST_INPUT, n, "batch dims of Q, KT and V do not broadcast");
    if (has_input(n, 3)) {
        Shape sc = a->batch;
        sc.dims[sc.rank++] = a->Sq;
        sc.dims[sc.rank++] = a->Sk;
        if (!fz_broadcasts_to(&n->in[3]->shape, &sc))
            return diag_error(d, ST_INPUT, n, "mask %s does not broadcast to the scores %s",
                              shape_str(&n->in[3]->shape, b1, sizeof b1), shape_str(&sc, b2, sizeof b2));
    }
    Shape y = a->batch;
    y.dims[y.rank++] = a->Sq;
    y.dims[y.rank++] = a->Dv;
    a->out = y;
    for (int x = 0; x < y.rank; x++) a->out.dims[x] = y.dims[a->perm[3][x]];
    return ST_OK;
}

/* A fused node's activation (attributes prefix + "activation", ...) as a
 * clamp to [lo, hi]: true for none (clamp false), Relu and Clip (clamp
 * true); false for any other activation. */
static KILN_UNUSED bool fz_clamp_activation_of(const Node *n, const char *prefix, bool *clamp, double *lo,
                                               double *hi)
{
    char name[3][48];
    snprintf(name[0], sizeof name[0], "%sactivation", prefix);
    snprintf(name[1], sizeof name[1], "%sactivation_alpha", prefix);
    snprintf(name[2], sizeof name[2], "%sactivation_beta", prefix);
    const char *act = attr_str(n, name[0], "");
    *clamp = true;
    if (strcmp(act, "relu") == 0) {
        *lo = 0, *hi = INFINITY;
        return true;
    }
    if (strcmp(act, "clip") == 0) {
        *lo = attr_float(n, name[1], NAN), *hi = attr_float(n, name[2], NAN);
        return !isnan(*lo) && !isnan(*hi);
    }
    *clamp = false, *lo = -INFINITY, *hi = INFINITY;
    return !*act;
}

/* The same for the node's own activation. */
static KILN_UNUSED bool fz_clamp_activation(const Node *n, bool *clamp, double *lo, double *hi)
{
    return fz_clamp_activation_of(n, "", clamp, lo, hi);
}

/* The statements of a postfix program (kind[i * step], arg[i * step]: as in
 * kiln_elementwise_S's p) over inputs already loaded as v0, v1, ..., at
 * indent ind, one temporary tN a step, each calling the kiln_fz_ function
 * of its op for dtype S; res gets the result's C expression. Both targets'
 * generated Elementwise kernels are written with it. */
static KILN_UNUSED void fz_emit_program(Buf *b, int n, const int64_t *kind, const int64_t *arg, int step,
                                        const double *consts, const char *S, int ind, char *res, size_t nres)
{
    char stack[KILN_FZ_MAX_STACK][48];
    int sp = 0, t = 0;
    for (int i = 0; i < n; i++) {
        int64_t k = kind[i * step], a = arg[i * step];
        if (k == 0) {
            snprintf(stack[sp++], sizeof *stack, "v%d", (int)a);
        } else if (k == 1) {
            double c = consts[a];
            if (isnan(c)) snprintf(stack[sp++], sizeof *stack, "(kiln_ew_n_%s)NAN", S);
            else if (isinf(c)) snprintf(stack[sp++], sizeof *stack, "(kiln_ew_n_%s)%sINFINITY", S, c < 0 ? "-" : "");
            else snprintf(stack[sp++], sizeof *stack, "(kiln_ew_n_%s)%.17g", S, c);
        } else {
            int ar = kiln_fz_arity(a);
            buf_printf(b, "%*skiln_ew_n_%s t%d = kiln_fz_%s_%s(", ind, "", S, t, fz_op_name((int)a), S);
            for (int j = 0; j < 3; j++) buf_printf(b, "%s%s", j ? ", " : "", j < ar ? stack[sp - ar + j] : "0");
            buf_printf(b, ");\n");
            sp -= ar;
            snprintf(stack[sp++], sizeof *stack, "t%d", t++);
        }
    }
    snprintf(res, nres, "%s", stack[0]);
}

#endif
