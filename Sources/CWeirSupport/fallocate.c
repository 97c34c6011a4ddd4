#define _GNU_SOURCE
#include <fcntl.h>
#include "CWeirSupport.h"

int weir_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}
