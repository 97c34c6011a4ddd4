#ifndef WEIR_CSNAPPY_SHIM_H
#define WEIR_CSNAPPY_SHIM_H
#include <snappy-c.h>
#endif
