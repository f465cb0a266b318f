/**
 * Reading rolegate's Prometheus text (`/metrics` on the admin port) in
 * tests: a counter before and after a fault, without a Prometheus server.
 */

/** The `/metrics` text of the admin listener on 127.0.0.1:`adminPort`. */
export async function scrapeMetrics(adminPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  return res.text();
}

/**
 * The sum of every sample of `name` (exactly that name, so `_bucket` and
 * `_sum` series of a histogram are other names) whose labels include all of
 * `labels`; 0 when there is none.
 */
export function metricValue(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close === -1 ? '' : line.slice(name.length + 1, close);
    const pairs = labelText === '' ? [] : labelText.split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/);
    if (!wanted.every((w) => pairs.includes(w))) continue;
    sum += Number(line.slice(close === -1 ? name.length + 1 : close + 2).split(' ')[0]);
  }
  return sum;
}
