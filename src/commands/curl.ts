/**
 * `ambient curl --from POD URL`: sends one HTTP/1.1 request "from" a pod, the way an app in that
 * pod would reach the mesh: through its node's ztunnel (SOCKS5 on `<podIP>:15080`, connecting
 * from the pod's IP so the ztunnel knows the source). The same as
 * `curl --interface <podIP> --socks5-hostname <podIP>:15080 URL`.
 *
 * A pod served by Istio's ztunnel (`ambient up --istio-ztunnel`) lives in a network namespace of
 * its own, and Istio's ztunnel listens for SOCKS5 on 127.0.0.1:15080 there: the command then runs
 * itself inside that namespace (`ip netns exec`), as the pod's app would connect.
 */
const { spawnSync } = process.getBuiltinModule('node:child_process');
const { existsSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
const http = process.getBuiltinModule('node:http');
import type net from 'node:net';
const { parseArgs } = process.getBuiltinModule('node:util');
import { socks5Connect, Socks5Error } from '../net/socks5-client.js';
import { loadView } from './load-view.js';
import { podNetnsName } from '../runner/pod-netns.js';
import { DEFAULT_CONFIG_DIR, defaultStateDir } from './defaults.js';
import { UsageError } from './usage-error.js';
import { SOCKS5_PORT } from '../ztunnel/ports.js';

export async function runCurl(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      config: { type: 'string', default: DEFAULT_CONFIG_DIR },
      /** The state directory of `ambient up` (finds pods served by Istio's ztunnel). */
      state: { type: 'string' },
      request: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      include: { type: 'boolean', short: 'i', default: false },
      silent: { type: 'boolean', short: 's', default: false },
      'max-time': { type: 'string', short: 'm' },
    },
  });
  const target = positionals[0];
  if (!values.from) throw new UsageError('curl needs --from [NAMESPACE/]POD');
  if (!target) throw new UsageError('curl needs a URL');
  let url: URL;
  try {
    url = new URL(target.includes('://') ? target : `http://${target}`);
  } catch {
    throw new UsageError(`not a URL: ${target}`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`only http:// URLs are supported (got ${url.protocol})`);

  const view = await loadView(values.config);
  const pod = findPod(view, values.from);
  const inPodNetns = process.env[IN_POD_NETNS] === '1';
  const netns = podNetnsName(path.resolve(values.state ?? defaultStateDir()), pod.namespace, pod.shortName);
  if (!inPodNetns && existsSync(path.join('/run/netns', netns))) {
    const r = spawnSync('ip', ['netns', 'exec', netns, process.execPath, process.argv[1] ?? '', 'curl', ...argv], { stdio: 'inherit', env: { ...process.env, [IN_POD_NETNS]: '1' } });
    return r.status ?? 1;
  }
  const headers: Record<string, string> = { 'user-agent': 'ambient-curl/0.1' };
  for (const h of values.header ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`bad header '${h}': expected 'name: value'`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const body = values.data;
  const method = values.request ?? (body !== undefined ? 'POST' : 'GET');
  const timeoutMs = values['max-time'] ? Number(values['max-time']) * 1000 : 30_000;
  const port = url.port ? Number(url.port) : 80;

  let socket: net.Socket;
  try {
    socket = await socks5Connect({
      // Istio's ztunnel (dedicated mode) listens on localhost in the pod's namespace.
      proxyHost: inPodNetns ? '127.0.0.1' : pod.ip,
      proxyPort: SOCKS5_PORT,
      ...(inPodNetns ? {} : { localAddress: pod.ip }),
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      timeoutMs,
    });
  } catch (err) {
    const why = err instanceof Socks5Error ? err.message : `cannot reach the ztunnel at ${pod.ip}:${SOCKS5_PORT}: ${String(err)}`;
    process.stderr.write(`ambient curl: ${why}\n`);
    return err instanceof Socks5Error && err.reply === 0x02 ? 7 : 97;
  }

  return new Promise<number>((resolve) => {
    const req = http.request(
      {
        method,
        host: url.hostname,
        port,
        path: `${url.pathname}${url.search}`,
        headers: body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers,
        createConnection: () => socket,
        timeout: timeoutMs,
      },
      (res) => {
        if (values.include) {
          process.stdout.write(`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}\r\n`);
          for (let i = 0; i < res.rawHeaders.length; i += 2) process.stdout.write(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`);
          process.stdout.write('\r\n');
        }
        res.pipe(process.stdout, { end: false });
        res.on('end', () => resolve(0));
        res.on('error', () => resolve(56));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => {
      if (!values.silent) process.stderr.write(`ambient curl: ${err.message}\n`);
      resolve(52);
    });
    req.end(body);
  });
}

/** Set when this command re-ran itself inside a pod's network namespace. */
const IN_POD_NETNS = 'AMBIENT_CURL_IN_POD_NETNS';

interface PodRef {
  readonly ip: string;
  readonly name: string;
  readonly namespace: string;
  readonly shortName: string;
}

function findPod(view: Awaited<ReturnType<typeof loadView>>, ref: string): PodRef {
  const [ns, name] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
  const matches = [...view.snapshot.workloads.values()].filter((w) => w.name === name && (ns === undefined || w.namespace === ns));
  const chosen = matches.length > 1 ? matches.find((w) => w.namespace === 'default') : matches[0];
  if (!chosen) {
    throw new UsageError(
      matches.length > 1
        ? `pod '${ref}' exists in several namespaces; say NAMESPACE/${name}`
        : `no pod '${ref}' in the config (pods: ${[...view.snapshot.workloads.values()].map((w) => `${w.namespace}/${w.name}`).join(', ')})`,
    );
  }
  return { ip: chosen.ip, name: `${chosen.namespace}/${chosen.name}`, namespace: chosen.namespace, shortName: chosen.name };
}
