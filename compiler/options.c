/* options.c — command-line options kiln compile, run and inspect share. */
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

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
    else if (TAKES("--dim")) {
        const char *eq = val ? strchr(val, '=') : NULL;
        char *end;
        if (!eq || o->ndim == MAX_BINDINGS) return diag_error(d, ST_USAGE, NULL, "--dim takes NAME=VALUE"), 1;
        o->dim[o->ndim].name = strndup(val, (size_t)(eq - val));
        o->dim[o->ndim].value = strtoll(eq + 1, &end, 10);
        if (*end || o->dim[o->ndim].value <= 0) return diag_error(d, ST_USAGE, NULL, "--dim %s: VALUE must be a positive integer", val), 1;
        o->ndim++;
    } else if (TAKES("--bind")) {
        const char *eq = val ? strchr(val, '=') : NULL;
        if (!eq || o->nbind == MAX_BINDINGS) return diag_error(d, ST_USAGE, NULL, "--bind takes NAME=FILE.npy"), 1;
        o->bind[o->nbind].name = strndup(val, (size_t)(eq - val));
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
    if (strcmp(o->target, "c") != 0)
        return diag_error(d, ST_USAGE, NULL, "--target %s: unknown target (this build has: c)", o->target);
    if (!is_identifier(o->name)) return diag_error(d, ST_USAGE, NULL, "--name %s: must be a C identifier", o->name);
    return ST_OK;
}

