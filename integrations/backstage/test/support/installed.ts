/**
 * Fails fast, with the command that fixes it, when the Backstage packages
 * are not installed or not the pinned versions: the root `npm ci` never
 * installs them (they are hundreds of MB), so a missing install is the
 * usual first failure of `npm test` on a new machine. Never a skip: CI
 * installs them (`.ci/run`, phase `backstage-npm-ci`).
 *
 * Runs as the `backstage` jest project's setup file and, before the type
 * check, directly under Node (`npm run test:backstage`), so it uses only
 * `node:` modules and erasable TypeScript.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const INTEGRATION = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const HOW_TO_FIX =
  'Install them with the Node and npm .ci/versions pins: ' +
  '`cd integrations/backstage && npm ci --ignore-scripts` (CI: `bash -c "source .ci/run; phase_node; phase_backstage_npm_ci"`).';

/** What is wrong with the install, or undefined when every pinned package is there at its version. */
export function installProblem(dir = INTEGRATION): string | undefined {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  if (!existsSync(join(dir, 'node_modules'))) {
    return `Backstage integration packages not installed: ${dir}/node_modules is missing. ${HOW_TO_FIX}`;
  }
  const pinned = { ...manifest.dependencies, ...manifest.devDependencies };
  const wrong: string[] = [];
  for (const [name, version] of Object.entries(pinned)) {
    const file = join(dir, 'node_modules', name, 'package.json');
    const found = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version
      : undefined;
    if (found !== version) wrong.push(`${name} ${found ?? 'missing'} (pinned ${version})`);
  }
  if (wrong.length === 0) return undefined;
  return `Backstage integration packages not installed in ${dir}/node_modules: ${wrong.join(', ')}. ${HOW_TO_FIX}`;
}

const problem = installProblem();
if (problem !== undefined) throw new Error(problem);
