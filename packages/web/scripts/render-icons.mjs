#!/usr/bin/env node
// Renders the app icons of the web manifest from public/favicon.svg with the Chromium the browser
// suite uses, once; the PNGs are committed, so neither the build nor the server needs an image library.
//   node packages/web/scripts/render-icons.mjs
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const pub = fileURLToPath(new URL('../public/', import.meta.url));
const svg = readFileSync(`${pub}favicon.svg`, 'utf8');
// The favicon's square without its rounded corners, for the maskable icon: the platform cuts its own shape.
const BACKGROUND = /<rect[^>]*fill="(#[0-9a-fA-F]{6})"/.exec(svg)[1];
const glyph = svg.replace(/<rect[^>]*\/>/, '');

const icons = [
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  // Maskable: a full-bleed background, the glyph inside the central 80% safe zone.
  { file: 'icon-maskable-512.png', size: 512, maskable: true },
];

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  for (const { file, size, maskable } of icons) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const inner = maskable
      ? glyph.replace('<svg ', `<svg width="${size * 0.8}" height="${size * 0.8}" `)
      : svg.replace('<svg ', `<svg width="${size}" height="${size}" `);
    const style = maskable ? `background:${BACKGROUND};display:flex;align-items:center;justify-content:center` : 'background:transparent';
    await page.setContent(`<html><body style="margin:0;width:${size}px;height:${size}px;${style}">${inner}</body></html>`);
    await page.screenshot({ path: `${pub}${file}`, omitBackground: !maskable, clip: { x: 0, y: 0, width: size, height: size } });
    await page.close();
    console.log(`wrote public/${file}`);
  }
} finally {
  await browser.close();
}
