// librdkafka (Debian's librdkafka-dev, 2.0.2): the C client and its in-process mock cluster.
#ifndef WEIR_CRDKAFKA_SHIM_H
#define WEIR_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// `rd_kafka_producev` with a topic handle, partition, flags, value, key, timestamp, headers and
/// the per-message opaque: Swift cannot call the variadic function itself.
///
/// `value` NULL is a null value (a tombstone); `key` NULL is a null key; `timestamp` 0 means
/// the current time; `headers` may be NULL. On success librdkafka owns `headers`; on failure
/// the caller still owns them and must destroy them (`rd_kafka_headers_destroy`).
static inline rd_kafka_resp_err_t weir_rd_kafka_producev(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
                                                         int msgflags, const void *value, size_t value_len,
                                                         const void *key, size_t key_len, int64_t timestamp,
                                                         rd_kafka_headers_t *headers, void *opaque) {
    if (headers != NULL) {
        return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_MSGFLAGS(msgflags), RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_TIMESTAMP(timestamp),
                                 RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(msgflags), RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_TIMESTAMP(timestamp),
                             RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}
#endif
