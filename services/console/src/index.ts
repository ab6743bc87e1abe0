// @mmit/console: the web console's server (static app + /api proxy to the services), usable as a
// library by tests and the launcher.
export {
  CONSOLE_VERSION,
  type ConsoleConfig,
  type ConsoleServer,
  type ConsoleServerOptions,
  createConsoleServer,
  type RunningConsole,
} from './app.js';
export {
  CONSOLE_DEFAULT_PORT,
  consoleConfigSpec,
  UPSTREAM_SERVICES,
  type UpstreamService,
} from './config.js';
export { apiProxy, type ProxyTargets } from './proxy.js';
export { UnknownApiPathError, type Upstream, upstreamFor } from './upstreams.js';
export { buildWeb, distDir, ensureWebBuild, WebBuildError } from './web-build.js';
