/**
 * Bench child entry for the peer benchmark: rolegate with the config file the
 * parent wrote (bench/peers/fixture.ts: the bench config, the parent's issuer
 * and JWKS), audit and metrics on, audit records to a no-op sink (as in
 * bench/rolegate-server.ts). Speaks bench/lib/child-protocol.ts.
 *
 * Usage: node rolegate-peer.js <config.yaml>
 */
import { Writable } from 'node:stream';

import { startRolegate } from '../../src/main.js';
import { createAuditLogger, createLogger } from '../../src/observe/logger.js';
import { announceToParent } from '../lib/child-protocol.js';

const configFile = process.argv[2];
if (configFile === undefined) throw new Error('usage: rolegate-peer.js <config.yaml>');
const sink = new Writable({ write: (_c, _e, done) => done() });
const rolegate = await startRolegate({
  configFile,
  grpcPort: 0,
  adminPort: 0,
  httpPort: 0,
  logger: createLogger('warn', sink),
  auditLogger: createAuditLogger(sink),
  watch: false,
});
announceToParent({
  port: rolegate.grpcPort,
  counts: () => ({ ...rolegate.decisions }),
  shutdown: () => rolegate.stop(),
});
