/**
 * `@rolegate/backstage-plugin-rolegate-backend`: add it to a Backstage
 * backend with `backend.add(import('@rolegate/backstage-plugin-rolegate-backend'))`.
 */
export { rolegatePlugin as default } from './plugin.js';
export { RolegateAccessClient } from './client.js';
export type { AccessRequestInput, RolegateAnswer, RolegateAccessClientOptions } from './client.js';
