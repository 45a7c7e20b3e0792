/** A plain HTTP GET for tests: status and body text, over a fresh connection. */
import http from 'node:http';

/** GET over a fresh connection; resolves with the status and the body as text. */
export function httpText(host: string, port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: p, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** A Prometheus scrape (`/stats/prometheus`) of a proxy's metrics port. */
export async function scrape(host: string, port: number): Promise<string> {
  return (await httpText(host, port, '/stats/prometheus')).body;
}
