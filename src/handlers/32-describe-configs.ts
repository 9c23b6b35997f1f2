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
import { invalidTopicName } from '../metadata/topics.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/32-describe-configs.js';
import type { DecodedRequest, Elem } from '../protocol/schema.js';
import {
  ResourceType,
  brokerConfigEntries,
  checkBrokerName,
  topicConfigEntries,
  type ConfigEntryBody,
  type ConfigServices,
  type DescribeOptions,
} from './config-resources.js';
import { defineHandler } from './registry.js';

type Resource = Elem<DecodedRequest<typeof spec>['resources']>;

function describe(
  services: ConfigServices,
  r: Resource,
  opts: DescribeOptions,
): { errorCode: number; errorMessage: string | null; configs: ConfigEntryBody[] } {
  const fail = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, configs: [] });
  const nodeId = services.cluster.nodeId;
  switch (r.resourceType) {
    case ResourceType.TOPIC: {
      const bad = invalidTopicName(r.resourceName);
      if (bad !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
      const t = services.topics.get(r.resourceName);
      if (t === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
      return { errorCode: ErrorCode.NONE, errorMessage: null, configs: topicConfigEntries(services, t, opts) };
    }
    case ResourceType.BROKER: {
      const bad = checkBrokerName(nodeId, r.resourceName, true);
      if (bad !== null) return fail(ErrorCode.INVALID_REQUEST, bad);
      if (r.resourceName === '') return { errorCode: ErrorCode.NONE, errorMessage: null, configs: [] };
      return { errorCode: ErrorCode.NONE, errorMessage: null, configs: brokerConfigEntries(services, opts) };
    }
    case ResourceType.BROKER_LOGGER: {
      if (r.resourceName === '') return fail(ErrorCode.INVALID_REQUEST, 'Broker id must not be empty');
      const bad = checkBrokerName(nodeId, r.resourceName, false);
      if (bad !== null) return fail(ErrorCode.INVALID_REQUEST, bad);
      return { errorCode: ErrorCode.NONE, errorMessage: null, configs: [] };
    }
    default:
      return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`);
  }
}

export const describeConfigs = defineHandler(spec, {
  versions: [1, 4],
  handle(ctx, req) {
    const results = req.resources.map((r) => {
      const opts: DescribeOptions = {
        keys: r.configurationKeys,
        synonyms: req.includeSynonyms,
        documentation: req.includeDocumentation,
      };
      return { resourceType: r.resourceType, resourceName: r.resourceName, ...describe(ctx, r, opts) };
    });
    return { throttleTimeMs: 0, results };
  },
});
