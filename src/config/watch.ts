/**
 * Hot reload: watches the config file (and its directory, since editors and
 * Kubernetes ConfigMaps replace files rather than write them in place) and
 * swaps in a new runtime config only when it loads cleanly. A bad change
 * keeps the last good config and is reported.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RuntimeConfig } from './compile.js';
import type { ConfigError } from './load.js';
import { loadConfig } from './load.js';

export interface ReloadEvents {
  onReload(config: RuntimeConfig): void;
  onReloadError(error: ConfigError | Error): void;
}

export interface ConfigWatcher {
  /** Reloads now (also used for SIGHUP). */
  reload(): void;
  close(): void;
}

/**
 * Watches `file`. Events are debounced (default 100 ms) because one save can
 * emit several file-system events.
 */
export function watchConfig(file: string, events: ReloadEvents, debounceMs = 100): ConfigWatcher {
  const path = resolve(file);
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    try {
      events.onReload(loadConfig(path));
    } catch (err) {
      events.onReloadError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
    timer.unref();
  };
  let watcher: FSWatcher | undefined;
  try {
    // Recursive: policy files referenced from the config usually live beside it.
    watcher = watch(dirname(path), { persistent: false, recursive: true }, schedule);
  } catch {
    watcher = undefined;
  }
  return {
    reload,
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
