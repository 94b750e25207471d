import { describe, expect, it } from 'vitest';
import { sqliteUnsafeNode } from './database.ts';

describe('sqliteUnsafeNode()', () => {
  it('names the Node 24 releases that abort on collecting a better-sqlite3 statement', () => {
    expect(['v24.19.0', 'v24.20.0', 'v24.21.0'].map(sqliteUnsafeNode)).toEqual([true, true, true]);
  });

  it('leaves the releases before and after, and other lines, alone', () => {
    expect(['v24.18.1', 'v24.22.1', 'v24.22.3', 'v20.20.2', 'v22.23.5', 'v26.1.0'].map(sqliteUnsafeNode)).toEqual([false, false, false, false, false, false]);
  });
});
