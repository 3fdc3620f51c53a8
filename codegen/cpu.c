/* cpu.c — the CPUs the C target generates fast kernels for (--cpu), and the
 * one the compiler picked for this run. The tile sizes here and the packing
 * in kernels/c/gemm.h must agree, so the compiler packs weights into exactly
 * the panels the module's micro-kernel reads. */
#include <string.h>

#include "kiln.h"

/* name, vector bytes, micro-tile MR x NR, GCC/Clang target attribute, runtime check */
static const CpuTarget cpus[] = {
    {"generic", 16, 4, 8, "", "", 1},
    {"avx2", 32, 6, 16, "avx2,fma", "avx2", 1},
    {"avx512", 64, 14, 32, "avx512f,fma", "avx512f", 1},
    {"neon", 16, 6, 16, "", "", 1},
};

const CpuTarget *codegen_cpu;

/* What the machine running kiln has: the default, as cc -march=native would pick. */
static const char *host_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
    return "generic";
#elif defined(__aarch64__) || defined(__ARM_NEON)
    return "neon";
#else
    return "generic";
#endif
}

Status cpu_select(const char *name, int threads, Diag *d)
{
    static CpuTarget chosen;
    if (!name || strcmp(name, "native") == 0) name = host_cpu();
    if (strcmp(name, "none") == 0) {  /* reference kernels only */
        codegen_cpu = NULL;
        return ST_OK;
    }
    if (threads < 1 || threads > 256) return diag_error(d, ST_USAGE, NULL, "--threads %d: give 1 to 256", threads);
    for (size_t i = 0; i < sizeof cpus / sizeof *cpus; i++)
        if (strcmp(cpus[i].name, name) == 0) {
            chosen = cpus[i];
            chosen.threads = threads;
            codegen_cpu = &chosen;
            return ST_OK;
        }
    return diag_error(d, ST_USAGE, NULL, "--cpu=%s: unknown CPU (native, generic, avx2, avx512, neon, none)", name);
}

/* ---- what the C target emits for the CPU ------------------------------- */

static bool uses_header(const char *const *headers, int nheaders, const char *h)
{
    for (int i = 0; i < nheaders; i++)
        if (strcmp(headers[i], h) == 0) return true;
    return false;
}

/* The configuration kernels/c/gemm.h reads, before the kernels. */
void emit_cpu_config(Buf *b, const char *const *headers, int nheaders)
{
    const CpuTarget *c = codegen_cpu;
    if (!c || !uses_header(headers, nheaders, "gemm")) return;
    buf_printf(b, "\n/* fast kernels for --cpu=%s: weights are packed for this tile; build with\n"
                  " * -DKILN_GENERIC for plain C (same results within rounding) */\n", c->name);
    buf_printf(b, "#define KILN_VEC_BYTES %d\n#define KILN_GEMM_MR %d\n#define KILN_GEMM_NR %d\n", c->vec_bytes, c->mr, c->nr);
    if (c->target[0]) buf_printf(b, "#define KILN_TARGET_ISA \"%s\"\n", c->target);
    if (c->threads > 1) buf_printf(b, "#define KILN_THREADS %d\n", c->threads);
}

/* NAME_run refuses a CPU without the ISA the kernels were generated for. */
void emit_cpu_check(Buf *b, const char *const *headers, int nheaders)
{
    const CpuTarget *c = codegen_cpu;
    if (!c || !c->feature[0] || !uses_header(headers, nheaders, "gemm")) return;
    buf_printf(b, "#if !defined(KILN_GENERIC) && (defined(__GNUC__) || defined(__clang__)) && "
                  "(defined(__x86_64__) || defined(__i386__))\n");
    buf_printf(b, "    if (!__builtin_cpu_supports(\"%s\")) return KILN_STATUS_UNSUPPORTED; /* --cpu=%s */\n#endif\n",
               c->feature, c->name);
}

/* What a module records of its target in NAME.h. */
void emit_cpu_header(Buf *h, const char *name)
{
    const CpuTarget *c = codegen_cpu;
    buf_printf(h, "#define %s_CPU \"%s\" /* --cpu the kernels were generated for */\n", name, c ? c->name : "none");
    buf_printf(h, "#define %s_THREADS %d /* --threads: > 1 needs rtlib's pool and -pthread */\n", name,
               c ? c->threads : 1);
}

/* True if v is a weight every user reads through a packed copy instead. */
bool value_only_packed(const Graph *g, const KernelCall *calls, const Value *v)
{
    if (v->kind != VAL_CONST || v->is_output || v->nusers == 0) return false;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (g->nodes[i]->in[k] == v && calls[i].packed_in != k + 1 && calls[i].packed_too != k + 1) return false;
    return true;
}

/* The packed weight of a node as pkID[]. */
void emit_packed(Buf *b, const Node *n, const KernelCall *kc)
{
    if (!kc->packed_in) return;
    buf_printf(b, "/* '");
    emit_comment(b, n->in[kc->packed_in - 1]->name);
    buf_printf(b, "' packed for %s */\nstatic const float pk%d[%lld] KILN_ALIGNED = {", kc->name, n->id,
               (long long)(kc->npacked ? kc->npacked : 1));
    for (int64_t i = 0; i < kc->npacked; i++) {
        buf_printf(b, "%s", i % 8 ? " " : "\n    ");
        emit_float_lit(b, kc->packed[i], true);
        buf_put(b, ",", 1);
    }
    buf_printf(b, "%s};\n", kc->npacked ? "\n" : "0");
}
