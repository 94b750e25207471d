import { describe, expect, it } from 'vitest';
import { ParleyError, type Limits } from '@parley/sdk';
import { uploadErrorText } from './uploads-model.ts';

const limits = { fileSize: 100 * 1024 * 1024 } as Limits;

describe('uploadErrorText', () => {
  it('names the limit in MiB for a file that is too large', () => {
    const err = new ParleyError('file_too_large', 'The file is larger than 104857600 bytes', 413);
    expect(uploadErrorText(err, 'film.mov', limits)).toBe('"film.mov" is too large: files can be at most 100 MiB');
  });
  it('says how long to wait when a limit is reached', () => {
    expect(uploadErrorText(new ParleyError('rate_limited', 'Too many bytes', 429, 700), 'a', limits)).toBe('Upload limit reached: try again in 12 min');
    expect(uploadErrorText(new ParleyError('too_many_uploads', 'Too many', 429, 30), 'a', limits)).toBe(
      'Too many unfinished uploads: finish or cancel one, or try again in 30 s',
    );
    expect(uploadErrorText(new ParleyError('rate_limited', 'Too many bytes', 429), 'a', limits)).toBe('Upload limit reached: try again later');
  });
});
