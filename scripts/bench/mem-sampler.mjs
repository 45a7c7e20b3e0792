// Investigation aid, preloaded into a role with `--import <this file>` (probe.mjs
// --waypoint-node-args): every 250 ms appends one JSON line to $TMPDIR/ambient-mem-<pid>.jsonl with
// process.memoryUsage(), V8's committed/used bytes per heap space and the RSS split from
// /proc/self/status (anonymous vs file-backed), so RSS growth can be attributed to V8, Buffers or
// native allocations. Not used by the bench itself.
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { setInterval } from 'node:timers';
import vm from 'node:vm';

const file = path.join(os.tmpdir(), `ambient-mem-${process.pid}.jsonl`);
const MiB = (n) => Math.round((n / 1048576) * 10) / 10;
const gc = { count: 0, ms: 0, major: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.major++;
      gc.majorMs += e.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

/** CPU seconds of this process's threads other than the main one (V8's GC and compiler helpers, libuv). */
function helperCpuSeconds() {
  let total = 0;
  for (const t of readdirSync('/proc/self/task')) {
    if (t === String(process.pid)) continue;
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the thread exited
    }
  }
  return total;
}

function status() {
  const out = {};
  for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmRSS|RssAnon|RssFile|VmHWM):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Math.round(Number(m[2]) / 102.4) / 10;
  }
  return out;
}

function sample(extra = {}) {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), [MiB(s.physical_space_size), MiB(s.space_used_size)]]));
  const line = { t: Date.now(), rss: MiB(m.rss), heapTotal: MiB(m.heapTotal), heapUsed: MiB(m.heapUsed), external: MiB(m.external), arrayBuffers: MiB(m.arrayBuffers), ...status(), gcCount: gc.count, gcMs: Math.round(gc.ms), gcMajor: gc.major, gcMajorMs: Math.round(gc.majorMs), helperCpuS: helperCpuSeconds(), cpuS: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6, spaces };
  appendFileSync(file, `${JSON.stringify({ ...line, ...extra })}\n`);
}
setInterval(() => {
  sample();
  command();
}, 250).unref();

// Writing `start` to $TMPDIR/ambient-mem-<pid>.cmd starts V8's sampling heap profiler, counting
// also objects that a minor or major GC later collected; `stop` writes the profile's allocation
// sites, biggest first, to ambient-mem-<pid>.sites.json: where the garbage comes from.
const cmdFile = file.replace(/\.jsonl$/, '.cmd');
let session;
function command() {
  if (!existsSync(cmdFile)) return;
  const cmd = readFileSync(cmdFile, 'utf8').trim();
  rmSync(cmdFile);
  if (cmd === 'start' && !session) {
    session = new Session();
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: cmd === 'start' && process.env.AMBIENT_MEM_MINOR === '1' });
  } else if (cmd === 'stop' && session) {
    session.post('HeapProfiler.stopSampling', (err, res) => {
      const sites = [];
      const walk = (n, stack) => {
        const frame = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
        const s = [frame, ...stack].slice(0, 6);
        if (n.selfSize > 0) sites.push({ bytes: n.selfSize, stack: s });
        for (const c of n.children) walk(c, s);
      };
      if (!err) walk(res.profile.head, []);
      sites.sort((a, b) => b.bytes - a.bytes);
      writeFileSync(file.replace(/\.jsonl$/, '.sites.json'), JSON.stringify(err ? { err: String(err) } : sites.slice(0, 60), null, 1));
      session.disconnect();
      session = undefined;
    });
  }
}
// SIGUSR2: a full GC, then one line marked `afterFullGc` (what is live vs garbage not yet collected).
v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc');
process.on('SIGUSR2', () => {
  fullGc();
  sample({ afterFullGc: true });
});
