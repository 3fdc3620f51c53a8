/* main.c — the kiln command: subcommand dispatch. */
#include <string.h>

#include "kiln.h"

static const char usage[] =
    "usage: kiln <command> [options]\n"
    "\n"
    "  kiln compile MODEL -o OUTDIR [--target c] [--name NAME]   write NAME.c and NAME.h\n"
    "  kiln run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--bench N]\n"
    "  kiln inspect MODEL                                        ops, shapes and memory plan\n"
    "  kiln --version\n"
    "\n"
    "Run 'kiln COMMAND --help' for a command's options.\n"
    "Exit codes: 0 success, 1 a problem with the input, 2 bad command line, 3 internal error.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? ST_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("kiln %s\n", KILN_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "compile") == 0) return cmd_compile(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "inspect") == 0) return cmd_inspect(argc - 2, argv + 2);
    fprintf(stderr, "kiln: unknown command '%s'\n\n%s", argv[1], usage);
    return ST_USAGE;
}
