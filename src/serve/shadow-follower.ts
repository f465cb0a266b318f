/**
 * Shadow mode (docs/safe-changes.md): the candidate config named by the
 * live config's `shadow.config`, loaded and hot reloaded on its own. A
 * broken candidate is logged and never stops or changes the live service.
 */
import { resolve as resolvePath } from 'node:path';
import type { ShadowCandidate } from '../check/handler.js';
import type { LoadedConfig } from '../config/compile.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';
import type { Logger } from '../observe/logger.js';

/** The shadow candidate of the live generation, if it names one. */
export interface ShadowFollower {
  /** Follows the candidate `live` names (relative to `baseDir`); a no-op when it is unchanged. */
  follow(live: LoadedConfig): void;
  /** The last candidate that loaded. */
  candidate(): ShadowCandidate | undefined;
  close(): void;
}

interface Followed {
  readonly file: string;
  candidate?: ShadowCandidate;
  watcher?: ConfigWatcher;
}

/** A follower of shadow candidates; `watch` (default true) hot reloads the candidate file. */
export function createShadowFollower(
  baseDir: string,
  logger: Logger,
  watch = true,
): ShadowFollower {
  let followed: Followed | undefined;

  const applied = (state: Followed) => (loaded: LoadedConfig) => {
    state.candidate = {
      compiled: loaded,
      ...(loaded.sources?.hash === undefined ? {} : { hash: loaded.sources.hash }),
    };
    logger.info({ file: state.file, hash: loaded.sources?.hash }, 'shadow candidate loaded');
  };
  const failed = (state: Followed) => (err: Error) => {
    logger.error(
      {
        file: state.file,
        code: err instanceof ConfigError ? err.code : 'ERR_CONFIG_INVALID',
        problems: err instanceof ConfigError ? err.problems : [err.message],
        hash: state.candidate?.hash,
      },
      'shadow candidate invalid; keeping the last good candidate',
    );
  };

  return {
    follow(live) {
      const rel = live.settings.shadow.config;
      const file = rel === undefined ? undefined : resolvePath(baseDir, rel);
      if (file === followed?.file) return;
      followed?.watcher?.close();
      followed = undefined;
      if (file === undefined) return;
      const state: Followed = { file };
      followed = state;
      try {
        applied(state)(loadConfig(file));
      } catch (err) {
        failed(state)(err instanceof Error ? err : new Error(String(err)));
      }
      if (watch) {
        state.watcher = watchConfig(file, {
          onReload: applied(state),
          onReloadError: failed(state),
        });
      }
    },
    candidate: () => followed?.candidate,
    close: () => followed?.watcher?.close(),
  };
}
