/* reduce.h — reference kernels of the reduce operators. */
#ifndef KILN_KERNELS_REDUCE_H
#define KILN_KERNELS_REDUCE_H
#include "common.h"

#endif
