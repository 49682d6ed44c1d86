import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkContentType } from '../src/content/content-type.js';
import { makeThumbnail } from '../src/content/thumbnail.js';

const image = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } });
const png = (width = 800, height = 600) => image(width, height).png().toBuffer();
const jpeg = (width = 800, height = 600) => image(width, height).jpeg().toBuffer();
/** The start of a Windows program (MZ header with a PE signature where the header points). */
function windowsProgram(): Buffer {
  const bytes = Buffer.alloc(512);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'latin1');
  return bytes;
}
/** The start of a Linux program. */
const linuxProgram = () =>
  Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);

describe('checkContentType', () => {
  it('accepts bytes that are what was declared', async () => {
    expect(await checkContentType('image/png', await png())).toEqual({ ok: true, detected: 'image/png' });
    expect(await checkContentType('image/jpeg', await jpeg())).toEqual({ ok: true, detected: 'image/jpeg' });
    expect(await checkContentType('text/plain', Buffer.from('hello, world\n'))).toEqual({
      ok: true,
      detected: null,
    });
  });

  it('refuses a program declared as an image, and as opaque bytes', async () => {
    for (const program of [windowsProgram(), linuxProgram()]) {
      const asPng = await checkContentType('image/png', program);
      expect(asPng.ok).toBe(false);
      expect(asPng).toMatchObject({ code: 'EXECUTABLE', reason: 'Executable files are not accepted' });
      expect((await checkContentType('application/octet-stream', program)).ok).toBe(false);
    }
  });

  it('refuses one image type declared as another, text that is binary, and types not accepted', async () => {
    expect(await checkContentType('image/jpeg', await png())).toMatchObject({
      ok: false,
      code: 'TYPE_MISMATCH',
      detected: 'image/png',
    });
    expect(await checkContentType('text/plain', await png())).toMatchObject({ ok: false });
    expect(await checkContentType('image/png', Buffer.from('not an image'))).toMatchObject({
      ok: false,
      detected: null,
    });
    expect(await checkContentType('application/x-sh', Buffer.from('#!/bin/sh\n'))).toMatchObject({
      ok: false,
    });
  });

  it('accepts encrypted (random) bytes as opaque application/octet-stream', async () => {
    expect(await checkContentType('application/octet-stream', randomBytes(4096))).toMatchObject({ ok: true });
  });
});

describe('makeThumbnail', () => {
  it.each([
    ['PNG', png],
    ['JPEG', jpeg],
  ])('makes a WebP of at most 320 px from a %s, keeping its shape', async (_name, make) => {
    const thumbnail = await makeThumbnail(await make(800, 600));
    expect(thumbnail).toMatchObject({
      contentType: 'image/webp',
      width: 320,
      height: 240,
      sourceWidth: 800,
      sourceHeight: 600,
    });
    const read = await sharp(thumbnail.bytes).metadata();
    expect([read.format, read.width, read.height]).toEqual(['webp', 320, 240]);
  });

  it('never enlarges a small image', async () => {
    expect(await makeThumbnail(await png(100, 40))).toMatchObject({ width: 100, height: 40 });
  });

  it('refuses bytes that are not an image', async () => {
    await expect(makeThumbnail(Buffer.from('not an image'))).rejects.toThrow();
  });
});
