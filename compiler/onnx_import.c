/* onnx_import.c — the ONNX frontend: protobuf-c parse, then build IR.
 * Every problem in the file becomes a diagnostic naming the node. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln.h"
#include "onnx.pb-c.h"

typedef struct {
    Graph *g;
    Diag *d;
    const char *dir;  /* the model's folder, for external data; NULL: loaded from memory */
} Importer;

static Status read_file(const char *path, size_t limit, unsigned char **out, size_t *len, Diag *d)
{
    size_t n;
    FILE *f = open_regular_file(path, &n, d);
    if (!f) return d->status;
    if (n > limit) {
        fclose(f);
        return diag_error(d, ST_INPUT, NULL, "'%s' has %zu bytes; kiln reads models of at most %zu bytes "
                          "(larger weights belong in external data files)", path, n, limit);
    }
    /* the file's bytes, and about as much again for protobuf-c's decoded copy */
    if (mem_reserve(2 * n, NULL, path, d)) {
        fclose(f);
        return d->status;
    }
    unsigned char *buf = malloc(n ? n : 1);
    bool oom = !buf, ok = buf && fread(buf, 1, n, f) == n;
    fclose(f);
    if (!ok) {
        free(buf);
        return diag_error(d, ST_INPUT, NULL, "cannot read '%s'%s", path, oom ? ": out of memory" : "");
    }
    *out = buf;
    *len = n;
    return ST_OK;
}

/* protobuf-c decodes nested messages recursively: a file of a few megabytes
 * of nesting would overflow the stack. Walk the wire format first and refuse
 * nesting deeper than KILN_MAX_NESTING (real models nest a graph in an
 * attribute of a node of a graph: a handful of levels). Malformed data is
 * left for protobuf-c to reject. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

static bool nesting_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, int depth)
{
    if (depth > KILN_MAX_NESTING) return false;
    while (p < end) {
        uint64_t tag, v;
        if (!read_varint(&p, end, &tag)) return true;
        switch (tag & 7) {
        case 0: if (!read_varint(&p, end, &v)) return true; break;
        case 1: if (end - p < 8) return true; p += 8; break;
        case 5: if (end - p < 4) return true; p += 4; break;
        case 2: {
            if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p)) return true;
            const ProtobufCFieldDescriptor *f =
                tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && !nesting_ok(f->descriptor, p, p + v, depth + 1))
                return false;
            p += v;
            break;
        }
        default: return true; /* groups and invalid wire types: protobuf-c rejects them */
        }
    }
    return true;
}

static bool supported_dtype(int32_t t)
{
    return t > 0 && t < KILN_DTYPE_COUNT_ && t != KILN_DTYPE_STRING && dtype_size(t) > 0;
}

/* A location that stays inside the model's folder: relative, no ".." part. */
static bool path_stays_inside(const char *location)
{
    if (location[0] == '/') return false;
    for (const char *p = location; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') return false;
        p += len + (p[len] == '/');
    }
    return true;
}

/* Symbolic links must not lead out of the folder either. A path that does
 * not resolve passes here and fails to open, with the reason. */
static bool resolves_inside(const char *dir, const char *path)
{
    char *rdir = realpath(dir, NULL), *rpath = realpath(path, NULL);
    size_t n = rdir ? strlen(rdir) : 0;
    bool inside = !rdir || !rpath ||
                  (strncmp(rpath, rdir, n) == 0 && (rpath[n] == '/' || (n == 1 && rdir[0] == '/')));
    free(rdir);
    free(rpath);
    return inside;
}

static bool parse_offset(const char *v, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(v, &end, 10);
    return *v && !*end && !errno && *out >= 0;
}

/* External data: bytes [offset, offset + bytes) of a file beside the model,
 * never outside its folder (absolute paths only with --allow-absolute-paths). */
