/**
 * The `rolegate` frontend plugin: its API (the client of the backend plugin
 * with the same id) and the entity card. Add the card to an entity page:
 *
 * ```tsx
 * import { EntityRolegateAccessCard } from '@rolegate/backstage-plugin-rolegate';
 * <Grid item md={6}><EntityRolegateAccessCard /></Grid>
 * ```
 */
import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { RolegateClient, rolegateApiRef } from './api.js';

/** The plugin; its API factory needs only Backstage's discovery and fetch APIs. */
export const rolegatePlugin = createPlugin({
  id: 'rolegate',
  apis: [
    createApiFactory({
      api: rolegateApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) => new RolegateClient({ discoveryApi, fetchApi }),
    }),
  ],
});

/**
 * The entity card: the roles that reach the entity's routes, the viewer's
 * active grants, a request form and, for owners, pending requests with
 * Approve and Deny. Needs the entity in context (an entity page's
 * `EntityProvider`).
 */
export const EntityRolegateAccessCard = rolegatePlugin.provide(
  createComponentExtension({
    name: 'EntityRolegateAccessCard',
    component: {
      lazy: () => import('./components/AccessCard.js').then((m) => m.AccessCard),
    },
  }),
);
