import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact()],
  build: {
    target: 'es2022',
    // The server's Content-Security-Policy allows no inline code, so nothing may be inlined.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    // The video transcoder (mediabunny, about 570 KB) is its own chunk, loaded only when a video is sent.
    chunkSizeWarningLimit: 600,
    // The service worker is its own entry, at /sw.js (its scope is the folder it is served from).
    rolldownOptions: {
      input: { index: 'index.html', sw: 'src/sw/sw.ts' },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } } },
});
