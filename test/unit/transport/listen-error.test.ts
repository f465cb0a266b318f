import { describe, expect, it } from '@jest/globals';
import { listenError } from '../../../src/transport/listen-error.js';

const target = { listener: 'gRPC', host: '::1', port: 9001, setting: 'server.grpc.port' };

describe('listenError', () => {
  it('maps node and grpc-js bind failures to catalogue codes without their raw messages', () => {
    const node = Object.assign(new Error('listen EADDRINUSE: address already in use'), {
      code: 'EADDRINUSE',
    });
    const e = listenError(node, target);
    expect(e.code).toBe('ERR_LISTEN_ADDRESS_IN_USE');
    expect(e.message).toBe(
      'the gRPC listener cannot bind [::1]:9001: the address is already in use (stop the other process, or choose another server.grpc.port)',
    );
    const grpc = new Error(
      'No address added out of total 1 resolved errors: [listen EADDRNOTAVAIL: address not available 10.9.9.9:1]',
    );
    expect(listenError(grpc, target).code).toBe('ERR_LISTEN_ADDRESS_UNAVAILABLE');
    expect(listenError(Object.assign(new Error('x'), { code: 'EACCES' }), target).code).toBe(
      'ERR_LISTEN_ADDRESS_UNAVAILABLE',
    );
    expect(listenError(new Error('something else'), target).code).toBe('ERR_LISTEN_FAILED');
  });
});