static Status read_external(Importer *im, const Onnx__TensorProto *t, const char *what, const Node *where,
                            unsigned char *data, size_t bytes)
{
    const char *location = NULL;
    long long offset = 0, length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const char *k = t->external_data[i]->key, *v = t->external_data[i]->value;
        if (!k || !v) continue;
        if (strcmp(k, "location") == 0) location = v;
        else if ((strcmp(k, "offset") == 0 && !parse_offset(v, &offset)) ||
                 (strcmp(k, "length") == 0 && !parse_offset(v, &length)))
            return diag_error(im->d, ST_INPUT, where, "%s: external data %s '%s' is not a byte count", what, k, v);
    }
    if (!location || !location[0])
        return diag_error(im->d, ST_INPUT, where, "%s: external data without a location", what);
    bool absolute = location[0] == '/' && kiln_limits.allow_absolute_paths;
    if (!absolute && !path_stays_inside(location))
        return diag_error(im->d, ST_INPUT, where,
                          "%s: external data path '%s' leaves the model's folder; only files beside the model "
                          "are read (absolute paths with --allow-absolute-paths)", what, location);
    if (!im->dir && !absolute)
        return diag_error(im->d, ST_INPUT, where, "%s: external data '%s' of a model loaded from memory has no folder",
                          what, location);
    char *path = absolute ? (char *)location : arena_printf(im->g->arena, "%s/%s", im->dir, location);
    if (!absolute && !resolves_inside(im->dir, path))
        return diag_error(im->d, ST_INPUT, where, "%s: external data '%s' is a link to a file outside the model's "
                          "folder; only files beside the model are read", what, location);
    FILE *f = fopen(path, "rb");
    if (!f) return diag_error(im->d, ST_INPUT, where, "%s: cannot open external data '%s': %s", what, path, strerror(errno));
    struct stat st;
    Status status = ST_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        status = diag_error(im->d, ST_INPUT, where, "%s: external data '%s' is not a regular file", what, path);
    } else if (offset > (long long)st.st_size || (length >= 0 && length > (long long)st.st_size - offset)) {
        status = diag_error(im->d, ST_INPUT, where, "%s: external data range (offset %lld, length %lld) is outside "
                            "'%s' (%lld bytes)", what, offset, length, path, (long long)st.st_size);
    } else {
        unsigned long long have = length >= 0 ? (unsigned long long)length : (unsigned long long)(st.st_size - offset);
        if (have != bytes)
            status = diag_error(im->d, ST_INPUT, where, "%s: external data has %llu bytes, its shape needs %zu", what,
                                have, bytes);
        else if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(data, 1, bytes, f) != bytes)
            status = diag_error(im->d, ST_INPUT, where, "%s: cannot read external data '%s'", what, path);
    }
    fclose(f);
    return status;
}

