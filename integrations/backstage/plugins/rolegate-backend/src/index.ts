/**
 * `@rolegate/backstage-plugin-rolegate-backend`: add it to a Backstage
 * backend with `backend.add(import('@rolegate/backstage-plugin-rolegate-backend'))`.
 */
export { rolegatePlugin as default } from './plugin.js';
export { RolegateAccessClient } from './client.js';
export type { AccessRequestInput, RolegateAnswer, RolegateAccessClientOptions } from './client.js';
export { entityRequests, reachingRoles } from './entity-requests.js';
export type { EntityRequests, Viewer } from './entity-requests.js';
