#!/usr/bin/env node
// Long fuzz run (issue 11 §4): every target in dist/test/fuzz/fuzz-targets.js for a set time with
// fresh seeds, then the HTTP-in-tunnel target through an in-process local mesh. Prints one JSON
// line per target (executions, findings) and writes findings to fuzz-findings/<target>.json.
// Build first (`npm run build`). Usage: node scripts/fuzz.mjs [--seconds N] [--seed S] [--no-mesh]
// [--target NAME] (only that target; `http-tunnel` is the mesh one)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, 'no-mesh': { type: 'boolean', default: false }, target: { type: 'string' } } });
const seconds = Number(values.seconds);
const baseSeed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
const dist = path.resolve(import.meta.dirname, '..', 'dist', 'test');
const { FUZZ_TARGETS: ALL_TARGETS, runTarget } = await import(path.join(dist, 'fuzz', 'fuzz-targets.js'));
const only = values.target;
const FUZZ_TARGETS = only === undefined ? ALL_TARGETS : ALL_TARGETS.filter((t) => t.name === only);
const withMesh = !values['no-mesh'] && (only === undefined || only === 'http-tunnel');
if (only !== undefined && FUZZ_TARGETS.length === 0 && only !== 'http-tunnel') {
  console.error(`unknown target ${only}; targets: ${ALL_TARGETS.map((t) => t.name).join(', ')}, http-tunnel`);
  process.exit(2);
}
const outDir = path.resolve(import.meta.dirname, '..', 'fuzz-findings');

// The pure targets share the budget; the mesh target gets a quarter of it on its own.
const perTargetMs = FUZZ_TARGETS.length === 0 ? 0 : (seconds * 1000 * (withMesh ? 0.75 : 1)) / FUZZ_TARGETS.length;
const summary = [];
for (const t of FUZZ_TARGETS) {
  await t.prepare?.();
  const until = Date.now() + perTargetMs;
  let executions = 0;
  const findings = [];
  for (let round = 0; Date.now() < until; round++) {
    const r = runTarget(t, baseSeed + round, 200);
    executions += r.executions;
    findings.push(...r.findings);
  }
  report(t.name, executions, findings);
}
if (withMesh) {
  const { startLocalMesh } = await import(path.join(dist, 'helpers', 'local-mesh.js'));
  const { fuzzHttpTunnel } = await import(path.join(dist, 'fuzz', 'http-tunnel-fuzz.js'));
  const mesh = await startLocalMesh({ waypointHttpLimits: { requestHeadersTimeoutMs: 1000 } });
  const until = Date.now() + seconds * (FUZZ_TARGETS.length === 0 ? 1000 : 250);
  let executions = 0;
  const findings = [];
  try {
    for (let round = 0; Date.now() < until; round++) {
      const r = await fuzzHttpTunnel(mesh, baseSeed + round, 100, 4, 1500);
      executions += r.executions;
      findings.push(...r.findings);
    }
  } finally {
    await mesh.close();
  }
  report('http-tunnel', executions, findings);
}
const total = summary.reduce((n, s) => n + s.findings, 0);
console.log(JSON.stringify({ fuzz: 'total', seed: baseSeed, seconds, executions: summary.reduce((n, s) => n + s.executions, 0), findings: total }));
process.exit(total > 0 ? 1 : 0);

function report(target, executions, findings) {
  summary.push({ target, executions, findings: findings.length });
  console.log(JSON.stringify({ fuzz: target, seed: baseSeed, executions, findings: findings.length }));
  if (findings.length > 0) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, `${target}.json`), JSON.stringify(findings.slice(0, 100), null, 2));
  }
}
