import { afterEach, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { listenHostFromEnv, withListenHost } from '../../../src/config/listen-host.js';
import { validateConfig } from '../../../src/config/schema.js';

describe('ROLEGATE_LISTEN_HOST', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('accepts IPv4 and IPv6 literals (brackets optional) and ignores an unset or blank value', () => {
    expect(listenHostFromEnv({})).toEqual({});
    expect(listenHostFromEnv({ ROLEGATE_LISTEN_HOST: '  ' })).toEqual({});
    expect(listenHostFromEnv({ ROLEGATE_LISTEN_HOST: '0.0.0.0' })).toEqual({ host: '0.0.0.0' });
    expect(listenHostFromEnv({ ROLEGATE_LISTEN_HOST: '::' })).toEqual({ host: '::' });
    expect(listenHostFromEnv({ ROLEGATE_LISTEN_HOST: '[::1]' })).toEqual({ host: '::1' });
  });

  it('refuses host names and anything else that is not an IP literal', () => {
    for (const value of ['localhost', '0.0.0.0:9001', '256.1.1.1', '*', 'rolegate.svc']) {
      expect(listenHostFromEnv({ ROLEGATE_LISTEN_HOST: value }).problem).toContain(
        'is not an IP address',
      );
    }
  });

  it('replaces the host of both listeners, keeping their ports', () => {
    const text = 'server:\n  grpc: { host: 127.0.0.1, port: 7001 }\n  admin: { port: 7002 }\n';
    expect(loadConfig({ file: 'x.yaml', text }).settings.server.grpc.host).toBe('127.0.0.1');
    process.env['ROLEGATE_LISTEN_HOST'] = '0.0.0.0';
    const { grpc, admin } = loadConfig({ file: 'x.yaml', text }).settings.server;
    expect(grpc).toEqual({ host: '0.0.0.0', port: 7001 });
    expect(admin).toEqual({ host: '0.0.0.0', port: 7002 });
  });

  it('makes loading fail with ERR_LISTEN_HOST_INVALID for a bad value', () => {
    process.env['ROLEGATE_LISTEN_HOST'] = 'example.com';
    let error: unknown;
    try {
      loadConfig({ file: 'x.yaml', text: '{}' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_LISTEN_HOST_INVALID');
    expect((error as ConfigError).findings).toHaveLength(1);
  });
});

describe('withListenHost and the access API listener', () => {
  it('moves the access listener too, keeping its port', () => {
    const { config } = validateConfig({
      issuers: [{ issuer: 'https://idp.test', audiences: ['api'] }],
      access: { enabled: true, listen: { port: 9999 } },
    });
    const moved = withListenHost(config as NonNullable<typeof config>, '0.0.0.0');
    expect(moved.access.listen).toEqual({ host: '0.0.0.0', port: 9999 });
    expect(moved.server.admin.host).toBe('0.0.0.0');
  });
});
