/**
 * The rolegate backend plugin (Backstage's new backend system). Reads
 * `rolegate.accessUrl` (required; read at each call, so a reloaded
 * app-config applies at once) and `rolegate.timeoutMs` (default 5000,
 * read at start) from app-config; see docs/backstage.md.
 */
import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { RolegateAccessClient } from './client.js';
import { createRouter } from './router.js';

/**
 * `rolegate`: the viewer's grants and access requests, approvals, and the
 * roles that reach an entity, asked of rolegate with the viewer's token.
 */
export const rolegatePlugin = createBackendPlugin({
  pluginId: 'rolegate',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        logger: coreServices.logger,
        userInfo: coreServices.userInfo,
      },
      async init({ config, httpAuth, httpRouter, logger, userInfo }) {
        // Fails the plugin's start, not its first call, when the URL is not configured.
        config.getString('rolegate.accessUrl');
        const timeoutMs = config.getOptionalNumber('rolegate.timeoutMs');
        const client = new RolegateAccessClient({
          accessUrl: () => config.getString('rolegate.accessUrl'),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        });
        httpRouter.use(createRouter({ client, httpAuth, userInfo, logger }));
      },
    });
  },
});
