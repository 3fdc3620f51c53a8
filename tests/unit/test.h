/* test.h — the smallest test harness: ASSERT records a failure and goes on;
 * TEST_MAIN prints "N passed, N failed" and sets the exit code. */
#ifndef KILN_TEST_H
#define KILN_TEST_H
#include <stdio.h>

static int test_passed, test_failed;

#define ASSERT(cond)                                                            \
    do {                                                                        \
        if (cond) test_passed++;                                                \
        else {                                                                  \
            test_failed++;                                                      \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

#define TEST_MAIN(...)                                                          \
    int main(void)                                                              \
    {                                                                           \
        void (*tests[])(void) = {__VA_ARGS__};                                  \
        for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tests[i]();   \
        printf("%s: %d passed, %d failed\n", __FILE__, test_passed, test_failed); \
        return test_failed != 0;                                                \
    }
#endif
