/**
 * Follows the config source: watches the config file and the files it
 * references (when there is a file to watch), and re-reads it on demand
 * (SIGHUP, `reload()`). Either way the outcome reaches the same two
 * handlers, so a single process and a cluster primary reload alike.
 */
import { loadConfig, type ConfigSource } from '../config/load.js';
import type { LoadedConfig } from '../config/compile.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';

/** What a follower reports. */
export interface ReloadHandlers {
  onReload(loaded: LoadedConfig): void;
  onReloadError(err: Error): void;
}

/** A followed config source. */
export interface ConfigFollower {
  /** Re-reads the source now; throws the error `onReloadError` was given (the old generation stays). */
  reload(): void;
  close(): void;
}

/**
 * Follows `source`, whose first generation is `initial`. Watches only a
 * file (not text from standard input) and only when `watch` (default true).
 */
export function followConfig(
  source: ConfigSource,
  initial: LoadedConfig,
  handlers: ReloadHandlers,
  watch = true,
): ConfigFollower {
  const watcher: ConfigWatcher | undefined =
    watch && source.text === undefined
      ? watchConfig(source.file, handlers, initial.sources ? { files: initial.sources.files } : {})
      : undefined;
  return {
    reload() {
      // The watcher also re-arms on the files the new config references.
      if (watcher) return watcher.reload();
      let loaded: LoadedConfig;
      try {
        loaded = loadConfig(source);
      } catch (err) {
        handlers.onReloadError(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
      handlers.onReload(loaded);
    },
    close: () => watcher?.close(),
  };
}
