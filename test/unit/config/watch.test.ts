/**
 * Hot reload watches exactly the files the config was read from: an
 * unrelated file beside the config (an audit log) never reloads it; an edit
 * of the config or of a referenced policy file does, as do an editor's
 * rename-over save and a Kubernetes ConfigMap's `..data` symlink swap.
 */
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { watchConfig, watchPoints, type ConfigWatcher } from '../../../src/config/watch.js';
import type { LoadedConfig } from '../../../src/config/compile.js';

const trustPolicy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRoleWithWebIdentity' }],
};
const role = (name: string, policies?: Record<string, unknown>) => ({
  name,
  trustPolicy,
  ...(policies ? { policies } : {}),
});
const policyFile = (action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  });

const DEBOUNCE_MS = 20;
/** Well past the debounce: long enough for a reload that was going to happen to happen. */
const QUIET_MS = 400;

function waitFor<T>(list: T[], n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (list.length >= n) resolve();
      else if (Date.now() - started > 5000) reject(new Error(`timed out waiting for ${n} events`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The names of the roles' identity policies. */
function policyNamesOf(config: LoadedConfig | undefined): string[] {
  return (config?.settings.roles ?? []).flatMap((r) => r.policies.map((p) => p.name));
}

let open: ConfigWatcher[] = [];
afterEach(() => {
  for (const w of open) w.close();
  open = [];
});

/** Starts watching `file` as rolegate does after its first load. */
function watchLoaded(file: string) {
  const loaded: LoadedConfig[] = [];
  const errors: Error[] = [];
  const initial = loadConfig(file);
  const watcher = watchConfig(
    file,
    { onReload: (c) => loaded.push(c), onReloadError: (e) => errors.push(e) },
    { debounceMs: DEBOUNCE_MS, files: initial.sources?.files ?? [] },
  );
  open.push(watcher);
  return { initial, loaded, errors, watcher };
}

function tempDir(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'rolegate-watch-')));
}

