/* elementwise.h — reference kernels of the elementwise operators. */
#ifndef KILN_KERNELS_ELEMENTWISE_H
#define KILN_KERNELS_ELEMENTWISE_H
#include "common.h"

#endif
