// CPU time and memory of benchmarked processes, from /proc (Linux). A "role" is a process and its
// descendants (a --concurrency primary and its workers, nginx master and worker), summed.
import { readFileSync, readdirSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';

const TICKS_PER_SECOND = 100; // sysconf(_SC_CLK_TCK) on Linux

function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The pid and every descendant of it that is alive now. */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      const children = read(`/proc/${out[i]}/task/${t}/children`);
      if (children) for (const c of children.trim().split(/\s+/).filter(Boolean)) out.push(Number(c));
    }
  }
  return out;
}

/** user+system CPU seconds of one process (0 if gone). */
function cpuSeconds(pid) {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // Fields after the command name (which may contain spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMiB(pid) {
  const status = read(`/proc/${pid}/status`);
  const m = status && /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

/** CPU seconds per pid of a role's tree (per pid, so a worker exiting mid-run does not go negative). */
export function cpuSnapshot(rootPid) {
  const snap = new Map();
  for (const pid of processTree(rootPid)) snap.set(pid, cpuSeconds(pid));
  return snap;
}

export function cpuDelta(before, after) {
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}

export function rssOfTree(rootPid) {
  return processTree(rootPid).reduce((a, pid) => a + rssMiB(pid), 0);
}

/**
 * RSS of a role's tree split into anonymous pages (V8 heap, malloc, stacks: what the role's own
 * work costs) and file-backed pages (mostly the node binary's text and read-only data, ~45 MiB
 * in every Node 20 process here, ~50-53 MiB in a role on Node 24, shared between processes but
 * counted in each one's RSS), MiB; plus PSS and private (unshared) pages from smaps_rollup.
 */
export function rssSplitOfTree(rootPid) {
  let anon = 0;
  let file = 0;
  let pss = 0;
  let priv = 0;
  for (const pid of processTree(rootPid)) {
    const status = read(`/proc/${pid}/status`) ?? '';
    anon += Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    file += Number(/RssFile:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    // PSS shares each page among the processes mapping it (the node binary's pages among every
    // role); private pages are what this process alone costs the machine.
    const rollup = read(`/proc/${pid}/smaps_rollup`) ?? '';
    pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
    priv += (Number(/^Private_Clean:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) + Number(/^Private_Dirty:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0)) / 1024;
  }
  return { anon: round(anon), file: round(file), pss: round(pss), private: round(priv) };
}

/**
 * Measures a set of named roles around `work()`: CPU seconds each spent and the peak RSS (MiB)
 * each reached (sampled every 100 ms), plus RSS at the start.
 */
export async function measure(roles, work) {
  const before = new Map(Object.entries(roles).map(([name, pid]) => [name, cpuSnapshot(pid)]));
  const startRss = new Map(Object.entries(roles).map(([name, pid]) => [name, rssOfTree(pid)]));
  const peak = new Map(startRss);
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(roles)) peak.set(name, Math.max(peak.get(name) ?? 0, rssOfTree(pid)));
  }, 100);
  let result;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
  }
  const procs = {};
  for (const [name, pid] of Object.entries(roles)) {
    peak.set(name, Math.max(peak.get(name) ?? 0, rssOfTree(pid)));
    procs[name] = { cpuSeconds: cpuDelta(before.get(name), cpuSnapshot(pid)), rssStartMiB: round(startRss.get(name)), rssPeakMiB: round(peak.get(name)) };
  }
  return { result, procs };
}

function round(x) {
  return Math.round(x * 10) / 10;
}
