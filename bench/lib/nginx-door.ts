/**
 * A real nginx (Debian's) for bench/http-door.ts with two server blocks made
 * from the shipped examples/nginx/rolegate.conf (ports substituted only):
 * one as shipped, `auth_request` to rolegate's `/nginx` door; and a copy
 * whose `auth_request` goes to a `return 200` location inside nginx, so the
 * difference between them is what asking rolegate adds to a request.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopWithBench } from './children.js';
import { freePort } from '../peers/opa-envoy.js';

/** The shipped server block (run from dist/bench/lib). */
export const NGINX_EXAMPLE = fileURLToPath(
  new URL('../../../examples/nginx/rolegate.conf', import.meta.url),
);

/** The nginx binary: ROLEGATE_NGINX_BIN, else Debian's /usr/sbin/nginx, else `nginx` on PATH. */
export function nginxBin(): string {
  const fromEnv = process.env['ROLEGATE_NGINX_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

/** `nginx -v`, e.g. "nginx/1.22.1". */
export function nginxVersion(): string {
  const out = spawnSync(nginxBin(), ['-v'], { encoding: 'utf8' });
  return /nginx\/\S+/.exec(`${out.stderr}${out.stdout}`)?.[0] ?? 'nginx ?';
}

/** Replaces the port of each `127.0.0.1:<from>`; throws when the example no longer has one. */
function ports(text: string, map: Readonly<Record<number, number>>): string {
  let out = text;
  for (const [from, to] of Object.entries(map)) {
    const needle = `127.0.0.1:${from}`;
    if (!out.includes(needle)) throw new Error(`${NGINX_EXAMPLE}: ${needle} not found`);
    out = out.split(needle).join(`127.0.0.1:${to}`);
  }
  return out;
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

/** Starts nginx (master and one worker) with both server blocks; resolves once its worker runs. */
export async function startNginxDoors(o: {
  rolegatePort: number;
  upstreamPort: number;
}): Promise<NginxDoors> {
  const [rolegatePort, staticPort] = [await freePort(), await freePort()];
  const example = readFileSync(NGINX_EXAMPLE, 'utf8');
  const prefix = mkdtempSync(join(tmpdir(), 'rolegate-bench-nginx-'));
  const shipped = ports(example, {
    8080: rolegatePort,
    9003: o.rolegatePort,
    8081: o.upstreamPort,
  });
  const variant = ports(staticVariant(example), {
    8080: staticPort,
    9003: o.rolegatePort,
    8081: o.upstreamPort,
  });
  writeFileSync(join(prefix, 'server.conf'), `${shipped}\n${variant}\n`);
  const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`;
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      process.getuid?.() === 0 ? 'user root;' : '',
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      'error_log stderr notice;',
      'events { worker_connections 1024; }',
      'http {',
      '    access_log off;',
      `    ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
      `    include ${join(prefix, 'server.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(
    nginxBin(),
    ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  stopWithBench(child);
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  // nginx logs this once its worker runs: both ports are bound by then.
  while (!log.includes('start worker process')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`bench: nginx did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    rolegatePort,
    staticPort,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
