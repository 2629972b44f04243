/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and the
 * total (self + callees) time of the functions with the most total time, as markdown tables.
 * Usage: tsx bench/replication/profile-summary.ts FILE.cpuprofile [--top 15]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/replication/profile-summary.ts FILE.cpuprofile [--top 15]');
  process.exit(2);
}
const top = rest[0] === '--top' ? Number(rest[1]) : 15;
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const totalUs = profile.endTime - profile.startTime;
const usPerHit = totalUs / profile.samples.length;

const name = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};

const self = new Map<string, number>();
const total = new Map<string, number>();
function walk(id: number, onStack: Set<string>): number {
  const n = byId.get(id)!;
  const key = name(n);
  let hits = n.hitCount;
  self.set(key, (self.get(key) ?? 0) + n.hitCount);
  const inner = new Set(onStack).add(key);
  for (const child of n.children ?? []) hits += walk(child, inner);
  // Recursive frames count once.
  if (!onStack.has(key)) total.set(key, (total.get(key) ?? 0) + hits);
  return hits;
}
walk(profile.nodes[0]!.id, new Set());

const ms = (hits: number) => ((hits * usPerHit) / 1000).toFixed(0);
const pct = (hits: number) => ((100 * hits) / profile.samples.length).toFixed(1);
const table = (title: string, m: Map<string, number>) => {
  console.log(`| ${title} | ms | % |\n|---|---|---|`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| \`${k.replace(/\|/g, '\\|')}\` | ${ms(v)} | ${pct(v)} |`);
  console.log();
};
console.log(`Profile: ${(totalUs / 1000).toFixed(0)} ms, ${profile.samples.length} samples.\n`);
table('self time', self);
table('total time (self + callees)', new Map([...total].filter(([k]) => !k.startsWith('(root)'))));
