/* cmd_inspect.c — kiln inspect: what kiln makes of a model. */
#include <string.h>

#include "kiln.h"

int cmd_inspect(int argc, char **argv)
{
    CompileOptions o = {.name = "model", .target = "c", .level = 2};
    Diag d = {0};
    for (int i = 0; i < argc && !d.status; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: kiln inspect MODEL [--dim NAME=VALUE] [--bind NAME=FILE.npy]\n\n"
                 "Print the optimised IR (ops, shapes, workspace offsets) and a summary.");
            return 0;
        }
        if (parse_common_option(argc, argv, &i, &o, &d)) continue;
        if (argv[i][0] == '-') diag_error(&d, ST_USAGE, NULL, "unknown option '%s'", argv[i]);
        else o.model = argv[i];
    }
    if (d.status || check_options(&o, &d)) return report("kiln inspect", &d), ST_USAGE;
    Graph *g = NULL;
    if (load_model(o.model, &g, &d) || specialise_inputs(g, &o, &d) || run_pipeline(g, &o, &d)) {
        graph_free(g);
        return report(o.model, &d);
    }
    graph_print(g, stdout);
    int counts[OP_COUNT_] = {0};
    size_t weights = 0;
    for (int i = 0; i < g->nnodes; i++) counts[g->nodes[i]->op]++;
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->kind == VAL_CONST) weights += value_bytes(g->values[i]);
    printf("\n%d nodes, %zu bytes of weights, %lld bytes of workspace\n", g->nnodes, weights, (long long)g->workspace_size);
    for (int op = 0; op < OP_COUNT_; op++)
        if (counts[op]) printf("  %-24s %d\n", op_info[op].name, counts[op]);
    graph_free(g);
    return 0;
}
