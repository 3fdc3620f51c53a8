/* kir_load.c — the kiln text frontend: read a .kir file, parse it
 * (kir_parser.y), then give the syntax tree meaning: names defined before
 * use, element types and shapes, operators and their attributes from
 * ops.def, constant data (inline, zeros, random, file), and annotations.
 * Every mistake is "FILE:LINE:COL: error: ..." with the line and a caret. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kir.h"

enum { MAX_KIR_BYTES = 1 << 30 };
#define MAX_CONST_BYTES ((size_t)1 << 34) /* one constant; a typo in a shape should not eat the machine */

/* ---- helpers the grammar calls --------------------------------------- */

void *kir_new(KParse *kp, size_t n)
{
    void *p = arena_alloc(kp->arena, n);
    if (!p) abort(); /* the tree is a small multiple of a file we could read */
    return p;
}

char *kir_strndup(KParse *kp, const char *s, size_t n)
{
    char *p = kir_new(kp, n + 1);
    memcpy(p, s, n);
    return p;
}

void kir_push(KParse *kp, KList *l, void *item)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 4;
        void **v = kir_new(kp, sizeof *v * (size_t)cap);
        if (l->n) memcpy(v, l->v, sizeof *v * (size_t)l->n);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = item;
}

Status kir_error(KParse *kp, KLoc loc, const char *fmt, ...)
{
    Diag *d = kp->d;
    if (d->status) return d->status; /* the first error is the one to report */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->status = ST_INPUT;
    snprintf(d->where, sizeof d->where, "%s:%d:%d", kp->path, loc.line, loc.col);
    /* the line, and a caret under the column (tabs kept so it lines up) */
    const char *p = kp->text, *end = kp->text + kp->len;
    for (int l = 1; l < loc.line && p < end; p++)
        if (*p == '\n') l++;
    const char *e = p;
    while (e < end && *e != '\n' && e - p < 200) e++;
    size_t k = 0, n = sizeof d->context;
    k += (size_t)snprintf(d->context + k, n - k, "  ");
    for (const char *c = p; c < e && k + 2 < n; c++)
        d->context[k++] = (*c == '\t' || (unsigned char)*c >= ' ') ? *c : ' ';
    k += (size_t)snprintf(d->context + k, k < n ? n - k : 0, "\n  ");
    for (int c = 1; c < loc.col && p + c - 1 < e && k + 3 < n; c++) d->context[k++] = p[c - 1] == '\t' ? '\t' : ' ';
    if (k < n) snprintf(d->context + k, n - k, "^\n");
    return ST_INPUT;
}

/* ---- meaning --------------------------------------------------------- */

typedef struct {
    KParse *kp;
    Graph *g;
    const char *dir;  /* the .kir's folder: file(...) paths are relative to it */
} Loader;

static Status parse_int(Loader *L, const KExpr *e, int64_t lo, int64_t hi, const char *what, int64_t *out)
{
    if (e->kind != KX_INT) return kir_error(L->kp, e->loc, "%s must be an integer", what);
    errno = 0;
    long long v = strtoll(e->text, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi)
        return kir_error(L->kp, e->loc, "%s %s is out of range (%lld to %lld)", what, e->text, (long long)lo, (long long)hi);
    *out = v;
    return ST_OK;
}

static Status parse_float(Loader *L, const KExpr *e, const char *what, double *out)
{
    if (e->kind != KX_INT && e->kind != KX_FLOAT) return kir_error(L->kp, e->loc, "%s must be a number", what);
    *out = kir_sig_digits(e->text) <= 9 ? (double)strtof(e->text, NULL) : strtod(e->text, NULL);
    return ST_OK;
}

static Status type_of(Loader *L, const KType *t, DType *dt, Shape *s)
{
    *dt = dtype_from_name(t->dtype);
    if (*dt == KILN_DTYPE_UNDEFINED)
        return kir_error(L->kp, t->loc, "unknown element type '%s' (kiln has f32, f16, bf16, f64, i8, i16, i32, i64, "
                                        "u8, u16, u32, u64, bool)", t->dtype);
    if (t->dims.n > KILN_MAX_RANK)
        return kir_error(L->kp, t->loc, "rank %d is more than kiln allows (%d)", t->dims.n, KILN_MAX_RANK);
    *s = (Shape){.rank = t->dims.n};
    for (int i = 0; i < t->dims.n; i++) {
        const KDim *dim = t->dims.v[i];
        s->dims[i] = dim->value;
        s->sym[i] = dim->sym ? arena_strdup(L->g->arena, dim->sym) : NULL;
    }
    return ST_OK;
}

