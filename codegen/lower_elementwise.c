/* lower_elementwise.c — kernel choice and parameters for the elementwise operators.
 * The kernel table is expanded from the op lists of kernels/c/elementwise.h,
 * which also documents the parameter layouts. */
#include <math.h>
#include <string.h>

#include "kiln.h"
#include "../kernels/c/elementwise.h"

#define DT_f32 KILN_DTYPE_F32
#define DT_f64 KILN_DTYPE_F64
#define DT_f16 KILN_DTYPE_F16
#define DT_bf16 KILN_DTYPE_BF16
#define DT_i8 KILN_DTYPE_I8
#define DT_i16 KILN_DTYPE_I16
#define DT_i32 KILN_DTYPE_I32
#define DT_i64 KILN_DTYPE_I64
#define DT_u8 KILN_DTYPE_U8
#define DT_u16 KILN_DTYPE_U16
#define DT_u32 KILN_DTYPE_U32
#define DT_u64 KILN_DTYPE_U64
#define DT_b8 KILN_DTYPE_BOOL

/* A kernel for op on input types a (and b, for Cast's target and Pow's
 * exponent); base tells apart BitShift's two directions. */
typedef struct {
    Op op;
    DType a, b;
    const char *base, *name;
    KernelFn fn;
} Kernel;

#define ROW(S, Op, base, ...) {OP_##Op, DT_##S, KILN_DTYPE_UNDEFINED, #base, "kiln_" #base "_" #S, kiln_##base##_##S},
#define ROW2(Op, base, S, T) {OP_##Op, DT_##S, DT_##T, #base, "kiln_" #base "_" #S "_" #T, kiln_##base##_##S##_##T},
#define CAST_ROW(S, T) ROW2(Cast, cast, S, T)
#define POW_ROW(S, T) ROW2(Pow, pow, S, T)

static const Kernel kernels[] = {
    KILN_EW_FLOATS(KILN_EW_UNARY_F, ROW)
    KILN_EW_FLOATS(KILN_EW_PRED_F, ROW)
    KILN_EW_SINTS(KILN_EW_UNARY_S, ROW)
    KILN_EW_UINTS(KILN_EW_UNARY_U, ROW)
    KILN_EW_UNARY_B(ROW, b8)
    KILN_EW_NUMERIC(KILN_EW_CLIP, ROW)
    KILN_EW_ALL(KILN_EW_CAST_TO, CAST_ROW)
    KILN_EW_FLOATS(KILN_EW_BINARY_F, ROW)
    KILN_EW_SINTS(KILN_EW_BINARY_S, ROW)
    KILN_EW_UINTS(KILN_EW_BINARY_U, ROW)
    KILN_EW_LOGICAL(ROW, b8)
    KILN_EW_ALL(KILN_EW_COMPARE, ROW)
    KILN_EW_POW_BASES(KILN_EW_POW_EXPS, POW_ROW)
    KILN_EW_FLOATS(KILN_EW_NARY_F, ROW)
    KILN_EW_SINTS(KILN_EW_NARY_I, ROW)
    KILN_EW_UINTS(KILN_EW_NARY_I, ROW)
};

static Status pick(const Node *n, KernelCall *kc, Op op, const char *base, DType a, DType b, Diag *d)
{
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
        const Kernel *k = &kernels[i];
        if (k->op == op && k->a == a && k->b == b && (!base || strcmp(k->base, base) == 0)) {
            kc_kernel(kc, "elementwise", k->name, k->fn);
            return ST_OK;
        }
    }
    if (b) return diag_unsupported(d, n, "no %s kernel for %s and %s", op_info[op].name, dtype_name(a), dtype_name(b));
    return diag_unsupported(d, n, "no %s kernel for %s", op_info[op].name, dtype_name(a));
}

/* Stride of an input of shape s along output axis a of a rank-r output (0 if broadcast). */
static int64_t in_stride(const Shape *s, int r, int a)
{
    int ia = a - (r - s->rank);
    if (a < 0 || ia < 0 || s->dims[ia] == 1) return 0;
    int64_t st = 1;
    for (int i = ia + 1; i < s->rank; i++) st *= s->dims[i];
    return st;
}

