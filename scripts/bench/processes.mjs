// Starting and stopping everything the bench measures: the ambient roles (as `ambient up` runs
// them, one process each), nginx, HAProxy and the bulk sink. Each is pinned with taskset when a
// CPU list is given, and is stopped by its own pid (never by name).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pinned } from './load.mjs';

const started = [];

export function startProcess(name, cpus, cmd, args, opts = {}) {
  const [c, a] = pinned(cpus, cmd, args);
  // `opts.stdoutFile`: the process's stdout goes to that file (e.g. a role run with --trace-gc).
  const out = opts.stdoutFile ? openSync(opts.stdoutFile, 'w') : (opts.stdout ?? 'ignore');
  const child = spawn(c, a, { stdio: ['ignore', out, 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  if (typeof out === 'number') closeSync(out);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const proc = {
    name,
    pid: child.pid,
    child,
    stderr: () => stderr,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await proc.exited;
      clearTimeout(t);
    },
  };
  started.push(proc);
  return proc;
}

export async function stopAll() {
  await Promise.all(started.splice(0).reverse().map((p) => p.stop()));
}

export function httpStatus(host, port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: p, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

/** GET a path; resolves with the body of a 200 answer, else '' (never rejects). */
export function httpGetText(host, port, p) {
  return new Promise((resolve) => {
    http
      .get({ host, port, path: p }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? body : ''));
      })
      .on('error', () => resolve(''));
  });
}

export function tcpOpen(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function waitFor(what, check, proc, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (proc && proc.child.exitCode !== null) throw new Error(`${what}: process exited (${proc.child.exitCode}): ${proc.stderr().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready in ${timeoutMs} ms${proc ? `: ${proc.stderr().slice(-800)}` : ''}`);
}

/**
 * An ambient role; resolves once its readiness endpoint answers 200. Node gets the flags `ambient
 * up` gives data-plane roles (src/runner/role-node-flags.ts, read from the build next to `cli`),
 * then `nodeArgs` (V8 takes the last value of a repeated flag, so these can override them).
 */
export async function startRole(cli, name, cpus, args, readyHost, nodeArgs = [], opts = {}) {
  const p = startProcess(name, cpus, process.execPath, [...(await roleNodeFlags(cli)), ...nodeArgs, cli, ...args], opts);
  await waitFor(name, async () => (await httpStatus(readyHost, 15021, '/healthz/ready')) === 200, p);
  return p;
}

async function roleNodeFlags(cli) {
  const file = path.join(path.dirname(cli), 'runner', 'role-node-flags.js');
  if (!existsSync(file)) return [];
  const { DATA_PLANE_NODE_FLAGS } = await import(pathToFileURL(file).href);
  return [...DATA_PLANE_NODE_FLAGS];
}

export function nginxBinary() {
  for (const b of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (exists(b)) return b;
  return undefined;
}

export function haproxyBinary() {
  for (const b of ['/usr/sbin/haproxy', '/usr/bin/haproxy']) if (exists(b)) return b;
  return undefined;
}

function exists(f) {
  return existsSync(f);
}

/** nginx, one worker, `return 200` with a tiny body, access log off (the reference's backend). */
export async function startNginx(dir, host, port, cpus) {
  const bin = nginxBinary();
  if (!bin) return undefined;
  mkdirSync(path.join(dir, 'nginx'), { recursive: true });
  const conf = path.join(dir, 'nginx', 'nginx.conf');
  const t = (n) => path.join(dir, 'nginx', n);
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
master_process on;
pid ${t('nginx.pid')};
error_log ${t('error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path ${t('body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  server {
    listen ${host}:${port} reuseport;
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const p = startProcess('nginx', cpus, bin, ['-c', conf, '-p', path.join(dir, 'nginx')]);
  await waitFor('nginx', () => tcpOpen(host, port), p, 10_000);
  return p;
}

/** HAProxy as a plain L7 reverse proxy with keep-alive (connection reuse) to the backend. */
export async function startHaproxy(dir, listenHost, listenPort, backend, cpus) {
  const bin = haproxyBinary();
  if (!bin) return undefined;
  const conf = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind ${listenHost}:${listenPort}
  default_backend be
backend be
  server s1 ${backend}
`,
  );
  const p = startProcess('haproxy', cpus, bin, ['-f', conf, '-db']);
  await waitFor('haproxy', () => tcpOpen(listenHost, listenPort), p, 10_000);
  return p;
}