static bool fits(DType t, int64_t v)
{
    switch (t) {
    case KILN_DTYPE_I8: return v >= INT8_MIN && v <= INT8_MAX;
    case KILN_DTYPE_I16: return v >= INT16_MIN && v <= INT16_MAX;
    case KILN_DTYPE_I32: return v >= INT32_MIN && v <= INT32_MAX;
    case KILN_DTYPE_U8: return v >= 0 && v <= UINT8_MAX;
    case KILN_DTYPE_U16: return v >= 0 && v <= UINT16_MAX;
    case KILN_DTYPE_U32: return v >= 0 && v <= UINT32_MAX;
    case KILN_DTYPE_BOOL: return v == 0 || v == 1;
    default: return true;
    }
}

/* One element of an inline list, stored as t. */
static Status store_element(Loader *L, const KExpr *e, DType t, void *data, size_t i)
{
    if (e->kind != KX_INT && e->kind != KX_FLOAT)
        return kir_error(L->kp, e->loc, "expected a number in %s data", dtype_name(t));
    if (dtype_is_float(t)) {
        dtype_store_f64(t, data, i, strtod(e->text, NULL));
        return ST_OK;
    }
    if (e->kind != KX_INT) return kir_error(L->kp, e->loc, "%s data holds integers, not '%s'", dtype_name(t), e->text);
    errno = 0;
    if (t == KILN_DTYPE_U64) {
        uint64_t v = strtoull(e->text, NULL, 10);
        if (errno == ERANGE || e->text[0] == '-') return kir_error(L->kp, e->loc, "%s does not fit in u64", e->text);
        ((uint64_t *)data)[i] = v;
        return ST_OK;
    }
    long long v = strtoll(e->text, NULL, 10);
    if (errno == ERANGE || !fits(t, v)) return kir_error(L->kp, e->loc, "%s does not fit in %s", e->text, dtype_name(t));
    switch (dtype_size(t)) {
    case 1: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case 2: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case 4: ((uint32_t *)data)[i] = (uint32_t)v; break;
    default: ((int64_t *)data)[i] = v; break;
    }
    return ST_OK;
}

/* random(seed = S, low = L, high = H): splitmix64 from state S; each element
 * takes the next 64-bit output z, u = (z >> 11) * 2^-53, x = L + (H - L) * u
 * (defaults -1 and 1), rounded to nearest for floats and floored for integers. */
