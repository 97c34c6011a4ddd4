#ifndef WEIR_CZLIB_SHIM_H
#define WEIR_CZLIB_SHIM_H
#include <zlib.h>
#endif
