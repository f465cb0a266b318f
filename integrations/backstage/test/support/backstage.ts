/**
 * A real Backstage backend for the integration tests, started with
 * Backstage's own test utilities (`startTestBackend`): the real auth plugin
 * (`@backstage/plugin-auth-backend`) with the guest sign-in provider, the
 * real auth, HTTP auth and user info services of `@backstage/backend-defaults`, and a
 * real PostgreSQL behind Backstage's database service. The root HTTP router
 * and discovery are the test utilities' own (a free port, announced as
 * `http://localhost:PORT`; `startTestBackend` owns the listener and binds
 * every interface, which the tests cannot change), and so are the services
 * the tests do not look at (logger, cache, scheduler...).
 *
 * Why PostgreSQL and not the SQLite Backstage's tests default to: the
 * `better-sqlite3` add-on is compiled at install time against the headers
 * of the Node on the machine, which is not the Node CI pins, and no other
 * header download is reachable here; `pg` is plain JavaScript, and the
 * repository's test bed already runs PostgreSQL.
 */
import type { BackendFeature, DatabaseService } from '@backstage/backend-plugin-api';
import {
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { DatabaseManager } from '@backstage/backend-defaults/database';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { userInfoServiceFactory } from '@backstage/backend-defaults/userInfo';
import type { JsonObject } from '@backstage/types';
// CommonJS packages: their default export is the `default` of module.exports.
import authBackend from '@backstage/plugin-auth-backend';
import guestProviderModule from '@backstage/plugin-auth-backend-module-guest-provider';
import { randomBytes } from 'node:crypto';
import type { PostgresPeer } from '../../../../test/harness/postgres.js';

/** Who the guest sign-in signs in as: the user entity and its ownership refs. */
export interface SignedInUser {
  readonly userEntityRef: string;
  readonly ownershipEntityRefs: readonly string[];
}

/** A running Backstage backend and what the tests ask of it. */
export interface BackstageBed {
  /** The backend's base URL, `http://localhost:PORT`. */
  readonly baseUrl: string;
  /** The auth plugin's issuer: `<baseUrl>/api/auth` (the `iss` of user tokens). */
  readonly issuer: string;
  /** Signs in through the guest provider and returns the Backstage user token it issues. */
  userToken(): Promise<string>;
  /**
   * Signs `user` in instead (the guest provider reads its config at each
   * sign-in) and returns their user token; later `userToken` calls sign
   * `user` in too.
   */
  userTokenOf(user: SignedInUser): Promise<string>;
  /** A plugin-to-plugin token minted by the `token-minter` plugin for `targetPluginId`. */
  pluginToken(targetPluginId: string): Promise<string>;
  /** The limited user token (the kind Backstage puts in cookies) of `userToken`'s user. */
  limitedUserToken(userToken: string): Promise<string>;
  /** Replaces top-level app-config sections, as a reloaded app-config file would. */
  updateConfig(sections: JsonObject): void;
  stop(): Promise<void>;
}

/** Options of {@link startBackstage}. */
export interface BackstageBedOptions {
  readonly database: PostgresPeer;
  readonly user: SignedInUser;
  /** More plugins or modules to run in the same backend (the rolegate plugin). */
  readonly features?: readonly BackendFeature[];
  /** More app-config, merged over the bed's own at the top level. */
  readonly config?: JsonObject;
}

/** The plugin that mints service tokens for the tests. */
const MINTER_ID = 'token-minter';

/**
 * A plugin that hands out the tokens Backstage's real auth service makes,
 * as any plugin gets them: `GET /token?target=ID` a service token for
 * calling plugin ID; `GET /limited-token` (as a signed-in user) the limited
 * user token Backstage derives from the caller's user token.
 */
const tokenMinter = createBackendPlugin({
  pluginId: MINTER_ID,
  register(env) {
    env.registerInit({
      deps: {
        auth: coreServices.auth,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
      },
      async init({ auth, httpAuth, httpRouter }) {
        httpRouter.addAuthPolicy({ path: '/token', allow: 'unauthenticated' });
        httpRouter.use(async (req, res, next) => {
          if (req.path === '/token') {
            const { token } = await auth.getPluginRequestToken({
              onBehalfOf: await auth.getOwnServiceCredentials(),
              targetPluginId: String(req.query['target'] ?? ''),
            });
            res.json({ token });
          } else if (req.path === '/limited-token') {
            const user = await httpAuth.credentials(req, { allow: ['user'] });
            res.json({ token: (await auth.getLimitedUserToken(user)).token });
          } else {
            next();
          }
        });
      },
    });
  },
});

type Knex = Awaited<ReturnType<DatabaseService['getClient']>>;

/**
 * Backstage's own database service (`DatabaseManager`), which also closes
 * each plugin's connection pool when that plugin shuts down. Why: in
 * backend-defaults 0.18.0 the root shutdown never destroys a PostgreSQL
 * pool (it calls `includes` on the knex config object, which throws inside
 * a `Promise.allSettled`), and the pools' timers would keep jest running.
 */
const databaseServiceFactory = createServiceFactory({
  service: coreServices.database,
  deps: {
    config: coreServices.rootConfig,
    rootLifecycle: coreServices.rootLifecycle,
    rootLogger: coreServices.rootLogger,
    lifecycle: coreServices.lifecycle,
    logger: coreServices.logger,
    pluginMetadata: coreServices.pluginMetadata,
  },
  createRootContext: ({ config, rootLifecycle, rootLogger }) =>
    DatabaseManager.fromConfig(config, { rootLifecycle, rootLogger }),
  factory({ lifecycle, logger, pluginMetadata }, manager): DatabaseService {
    const service = manager.forPlugin(pluginMetadata.getId(), { lifecycle, logger });
    let client: Promise<Knex> | undefined;
    lifecycle.addShutdownHook(async () => {
      if (client !== undefined) await (await client).destroy();
    });
    return { ...service, getClient: () => (client ??= service.getClient()) };
  },
});

/** The auth section: the guest provider signs in `user`. */
function authConfig(user: SignedInUser): JsonObject {
  return {
    // The default (true) leaves `ent` out of user tokens; rolegate's trust
    // policies read it, so the bed keeps it, as docs/backstage.md says.
    omitIdentityTokenOwnershipClaim: false,
    providers: {
      guest: {
        userEntityRef: user.userEntityRef,
        ownershipEntityRefs: [...user.ownershipEntityRefs],
        dangerouslyAllowOutsideDevelopment: true,
      },
    },
  };
}

/** The app-config of the bed: PostgreSQL, the guest provider signing in `options.user`. */
function bedConfig(options: BackstageBedOptions): JsonObject {
  const db = new URL(options.database.url());
  return {
    // Only read for redirects after a popup sign-in, which the tests never do.
    app: { baseUrl: 'http://localhost:3000' },
    backend: {
      database: {
        client: 'pg',
        connection: { host: db.hostname, port: Number(db.port), user: db.username },
        // One database per backend start: repeated starts never share keys.
        prefix: `bs_${randomBytes(4).toString('hex')}_`,
      },
    },
    auth: authConfig(options.user),
    ...options.config,
  };
}

/**
 * A test backend on a free port with the services every bed shares: the
 * given root config (so a test can update it, as a reloaded app-config
 * file would), PostgreSQL, and the real auth and HTTP auth services;
 * `features` add the plugins under test.
 */
export async function startBedBackend(
  rootConfig: ReturnType<typeof mockServices.rootConfig>,
  features: readonly BackendFeature[],
): Promise<{ backend: Awaited<ReturnType<typeof startTestBackend>>; baseUrl: string }> {
  const backend = await startTestBackend({
    features: [
      createServiceFactory({
        service: coreServices.rootConfig,
        deps: {},
        factory: () => rootConfig,
      }),
      databaseServiceFactory,
      authServiceFactory,
      httpAuthServiceFactory,
      ...features,
    ],
  });
  return { backend, baseUrl: `http://localhost:${backend.server.port()}` };
}

/** Starts the backend on a free port; throws with Backstage's error when it cannot. */
export async function startBackstage(options: BackstageBedOptions): Promise<BackstageBed> {
  let data = bedConfig(options);
  // Backstage's observable root config, which plugins subscribe to for reloads.
  const rootConfig = mockServices.rootConfig({ data });
  const { backend, baseUrl } = await startBedBackend(rootConfig, [
    userInfoServiceFactory,
    authBackend.default,
    guestProviderModule.default,
    tokenMinter,
    ...(options.features ?? []),
  ]);
  return {
    baseUrl,
    issuer: `${baseUrl}/api/auth`,
    userToken: () => guestSignIn(baseUrl),
    userTokenOf: (user) => {
      data = { ...data, auth: authConfig(user) };
      rootConfig.update({ data });
      return guestSignIn(baseUrl);
    },
    limitedUserToken: async (userToken) => {
      const body = await getJson(`${baseUrl}/api/${MINTER_ID}/limited-token`, {
        authorization: `Bearer ${userToken}`,
      });
      return String(body['token']);
    },
    pluginToken: async (target) => {
      const body = await getJson(`${baseUrl}/api/${MINTER_ID}/token?target=${target}`, {});
      return String(body['token']);
    },
    updateConfig: (sections) => {
      data = { ...data, ...sections };
      rootConfig.update({ data });
    },
    stop: () => backend.stop(),
  };
}

/** The guest provider's refresh call, as Backstage's frontend makes it on sign-in. */
async function guestSignIn(baseUrl: string): Promise<string> {
  const body = await getJson(`${baseUrl}/api/auth/guest/refresh`, {
    'x-requested-with': 'XMLHttpRequest',
  });
  const identity = body['backstageIdentity'] as { token?: unknown } | undefined;
  if (typeof identity?.token !== 'string') {
    throw new Error(`guest sign-in answered without a token: ${JSON.stringify(body)}`);
  }
  return identity.token;
}

/** GET `url` and its JSON object body; throws with status and body otherwise. */
export async function getJson(
  url: string,
  headers: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}