static Status fill_random(Loader *L, const KExpr *e, DType t, void *data, size_t numel)
{
    int64_t seed = -1;
    double low = -1, high = 1;
    for (int i = 0; i < e->args.n; i++) {
        const KPair *a = e->args.v[i];
        Status st;
        if (strcmp(a->key, "seed") == 0) st = parse_int(L, a->val, 0, INT64_MAX, "seed", &seed);
        else if (strcmp(a->key, "low") == 0) st = parse_float(L, a->val, "low", &low);
        else if (strcmp(a->key, "high") == 0) st = parse_float(L, a->val, "high", &high);
        else st = kir_error(L->kp, a->loc, "random takes seed, low and high, not '%s'", a->key);
        if (st) return st;
    }
    if (seed < 0) return kir_error(L->kp, e->loc, "random needs a seed: random(seed = 1)");
    uint64_t state = (uint64_t)seed;
    for (size_t i = 0; i < numel; i++) {
        uint64_t z = (state += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        double x = low + (high - low) * ((double)(z >> 11) * 0x1p-53);
        dtype_store_f64(t, data, i, dtype_is_float(t) ? x : floor(x));
    }
    return ST_OK;
}

/* Remember a data file once, so -MD lists it. */
static void add_dep(Graph *g, const char *path)
{
    for (int i = 0; i < g->ndeps; i++)
        if (strcmp(g->deps[i], path) == 0) return;
    const char **deps = arena_alloc(g->arena, sizeof *deps * (size_t)(g->ndeps + 1));
    if (!deps) return;
    if (g->ndeps) memcpy(deps, g->deps, sizeof *deps * (size_t)g->ndeps);
    deps[g->ndeps++] = path;
    g->deps = deps;
}

/* file("path", offset = N): raw little-endian bytes beside the .kir, never outside its folder. */
static Status read_data_file(Loader *L, const KExpr *e, void *data, size_t bytes)
{
    int64_t offset = 0;
    for (int i = 0; i < e->args.n; i++) {
        const KPair *a = e->args.v[i];
        if (strcmp(a->key, "offset") != 0) return kir_error(L->kp, a->loc, "file takes offset, not '%s'", a->key);
        if (parse_int(L, a->val, 0, INT64_MAX, "offset", &offset)) return ST_INPUT;
    }
    const char *rel = e->text;
    bool escapes = rel[0] == '/' || rel[0] == 0 || strlen(rel) != e->len;
    for (const char *p = rel; *p && !escapes; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p))
        escapes = strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == 0);
    if (escapes)
        return kir_error(L->kp, e->loc, "file path '%s' leaves the model's folder; only files beside the .kir are read", rel);
    char *path = arena_printf(L->g->arena, "%s/%s", L->dir, rel);
    add_dep(L->g, path);
    FILE *f = fopen(path, "rb");
    if (!f) return kir_error(L->kp, e->loc, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    bool ok = fstat(fileno(f), &st) == 0 && (uint64_t)offset <= (uint64_t)st.st_size &&
              bytes <= (uint64_t)st.st_size - (uint64_t)offset;
    if (!ok) {
        fclose(f);
        return kir_error(L->kp, e->loc, "'%s' has %lld bytes; the tensor needs %zu at offset %lld", path,
                         (long long)st.st_size, bytes, (long long)offset);
    }
    ok = fseeko(f, offset, SEEK_SET) == 0 && fread(data, 1, bytes, f) == bytes;
    fclose(f);
    return ok ? ST_OK : kir_error(L->kp, e->loc, "cannot read %zu bytes of '%s'", bytes, path);
}

/* The data of a constant of type t and shape s, in the graph's arena. */
static void *build_data(Loader *L, const KExpr *e, DType t, const Shape *s, KLoc type_loc)
{
    char buf[256];
    int64_t numel = shape_numel(s);
    size_t bytes = 0;
    if (!shape_is_static(s)) {
        kir_error(L->kp, type_loc, "data needs a static shape, not %s", shape_str(s, buf, sizeof buf));
        return NULL;
    }
    if (numel < 0 || !mul_size((size_t)numel, dtype_size(t), &bytes) || bytes > MAX_CONST_BYTES) {
        kir_error(L->kp, type_loc, "a constant of %s%s is too large", dtype_name(t), shape_str(s, buf, sizeof buf));
        return NULL;
    }
    Diag md = {0}; /* --max-memory (README "Robustness"), reported at the type */
    if (mem_reserve(bytes, NULL, "this constant", &md)) {
        kir_error(L->kp, type_loc, "%s", md.msg);
        return NULL;
    }
    void *data = arena_alloc(L->g->arena, bytes ? bytes : 1);
    if (!data) {
        kir_error(L->kp, e->loc, "out of memory for %zu bytes of data", bytes);
        return NULL;
    }
    switch (e->kind) {
    case KX_LIST:
        if (e->items.n != numel) {
            kir_error(L->kp, e->loc, "%d values for %s%s, which has %lld elements", e->items.n, dtype_name(t),
                      shape_str(s, buf, sizeof buf), (long long)numel);
            return NULL;
        }
        for (int i = 0; i < e->items.n; i++)
            if (store_element(L, e->items.v[i], t, data, (size_t)i)) return NULL;
        return data;
    case KX_ZEROS: return data;
    case KX_ONES:
        for (int64_t i = 0; i < numel; i++) dtype_store_f64(t, data, (size_t)i, 1);
        return data;
    case KX_RANDOM: return fill_random(L, e, t, data, (size_t)numel) ? NULL : data;
    case KX_FILE: return read_data_file(L, e, data, bytes) ? NULL : data;
    case KX_ELIDED:
        kir_error(L->kp, e->loc, "this constant's data was left out of the dump (--dump-ir is for reading); "
                                 "write a complete one with kiln compile MODEL --emit ir -o FILE.kir");
        return NULL;
    default:
        kir_error(L->kp, e->loc, "expected data: [values], zeros, ones, random(seed = N) or file(\"path\", offset = N)");
        return NULL;
    }
}

