// Global setup of the browser suite: builds the web client once, before the test files start in
// parallel, so two of them never write packages/web/dist at the same time.
import { existsSync } from 'node:fs';
// @ts-expect-error plain JavaScript build helper without type declarations
import { ensureBuilt } from '../scripts/ensure-built.mjs';
import { CHROMIUM } from './_browser.ts';

export default function setup(): void {
  if (!existsSync(CHROMIUM)) return;
  if (!ensureBuilt({ quiet: true })) throw new Error('The web client could not be built');
}
