import { describe, expect, it } from 'vitest';
import { api, routeOf, type Endpoint } from './index.ts';
import { routes } from './routes.ts';

describe('routes', () => {
  it('are those of the endpoints, one per operation (else run npx tsx scripts/make-routes.ts)', () => {
    const derived = Object.fromEntries(Object.entries(api).map(([id, e]) => [id, routeOf(e as Endpoint)]));
    expect(routes).toEqual(derived);
  });
});