/* A detached constant (a tensor attribute), as the ONNX importer makes them. */
static Value *tensor_value(Loader *L, const KExpr *e, const char *name)
{
    DType t;
    Shape s;
    if (type_of(L, e->type, &t, &s)) return NULL;
    void *data = build_data(L, e->data, t, &s, e->type->loc);
    if (!data) return NULL;
    return value_new_const(L->g, name, t, &s, data);
}

static const char *const kind_words[] = {"a float", "an integer", "a string", "a tensor", "a graph",
                                         "a list of floats", "a list of integers", "a list of strings", "a list of tensors"};

static Status load_attr(Loader *L, Node *n, const KPair *p)
{
    AttrKind kind;
    const KExpr *e = p->val;
    if (!op_attr_kind(n->op, p->key, &kind))
        return kir_error(L->kp, p->loc, "%s has no attribute '%s' (it accepts: %s)", op_info[n->op].name, p->key,
                         op_info[n->op].attrs[0] ? op_info[n->op].attrs : "none");
    if (attr_get(n, p->key)) return kir_error(L->kp, p->loc, "attribute '%s' is given twice", p->key);
    bool list = kind == ATTR_FLOATS || kind == ATTR_INTS || kind == ATTR_STRINGS;
    bool ok = list ? e->kind == KX_LIST
                   : kind == ATTR_FLOAT ? (e->kind == KX_INT || e->kind == KX_FLOAT)
                   : kind == ATTR_INT ? e->kind == KX_INT
                   : kind == ATTR_STRING ? e->kind == KX_STRING
                   : kind == ATTR_TENSOR ? e->kind == KX_TENSOR : false;
    if (kind == ATTR_GRAPH || kind == ATTR_TENSORS)
        return kir_error(L->kp, p->loc, "attribute '%s': graphs and tensor lists are not supported", p->key);
    if (!ok) return kir_error(L->kp, e->loc, "attribute '%s' of %s is %s", p->key, op_info[n->op].name, kind_words[kind]);
    Graph *g = L->g;
    Attr *a = node_add_attr(g, n, p->key, kind);
    switch (kind) {
    case ATTR_FLOAT: return parse_float(L, e, "the value", &a->f);
    case ATTR_INT: return parse_int(L, e, INT64_MIN, INT64_MAX, "the value", &a->i);
    case ATTR_STRING: a->s = arena_strdup(g->arena, e->text); return ST_OK;
    case ATTR_TENSOR: return (a->t = tensor_value(L, e, p->key)) ? ST_OK : ST_INPUT;
    default: break;
    }
    a->n = e->items.n;
    a->floats = arena_alloc(g->arena, sizeof *a->floats * (size_t)(a->n + 1));
    a->ints = arena_alloc(g->arena, sizeof *a->ints * (size_t)(a->n + 1));
    a->strings = arena_alloc(g->arena, sizeof *a->strings * (size_t)(a->n + 1));
    for (int i = 0; i < a->n; i++) {
        const KExpr *item = e->items.v[i];
        Status st = ST_OK;
        if (kind == ATTR_FLOATS) st = parse_float(L, item, "each element", &a->floats[i]);
        else if (kind == ATTR_INTS) st = parse_int(L, item, INT64_MIN, INT64_MAX, "each element", &a->ints[i]);
        else if (item->kind != KX_STRING) st = kir_error(L->kp, item->loc, "each element must be a string");
        else a->strings[i] = arena_strdup(g->arena, item->text);
        if (st) return st;
    }
    return ST_OK;
}

/* ---- annotations: what passes decided, one table per place ------------ */

typedef enum { AN_GRAPH, AN_NODE, AN_OUTPUT, AN_DECL } AnnotPlace;
static const char *const annot_keys[] = {
    [AN_GRAPH] = "workspace", [AN_NODE] = "name, opset, scratch", [AN_OUTPUT] = "offset", [AN_DECL] = "none"};

