import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// mls.ts is the only SDK module that may import ts-mls: the library's defects are handled there (docs/e2ee.md), and
// a 2.x move (incompatible state encodings) has one place to change. Tests may import it to check the library itself.

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [path.join(dir, e.name)] : [],
  );
}

describe('E2EE module boundaries', () => {
  it('imports ts-mls only from e2ee/mls.ts (tests and test helpers aside)', () => {
    const importers = sources(srcDir)
      .filter((f) => !/\.test\.ts$/.test(f) && !path.basename(f).startsWith('_'))
      .filter((f) => /from\s+['"]ts-mls(-old)?(\/[^'"]*)?['"]|import\(\s*['"]ts-mls/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(srcDir, f));
    expect(importers).toEqual(['e2ee/mls.ts']);
  });
});
