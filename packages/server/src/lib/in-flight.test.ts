import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.ts';

describe('InFlight', () => {
  it('gives a key as many slots as the maximum, then refuses', () => {
    const gate = new InFlight(2);
    expect(gate.enter('ann')).not.toBeNull();
    expect(gate.enter('ann')).not.toBeNull();
    expect(gate.enter('ann')).toBeNull();
  });

  it('counts each key on its own', () => {
    const gate = new InFlight(1);
    expect(gate.enter('ann')).not.toBeNull();
    expect(gate.enter('bea')).not.toBeNull();
    expect(gate.count('ann')).toBe(1);
  });

  it('a slot given back can be taken again, and giving it back twice frees only one', () => {
    const gate = new InFlight(2);
    const leave = gate.enter('ann')!;
    gate.enter('ann');
    leave();
    leave();
    expect(gate.count('ann')).toBe(1);
    expect(gate.enter('ann')).not.toBeNull();
    expect(gate.enter('ann')).toBeNull();
  });
});
