import { describe, expect, it } from 'vitest';
import { isVisual, mediaSize } from './media-size.ts';

describe('mediaSize', () => {
  it('keeps the aspect ratio inside the 320 px box, never enlarging', () => {
    expect(mediaSize({ width: 1920, height: 2560 })).toEqual({ width: 240, height: 320 });
    expect(mediaSize({ width: 640, height: 360 })).toEqual({ width: 320, height: 180 });
    expect(mediaSize({ width: 100, height: 80 })).toEqual({ width: 100, height: 80 });
  });
  it('gives a very long panorama a minimum height, and media without a size a fixed box', () => {
    expect(mediaSize({ width: 10_000, height: 100 })).toEqual({ width: 320, height: 48 });
    expect(mediaSize({})).toEqual({ width: 240, height: 180 });
  });
});

describe('isVisual', () => {
  it('shows photos and videos the browser can display, not voice notes or other types', () => {
    expect(isVisual({ mimeType: 'image/webp' })).toBe(true);
    expect(isVisual({ mimeType: 'video/mp4' })).toBe(true);
    expect(isVisual({ mimeType: 'image/heic' })).toBe(false);
    expect(isVisual({ mimeType: 'audio/webm', voice: true })).toBe(false);
    expect(isVisual({ mimeType: 'image/svg+xml' })).toBe(false);
  });
});
