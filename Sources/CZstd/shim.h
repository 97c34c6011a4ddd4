#ifndef WEIR_CZSTD_SHIM_H
#define WEIR_CZSTD_SHIM_H
#include <zstd.h>
#include <zstd_errors.h>
#endif
