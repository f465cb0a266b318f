/**
 * `@rolegate/backstage-plugin-rolegate`: the entity card of rolegate's
 * just-in-time access, talking to `@rolegate/backstage-plugin-rolegate-backend`.
 */
export { rolegatePlugin, EntityRolegateAccessCard } from './plugin.js';
export { RolegateApiError, RolegateClient, rolegateApiRef } from './api.js';
export type {
  AccessRequest,
  AccessRequestInput,
  EntityAccessRequest,
  EntityReach,
  EntityRequests,
  Grant,
  Reach,
  ReachRoute,
  RolegateApi,
} from './api.js';
