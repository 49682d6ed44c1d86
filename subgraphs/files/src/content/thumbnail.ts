import sharp from 'sharp';

/** Image types a thumbnail is made of. */
export const THUMBNAIL_SOURCE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Larger images are refused before they are decoded (a small file can claim a huge canvas). */
const MAX_INPUT_PIXELS = 50_000_000;

export interface Thumbnail {
  bytes: Buffer;
  contentType: 'image/webp';
  width: number;
  height: number;
  /** The original's dimensions, upright (EXIF orientation applied). */
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * A WebP no larger than `maxSize` on either side (never enlarged), turned upright by its EXIF orientation
 * and without metadata (no location or camera data travels into it). Throws for bytes sharp cannot read
 * or images over 50 megapixels.
 */
export async function makeThumbnail(image: Uint8Array, maxSize = 320): Promise<Thumbnail> {
  const source = sharp(image, { limitInputPixels: MAX_INPUT_PIXELS, animated: false }).rotate();
  const metadata = await source.metadata();
  const upright = (metadata.orientation ?? 1) >= 5;
  const { data, info } = await source
    .resize({ width: maxSize, height: maxSize, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer({ resolveWithObject: true });
  return {
    bytes: data,
    contentType: 'image/webp',
    width: info.width,
    height: info.height,
    sourceWidth: (upright ? metadata.height : metadata.width) ?? info.width,
    sourceHeight: (upright ? metadata.width : metadata.height) ?? info.height,
  };
}
