// Fetching an image by http(s) URL without opening an SSRF hole. Off unless configured; then
// the host must be on the allow-list (when one is set), and every address the connection uses is
// checked at connect time (a custom DNS lookup, so a name that resolves to a private address, or
// a DNS answer that changes between check and use, is refused), IP literals before connecting.
// Redirects are followed (a few) with the same checks on each hop. The body is read with a byte
// limit and the whole exchange with a time limit.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface RemoteFetchPolicy {
  allow: boolean;
  /** Host names allowed (exact, lower case); empty = any public host. */
  allowedHosts: string[];
  /** Allow private, loopback and link-local addresses (tests, trusted networks). */
  allowPrivate: boolean;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
}

export class RemoteFetchError extends Error {
  override name = 'RemoteFetchError';
  constructor(
    message: string,
    readonly reason: 'refused' | 'too_large' | 'failed',
  ) {
    super(message);
  }
}

/** Addresses no server-side fetch may reach: private, loopback, link-local, CGNAT, multicast, reserved. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is the IPv4 address in disguise.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

function guardedLookup(policy: RemoteFetchPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const bad = addresses.find((a) => !policy.allowPrivate && isPrivateAddress(a.address));
      if (bad) {
        return callback(
          new RemoteFetchError(
            `${hostname} resolves to ${bad.address}, a private address; refused`,
            'refused',
          ),
          '',
          4,
        );
      }
      if (options.all) return callback(null, addresses as unknown as string, 4);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Throws RemoteFetchError('refused') unless `url` may be fetched under `policy`. */
export function checkRemoteUrl(url: URL, policy: RemoteFetchPolicy): void {
  if (!policy.allow) {
    throw new RemoteFetchError(
      'fetching images by http(s) URL is turned off on this server; send a data: URI',
      'refused',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RemoteFetchError(
      `URL scheme ${url.protocol} is not allowed; use https:, http: or data:`,
      'refused',
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (policy.allowedHosts.length > 0 && !policy.allowedHosts.includes(host)) {
    throw new RemoteFetchError(
      `host ${host} is not allowed; allowed: ${policy.allowedHosts.join(', ')}`,
      'refused',
    );
  }
  if (isIP(host) && !policy.allowPrivate && isPrivateAddress(host)) {
    throw new RemoteFetchError(`${host} is a private address; refused`, 'refused');
  }
  if (url.username || url.password)
    throw new RemoteFetchError('URLs with credentials are refused', 'refused');
}

function getOnce(url: URL, policy: RemoteFetchPolicy, signal: AbortSignal) {
  return new Promise<{ status: number; location?: string; body: Buffer }>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { lookup: guardedLookup(policy), signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        return resolve({ status, location: res.headers.location, body: Buffer.alloc(0) });
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > policy.maxBytes) {
        res.destroy();
        return reject(
          new RemoteFetchError(
            `${url.host} sends ${declared} bytes; the limit is ${policy.maxBytes}`,
            'too_large',
          ),
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > policy.maxBytes) {
          res.destroy();
          reject(new RemoteFetchError(`${url.host} sent more than ${policy.maxBytes} bytes`, 'too_large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) =>
      reject(
        err instanceof RemoteFetchError
          ? err
          : new RemoteFetchError(`fetching ${url.host} failed: ${err.message}`, 'failed'),
      ),
    );
  });
}

/** GETs `url` under `policy`; the bytes of a 200 answer. */
export async function fetchRemote(raw: string, policy: RemoteFetchPolicy): Promise<Buffer> {
  const signal = AbortSignal.timeout(policy.timeoutMs);
  let url = new URL(raw);
  for (let hop = 0; hop <= (policy.maxRedirects ?? 3); hop++) {
    checkRemoteUrl(url, policy);
    let answer: Awaited<ReturnType<typeof getOnce>>;
    try {
      answer = await getOnce(url, policy, signal);
    } catch (err) {
      if (signal.aborted)
        throw new RemoteFetchError(`fetching ${url.host} took longer than ${policy.timeoutMs} ms`, 'failed');
      throw err;
    }
    if (answer.location) {
      url = new URL(answer.location, url);
      continue;
    }
    if (answer.status !== 200) throw new RemoteFetchError(`${url.host} answered ${answer.status}`, 'failed');
    return answer.body;
  }
  throw new RemoteFetchError(`more than ${policy.maxRedirects ?? 3} redirects`, 'failed');
}
