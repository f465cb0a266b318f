import { describe, expect, it } from '@jest/globals';
import { Registry, Counter } from 'prom-client';
import { startAdminServer } from '../../../src/transport/http/admin.js';

describe('admin server', () => {
  it('serves /healthz, /readyz (following readiness) and /metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'rolegate_test_total', help: 'test', registers: [registry] }).inc(3);
    let ready = true;
    const admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      ready: () => ready,
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${admin.port}${path}`);
    try {
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/readyz')).status).toBe(200);
      ready = false;
      expect((await get('/readyz')).status).toBe(503);
      expect((await get('/healthz')).status).toBe(200);
      const metrics = await get('/metrics');
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(await metrics.text()).toContain('rolegate_test_total 3');
      expect((await get('/nope')).status).toBe(404);
      expect(
        (await fetch(`http://127.0.0.1:${admin.port}/healthz`, { method: 'POST' })).status,
      ).toBe(405);
    } finally {
      await admin.close();
    }
  });

  it('serves /config as JSON no cache keeps, only when given one, and never echoes its error', async () => {
    let dump: () => unknown = () => ({ generation: { hash: 'abc123def456' } });
    const withConfig = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      ready: () => true,
      config: () => dump(),
    });
    const without = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      ready: () => true,
    });
    try {
      const url = `http://127.0.0.1:${withConfig.port}/config`;
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ generation: { hash: 'abc123def456' } });
      expect((await fetch(`${url}?format=yaml`)).status).toBe(200);
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);

      dump = () => {
        throw new Error('canary-dump-error');
      };
      const failed = await fetch(url);
      expect(failed.status).toBe(500);
      expect(failed.headers.get('cache-control')).toBe('no-store');
      expect(await failed.text()).toBe('');

      expect((await fetch(`http://127.0.0.1:${without.port}/config`)).status).toBe(404);
    } finally {
      await withConfig.close();
      await without.close();
    }
  });
});
