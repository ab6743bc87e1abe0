// zod set up for the console's Content-Security-Policy; imported first by main.tsx and by every
// module that builds a schema, so it runs before any schema exists. zod 4 compiles fast object
// parsers with `new Function` when it may, and finds out whether it may by trying once: under a
// CSP without 'unsafe-eval' that try is refused and reported as a violation (a console error on
// every page), even though zod catches it. jitless skips the try and the compiling, and the
// policy stays as strict as it is.
import { config } from 'zod';

config({ jitless: true });
