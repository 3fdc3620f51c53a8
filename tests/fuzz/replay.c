/* replay.c — runs a fuzz harness on saved inputs without libFuzzer, so the
 * inputs that once crashed a harness stay tests in every build (ninja test).
 *
 *   replay_T FILE|DIR ...     each file, or each file in each folder
 *
 * A crash or a sanitizer report ends the program; otherwise it prints how
 * many inputs ran and exits 0. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(buf, cap);
            if (!p) {
                fclose(f);
                free(buf);
                return 1;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int count = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue; /* no inputs kept yet */
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]);
            count++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (!dir) continue;
        char **names = NULL;
        size_t nnames = 0;
        for (struct dirent *e; (e = readdir(dir));) {
            if (e->d_name[0] == '.') continue;
            char **p = realloc(names, (nnames + 1) * sizeof *names);
            if (!p) break;
            names = p;
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[nnames] = malloc(len);
            if (names[nnames]) snprintf(names[nnames++], len, "%s/%s", argv[i], e->d_name);
        }
        closedir(dir);
        if (nnames) qsort(names, nnames, sizeof *names, by_name); /* a stable order, for reproducible logs */
        for (size_t k = 0; k < nnames; k++) {
            failed |= run_file(names[k]);
            count++;
            free(names[k]);
        }
        free(names);
    }
    printf("replay: %d inputs ran without a crash\n", count);
    return failed;
}
