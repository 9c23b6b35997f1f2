/**
 * Numbers Kafka's protocol gives meaning to outside the message descriptions, named once for the
 * broker and the client alike.
 */

/** Kafka's ConfigResource.Type ids. */
export const ResourceType = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;

/** Kafka's DescribeConfigsResponse.ConfigSource ids (int8 on the wire). */
export const ConfigSourceId = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
} as const;

/** Kafka's DescribeConfigsResponse.ConfigType ids (int8 on the wire, DescribeConfigs v3+). */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;

/** ListOffsets timestamps with a special meaning. */
export const ListOffsetsTimestamp = {
  /** The high watermark (the last stable offset for read_committed). */
  LATEST: -1,
  /** The log start offset. */
  EARLIEST: -2,
  /** The record with the largest timestamp (v7+). */
  MAX_TIMESTAMP: -3,
  /** The first offset on local storage (v8+; franz has no tiered storage, so the log start). */
  EARLIEST_LOCAL: -4,
} as const;

/** FindCoordinator key types. */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;
