import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkRemoteUrl, fetchRemote, isPrivateAddress, type RemoteFetchPolicy } from './remote-fetch.js';

const open: RemoteFetchPolicy = {
  allow: true,
  allowedHosts: [],
  allowPrivate: false,
  maxBytes: 1000,
  timeoutMs: 2000,
};

describe('remote image fetch (SSRF guard)', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
        return;
      }
      if (req.url === '/big') {
        res.end(Buffer.alloc(5000));
        return;
      }
      res.end('image-bytes');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('classifies private, loopback, link-local and mapped addresses', () => {
    for (const a of [
      '10.1.2.3',
      '127.0.0.1',
      '169.254.169.254',
      '192.168.0.1',
      '172.20.0.1',
      '100.64.0.1',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '0.0.0.0',
      // Missed by the hand-written prefixes this replaced (issue 17):
      '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
      '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
      '::127.0.0.1', // IPv4-compatible
      '::7f00:1',
      '::a9fe:a9fe',
      '2002:7f00:1::', // 6to4 of 127.0.0.1
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
      '2001:db8::1', // documentation
      '198.18.0.1', // benchmarking
      '255.255.255.255',
      '::',
      'not an address',
    ])
      assert.equal(isPrivateAddress(a), true, a);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '::8.8.8.8'])
      assert.equal(isPrivateAddress(a), false, a);
  });

  it('refuses NAT64 and IPv4-compatible literals before connecting', () => {
    for (const host of ['[64:ff9b::7f00:1]', '[::127.0.0.1]', '[::ffff:7f00:1]', '0x7f000001', '2130706433'])
      assert.throws(
        () => checkRemoteUrl(new URL(`http://${host}:9/x.png`), open),
        /private address; refused/,
        host,
      );
  });

  it('refuses when turned off, other schemes, hosts off the allow-list, and credentials', () => {
    assert.throws(
      () => checkRemoteUrl(new URL('https://example.com/a.png'), { ...open, allow: false }),
      /turned off/,
    );
    assert.throws(() => checkRemoteUrl(new URL('file:///etc/passwd'), open), /scheme file: is not allowed/);
    assert.throws(
      () =>
        checkRemoteUrl(new URL('https://evil.test/a.png'), { ...open, allowedHosts: ['images.example.com'] }),
      /host evil.test is not allowed; allowed: images.example.com/,
    );
    assert.throws(() => checkRemoteUrl(new URL('https://u:p@example.com/'), open), /credentials/);
    assert.throws(() => checkRemoteUrl(new URL('http://[::1]/'), open), /private address/);
  });

  it('refuses a name that resolves to a private address, at connect time', async () => {
    await assert.rejects(
      fetchRemote(`http://localhost:${port}/ok`, open),
      /resolves to .* a private address; refused/,
    );
    await assert.rejects(fetchRemote(`http://127.0.0.1:${port}/ok`, open), /127.0.0.1 is a private address/);
  });

  it('fetches when private addresses are allowed, follows redirects, and enforces the byte limit', async () => {
    const trusted = { ...open, allowPrivate: true };
    assert.equal((await fetchRemote(`http://localhost:${port}/ok`, trusted)).toString(), 'image-bytes');
    assert.equal((await fetchRemote(`http://localhost:${port}/redirect`, trusted)).toString(), 'image-bytes');
    await assert.rejects(
      fetchRemote(`http://localhost:${port}/big`, trusted),
      /5000 bytes; the limit is 1000/,
    );
  });

  it('checks every redirect hop', async () => {
    const onlyLocalhost = { ...open, allowPrivate: true, allowedHosts: ['localhost'] };
    await assert.rejects(
      fetchRemote(`http://localhost:${port}/redirect`, onlyLocalhost),
      /host 127.0.0.1 is not allowed/,
    );
  });
});
