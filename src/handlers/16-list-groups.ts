/**
 * ListGroups (16), v0-5.
 *
 * Behavior: every group this broker coordinates, with its protocol type, state (v4+) and type
 * (v5+: "classic", or "consumer" for KIP-848 groups, whose protocol type is "consumer" and whose
 * states are Empty, Assigning, Reconciling, Stable). statesFilter and typesFilter (case-insensitive, empty = all) narrow the list.
 * Version notes: v3 flexible; v4 state filter; v5 type filter.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/16-list-groups.js';
import { defineHandler } from './registry.js';

export const listGroups = defineHandler(spec, {
  versions: [0, 5],
  handle(ctx, req) {
    const coordinator = ctx.groups;
    const states = (req.statesFilter ?? []).map((s) => s.toLowerCase());
    const types = (req.typesFilter ?? []).map((s) => s.toLowerCase());
    const groups = coordinator
      .groupIds()
      .map((groupId) => ({
        groupId,
        protocolType: coordinator.typeOf(groupId) === 'consumer' ? 'consumer' : (coordinator.classic.get(groupId)?.protocolType ?? ''),
        groupState: coordinator.stateOf(groupId),
        groupType: coordinator.typeOf(groupId),
      }))
      .filter((g) => states.length === 0 || states.includes(g.groupState.toLowerCase()))
      .filter((g) => types.length === 0 || types.includes(g.groupType));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  },
});
