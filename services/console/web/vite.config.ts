// Vite builds web/ into ../dist. In development (`vite --config web/vite.config.ts`), /api requests
// go to a running console server (MMIT_CONSOLE_URL, default http://127.0.0.1:7076).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const consoleUrl = process.env.MMIT_CONSOLE_URL ?? 'http://127.0.0.1:7076';

export default defineConfig({
  root: webDir,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    // One bundle (React, zod and the pages) of about 370 kB; splitting would not pay off.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': consoleUrl },
  },
});
