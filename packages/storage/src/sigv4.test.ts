// SigV4 verification against the worked examples in AWS's S3 documentation ("Signature
// Calculations for the Authorization Header" and "Authenticating Requests: Using Query
// Parameters"): the signatures below are AWS's own, so a wrong canonical form fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SignedRequest, uriEncode, verifySigV4 } from './sigv4.js';

const ACCESS = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const secretOf = (key: string) => (key === ACCESS ? SECRET : undefined);
const HOST = 'examplebucket.s3.amazonaws.com';

const headerSigned: SignedRequest = {
  method: 'GET',
  url: '/test.txt',
  headers: {
    host: HOST,
    range: 'bytes=0-9',
    'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-amz-date': '20130524T000000Z',
    authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
  },
};
const presigned: SignedRequest = {
  method: 'GET',
  url: `/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${ACCESS}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404`,
  headers: { host: HOST },
};
const at = (iso: string) => new Date(iso);
const codeOf = (r: ReturnType<typeof verifySigV4>) => (r.ok ? 'ok' : r.failure.code);

test("AWS's header-signed GET example verifies", () => {
  const result = verifySigV4(headerSigned, secretOf, at('2013-05-24T00:05:00Z'));
  assert.deepEqual(result, {
    ok: true,
    accessKey: ACCESS,
    payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  });
});

test("AWS's presigned-URL example verifies until it expires", () => {
  assert.equal(codeOf(verifySigV4(presigned, secretOf, at('2013-05-24T12:00:00Z'))), 'ok');
  assert.equal(codeOf(verifySigV4(presigned, secretOf, at('2013-05-25T00:00:01Z'))), 'AccessDenied');
});

test('any change to what was signed breaks the signature', () => {
  const now = at('2013-05-24T00:05:00Z');
  const changed = (patch: Partial<SignedRequest['headers']>, rest: Partial<SignedRequest> = {}) =>
    codeOf(
      verifySigV4(
        { ...headerSigned, ...rest, headers: { ...headerSigned.headers, ...patch } },
        secretOf,
        now,
      ),
    );
  assert.equal(changed({ range: 'bytes=0-10' }), 'SignatureDoesNotMatch');
  assert.equal(changed({ host: 'other.s3.amazonaws.com' }), 'SignatureDoesNotMatch');
  assert.equal(changed({}, { url: '/test2.txt' }), 'SignatureDoesNotMatch');
  assert.equal(changed({}, { method: 'DELETE' }), 'SignatureDoesNotMatch');
  assert.equal(changed({}, { url: '/test.txt?acl' }), 'SignatureDoesNotMatch');
  assert.equal(
    changed({ 'x-amz-content-sha256': '0'.repeat(64) }),
    'SignatureDoesNotMatch',
    'the payload hash is part of the signature',
  );
  const tamperedUrl = presigned.url.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604800');
  assert.equal(
    codeOf(verifySigV4({ ...presigned, url: tamperedUrl }, secretOf, now)),
    'SignatureDoesNotMatch',
  );
});

test('unsigned, unknown-key, skewed and malformed requests are refused with S3 codes', () => {
  const now = at('2013-05-24T00:05:00Z');
  assert.equal(
    codeOf(verifySigV4({ method: 'GET', url: '/test.txt', headers: { host: HOST } }, secretOf, now)),
    'AccessDenied',
  );
  assert.equal(codeOf(verifySigV4(headerSigned, () => undefined, now)), 'InvalidAccessKeyId');
  assert.equal(
    codeOf(verifySigV4(headerSigned, secretOf, at('2013-05-24T00:20:01Z'))),
    'RequestTimeTooSkewed',
  );
  const v2 = { ...headerSigned, headers: { ...headerSigned.headers, authorization: 'AWS AKIA:c2ln' } };
  assert.equal(codeOf(verifySigV4(v2, secretOf, now)), 'AccessDenied', 'signature version 2 is not accepted');
  const noHash = { ...headerSigned, headers: { ...headerSigned.headers, 'x-amz-content-sha256': undefined } };
  assert.equal(codeOf(verifySigV4(noHash, secretOf, now)), 'InvalidRequest');
  const both = {
    ...presigned,
    headers: { ...presigned.headers, authorization: headerSigned.headers.authorization },
  };
  assert.equal(codeOf(verifySigV4(both, secretOf, now)), 'InvalidRequest');
});

test('uriEncode leaves only unreserved characters bare', () => {
  assert.equal(uriEncode("a b/c!'()*~._-é"), 'a%20b%2Fc%21%27%28%29%2A~._-%C3%A9');
  assert.equal(uriEncode('a b/c', true), 'a%20b/c');
});