/* Decode a TensorProto into a constant value named name (not added to any node). */
static Value *import_tensor(Importer *im, const Onnx__TensorProto *t, const char *name, const Node *where)
{
    Diag *d = im->d;
    const char *what = arena_printf(im->g->arena, "tensor '%s'", name);
    if (!t->has_data_type || !supported_dtype(t->data_type)) {
        if (t->data_type == KILN_DTYPE_STRING) diag_unsupported(d, where, "%s: string tensors are not supported", what);
        else diag_unsupported(d, where, "%s: data type %d is not supported", what, (int)t->data_type);
        return NULL;
    }
    if (t->n_dims > KILN_MAX_RANK) {
        diag_error(d, ST_INPUT, where, "%s has rank %zu; kiln allows at most %d", what, t->n_dims, KILN_MAX_RANK);
        return NULL;
    }
    Shape s = {.rank = (int)t->n_dims};
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) {
            diag_error(d, ST_INPUT, where, "%s has negative dimension %lld", what, (long long)t->dims[i]);
            return NULL;
        }
        if (t->dims[i] > KILN_MAX_ELEMENTS) {
            diag_error(d, ST_INPUT, where, "%s has dimension %lld; kiln allows at most %lld", what,
                       (long long)t->dims[i], (long long)KILN_MAX_ELEMENTS);
            return NULL;
        }
        s.dims[i] = t->dims[i];
    }
    DType dt = t->data_type;
    int64_t numel = shape_numel(&s);
    size_t bytes;
    if (numel < 0 || numel > KILN_MAX_ELEMENTS || !mul_size((size_t)numel, dtype_size(dt), &bytes)) {
        diag_error(d, ST_INPUT, where, "%s has shape %s: more than %lld elements", what,
                   shape_str(&s, (char[256]){0}, 256), (long long)KILN_MAX_ELEMENTS);
        return NULL;
    }
    if (mem_reserve(bytes, where, what, d)) return NULL;
    unsigned char *data = arena_alloc(im->g->arena, bytes ? bytes : 1);
    if (!data) {
        diag_error(d, ST_INPUT, where, "%s: out of memory for %zu bytes", what, bytes);
        return NULL;
    }
    size_t esz = dtype_size(dt);
    size_t have; /* elements present in the file */
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (read_external(im, t, what, where, data, bytes)) return NULL;
        have = (size_t)numel;
    } else if (t->has_raw_data) {
        if (t->raw_data.len != bytes) {
            diag_error(d, ST_INPUT, where, "%s: raw_data has %zu bytes, its shape %s needs %zu", what,
                       t->raw_data.len, shape_str(&s, (char[128]){0}, 128), bytes);
            return NULL;
        }
        if (bytes) memcpy(data, t->raw_data.data, bytes);
        have = (size_t)numel;
    } else {
        switch (dt) {
        case KILN_DTYPE_F32:
            have = t->n_float_data;
            if (have == (size_t)numel && bytes) memcpy(data, t->float_data, bytes);
            break;
        case KILN_DTYPE_F64:
            have = t->n_double_data;
            if (have == (size_t)numel && bytes) memcpy(data, t->double_data, bytes);
            break;
        case KILN_DTYPE_I64:
            have = t->n_int64_data;
            if (have == (size_t)numel && bytes) memcpy(data, t->int64_data, bytes);
            break;
        case KILN_DTYPE_U32: case KILN_DTYPE_U64:
            have = t->n_uint64_data;
            if (have == (size_t)numel)
                for (size_t i = 0; i < have; i++) {
                    if (dt == KILN_DTYPE_U32) ((uint32_t *)data)[i] = (uint32_t)t->uint64_data[i];
                    else ((uint64_t *)data)[i] = t->uint64_data[i];
                }
            break;
        default: /* the narrow types and the half types' bits travel in int32_data */
            have = t->n_int32_data;
            if (have == (size_t)numel)
                for (size_t i = 0; i < have; i++) {
                    int32_t v = t->int32_data[i];
                    if (esz == 1) data[i] = (unsigned char)v;
                    else if (esz == 2) ((uint16_t *)data)[i] = (uint16_t)v;
                    else ((int32_t *)data)[i] = v;
                }
            break;
        }
    }
    if (have != (size_t)numel) {
        diag_error(d, ST_INPUT, where, "%s has %zu values, its shape %s needs %lld (weights with a count but no values?)",
                   what, have, shape_str(&s, (char[128]){0}, 128), (long long)numel);
        return NULL;
    }
    return value_new_const(im->g, name, dt, &s, data);
}

