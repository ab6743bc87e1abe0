// AWS Signature Version 4 as S3 checks it, for the embedded server: s3rver 3.7.1 parses SigV4
// headers but never verifies them ("Signature version 4 calculation is unimplemented"), so any
// process that could reach its port could read and write the bucket. This verifies the
// Authorization header form and the presigned-URL (query) form against a key table, following
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html:
// canonical request -> string to sign -> HMAC chain over date/region/service -> signature.
//
// The payload hash is only read here (it is part of what is signed); checking that the body has
// that hash is the caller's job, since the body arrives after the headers.
// Limits: `aws-chunked` streaming payloads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are refused, not
// verified; the minio client does not send them.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** S3 refuses header-signed requests whose x-amz-date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SEC = 7 * 24 * 3600;

export interface SignedRequest {
  method: string;
  /** Path and query exactly as received (`req.url`). */
  url: string;
  /** Header names lower-cased (as Node gives them). */
  headers: Record<string, string | string[] | undefined>;
}

/** Why a request was refused, as an S3 error code and message. */
export interface SignatureFailure {
  code:
    | 'AccessDenied'
    | 'InvalidAccessKeyId'
    | 'SignatureDoesNotMatch'
    | 'AuthorizationHeaderMalformed'
    | 'AuthorizationQueryParametersError'
    | 'RequestTimeTooSkewed'
    | 'InvalidRequest'
    | 'NotImplemented';
  message: string;
}

export type SignatureCheck =
  | { ok: true; accessKey: string; payloadHash: string }
  | { ok: false; failure: SignatureFailure };

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is encoded. */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

/** `YYYYMMDDTHHMMSSZ` to a Date; NaN date when malformed. */
function parseAmzDate(value: string | undefined): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return new Date(Number.NaN);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

function splitUrl(url: string): { path: string; query: [string, string][] } {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const raw = at < 0 ? '' : url.slice(at + 1);
  const query = raw
    .split('&')
    .filter((p) => p.length > 0)
    .map((p): [string, string] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [decode(p), ''] : [decode(p.slice(0, eq)), decode(p.slice(eq + 1))];
    });
  return { path, query };
}

function canonicalQuery(query: [string, string][]): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Each path segment decoded, then encoded once (S3 does not normalise `.` or `//`). */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => uriEncode(decode(segment)))
    .join('/');
}

function canonicalHeaders(headers: SignedRequest['headers'], signed: string[]): string | undefined {
  let out = '';
  for (const name of signed) {
    const value = header(headers, name);
    if (value === undefined) return undefined;
    out += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  }
  return out;
}

function signature(secret: string, scope: string[], stringToSign: string): Buffer {
  const [date, region, service] = scope;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'));
}

function sameSignature(expected: Buffer, provided: string): boolean {
  const given = Buffer.from(provided);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Parsed {
  accessKey: string;
  scope: string[];
  signedHeaders: string[];
  provided: string;
  amzDate: string;
  payloadHash: string;
  query: [string, string][];
  /** For presigned URLs: seconds the URL stays valid after amzDate. */
  expiresSec?: number;
}

const fail = (code: SignatureFailure['code'], message: string): SignatureCheck => ({
  ok: false,
  failure: { code, message },
});

function parseCredential(credential: string): { accessKey: string; scope: string[] } | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || parts[3] !== 's3') return undefined;
  return { accessKey: parts[0], scope: parts.slice(1, 4) };
}

function parseHeaderForm(request: SignedRequest, authorization: string): Parsed | SignatureCheck {
  const { query } = splitUrl(request.url);
  const match = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(authorization);
  if (!match) {
    return fail('AccessDenied', 'only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted');
  }
  const fields = new Map(
    match[1].split(',').map((part) => {
      const [k, ...v] = part.trim().split('=');
      return [k, v.join('=')] as const;
    }),
  );
  const credential = parseCredential(fields.get('Credential') ?? '');
  const signedHeaders = fields.get('SignedHeaders');
  const provided = fields.get('Signature');
  if (!credential || !signedHeaders || !provided) {
    return fail(
      'AuthorizationHeaderMalformed',
      'the Authorization header needs Credential=<key>/<date>/<region>/s3/aws4_request, SignedHeaders and Signature',
    );
  }
  const payloadHash = header(request.headers, 'x-amz-content-sha256');
  if (!payloadHash) return fail('InvalidRequest', 'missing required header x-amz-content-sha256');
  return {
    ...credential,
    signedHeaders: signedHeaders.split(';'),
    provided,
    amzDate: header(request.headers, 'x-amz-date') ?? '',
    payloadHash,
    query,
  };
}

