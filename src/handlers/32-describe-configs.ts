/**
 * DescribeConfigs (32), v1-4.
 *
 * Behavior: TOPIC (2) resources list every topic key franz knows with its effective value and source
 * (DYNAMIC_TOPIC_CONFIG 1 for an override, STATIC_BROKER_CONFIG 4 when a broker key provides it,
 * DEFAULT_CONFIG 5 otherwise); an illegal name is INVALID_TOPIC_EXCEPTION and an unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION. BROKER (4) resources named by this node's id list every broker key,
 * all read-only (franz has no dynamic broker configs); the name "" (cluster-wide dynamic defaults)
 * answers an empty list, as Kafka does when none are set; any other name is INVALID_REQUEST.
 * BROKER_LOGGER (8) for this node answers an empty list (franz has no log4j loggers). Other
 * resource types are INVALID_REQUEST. configurationKeys null or empty means every key; unknown keys
 * are left out. Kafka Connect reads `cleanup.policy` here and kafka-ui marks a cluster offline when
 * this fails, so errors are per resource and never fail the request.
 * Synonyms (v1+, includeSynonyms) and their order are described in config-resources.ts.
 * Version notes: v1 adds synonyms and configSource (v0 is not served, like Kafka 4); v3 adds
 * configType and documentation (includeDocumentation; our own short texts); v4 is flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Message } from '../protocol/codec.js';
import { invalidTopicName } from '../metadata/topics.js';
import { ResourceType, brokerConfigEntries, checkBrokerName, topicConfigEntries, type DescribeOptions } from './config-resources.js';
import type { Handler } from './registry.js';
import type { Broker } from '../broker.js';

interface Resource {
  resourceType: number;
  resourceName: string;
  configurationKeys: string[] | null;
}

function describe(broker: Broker, r: Resource, opts: DescribeOptions): { errorCode: number; errorMessage: string | null; configs: Message[] } {
  const fail = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, configs: [] });
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const bad = invalidTopicName(r.resourceName);
      if (bad !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
      const t = broker.topics.get(r.resourceName);
      if (t === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
      return { errorCode: ErrorCode.NONE, errorMessage: null, configs: topicConfigEntries(broker, t, opts) };
    }
    case ResourceType.BROKER: {
      const bad = checkBrokerName(broker, r.resourceName, true);
      if (bad !== null) return fail(ErrorCode.INVALID_REQUEST, bad);
      if (r.resourceName === '') return { errorCode: ErrorCode.NONE, errorMessage: null, configs: [] };
      return { errorCode: ErrorCode.NONE, errorMessage: null, configs: brokerConfigEntries(broker, opts) };
    }
    case ResourceType.BROKER_LOGGER: {
      if (r.resourceName === '') return fail(ErrorCode.INVALID_REQUEST, 'Broker id must not be empty');
      const bad = checkBrokerName(broker, r.resourceName, false);
      if (bad !== null) return fail(ErrorCode.INVALID_REQUEST, bad);
      return { errorCode: ErrorCode.NONE, errorMessage: null, configs: [] };
    }
    default:
      return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`);
  }
}

export const describeConfigs: Handler = {
  apiKey: 32,
  versions: [1, 4],
  handle(ctx, req) {
    const results = (req.resources as Resource[]).map((r) => {
      const opts: DescribeOptions = {
        keys: r.configurationKeys,
        synonyms: req.includeSynonyms === true,
        documentation: req.includeDocumentation === true,
      };
      return { resourceType: r.resourceType, resourceName: r.resourceName, ...describe(ctx.broker, r, opts) };
    });
    return { throttleTimeMs: 0, results };
  },
};