static Status import_type(Importer *im, const Onnx__ValueInfoProto *vi, Value *v)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return diag_unsupported(im->d, NULL, "graph input '%s' is not a tensor (sequences, maps and optionals are not supported)",
                                vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt->has_elem_type || !supported_dtype(tt->elem_type))
        return diag_unsupported(im->d, NULL, "graph input '%s' has unsupported element type %d", vi->name, (int)tt->elem_type);
    if (!tt->shape) return diag_unsupported(im->d, NULL, "graph input '%s' has no shape (unknown rank)", vi->name);
    if (tt->shape->n_dim > KILN_MAX_RANK)
        return diag_error(im->d, ST_INPUT, NULL, "graph input '%s' has rank %zu; kiln allows at most %d", vi->name,
                          tt->shape->n_dim, KILN_MAX_RANK);
    Shape s = {.rank = (int)tt->shape->n_dim};
    for (int i = 0; i < s.rank; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return diag_error(im->d, ST_INPUT, NULL, "graph input '%s' has negative dimension %lld", vi->name,
                                  (long long)dim->dim_value);
            if (dim->dim_value > KILN_MAX_ELEMENTS)
                return diag_error(im->d, ST_INPUT, NULL, "graph input '%s' has dimension %lld; kiln allows at most %lld",
                                  vi->name, (long long)dim->dim_value, (long long)KILN_MAX_ELEMENTS);
            s.dims[i] = dim->dim_value;
        } else {
            s.dims[i] = -1;
            s.sym[i] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param[0]
                           ? arena_strdup(im->g->arena, dim->dim_param)
                           : arena_printf(im->g->arena, "%s_d%d", vi->name, i);
        }
    }
    value_set_type(v, tt->elem_type, &s);
    return ST_OK;
}

/* The attribute schema in ops.def, e.g. "alpha:f perm:is": the kind of name, or NULL. */
static const char *schema_kind(const char *schema, const char *name, char *kind, size_t kn)
{
    size_t len = strlen(name);
    for (const char *p = schema; *p;) {
        while (*p == ' ') p++;
        const char *colon = strchr(p, ':'), *end = strchr(p, ' ');
        if (!end) end = p + strlen(p);
        if (colon && colon < end && (size_t)(colon - p) == len && strncmp(p, name, len) == 0) {
            snprintf(kind, kn, "%.*s", (int)(end - colon - 1), colon + 1);
            return kind;
        }
        p = end;
    }
    return NULL;
}

static const char *const attr_kind_names[] = {"f", "i", "s", "t", "g", "fs", "is", "ss", "ts"};

/* Opset <= 5 in-place hints: no meaning for a compiler that plans memory itself. */
static bool is_legacy_noop(const char *name)
{
    return strcmp(name, "consumed_inputs") == 0;
}