/*
 * Broadcast parameters for the node's first nin inputs: [nin, rank, dims,
 * strides of each input]. Size-1 axes are dropped and neighbouring axes
 * merged where every input steps through them as one (contiguous or
 * broadcast), so equal shapes become one row and x + bias a short loop nest.
 */
static void bc_params(const Node *n, int nin, KernelCall *kc)
{
    const Shape *o = &n->out[0]->shape;
    int64_t dims[KILN_MAX_RANK];
    int last[KILN_MAX_RANK], r = 0; /* each merged axis ends at output axis last[] */
    if (shape_numel(o) == 0) {
        dims[r] = 0, last[r++] = -1;
    } else {
        for (int a = 0; a < o->rank; a++) {
            if (o->dims[a] == 1) continue;
            bool merge = r > 0;
            for (int k = 0; k < nin && merge; k++) {
                Shape s = elementwise_bcast_shape(n, k);
                merge = in_stride(&s, o->rank, last[r - 1]) == in_stride(&s, o->rank, a) * o->dims[a];
            }
            if (merge) dims[r - 1] *= o->dims[a], last[r - 1] = a;
            else dims[r] = o->dims[a], last[r++] = a;
        }
        if (r == 0) dims[r] = 1, last[r++] = -1;
    }
    kc_i(kc, nin);
    kc_i(kc, r);
    kc_is(kc, dims, r);
    for (int k = 0; k < nin; k++) {
        Shape s = elementwise_bcast_shape(n, k);
        for (int g = 0; g < r; g++) kc_i(kc, in_stride(&s, o->rank, last[g]));
    }
}

static int64_t numel(const Value *v) { return shape_numel(&v->shape); }

/* Unary maps: p = [numel], f = the attributes the op list reads. */
static Status lower_unary(const Node *n, KernelCall *kc, Diag *d)
{
    Status st = pick(n, kc, n->op, NULL, n->in[0]->dtype, KILN_DTYPE_UNDEFINED, d);
    if (st) return st;
    kc_i(kc, numel(n->in[0]));
    switch (n->op) {
    case OP_LeakyRelu: kc_f(kc, attr_float(n, "alpha", 0.01)); break;
    case OP_Elu: case OP_Celu: case OP_ThresholdedRelu: kc_f(kc, attr_float(n, "alpha", 1.0)); break;
    case OP_Selu:
        kc_f(kc, attr_float(n, "alpha", 1.67326319217681884765625));
        kc_f(kc, attr_float(n, "gamma", 1.05070102214813232421875));
        break;
    case OP_HardSigmoid:
        kc_f(kc, attr_float(n, "alpha", 0.2));
        kc_f(kc, attr_float(n, "beta", 0.5));
        break;
    case OP_Shrink:
        kc_f(kc, attr_float(n, "bias", 0.0));
        kc_f(kc, attr_float(n, "lambd", 0.5));
        break;
    case OP_Gelu: kc_f(kc, strcmp(attr_str(n, "approximate", "none"), "tanh") == 0); break;
    case OP_IsInf:
        kc_f(kc, (double)attr_int(n, "detect_negative", 1));
        kc_f(kc, (double)attr_int(n, "detect_positive", 1));
        break;
    case OP_Clip: /* p[1]: the inputs present; f: bounds for omitted ones (opset < 11 attributes) */
        kc_i(kc, n->nin);
        kc_f(kc, n->opset < 11 ? attr_float(n, "min", -INFINITY) : -INFINITY);
        kc_f(kc, n->opset < 11 ? attr_float(n, "max", INFINITY) : INFINITY);
        break;
    default: break;
    }
    return ST_OK;
}

static Status lower_cast(const Node *n, KernelCall *kc, Diag *d)
{
    Status st = pick(n, kc, OP_Cast, NULL, n->in[0]->dtype, n->out[0]->dtype, d);
    if (!st) kc_i(kc, numel(n->in[0]));
    return st;
}

/* Identity and inference Dropout copy; p = [bytes, mask numel or -1]. */
static Status lower_identity(const Node *n, KernelCall *kc, Diag *d)
{
    (void)d;
    KC_KERNEL(kc, "elementwise", kiln_identity);
    kc_i(kc, (int64_t)value_bytes(n->in[0]));
    kc_i(kc, n->nout > 1 && n->out[1] ? numel(n->out[1]) : -1);
    return ST_OK;
}

