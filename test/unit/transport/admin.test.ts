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
});