function parseQueryForm(request: SignedRequest): Parsed | SignatureCheck {
  const { query } = splitUrl(request.url);
  const get = (name: string) => query.find(([k]) => k === name)?.[1];
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    return fail('AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256');
  }
  const credential = parseCredential(get('X-Amz-Credential') ?? '');
  const signedHeaders = get('X-Amz-SignedHeaders');
  const provided = get('X-Amz-Signature');
  const expires = Number(get('X-Amz-Expires'));
  if (!credential || !signedHeaders || !provided || !Number.isInteger(expires)) {
    return fail(
      'AuthorizationQueryParametersError',
      'a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature',
    );
  }
  if (expires < 0 || expires > MAX_PRESIGN_SEC) {
    return fail('AuthorizationQueryParametersError', `X-Amz-Expires must be 0-${MAX_PRESIGN_SEC} seconds`);
  }
  return {
    ...credential,
    signedHeaders: signedHeaders.split(';'),
    provided,
    amzDate: get('X-Amz-Date') ?? '',
    payloadHash: header(request.headers, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD,
    query: query.filter(([k]) => k !== 'X-Amz-Signature'),
    expiresSec: expires,
  };
}

/**
 * Checks a request's SigV4 signature against `secretOf(accessKey)` (undefined: unknown key).
 * Requests with no signature at all are refused: the embedded server has no anonymous access.
 */
export function verifySigV4(
  request: SignedRequest,
  secretOf: (accessKey: string) => string | undefined,
  now: Date = new Date(),
): SignatureCheck {
  const authorization = header(request.headers, 'authorization');
  const presigned = /[?&]X-Amz-Signature=/.test(request.url);
  if (!authorization && !presigned) {
    return fail('AccessDenied', 'anonymous requests are refused: sign requests with the server keys (SigV4)');
  }
  if (authorization && presigned) {
    return fail('InvalidRequest', 'use either the Authorization header or a presigned URL, not both');
  }
  const parsed = authorization ? parseHeaderForm(request, authorization) : parseQueryForm(request);
  if ('ok' in parsed) return parsed;

  const secret = secretOf(parsed.accessKey);
  if (secret === undefined) {
    return fail('InvalidAccessKeyId', 'the access key id you provided does not exist in our records');
  }
  const when = parseAmzDate(parsed.amzDate);
  if (Number.isNaN(when.getTime())) {
    return fail('AccessDenied', 'a valid x-amz-date (YYYYMMDDTHHMMSSZ) is required');
  }
  if (parsed.amzDate.slice(0, 8) !== parsed.scope[0]) {
    return fail('SignatureDoesNotMatch', 'the credential scope date does not match x-amz-date');
  }
  if (parsed.expiresSec === undefined && Math.abs(now.getTime() - when.getTime()) > MAX_SKEW_MS) {
    return fail(
      'RequestTimeTooSkewed',
      'the difference between the request time and the server time is too large',
    );
  }
  if (parsed.expiresSec !== undefined && now.getTime() > when.getTime() + parsed.expiresSec * 1000) {
    return fail('AccessDenied', 'request has expired');
  }
  if (!parsed.signedHeaders.includes('host')) {
    return fail('SignatureDoesNotMatch', 'the host header must be signed');
  }
  if (parsed.payloadHash.startsWith('STREAMING-')) {
    return fail('NotImplemented', `payload signing ${parsed.payloadHash} is not supported here`);
  }
  if (parsed.payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(parsed.payloadHash)) {
    return fail('InvalidRequest', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a sha256 in hex');
  }
  const headers = canonicalHeaders(request.headers, parsed.signedHeaders);
  if (headers === undefined) {
    return fail('SignatureDoesNotMatch', 'a header listed in SignedHeaders is missing from the request');
  }
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(splitUrl(request.url).path),
    canonicalQuery(parsed.query),
    headers,
    parsed.signedHeaders.join(';'),
    parsed.payloadHash,
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    parsed.amzDate,
    [...parsed.scope, 'aws4_request'].join('/'),
    sha256Hex(canonicalRequest),
  ].join('\n');
  const expected = signature(secret, [...parsed.scope], stringToSign);
  if (!sameSignature(expected, parsed.provided)) {
    return fail(
      'SignatureDoesNotMatch',
      'the request signature we calculated does not match the signature you provided; check your key and signing method',
    );
  }
  return { ok: true, accessKey: parsed.accessKey, payloadHash: parsed.payloadHash };
}
