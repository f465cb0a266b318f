/**
 * Test PKI made with the openssl CLI: a CA, a server certificate for
 * 127.0.0.1, and client certificates carrying a SPIFFE URI SAN.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly ca: Pem;
  readonly server: Pem;
  /** A client certificate whose only SAN is `uri`. */
  client(uri: string): Pem;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-pki-'));
  const at = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=rolegate test CA',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
  );
  let serial = 1;
  const issue = (name: string, subject: string, san: string, usage: string): Pem => {
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.csr`),
    );
    writeFileSync(at(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    ssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-set_serial',
      String(serial++),
      '-days',
      '1',
      '-extfile',
      at(`${name}.ext`),
      '-out',
      at(`${name}.crt`),
    );
    return {
      cert: readFileSync(at(`${name}.crt`), 'utf8'),
      key: readFileSync(at(`${name}.key`), 'utf8'),
    };
  };
  const ca = { cert: readFileSync(at('ca.crt'), 'utf8'), key: readFileSync(at('ca.key'), 'utf8') };
  const server = issue('server', '/CN=127.0.0.1', 'IP:127.0.0.1', 'serverAuth');
  let clients = 0;
  return {
    ca,
    server,
    client: (uri) => issue(`client${clients++}`, '/CN=workload', `URI:${uri}`, 'clientAuth'),
  };
}