static Status import_attr(Importer *im, Node *n, const Onnx__AttributeProto *ap)
{
    Graph *g = im->g;
    char kind[8];
    if (ap->name && is_legacy_noop(ap->name) && im->g->opset <= 6) return ST_OK;
    if (!ap->name || !schema_kind(op_info[n->op].attrs, ap->name, kind, sizeof kind))
        return diag_error(im->d, ST_INPUT, n, "unknown attribute '%s' (%s accepts: %s)", ap->name ? ap->name : "",
                          op_info[n->op].name, op_info[n->op].attrs[0] ? op_info[n->op].attrs : "none");
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return diag_unsupported(im->d, n, "attribute '%s' refers to a function attribute", ap->name);
    AttrKind k;
    switch (ap->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: k = ATTR_FLOAT; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: k = ATTR_INT; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: k = ATTR_STRING; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: k = ATTR_TENSOR; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: k = ATTR_GRAPH; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: k = ATTR_FLOATS; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: k = ATTR_INTS; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: k = ATTR_STRINGS; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: k = ATTR_TENSORS; break;
    default: return diag_unsupported(im->d, n, "attribute '%s' has unsupported type %d", ap->name, (int)ap->type);
    }
    /* An empty list may arrive typed as another list kind; accept it. */
    bool empty_list = ap->n_floats + ap->n_ints + ap->n_strings + ap->n_tensors == 0 && strlen(kind) == 2 &&
                      (k == ATTR_FLOATS || k == ATTR_INTS || k == ATTR_STRINGS || k == ATTR_TENSORS);
    bool float_as_int = k == ATTR_INT && strcmp(kind, "f") == 0;
    if (strcmp(kind, attr_kind_names[k]) != 0 && !empty_list && !float_as_int)
        return diag_error(im->d, ST_INPUT, n, "attribute '%s' must be of kind %s, not %s", ap->name, kind,
                          attr_kind_names[k]);
    if (empty_list)
        for (size_t i = 0; i < sizeof attr_kind_names / sizeof *attr_kind_names; i++)
            if (strcmp(kind, attr_kind_names[i]) == 0) k = (AttrKind)i;
    if (float_as_int) k = ATTR_FLOAT;
    size_t count = k == ATTR_FLOATS ? ap->n_floats : k == ATTR_INTS ? ap->n_ints : k == ATTR_STRINGS ? ap->n_strings
                 : k == ATTR_STRING ? ap->s.len : 0;
    for (size_t i = 0; k == ATTR_STRINGS && i < ap->n_strings; i++)
        if (ap->strings[i].len > count) count = ap->strings[i].len;
    if (count > KILN_MAX_ATTR_ELEMENTS)
        return diag_error(im->d, ST_INPUT, n, "attribute '%s' has %zu %s; kiln allows at most %d", ap->name, count,
                          k == ATTR_STRING || k == ATTR_STRINGS ? "bytes" : "entries", KILN_MAX_ATTR_ELEMENTS);
    Attr *a = node_add_attr(g, n, ap->name, k);
    switch (k) {
    case ATTR_FLOAT: a->f = ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? (double)ap->i : ap->f; break;
    case ATTR_INT: a->i = ap->i; break;
    case ATTR_STRING: a->s = arena_printf(g->arena, "%.*s", (int)ap->s.len, ap->s.data ? (const char *)ap->s.data : ""); break;
    case ATTR_TENSOR:
        if (!ap->t) return diag_error(im->d, ST_INPUT, n, "attribute '%s' has no tensor", ap->name);
        a->t = import_tensor(im, ap->t, ap->name, n);
        if (!a->t) return im->d->status;
        break;
    case ATTR_FLOATS:
        a->n = (int)ap->n_floats;
        a->floats = arena_alloc(g->arena, sizeof *a->floats * (ap->n_floats + 1));
        for (size_t i = 0; i < ap->n_floats; i++) a->floats[i] = ap->floats[i];
        break;
    case ATTR_INTS:
        a->n = (int)ap->n_ints;
        a->ints = arena_alloc(g->arena, sizeof *a->ints * (ap->n_ints + 1));
        if (ap->n_ints) memcpy(a->ints, ap->ints, sizeof *a->ints * ap->n_ints);
        break;
    case ATTR_STRINGS:
        a->n = (int)ap->n_strings;
        a->strings = arena_alloc(g->arena, sizeof *a->strings * (ap->n_strings + 1));
        for (size_t i = 0; i < ap->n_strings; i++)
            a->strings[i] = arena_printf(g->arena, "%.*s", (int)ap->strings[i].len,
                                         ap->strings[i].data ? (const char *)ap->strings[i].data : "");
        break;
    default: return diag_unsupported(im->d, n, "attribute '%s': graphs and tensor lists are not supported", ap->name);
    }
    return ST_OK;
}

/* A Constant node becomes a constant value, not a node. */
static Value *constant_value(Importer *im, const Node *n, const char *out_name)
{
    Graph *g = im->g;
    if (n->nattrs != 1) {
        diag_error(im->d, ST_INPUT, n, "a Constant needs exactly one value attribute, it has %d", n->nattrs);
        return NULL;
    }
    const Attr *a = &n->attrs[0];
    Shape scalar = {0}, list = {.rank = 1, .dims = {a->n}};
    if (strcmp(a->name, "value") == 0) {
        Value *v = graph_const(g, out_name, a->t->dtype, &a->t->shape, a->t->data);
        return v;
    }
    if (strcmp(a->name, "value_float") == 0) {
        float f = (float)a->f;
        return graph_const(g, out_name, KILN_DTYPE_F32, &scalar, &f);
    }
    if (strcmp(a->name, "value_int") == 0) return graph_const(g, out_name, KILN_DTYPE_I64, &scalar, &a->i);
    if (strcmp(a->name, "value_ints") == 0) return graph_const(g, out_name, KILN_DTYPE_I64, &list, a->ints);
    if (strcmp(a->name, "value_floats") == 0) {
        float *f = arena_alloc(g->arena, sizeof *f * (size_t)(a->n + 1));
        for (int i = 0; i < a->n; i++) f[i] = (float)a->floats[i];
        return graph_const(g, out_name, KILN_DTYPE_F32, &list, f);
    }
    diag_unsupported(im->d, n, "Constant with attribute '%s' is not supported", a->name);
    return NULL;
}

