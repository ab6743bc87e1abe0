// Fetching an image by http(s) URL without opening an SSRF hole. Off unless configured; then
// the host must be on the allow-list (when one is set), and every address the connection uses is
// checked at connect time (a custom DNS lookup, so a name that resolves to a private address, or
// a DNS answer that changes between check and use, is refused), IP literals before connecting.
// Redirects are followed (a few) with the same checks on each hop. The body is read with a byte
// limit and the whole exchange with a time limit.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

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

/**
 * Whether no server-side fetch may reach `address`. Only what ipaddr.js (a maintained list of
 * the IANA special-purpose registries) calls `unicast` is public; every other range it names is
 * refused: private, loopback, link-local, unique-local, carrier-grade NAT, multicast, broadcast,
 * reserved, NAT64 (64:ff9b::/96, `rfc6052`), 6to4, Teredo, ... IPv4 carried inside IPv6
 * (`::ffff:a.b.c.d` mapped, `::a.b.c.d` compatible) is judged as the IPv4 address it carries.
 */
export function isPrivateAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return isPrivateAddress(v6.toIPv4Address().toString());
  const parts = v6.parts;
  // ::/96 (IPv4-compatible, deprecated but still routed by some stacks), minus :: and ::1 themselves.
  if (parts.slice(0, 6).every((p) => p === 0) && (parts[6] !== 0 || parts[7] > 1)) {
    return isPrivateAddress(`${parts[6] >> 8}.${parts[6] & 255}.${parts[7] >> 8}.${parts[7] & 255}`);
  }
  return v6.range() !== 'unicast';
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
