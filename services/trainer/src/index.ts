// @mmit/trainer-service: the trainer over HTTP (runs, state, SSE events, cancel, resume).
export * from './app.js';
export * from './config.js';
export * from './routes.js';
export * from './runs.js';
