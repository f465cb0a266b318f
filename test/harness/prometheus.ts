/**
 * A real Prometheus server (Debian's `prometheus` package) as an end-to-end
 * peer: a temp config that scrapes the given targets' /metrics every second,
 * a temp TSDB, a free loopback port, and a small client for the HTTP query
 * API. A missing binary is an error, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binary.js';
import { joinUrl, type Peer } from './peer.js';
import { freePort } from './ports.js';

const HOW_TO_FIX =
  "Install Debian's Prometheus server (`apt-get install -y prometheus`; .ci/run does it) " +
  'or point ROLEGATE_PROMETHEUS_BIN at a prometheus binary.';

/**
 * The prometheus binary: `ROLEGATE_PROMETHEUS_BIN`, else `prometheus` on
 * PATH, else /usr/bin/prometheus. Throws with instructions when none exists
 * (in CI and outside it alike).
 */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string {
  return findBinary(
    {
      peer: 'Prometheus test bed',
      name: 'prometheus',
      envVar: 'ROLEGATE_PROMETHEUS_BIN',
      fallbacks: ['/usr/bin/prometheus'],
      howToFix: HOW_TO_FIX,
    },
    env,
  );
}

/** One sample of an instant-vector query result. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusOptions {
  /** `host:port` targets whose /metrics are scraped (job `rolegate`). */
  readonly targets: readonly string[];
  /** Scrape and evaluation interval in seconds. Default 1. */
  readonly scrapeIntervalSeconds?: number;
  /** Listen port; default a free loopback port. */
  readonly port?: number;
  /** Time allowed for /-/ready. Default 30 s. */
  readonly startupTimeoutMs?: number;
}

export class PrometheusPeer implements Peer {
  readonly #options: PrometheusOptions;
  #child: ChildProcess | undefined;
  #dir: string | undefined;
  #port = 0;
  #output: string[] = [];

  constructor(options: PrometheusOptions) {
    this.#options = options;
  }

  /** The config file text this peer runs with. */
  static config(targets: readonly string[], intervalSeconds: number): string {
    const list = targets.map((t) => `'${t}'`).join(', ');
    return [
      'global:',
      `  scrape_interval: ${intervalSeconds}s`,
      `  scrape_timeout: ${intervalSeconds}s`,
      `  evaluation_interval: ${intervalSeconds}s`,
      'scrape_configs:',
      '  - job_name: rolegate',
      '    metrics_path: /metrics',
      `    static_configs: [{ targets: [${list}] }]`,
      '',
    ].join('\n');
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const binary = findPrometheus();
    this.#port = this.#options.port ?? (await freePort());
    this.#dir = mkdtempSync(join(tmpdir(), 'rolegate-prometheus-'));
    const configFile = join(this.#dir, 'prometheus.yml');
    writeFileSync(
      configFile,
      PrometheusPeer.config(this.#options.targets, this.#options.scrapeIntervalSeconds ?? 1),
    );
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(this.#dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.#port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    const keep = (chunk: Buffer) => {
      this.#output.push(chunk.toString('utf8'));
      if (this.#output.length > 50) this.#output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    });
    child.once('error', (err) => {
      exited = `failed to start: ${err.message}`;
    });

    const deadline = Date.now() + (this.#options.startupTimeoutMs ?? 30_000);
    for (;;) {
      if (exited !== undefined) {
        const out = this.#output.join('');
        await this.stop();
        throw new Error(`prometheus ${binary} ${exited}:\n${out}`);
      }
      try {
        const res = await fetch(this.url('/-/ready'), { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        const out = this.#output.join('');
        await this.stop();
        throw new Error(`prometheus did not become ready in time:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  url(path = '/'): string {
    if (this.#port === 0) throw new Error('PrometheusPeer: not started');
    return joinUrl(`http://127.0.0.1:${this.#port}`, path);
  }

  /** Runs an instant query; throws on an API error. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(this.url(`/api/v1/query?query=${encodeURIComponent(promql)}`));
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: {
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      };
    };
    if (body.status !== 'success' || !body.data) {
      throw new Error(`prometheus query ${promql} failed: ${body.error ?? res.status}`);
    }
    if (body.data.resultType !== 'vector') {
      throw new Error(`prometheus query ${promql}: expected a vector, got ${body.data.resultType}`);
    }
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Scrape targets' health as Prometheus reports it (`up`, `down`, `unknown`). */
  async targetHealth(): Promise<string[]> {
    const res = await fetch(this.url('/api/v1/targets'));
    const body = (await res.json()) as { data: { activeTargets: { health: string }[] } };
    return body.data.activeTargets.map((t) => t.health);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