/* Broadcasting ops: binary, Pow, n-ary. Mod's f[0] is fmod. */
static Status lower_broadcast(const Node *n, KernelCall *kc, Diag *d)
{
    const char *base = NULL;
    DType b = KILN_DTYPE_UNDEFINED;
    if (n->op == OP_BitShift) base = strcmp(attr_str(n, "direction", ""), "LEFT") == 0 ? "shl" : "shr";
    if (n->op == OP_Pow) b = n->in[1]->dtype;
    Status st = pick(n, kc, n->op, base, n->in[0]->dtype, b, d);
    if (st) return st;
    bc_params(n, n->nin, kc);
    if (n->op == OP_Mod) kc_f(kc, (double)attr_int(n, "fmod", 0));
    return ST_OK;
}

static Status lower_where(const Node *n, KernelCall *kc, Diag *d)
{
    switch (dtype_size(n->in[1]->dtype)) {
    case 1: KC_KERNEL(kc, "elementwise", kiln_where_8); break;
    case 2: KC_KERNEL(kc, "elementwise", kiln_where_16); break;
    case 4: KC_KERNEL(kc, "elementwise", kiln_where_32); break;
    case 8: KC_KERNEL(kc, "elementwise", kiln_where_64); break;
    default: return diag_unsupported(d, n, "no Where kernel for %s", dtype_name(n->in[1]->dtype));
    }
    bc_params(n, 3, kc);
    return ST_OK;
}

const LowerRule lower_elementwise[] = {
    {OP_Abs, lower_unary}, {OP_Neg, lower_unary}, {OP_Floor, lower_unary}, {OP_Ceil, lower_unary},
    {OP_Round, lower_unary}, {OP_Sqrt, lower_unary}, {OP_Reciprocal, lower_unary}, {OP_Exp, lower_unary},
    {OP_Log, lower_unary}, {OP_Sin, lower_unary}, {OP_Cos, lower_unary}, {OP_Tan, lower_unary},
    {OP_Asin, lower_unary}, {OP_Acos, lower_unary}, {OP_Atan, lower_unary}, {OP_Sinh, lower_unary},
    {OP_Cosh, lower_unary}, {OP_Asinh, lower_unary}, {OP_Acosh, lower_unary}, {OP_Atanh, lower_unary},
    {OP_Sign, lower_unary}, {OP_Not, lower_unary}, {OP_IsNaN, lower_unary}, {OP_IsInf, lower_unary},
    {OP_Erf, lower_unary}, {OP_Identity, lower_identity}, {OP_Cast, lower_cast}, {OP_CastLike, lower_cast},

    {OP_Relu, lower_unary}, {OP_LeakyRelu, lower_unary}, {OP_PRelu, lower_broadcast}, {OP_Elu, lower_unary},
    {OP_Selu, lower_unary}, {OP_Celu, lower_unary}, {OP_Sigmoid, lower_unary}, {OP_HardSigmoid, lower_unary},
    {OP_HardSwish, lower_unary}, {OP_Tanh, lower_unary}, {OP_Softplus, lower_unary},
    {OP_Softsign, lower_unary}, {OP_Gelu, lower_unary}, {OP_Mish, lower_unary},
    {OP_ThresholdedRelu, lower_unary}, {OP_Shrink, lower_unary}, {OP_Clip, lower_unary},
    {OP_Dropout, lower_identity},

    {OP_Add, lower_broadcast}, {OP_Sub, lower_broadcast}, {OP_Mul, lower_broadcast},
    {OP_Div, lower_broadcast}, {OP_Pow, lower_broadcast}, {OP_Mod, lower_broadcast},
    {OP_BitShift, lower_broadcast}, {OP_Equal, lower_broadcast}, {OP_Greater, lower_broadcast},
    {OP_Less, lower_broadcast}, {OP_GreaterOrEqual, lower_broadcast}, {OP_LessOrEqual, lower_broadcast},
    {OP_And, lower_broadcast}, {OP_Or, lower_broadcast}, {OP_Xor, lower_broadcast},
    {OP_Where, lower_where}, {OP_Max, lower_broadcast}, {OP_Min, lower_broadcast},
    {OP_Sum, lower_broadcast}, {OP_Mean, lower_broadcast},
    {OP_COUNT_, NULL},
};
