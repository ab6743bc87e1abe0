// The classic ways a path or key climbs out of its folder, for the tests of every route that
// takes one from a request (each route's key-bearing fields are fed all of them). Raw and
// URL-encoded forms both appear: a route may decode once, twice, or not at all.
export const TRAVERSAL_SPELLINGS = [
  '../../../../outside.tar',
  '..',
  '.',
  './../outside.tar',
  '..\\..\\..\\outside.tar',
  '..%2f..%2foutside.tar',
  '%2e%2e/%2e%2e/outside.tar',
  '%2e%2e%2f%2e%2e%2foutside.tar',
  '%252e%252e%252foutside.tar',
  '..%c0%afoutside.tar',
  '....//....//outside.tar',
  '..;/outside.tar',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  '\\\\server\\share\\outside.tar',
  'x/\u0000/../outside.tar',
  '\uff0e\uff0e/outside.tar',
  '',
] as const;
