/**
 * A real nginx (Debian's) for bench/http-door.ts with two server blocks made
 * from the shipped examples/nginx/rolegate.conf (ports substituted only):
 * one as shipped, `auth_request` to rolegate's `/nginx` door; and a copy
 * whose `auth_request` goes to a `return 200` location inside nginx, so the
 * difference between them is what asking rolegate adds to a request.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findNginx, NginxPeer, substitutePorts } from '../../test/harness/nginx.js';
import { freePort } from '../peers/opa-envoy.js';

/** The shipped server block (run from dist/bench/lib). */
export const NGINX_EXAMPLE = fileURLToPath(
  new URL('../../../examples/nginx/rolegate.conf', import.meta.url),
);

/** `nginx -v` of the test bed's nginx, e.g. "nginx/1.22.1". */
export function nginxVersion(): string {
  const out = spawnSync(findNginx(), ['-v'], { encoding: 'utf8' });
  return /nginx\/\S+/.exec(`${out.stderr}${out.stdout}`)?.[0] ?? 'nginx ?';
}

/** The example with `auth_request` to a static 200 instead of rolegate (upstream names kept apart). */
function staticVariant(example: string): string {
  const out = example
    .replace(/\brolegate_check\b/g, 'rolegate_check_unused')
    .replace(/\bprotected_api\b/g, 'protected_api_static')
    .replace('auth_request /_rolegate;', 'auth_request /_static;')
    .replace(
      /(\n\s*location \/ \{)/,
      '\n    location = /_static {\n        internal;\n        return 200;\n    }\n$1',
    );
  if (!out.includes('auth_request /_static;') || !out.includes('location = /_static')) {
    throw new Error(`${NGINX_EXAMPLE}: no "auth_request /_rolegate;" or "location / {" to vary`);
  }
  return out;
}

export interface NginxDoors {
  /** The shipped block: auth_request to rolegate. */
  readonly rolegatePort: number;
  /** The same block, auth_request to `return 200`. */
  readonly staticPort: number;
  stop(): Promise<void>;
}

/** Starts the test bed's nginx (master and one worker) with both server blocks. */
export async function startNginxDoors(o: {
  rolegatePort: number;
  upstreamPort: number;
}): Promise<NginxDoors> {
  const [rolegatePort, staticPort] = [await freePort(), await freePort()];
  const example = readFileSync(NGINX_EXAMPLE, 'utf8');
  const shipped = substitutePorts(example, {
    8080: rolegatePort,
    9003: o.rolegatePort,
    8081: o.upstreamPort,
  });
  const variant = substitutePorts(staticVariant(example), {
    8080: staticPort,
    9003: o.rolegatePort,
    8081: o.upstreamPort,
  });
  const nginx = new NginxPeer({ serverConfig: `${shipped}\n${variant}\n`, port: rolegatePort });
  await nginx.start();
  return { rolegatePort, staticPort, stop: () => nginx.stop() };
}
