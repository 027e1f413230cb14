// Builds the browser page of `georank serve` (web/app/) into GEORANK_WEB_OUT (absolute path;
// CMake passes BUILD/web) or web/dist/. Asset URLs are relative (base './') so the service
// can serve index.html at / and the bundle under /assets/ without knowing a prefix.
import { fileURLToPath } from 'node:url';
import { isAbsolute } from 'node:path';
import { defineConfig } from 'vite';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outDir = process.env.GEORANK_WEB_OUT || here('./dist');
if (!isAbsolute(outDir)) {
  throw new Error(`GEORANK_WEB_OUT must be an absolute path, got "${outDir}"`);
}

export default defineConfig({
  root: here('./app'),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    assetsDir: 'assets',
    // vega + vega-lite are one ~1.5 MB chunk; the page is served locally, so no warning.
    chunkSizeWarningLimit: 4096,
    // Leaflet's CSS references small marker PNGs; inline them rather than emit files.
    assetsInlineLimit: 16384,
  },
});
