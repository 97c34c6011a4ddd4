// librdkafka (Debian's librdkafka-dev, 2.0.2): the C client and its in-process mock cluster.
#ifndef WEIR_CRDKAFKA_SHIM_H
#define WEIR_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