describe('watchConfig', () => {
  it('reloads a changed file and reports a bad change without swapping', async () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const { loaded, errors } = watchLoaded(file);
    writeFileSync(file, stringify({ roles: [role('a'), role('b')] }));
    await waitFor(loaded, 1);
    expect(loaded.at(-1)?.roles.map((r) => r.name)).toEqual(['a', 'b']);
    writeFileSync(file, 'roles: [');
    await waitFor(errors, 1);
    expect(errors[0]).toMatchObject({ code: 'ERR_CONFIG_SYNTAX' });
    expect(loaded).toHaveLength(1);
  });

  it('does not reload for an unrelated file written beside the config, such as the audit log', async () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ audit: { file: 'audit.log' }, roles: [role('a')] }));
    const { loaded, errors } = watchLoaded(file);
    // An audit record per request, a new file and a subdirectory's file.
    for (let i = 0; i < 20; i++) {
      appendFileSync(join(dir, 'audit.log'), `{"decision":"allow","n":${i}}\n`);
      await sleep(5);
    }
    writeFileSync(join(dir, 'notes.txt'), 'unrelated');
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'audit.log'), '{}\n');
    await sleep(QUIET_MS);
    expect(loaded).toHaveLength(0);
    expect(errors).toHaveLength(0);
    // Still watching: the config's own change reloads.
    writeFileSync(file, stringify({ audit: { file: 'audit.log' }, roles: [role('a'), role('b')] }));
    await waitFor(loaded, 1);
    expect(loaded[0]?.roles.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('reloads when a referenced policy file in another directory is edited', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'policies'));
    const policy = join(dir, 'policies', 'read.json');
    writeFileSync(policy, policyFile('orders:Get*'));
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(
      file,
      stringify({ roles: [role('a', { read: { file: 'policies/read.json' } })] }),
    );
    const { initial, loaded } = watchLoaded(file);
    expect(initial.sources?.files).toEqual([file, policy]);
    writeFileSync(join(dir, 'policies', 'unrelated.json'), policyFile('x:Y'));
    await sleep(QUIET_MS);
    expect(loaded).toHaveLength(0);
    writeFileSync(policy, policyFile('orders:*'));
    await waitFor(loaded, 1);
    expect(loaded[0]?.sources?.hash).not.toBe(initial.sources?.hash);
  });

  it('survives an editor saving by renaming a new file over the old one, again and again', async () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const { loaded } = watchLoaded(file);
    for (const names of [
      ['a', 'b'],
      ['a', 'b', 'c'],
    ]) {
      const tmp = join(dir, '.rolegate.yaml.swp');
      writeFileSync(tmp, stringify({ roles: names.map((n) => role(n)) }));
      renameSync(tmp, file);
      await waitFor(loaded, names.length - 1);
      expect(loaded.at(-1)?.roles.map((r) => r.name)).toEqual(names);
    }
  });

  it('follows a Kubernetes ConfigMap update: a new ..data symlink renamed over the old one', async () => {
    const dir = tempDir();
    /** Writes a timestamped generation the way the kubelet's atomic writer does. */
    const generation = (name: string, roles: string[], policyAction: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(
        join(dir, name, 'rolegate.yaml'),
        stringify({ roles: roles.map((n) => role(n, { read: { file: 'read.json' } })) }),
      );
      writeFileSync(join(dir, name, 'read.json'), policyFile(policyAction));
    };
    generation('..2026_11_30_06_00_00.000000001', ['a'], 'orders:Get*');
    symlinkSync('..2026_11_30_06_00_00.000000001', join(dir, '..data'));
    symlinkSync('..data/rolegate.yaml', join(dir, 'rolegate.yaml'));
    symlinkSync('..data/read.json', join(dir, 'read.json'));
    const file = join(dir, 'rolegate.yaml');
    const { initial, loaded, errors } = watchLoaded(file);
    expect(policyNamesOf(initial)).toEqual(['read']);

    const swap = (name: string) => {
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    };
    generation('..2026_11_30_06_01_00.000000002', ['a', 'b'], 'orders:*');
    swap('..2026_11_30_06_01_00.000000002');
    rmSync(join(dir, '..2026_11_30_06_00_00.000000001'), { recursive: true });
    await waitFor(loaded, 1);
    expect(loaded[0]?.roles.map((r) => r.name)).toEqual(['a', 'b']);
    expect(loaded[0]?.sources?.hash).not.toBe(initial.sources?.hash);

    // A second update after the watcher re-armed on the new generation.
    generation('..2026_11_30_06_02_00.000000003', ['c'], 'orders:*');
    swap('..2026_11_30_06_02_00.000000003');
    rmSync(join(dir, '..2026_11_30_06_01_00.000000002'), { recursive: true });
    await waitFor(loaded, 2);
    expect(loaded[1]?.roles.map((r) => r.name)).toEqual(['c']);
    expect(errors).toHaveLength(0);
  });

  it('watches a policy file the reloaded config newly references', async () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const { loaded } = watchLoaded(file);
    writeFileSync(join(dir, 'read.json'), policyFile('orders:Get*'));
    writeFileSync(file, stringify({ roles: [role('a', { read: { file: 'read.json' } })] }));
    await waitFor(loaded, 1);
    expect(loaded[0]?.sources?.files).toEqual([file, join(dir, 'read.json')]);
    writeFileSync(join(dir, 'read.json'), policyFile('orders:*'));
    await waitFor(loaded, 2);
    expect(loaded[1]?.sources?.hash).not.toBe(loaded[0]?.sources?.hash);
  });

  it('after a reload failed on a missing policy file, reloads once the file appears', async () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const { loaded, errors } = watchLoaded(file);
    writeFileSync(file, stringify({ roles: [role('a', { read: { file: 'read.json' } })] }));
    await waitFor(errors, 1);
    expect(errors[0]).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    expect(loaded).toHaveLength(0);
    writeFileSync(join(dir, 'read.json'), policyFile('orders:Get*'));
    await waitFor(loaded, 1);
    expect(policyNamesOf(loaded[0])).toEqual(['read']);
  });

  it('after a reload failed on a policy file in a missing directory, reloads once both appear', async () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const { loaded, errors } = watchLoaded(file);
    writeFileSync(file, stringify({ roles: [role('a', { read: { file: 'new/read.json' } })] }));
    await waitFor(errors, 1);
    // Written at once, before the watcher can have armed on the new directory.
    mkdirSync(join(dir, 'new'));
    writeFileSync(join(dir, 'new', 'read.json'), policyFile('orders:Get*'));
    await waitFor(loaded, 1);
    expect(loaded[0]?.sources?.files).toEqual([file, join(dir, 'new', 'read.json')]);
  });

  it('reload() loads now, reports, and throws what a failed load threw', () => {
    const dir = tempDir();
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const { loaded, errors, watcher } = watchLoaded(file);
    watcher.reload();
    expect(loaded).toHaveLength(1);
    writeFileSync(file, 'roles: [');
    expect(() => watcher.reload()).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_SYNTAX' }));
    expect(errors).toHaveLength(1);
  });
});

describe('watchPoints', () => {
  it('names the file, each symlink on its way and the file it resolves to', () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..2026_01'));
    writeFileSync(join(dir, '..2026_01', 'rolegate.yaml'), 'roles: []');
    symlinkSync('..2026_01', join(dir, '..data'));
    symlinkSync('..data/rolegate.yaml', join(dir, 'rolegate.yaml'));
    expect(watchPoints(join(dir, 'rolegate.yaml'))).toEqual([
      { dir, name: 'rolegate.yaml' },
      { dir, name: 'rolegate.yaml' },
      { dir, name: '..data' },
      { dir: join(dir, '..2026_01'), name: 'rolegate.yaml' },
    ]);
  });

  it('names only the file itself when no symlink is involved, even when it does not exist', () => {
    const dir = tempDir();
    expect(watchPoints(join(dir, 'missing.json'))).toEqual([{ dir, name: 'missing.json' }]);
  });

  it('names the first missing directory on the way in its parent', () => {
    const dir = tempDir();
    expect(watchPoints(join(dir, 'a', 'b', 'read.json'))).toEqual([
      { dir: join(dir, 'a', 'b'), name: 'read.json' },
      { dir, name: 'a' },
    ]);
  });
});
