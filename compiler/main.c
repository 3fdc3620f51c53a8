/* main.c — the kiln driver (placeholder while the pipeline comes up). */
#include "kiln.h"
int main(void) { return 0; }
