/**
 * The one reload path of src/serve: a config follower reports each re-read
 * to the same two handlers, and the reload log records the outcome the same
 * way for a single process and a cluster primary (counter, gauges, one line
 * naming the file at fault and the generation that stays).
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../../../src/config/compile.js';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { followConfig } from '../../../src/serve/config-follower.js';
import { recordReloaded, recordReloadFailed } from '../../../src/serve/reload-log.js';
import { captureLogger } from '../../support/log-capture.js';
import { writeTempConfig } from '../../support/rolegate.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const config = (unmatchedRoutes: 'deny' | 'default') => ({ unmatchedRoutes, roles: [] });

async function metricValue(m: ReturnType<typeof createMetrics>, name: string, labels = '') {
  const text = await m.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('recordReloaded / recordReloadFailed', () => {
  it('counts a success, sets the config gauges and logs the new and previous hash', async () => {
    const metrics = createMetrics(false);
    const log = captureLogger();
    const loaded = loadConfig(writeTempConfig(config('deny')));
    recordReloaded(
      { logger: log.logger, metrics, configName: '/etc/r.yaml', now: () => NOW },
      loaded,
      'old',
    );
    expect(await metricValue(metrics, 'rolegate_config_reloads_total', '{result="success"}')).toBe(
      1,
    );
    expect(await metricValue(metrics, 'rolegate_config_last_reload_successful')).toBe(1);
    expect(
      await metricValue(metrics, 'rolegate_config_last_reload_success_timestamp_seconds'),
    ).toBe(NOW / 1000);
    expect(log.records()[0]).toMatchObject({
      msg: 'config reloaded',
      file: '/etc/r.yaml',
      hash: loaded.sources?.hash,
      previousHash: 'old',
    });
  });

  it('names the file at fault and the generation that stays when a reload fails', async () => {
    const metrics = createMetrics(false);
    const log = captureLogger();
    const err = new ConfigError('ERR_POLICY_SYNTAX', [
      { code: 'ERR_POLICY_SYNTAX', severity: 'error', message: 'bad JSON', file: '/etc/p.json' },
    ]);
    recordReloadFailed(
      { logger: log.logger, metrics, configName: '/etc/r.yaml', now: () => NOW },
      err,
      'kept',
    );
    expect(await metricValue(metrics, 'rolegate_config_reloads_total', '{result="failure"}')).toBe(
      1,
    );
    expect(await metricValue(metrics, 'rolegate_config_last_reload_successful')).toBe(0);
    expect(log.records()[0]).toMatchObject({
      msg: 'config reload failed; keeping the last good config',
      file: '/etc/p.json',
      code: 'ERR_POLICY_SYNTAX',
      hash: 'kept',
    });
  });

  it('names the config itself for an error that is not a ConfigError', () => {
    const log = captureLogger();
    const r = {
      logger: log.logger,
      metrics: createMetrics(false),
      configName: '/etc/r.yaml',
      now: () => NOW,
    };
    recordReloadFailed(r, new Error('disk gone'), 'kept', 'custom message');
    expect(log.records()[0]).toMatchObject({
      msg: 'custom message',
      file: '/etc/r.yaml',
      code: 'ERR_CONFIG_INVALID',
      problems: ['disk gone'],
    });
  });
});

describe('followConfig', () => {
  it('re-reads an unwatched file on reload() and reports the new generation', () => {
    const file = writeTempConfig(config('deny'));
    const initial = loadConfig(file);
    const seen: LoadedConfig[] = [];
    const follower = followConfig(
      { file },
      initial,
      { onReload: (c) => seen.push(c), onReloadError: () => undefined },
      false,
    );
    writeFileSync(file, stringify(config('default')));
    follower.reload();
    expect(seen.map((c) => c.settings.unmatchedRoutes)).toEqual(['default']);
    follower.close();
  });

  it('reports an invalid file to onReloadError and throws it; the caller keeps its generation', () => {
    const file = writeTempConfig(config('deny'));
    const initial = loadConfig(file);
    const errors: Error[] = [];
    const follower = followConfig(
      { file },
      initial,
      { onReload: () => undefined, onReloadError: (e) => errors.push(e) },
      false,
    );
    writeFileSync(file, 'unmatchedRoutes: [');
    expect(() => follower.reload()).toThrow(ConfigError);
    expect(errors.map((e) => (e as ConfigError).code)).toEqual(['ERR_CONFIG_SYNTAX']);
  });

  it('re-applies the same text for a config given on standard input', () => {
    const text = stringify(config('default'));
    const source = { file: '<stdin>', text };
    const seen: string[] = [];
    const follower = followConfig(source, loadConfig(source), {
      onReload: (c) => seen.push(c.settings.unmatchedRoutes),
      onReloadError: () => undefined,
    });
    follower.reload();
    expect(seen).toEqual(['default']);
  });
});
