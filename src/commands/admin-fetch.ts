/** GET a JSON or text page from a component's admin/readiness port, bounded in time. */
const http = process.getBuiltinModule('node:http');

export interface AdminPage {
  readonly status: number;
  readonly body: string;
}

export function getPage(url: string, timeoutMs = 5000): Promise<AdminPage> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** `HOST`, `HOST:PORT` or `[v6]:PORT` → `http://host:port` with `defaultPort`. */
export function adminBase(address: string, defaultPort: number): string {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (!m || m[1] === undefined) throw new Error(`not an address: ${address}`);
  const host = m[1].includes(':') ? `[${m[1]}]` : m[1];
  return `http://${host}:${m[2] ?? defaultPort}`;
}
