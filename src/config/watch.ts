/**
 * Hot reload: watches exactly the files the config was read from (the
 * config file, its policy files, issuers' `jwksFile`) and swaps in a new
 * runtime config only when it loads cleanly. A bad change keeps the last
 * good config and is reported.
 *
 * Editors save by renaming a new file over the old one, and Kubernetes
 * updates a ConfigMap volume by renaming a new `..data` symlink over the old
 * one, so no watch is kept on a file itself: each directory holding a
 * watched file, or a symlink on the way to one, is watched (not
 * recursively), and only events naming those entries count. Even then a
 * reload happens only when a watched file's identity, size or times
 * changed, so other files in the same directories (an audit log written on
 * every request) never reload the config. The set is computed again after
 * every reload.
 */
import { lstatSync, readlinkSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { LoadedConfig } from './compile.js';
import { ConfigError, loadConfig } from './load.js';

/** What {@link watchConfig} reports after each load it makes. */
export interface ReloadEvents {
  /** A load succeeded: `config` should become active. */
  onReload(config: LoadedConfig): void;
  /** A load failed: the active config stays (`ConfigError` for a config problem). */
  onReloadError(error: ConfigError | Error): void;
}

/** A running watch; see {@link watchConfig}. */
export interface ConfigWatcher {
  /**
   * Reloads now, whether or not anything changed (SIGHUP): reports through
   * the events, watches the new set of files, then throws the error the
   * load failed with, if any.
   */
  reload(): void;
  /** Stops watching; a pending check is dropped. */
  close(): void;
}

/** Options of {@link watchConfig}. */
export interface WatchOptions {
  /** Quiet time after the last event before checking, in ms (one save emits several events). Default 100. */
  readonly debounceMs?: number;
  /**
   * The files the active config was read from (`LoadedConfig.sources.files`).
   * Default: the config file alone.
   */
  readonly files?: readonly string[];
}

/** Links followed per file before giving up (a loop, or a very deep chain). */
const MAX_LINKS = 32;

/**
 * The directory entries whose change can change what `file` reads: the
 * file's own entry, every symlink on the way to it (e.g. a ConfigMap's
 * `rolegate.yaml -> ..data/rolegate.yaml` and `..data -> ..2026_…`), the
 * entry of the file it finally resolves to, and, when a directory on the
 * way does not exist, its entry in the nearest parent that does.
 */
export function watchPoints(file: string): { dir: string; name: string }[] {
  const points = [{ dir: dirname(file), name: basename(file) }];
  let path = resolve(file);
  for (let links = 0; links < MAX_LINKS; links++) {
    const parts = path.split(sep);
    let link: { at: string; rest: string[] } | undefined;
    for (let i = 2; i <= parts.length && link === undefined; i++) {
      const prefix = parts.slice(0, i).join(sep);
      try {
        if (lstatSync(prefix).isSymbolicLink()) link = { at: prefix, rest: parts.slice(i) };
      } catch {
        // Does not exist (yet): its creation in the parent is what to wait for.
        if (i < parts.length) points.push({ dir: dirname(prefix), name: basename(prefix) });
        break;
      }
    }
    if (link === undefined) break;
    points.push({ dir: dirname(link.at), name: basename(link.at) });
    try {
      path = join(resolve(dirname(link.at), readlinkSync(link.at)), ...link.rest);
    } catch {
      break;
    }
  }
  const last = { dir: dirname(path), name: basename(path) };
  if (!points.some((p) => p.dir === last.dir && p.name === last.name)) points.push(last);
  return points;
}

/** What a file is now: where it resolves to, its inode, size and times; or that it is missing. */
function fingerprintOf(file: string): string {
  try {
    const real = realpathSync(file);
    const s = statSync(real, { bigint: true });
    return `${real}|${s.dev}|${s.ino}|${s.size}|${s.mtimeNs}|${s.ctimeNs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/**
 * Watches the config `file` and the files it references, reloading after a
 * change (see the module comment).
 */
export function watchConfig(
  file: string,
  events: ReloadEvents,
  options: WatchOptions = {},
): ConfigWatcher {
  const path = resolve(file);
  const debounceMs = options.debounceMs ?? 100;
  let files: readonly string[] = options.files ?? [path];
  let fingerprints = new Map(files.map((f) => [f, fingerprintOf(f)]));
  let watchers: FSWatcher[] = [];
  let armedKey = '';
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const arm = () => {
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      for (const { dir, name } of watchPoints(f)) {
        const names = byDir.get(dir) ?? new Set<string>();
        byDir.set(dir, names.add(name));
      }
    }
    const key = JSON.stringify([...byDir].map(([dir, names]) => [dir, [...names].sort()]).sort());
    if (key === armedKey) return;
    armedKey = key;
    for (const w of watchers) w.close();
    watchers = [];
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // No name (some platforms): cannot tell, so check.
          if (name === null || names.has(name.toString())) schedule();
        });
        // A watched directory that disappears (an old ConfigMap generation)
        // ends its watcher: arm afresh at the next check.
        w.on('error', () => {
          armedKey = '';
        });
        watchers.push(w);
      } catch {
        // A directory that does not exist (yet); a later reload arms it.
      }
    }
  };

  const load = (): unknown => {
    // Fingerprints taken before reading: a change during the load shows up at the next check.
    const before = new Map(files.map((f) => [f, fingerprintOf(f)]));
    let failure: unknown;
    try {
      const config = loadConfig(path);
      files = config.sources?.files ?? [path];
      events.onReload(config);
    } catch (err) {
      failure = err;
      // Keep watching the last good set, and whatever the failed load reached for.
      if (err instanceof ConfigError) files = [...new Set([...files, ...err.files])];
      events.onReloadError(err instanceof Error ? err : new Error(String(err)));
    }
    fingerprints = new Map(files.map((f) => [f, before.get(f) ?? fingerprintOf(f)]));
    if (!closed) arm();
    return failure;
  };

  const check = () => {
    timer = undefined;
    if (closed) return;
    // First follow a swapped symlink or a new directory, then compare: a file
    // written before its directory was watched is still seen.
    arm();
    if (files.some((f) => fingerprints.get(f) !== fingerprintOf(f))) load();
  };

  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
    timer.unref();
  };

  arm();
  return {
    reload() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      const failure = load();
      if (failure !== undefined) throw failure;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
      watchers = [];
    },
  };
}
