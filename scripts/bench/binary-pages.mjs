#!/usr/bin/env node
// Which pages of the node binary a running process has resident, by what they hold: ELF section,
// and inside .text/.rodata by symbol area (V8's optimising compilers, the rest of V8, OpenSSL,
// Node's C++, ICU data, Node's embedded JavaScript sources). Explains the file-backed part of a
// role's RSS ("Session 5: memory" in docs/performance.md), which JavaScript cannot release.
//   node scripts/bench/binary-pages.mjs PID      (probe.mjs rest --hold prints the roles' pids)
// Needs binutils (nm, readelf) and read access to /proc/PID/pagemap (same user: the present bit
// is visible without privileges).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, readlinkSync } from 'node:fs';

const pid = process.argv[2];
if (!pid || !/^\d+$/.test(pid)) {
  process.stderr.write('usage: binary-pages.mjs PID\n');
  process.exit(2);
}
const exe = readlinkSync(`/proc/${pid}/exe`);
const PAGE = 4096;

/** Sorted [start, size, name] of the binary's defined symbols. */
function symbols() {
  const out = execFileSync('nm', ['-S', '--defined-only', exe], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const syms = [];
  for (const line of out.split('\n')) {
    const p = line.split(' ');
    if (p.length === 4) syms.push([Number.parseInt(p[0], 16), Number.parseInt(p[1], 16), p[3]]);
    else if (p.length === 3) syms.push([Number.parseInt(p[0], 16), 0, p[2]]);
  }
  return syms.sort((a, b) => a[0] - b[0]);
}

function sections() {
  const out = execFileSync('readelf', ['-SW', exe]).toString();
  const secs = [];
  for (const m of out.matchAll(/\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/g)) secs.push([Number.parseInt(m[2], 16), Number.parseInt(m[3], 16), m[1]]);
  return secs;
}

function area(sym, addr) {
  if (!sym) return 'unnamed';
  const [start, size, name] = sym;
  if (name === 'icudt78_dat' || /^icudt\d+_dat$/.test(name)) return 'ICU data';
  // Unnamed read-only data after a symbol: in Node's build these are the embedded sources of its
  // built-in JavaScript modules and the startup snapshot (what loading a built-in touches).
  if (size > 0 && addr >= start + size + PAGE) return 'unnamed (built-in JS sources, snapshot)';
  if (/compiler|turboshaft|maglev/i.test(name)) return 'V8 optimising compilers';
  if (/wasm/i.test(name)) return 'V8 Wasm';
  if (name.startsWith('v8_Default_embedded_blob') || name.startsWith('Builtins_')) return 'V8 builtins';
  if (/^_ZN?K?2v8|^v8_/.test(name)) return 'V8 other';
  if (/^_ZN?K?4node/.test(name)) return 'Node C++';
  if (/nghttp2/.test(name)) return 'nghttp2';
  if (/ossl|OPENSSL|^(EVP|SSL|X509|ASN1|BN|EC|RSA|ERR|CRYPTO|OBJ|PEM|BIO|ssl|tls|bn|ec|aes|sha|x25519|ChaCha)/.test(name)) return 'OpenSSL';
  if (/icu|^u[a-z]*_/.test(name)) return 'ICU code';
  return 'other';
}

const syms = symbols();
const starts = syms.map((s) => s[0]);
const secs = sections();
const find = (addr) => {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= addr) lo = mid;
    else hi = mid - 1;
  }
  return starts[lo] <= addr ? syms[lo] : undefined;
};
const section = (addr) => secs.find(([s, z]) => addr >= s && addr < s + z)?.[2] ?? '?';

const bySection = new Map();
const byArea = new Map();
const add = (m, k) => m.set(k, (m.get(k) ?? 0) + PAGE);
const pagemap = openSync(`/proc/${pid}/pagemap`, 'r');
try {
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const p = line.trim().split(/\s+/);
    if (p[5] !== exe) continue;
    const [a, b] = p[0].split('-').map((x) => Number.parseInt(x, 16));
    const n = (b - a) / PAGE;
    const buf = Buffer.alloc(n * 8);
    readSync(pagemap, buf, 0, buf.length, (a / PAGE) * 8);
    for (let k = 0; k < n; k++) {
      if ((buf.readBigUInt64LE(k * 8) >> 63n) === 0n) continue;
      const addr = a + k * PAGE;
      const sec = section(addr);
      add(bySection, `${p[1]} ${sec}`);
      if (sec === '.text' || sec === '.rodata') add(byArea, `${sec} ${area(find(addr), addr)}`);
    }
  }
} finally {
  closeSync(pagemap);
}
const MiB = (x) => (x / 1048576).toFixed(1).padStart(6);
const total = [...bySection.values()].reduce((x, y) => x + y, 0);
process.stdout.write(`${exe}: ${MiB(total)} MiB resident\n`);
for (const [k, v] of [...bySection].sort((x, y) => y[1] - x[1]).filter(([, v]) => v >= 65536)) process.stdout.write(`${MiB(v)}  ${k}\n`);
process.stdout.write('by area (.text, .rodata):\n');
for (const [k, v] of [...byArea].sort((x, y) => y[1] - x[1]).filter(([, v]) => v >= 65536)) process.stdout.write(`${MiB(v)}  ${k}\n`);
