/* linalg.h — reference kernels of the linalg operators. */
#ifndef KILN_KERNELS_LINALG_H
#define KILN_KERNELS_LINALG_H
#include "common.h"

#endif