static Status load_annot(Loader *L, const KList *annot, AnnotPlace place, Node *n, Value *v)
{
    for (int i = 0; i < annot->n; i++) {
        const KPair *p = annot->v[i];
        const char *k = p->key;
        Status st;
        if (place == AN_GRAPH && strcmp(k, "workspace") == 0)
            st = parse_int(L, p->val, 0, INT64_MAX, "workspace", &L->g->workspace_size);
        else if (place == AN_NODE && strcmp(k, "name") == 0)
            st = p->val->kind == KX_STRING ? (n->name = arena_strdup(L->g->arena, p->val->text), ST_OK)
                                            : kir_error(L->kp, p->val->loc, "name must be a string");
        else if (place == AN_NODE && strcmp(k, "opset") == 0) {
            int64_t opset;
            st = parse_int(L, p->val, 0, 17, "opset", &opset); /* 0: a pass left it unset */
            n->opset = (int)opset;
        } else if (place == AN_NODE && strcmp(k, "scratch") == 0)
            st = parse_int(L, p->val, 0, INT64_MAX, "scratch", &n->scratch_offset);
        else if (place == AN_OUTPUT && strcmp(k, "offset") == 0)
            st = parse_int(L, p->val, 0, INT64_MAX, "offset", &v->offset);
        else
            st = kir_error(L->kp, p->loc, "unknown annotation '%s' here (known: %s)", k, annot_keys[place]);
        if (st) return st;
    }
    return ST_OK;
}

/* ---- statements -------------------------------------------------------- */

static Status define(Loader *L, const KRef *r, Value **out)
{
    if (graph_find(L->g, r->name)) return kir_error(L->kp, r->loc, "'%s' is already defined (each value has one definition)", r->name);
    *out = graph_value(L->g, r->name);
    return ST_OK;
}

static Status load_decl(Loader *L, const KStmt *s)
{
    const KRef *r = s->outs.v[0];
    Value *v;
    DType t;
    Shape shape;
    if (type_of(L, r->type, &t, &shape) || load_annot(L, &r->annot, AN_DECL, NULL, NULL) || define(L, r, &v)) return ST_INPUT;
    value_set_type(v, t, &shape);
    if (s->kind == KS_CONST) v->kind = VAL_CONST;
    else {
        v->kind = VAL_INPUT;
        graph_add_input(L->g, v);
    }
    if (!s->data) return ST_OK;
    v->data = build_data(L, s->data, t, &shape, r->type->loc);
    v->bound = s->kind == KS_INPUT;
    return v->data ? ST_OK : ST_INPUT;
}

static Status load_node(Loader *L, const KStmt *s)
{
    Graph *g = L->g;
    Op op = op_from_name(s->op);
    if (op == OP_COUNT_) return kir_error(L->kp, s->op_loc, "unknown operator '%s'", s->op);
    const OpInfo *info = &op_info[op];
    int nin = s->args.n, nout = s->outs.n;
    if (nin < info->min_in || (info->max_in >= 0 && nin > info->max_in))
        return kir_error(L->kp, s->op_loc, "%s takes %d to %d inputs, not %d (write _ for an omitted one)", info->name,
                         info->min_in, info->max_in, nin);
    if (nout < info->min_out || (info->max_out >= 0 && nout > info->max_out))
        return kir_error(L->kp, s->loc, "%s produces %d to %d outputs, not %d", info->name, info->min_out, info->max_out, nout);
    Node *n = graph_node(g, op, NULL, nin, nout);
    n->opset = (int)g->opset;
    n->scratch_offset = -1;
    n->loc = arena_printf(g->arena, "%s:%d:%d", L->kp->path, s->loc.line, s->loc.col);
    for (int k = 0; k < nin; k++) {
        const KRef *r = s->args.v[k];
        if (!r->name) continue;
        Value *v = graph_find(g, r->name);
        if (!v) return kir_error(L->kp, r->loc, "'%s' is not defined (values are defined before their first use)", r->name);
        node_set_input(n, k, v);
    }
    for (int k = 0; k < nout; k++) {
        const KRef *r = s->outs.v[k];
        Value *v;
        if (!r->name) continue;
        if (define(L, r, &v)) return ST_INPUT;
        node_set_output(n, k, v);
        if (r->type) {
            DType t;
            Shape shape;
            if (type_of(L, r->type, &t, &shape)) return ST_INPUT;
            value_set_type(v, t, &shape);
        }
        if (load_annot(L, &r->annot, AN_OUTPUT, n, v)) return ST_INPUT;
        if (!n->name[0]) n->name = v->name;
    }
    for (int i = 0; i < s->attrs.n; i++)
        if (load_attr(L, n, s->attrs.v[i])) return ST_INPUT;
    return load_annot(L, &s->annot, AN_NODE, n, NULL);
}

