/* options.c — command-line options kiln compile, run and inspect share. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

/* The NAME of a NAME=VALUE option, as a string that lives until exit (freed
 * then, so sanitized builds report no leaks). */
static char *owned[2 * MAX_BINDINGS + 256];
static int nowned;

static void free_owned(void)
{
    while (nowned > 0) free(owned[--nowned]);
}

const char *option_name(const char *text, size_t len)
{
    if (nowned == (int)(sizeof owned / sizeof *owned)) return NULL;
    if (nowned == 0) atexit(free_owned);
    return owned[nowned++] = strndup(text, len);
}

/* Options kiln compile and kiln run share; returns 1 if argv[*i] was one (and consumed). */
int parse_common_option(int argc, char **argv, int *i, CompileOptions *o, Diag *d)
{
    const char *a = argv[*i];
    const char *val = NULL;
#define TAKES(flag) (strcmp(a, flag) == 0 ? (*i + 1 < argc ? (val = argv[++*i], 1) : (diag_error(d, ST_USAGE, NULL, "%s needs a value", flag), 1)) : \
                     strncmp(a, flag "=", sizeof(flag)) == 0 ? (val = a + sizeof(flag), 1) : 0)
    if (TAKES("--name")) o->name = val;
    else if (TAKES("--target")) o->target = val;
    else if (TAKES("--dump-ir-after")) o->dump_after = val;
    else if (strcmp(a, "--dump-ir") == 0) o->dump_ir = true;
    else if (strcmp(a, "--verify-each") == 0) o->verify_each = true;
    else if (strcmp(a, "--time-passes") == 0) o->time_passes = true;
    else if (strcmp(a, "-O0") == 0 || strcmp(a, "-O1") == 0 || strcmp(a, "-O2") == 0) o->level = a[2] - '0';
    else if (TAKES("--passes")) o->pass_list = val;
    else if (TAKES("--max-memory")) {
        if (val && !parse_size(val, &kiln_limits.max_memory))
            return diag_error(d, ST_USAGE, NULL, "--max-memory takes a size such as 4G, 512M or 1000000"), 1;
    } else if (strcmp(a, "--allow-absolute-paths") == 0) kiln_limits.allow_absolute_paths = true;
    else if (strcmp(a, "--checked") == 0) o->checked = true;
    else if (strcmp(a, "--cuda-graph") == 0) o->cuda_graph = true;
    else if (TAKES("--cuda-arch")) {
        char *end;
        o->cuda_arch = val ? (int)strtol(val, &end, 10) : 0;
        if (!val || *end || o->cuda_arch < 50 || o->cuda_arch > 200)
            return diag_error(d, ST_USAGE, NULL, "--cuda-arch takes a compute capability times ten, such as 90"), 1;
    }
    else if (TAKES("--cpu")) o->cpu = val;
    else if (TAKES("--threads")) {
        char *end;
        o->threads = val ? (int)strtol(val, &end, 10) : 1;
        if (val && (*end || o->threads < 1)) return diag_error(d, ST_USAGE, NULL, "--threads takes a positive count"), 1;
    }
    else if (TAKES("--dim")) {
        const char *eq = val ? strchr(val, '=') : NULL;
        char *end;
        if (!eq || o->ndim == MAX_BINDINGS) return diag_error(d, ST_USAGE, NULL, "--dim takes NAME=VALUE"), 1;
        o->dim[o->ndim].name = option_name(val, (size_t)(eq - val));
        o->dim[o->ndim].value = strtoll(eq + 1, &end, 10);
        if (*end || o->dim[o->ndim].value <= 0) return diag_error(d, ST_USAGE, NULL, "--dim %s: VALUE must be a positive integer", val), 1;
        o->ndim++;
    } else if (TAKES("--bind")) {
        const char *eq = val ? strchr(val, '=') : NULL;
        if (!eq || o->nbind == MAX_BINDINGS) return diag_error(d, ST_USAGE, NULL, "--bind takes NAME=FILE.npy"), 1;
        o->bind[o->nbind].name = option_name(val, (size_t)(eq - val));
        o->bind[o->nbind].file = eq + 1;
        o->nbind++;
    } else return 0;
#undef TAKES
    return 1;
}

static bool is_identifier(const char *s)
{
    if (!s[0] || (s[0] >= '0' && s[0] <= '9')) return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z'))) return false;
    return true;
}

Status check_options(const CompileOptions *o, Diag *d)
{
    if (!o->model) return diag_error(d, ST_USAGE, NULL, "no model given");
    if (strcmp(o->target, "c") != 0 && strcmp(o->target, "cuda") != 0)
        return diag_error(d, ST_USAGE, NULL, "--target %s: unknown target (this build has: c, cuda)", o->target);
    if (!is_identifier(o->name)) return diag_error(d, ST_USAGE, NULL, "--name %s: must be a C identifier", o->name);
    return cpu_select(o->cpu, o->threads ? o->threads : 1, d);  /* the C target's kernels */
}