static Status import_node(Importer *im, const Onnx__NodeProto *np, int index)
{
    Graph *g = im->g;
    const char *name = np->name && np->name[0] ? np->name : arena_printf(g->arena, "#%d", index);
    const char *domain = np->domain ? np->domain : "";
    Node tmp = {.name = name, .op = OP_Identity};
    if (!np->op_type || !np->op_type[0]) return diag_error(im->d, ST_INPUT, NULL, "node '%s' has no op_type", name);
    if (domain[0] && strcmp(domain, "ai.onnx") != 0)
        return diag_unsupported(im->d, NULL, "node '%s' (%s): operators of domain '%s' are not supported", name,
                                np->op_type, domain);
    Op op = op_from_name(np->op_type);
    if (op == OP_COUNT_ || op_info[op].kiln_only)
        return diag_unsupported(im->d, NULL, "node '%s' (%s): unsupported operator %s", name, np->op_type, np->op_type);
    tmp.op = op;
    const OpInfo *info = &op_info[op];
    /* Trailing empty names are omitted optional inputs/outputs. */
    int nin = (int)np->n_input, nout = (int)np->n_output;
    while (nin > 0 && !np->input[nin - 1][0]) nin--;
    while (nout > 0 && !np->output[nout - 1][0]) nout--;
    if (nin < info->min_in || (info->max_in >= 0 && nin > info->max_in))
        return diag_error(im->d, ST_INPUT, &tmp, "has %d inputs; %s takes %d to %d", nin, info->name, info->min_in,
                          info->max_in);
    if (nout < info->min_out || (info->max_out >= 0 && nout > info->max_out))
        return diag_error(im->d, ST_INPUT, &tmp, "has %d outputs; %s produces %d to %d", nout, info->name,
                          info->min_out, info->max_out);
    Node *n = graph_node(g, op, name, nin, nout);
    n->loc = n->name;
    n->opset = (int)g->opset;
    for (size_t i = 0; i < np->n_attribute; i++)
        if (import_attr(im, n, np->attribute[i])) return im->d->status;
    for (int k = 0; k < nin; k++) {
        if (!np->input[k][0] && k < info->min_in)
            return diag_error(im->d, ST_INPUT, n, "input %d is required, but its name is empty", k);
        if (!np->input[k][0]) continue;
        Value *v = graph_find(g, np->input[k]);
        if (!v)
            return diag_error(im->d, ST_INPUT, n, "input '%s' is not a graph input, an initializer or the output of "
                                                  "an earlier node (graph not topologically sorted, or cyclic?)",
                              np->input[k]);
        node_set_input(n, k, v);
    }
    for (int k = 0; k < nout; k++) {
        if (!np->output[k][0]) continue;
        if (graph_find(g, np->output[k]))
            return diag_error(im->d, ST_INPUT, n, "output '%s' is already defined (each value must have one producer)",
                              np->output[k]);
        if (op == OP_Constant) {
            n->dead = true;
            if (!constant_value(im, n, np->output[k])) return im->d->status;
        } else {
            node_set_output(n, k, graph_value(g, np->output[k]));
        }
    }
    return ST_OK;
}

