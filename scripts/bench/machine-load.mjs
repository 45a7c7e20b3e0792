// How busy the machine was while the bench ran, and how much of that was someone else: the 1-min
// load average sampled every 5 s, the machine's busy CPU time (/proc/stat), and the bench's own
// CPU (this process plus every child it has reaped: roles, nginx, HAProxy, load generators; their
// own children are folded in when they are reaped). "Others" = machine − bench, in cores.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { clearInterval, setInterval } from 'node:timers';

const TICKS_PER_SECOND = 100;

function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle };
}

function benchTicks() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime (fields 14-17 of proc(5)).
  return [11, 12, 13, 14].reduce((a, i) => a + Number(fields[i]), 0);
}

export function watchMachineLoad(intervalMs = 5000) {
  const t0 = Date.now();
  const m0 = machineTicks();
  const b0 = benchTicks();
  const samples = [os.loadavg()[0]];
  const timer = setInterval(() => samples.push(os.loadavg()[0]), intervalMs);
  timer.unref();
  return {
    /** Call after every child has exited. */
    stop() {
      clearInterval(timer);
      samples.push(os.loadavg()[0]);
      const seconds = (Date.now() - t0) / 1000;
      const machine = (machineTicks().busy - m0.busy) / TICKS_PER_SECOND / seconds;
      const bench = (benchTicks() - b0) / TICKS_PER_SECOND / seconds;
      const r = (x) => Math.round(x * 100) / 100;
      return {
        seconds: Math.round(seconds),
        loadavg1: { min: r(Math.min(...samples)), mean: r(samples.reduce((a, b) => a + b, 0) / samples.length), max: r(Math.max(...samples)) },
        busyCores: r(machine),
        benchCores: r(bench),
        otherCores: r(Math.max(0, machine - bench)),
      };
    },
  };
}

/**
 * Whether other work disturbed the run: others used more than a quarter of a core on average.
 * (The load average alone cannot say: the bench itself keeps up to five processes runnable on two
 * cores at saturation. It is recorded for the reader.) Unknown counts as noisy.
 */
export function noisy(load) {
  return !load || load.otherCores > 0.25;
}