/* Graph outputs, in the order the file names them. */
static Status load_outputs(Loader *L, const KStmt *s)
{
    for (int k = 0; k < s->outs.n; k++) {
        const KRef *r = s->outs.v[k];
        if (!r->name) continue;
        if (s->kind == KS_OUTPUT && (r->type || r->annot.n))
            return kir_error(L->kp, r->loc, "write the type of '%s' where it is defined, not in 'output'", r->name);
        Value *v = graph_find(L->g, r->name);
        if (!v) return kir_error(L->kp, r->loc, "output '%s' is not defined", r->name);
        graph_add_output(L->g, v);
    }
    return ST_OK;
}

static Status load_graph(Loader *L)
{
    KParse *kp = L->kp;
    Graph *g = L->g;
    int64_t version, opset = 17;
    if (parse_int(L, kp->version, 0, INT32_MAX, "the version", &version)) return ST_INPUT;
    if (version != 1)
        return kir_error(kp, kp->version->loc, "this is kiln text version %lld; this kiln reads version 1", (long long)version);
    if (kp->opset && parse_int(L, kp->opset, 1, 17, "opset", &opset)) return ST_INPUT;
    g->opset = opset;
    if (load_annot(L, &kp->graph_annot, AN_GRAPH, NULL, NULL)) return ST_INPUT;
    for (int i = 0; i < kp->stmts.n; i++) {
        const KStmt *s = kp->stmts.v[i];
        Status st = s->kind == KS_NODE ? load_node(L, s) : s->kind == KS_OUTPUT ? ST_OK : load_decl(L, s);
        if (st) return st;
    }
    for (int i = 0; i < kp->stmts.n; i++) {
        const KStmt *s = kp->stmts.v[i];
        if ((s->kind == KS_OUTPUT || s->is_output) && load_outputs(L, s)) return ST_INPUT;
    }
    if (g->noutputs == 0)
        return kir_error(kp, (KLoc){kp->line, 1}, "the graph has no outputs (add 'output NAME')");
    return ST_OK;
}

static Status read_text(const char *path, char **out, size_t *len, Diag *d)
{
    size_t size;
    FILE *f = open_regular_file(path, &size, d);
    if (!f) return d->status;
    if (size > MAX_KIR_BYTES) {
        fclose(f);
        return diag_error(d, ST_INPUT, NULL, "'%s' has %zu bytes; kiln text files may have at most %d", path, size,
                          MAX_KIR_BYTES);
    }
    char *text = malloc(size + 1);
    size_t n = text ? fread(text, 1, size, f) : 0;
    fclose(f);
    if (!text || n != size) {
        free(text);
        return diag_error(d, ST_INPUT, NULL, "cannot read '%s'", path);
    }
    text[n] = 0;
    *out = text;
    *len = n;
    return ST_OK;
}

Status kir_load(const char *path, Graph **out, Diag *d)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    if (read_text(path, &text, &len, d)) return d->status;
    KParse kp = {.arena = arena_new(), .path = path, .text = text, .len = len, .d = d};
    Graph *g = NULL;
    if (!kp.arena) {
        free(text);
        return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    }
    if (kir_parse(&kp) == ST_OK) {
        g = graph_new(kp.graph_name);
        if (!g) {
            diag_error(d, ST_INTERNAL, NULL, "out of memory");
        } else {
            const char *slash = strrchr(path, '/');
            g->file = arena_strdup(g->arena, path);
            Loader L = {.kp = &kp, .g = g,
                        .dir = slash ? arena_printf(g->arena, "%.*s", (int)(slash - path), path) : "."};
            if (slash == path) L.dir = "/";
            if (load_graph(&L)) {
                graph_free(g);
                g = NULL;
            }
        }
    }
    arena_free(kp.arena);
    free(text);
    *out = g;
    return g ? ST_OK : d->status;
}