static Status import_graph(Importer *im, const Onnx__ModelProto *m)
{
    Graph *g = im->g;
    const Onnx__GraphProto *gp = m->graph;
    if (!gp) return diag_error(im->d, ST_INPUT, NULL, "the model has no graph");
    bool have_default = false;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *dom = m->opset_import[i]->domain ? m->opset_import[i]->domain : "";
        if (!dom[0] || strcmp(dom, "ai.onnx") == 0) {
            g->opset = m->opset_import[i]->version;
            have_default = true;
        }
    }
    if (!have_default) g->opset = 1; /* IR v3 models without imports mean opset 1 */
    if (g->opset > 17)
        return diag_unsupported(im->d, NULL, "opset %lld is newer than kiln knows (at most 17)", (long long)g->opset);
    if (gp->n_sparse_initializer) return diag_unsupported(im->d, NULL, "sparse initializers are not supported");

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t->name || !t->name[0]) return diag_error(im->d, ST_INPUT, NULL, "initializer %zu has no name", i);
        if (graph_find(g, t->name)) return diag_error(im->d, ST_INPUT, NULL, "initializer '%s' is defined twice", t->name);
        Value *c = import_tensor(im, t, t->name, NULL);
        if (!c) return im->d->status;
        graph_add_value(g, c);
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0]) return diag_error(im->d, ST_INPUT, NULL, "graph input %zu has no name", i);
        const Value *known = graph_find(g, vi->name);
        if (known && known->kind == VAL_INPUT)
            return diag_error(im->d, ST_INPUT, NULL, "graph input '%s' is listed twice", vi->name);
        if (known) continue; /* an input with an initializer: kiln compiles it as that constant */
        Value *v = graph_value(g, vi->name);
        v->kind = VAL_INPUT;
        if (import_type(im, vi, v)) return im->d->status;
        graph_add_input(g, v);
    }
    for (size_t i = 0; i < gp->n_node; i++)
        if (import_node(im, gp->node[i], (int)i)) return im->d->status;
    if (gp->n_output == 0) return diag_error(im->d, ST_INPUT, NULL, "the graph has no outputs");
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        Value *v = graph_find(g, name);
        if (!v) return diag_error(im->d, ST_INPUT, NULL, "graph output '%s' is not produced by any node", name);
        const Onnx__TypeProto *tp = gp->output[i]->type;
        if (tp && tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET)
            return diag_unsupported(im->d, NULL, "graph output '%s' is not a tensor", name);
        graph_add_output(g, v);
    }
    graph_compact(g);
    return ST_OK;
}

Status onnx_load_buffer(const void *bytes, size_t len, const char *path, Graph **out, Diag *d)
{
    *out = NULL;
    const char *file = path ? path : "model";
    if (len > KILN_MAX_MODEL_BYTES)
        return diag_error(d, ST_INPUT, NULL, "'%s' has %zu bytes; kiln reads models of at most %zu bytes", file, len,
                          KILN_MAX_MODEL_BYTES);
    if (!nesting_ok(&onnx__model_proto__descriptor, bytes, (const uint8_t *)bytes + len, 0))
        return diag_error(d, ST_INPUT, NULL, "'%s' nests messages (graphs in attributes) more than %d deep", file,
                          KILN_MAX_NESTING);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, bytes);
    if (!m) return diag_error(d, ST_INPUT, NULL, "'%s' is not a valid ONNX model (protobuf parse failed: truncated or "
                                                 "corrupt file?)", file);
    const char *base = strrchr(file, '/');
    const char *stem = base ? base + 1 : file;
    Graph *g = graph_new(m->graph && m->graph->name && m->graph->name[0] ? m->graph->name : stem);
    if (!g) {
        onnx__model_proto__free_unpacked(m, NULL);
        return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    }
    g->file = arena_strdup(g->arena, file);
    const char *dir = !path ? NULL : base ? arena_printf(g->arena, "%.*s", (int)(base - path), path) : ".";
    Importer im = {.g = g, .d = d, .dir = dir && !dir[0] ? "/" : dir};
    Status st = import_graph(&im, m);
    onnx__model_proto__free_unpacked(m, NULL);
    if (st) {
        graph_free(g);
        return st;
    }
    *out = g;
    return ST_OK;
}

Status onnx_load(const char *path, Graph **out, Diag *d)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    *out = NULL;
    if (read_file(path, KILN_MAX_MODEL_BYTES, &bytes, &len, d)) return d->status;
    Status st = onnx_load_buffer(bytes, len, path, out, d);
    free(bytes);
    return st;
}
