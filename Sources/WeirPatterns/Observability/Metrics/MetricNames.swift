/// The metric names Weir's instrumentation records through swift-metrics (and so, with
/// `PrometheusExporter`, the names of the Prometheus exposition). Dimensions are `topic`,
/// `partition`, `group` and, for errors, `code`.
public enum WeirMetricNames {
    /// Counter: records acknowledged by the broker or log, per `topic`.
    public static let producedRecords = "weir_producer_records_total"
    /// Counter: sends that failed, per `topic` and error `code`.
    public static let produceErrors = "weir_producer_errors_total"
    /// Timer: send-to-acknowledgement time, per `topic`.
    public static let produceDuration = "weir_producer_send_duration_seconds"
    /// Counter: records returned by `poll`, per `topic`, `partition`, `group`.
    public static let consumedRecords = "weir_consumer_records_total"
    /// Counter: failed polls and commits, per `group` and `code`.
    public static let consumeErrors = "weir_consumer_errors_total"
    /// Counter: records whose handler threw, per `topic`, `partition`, `group`.
    public static let processingErrors = "weir_consumer_processing_errors_total"
    /// Timer: handler time per record, per `topic`, `partition`, `group`.
    public static let processingDuration = "weir_consumer_processing_duration_seconds"
    /// Gauge: high-water mark − committed offset, per `group`, `topic`, `partition`.
    public static let consumerLag = "weir_consumer_lag"
    /// Gauge: the sum of a group's partition lags, per `group`.
    public static let consumerGroupLag = "weir_consumer_group_lag"
}
