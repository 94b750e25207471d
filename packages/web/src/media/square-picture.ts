/**
 * A profile picture made on the device: the middle square of the image, at most `side` pixels,
 * re-encoded (WebP where the browser can write it, else JPEG), which also drops EXIF and GPS.
 */
export async function squarePicture(source: Blob, side = 512): Promise<Blob> {
  // createImageBitmap applies the EXIF orientation, so the crop is of the image as it is seen.
  const bitmap = await createImageBitmap(source).catch(() => {
    throw new Error('This file is not an image this browser can read');
  });
  try {
    const crop = Math.min(bitmap.width, bitmap.height);
    const size = Math.min(side, crop);
    const canvas = new OffscreenCanvas(size, size);
    const g = canvas.getContext('2d');
    if (!g) throw new Error('This browser cannot draw the picture');
    g.drawImage(bitmap, (bitmap.width - crop) / 2, (bitmap.height - crop) / 2, crop, crop, 0, 0, size, size);
    // A browser that cannot write WebP answers with PNG: then JPEG is the smaller choice.
    const webp = await canvas.convertToBlob({ type: 'image/webp', quality: 0.85 });
    return webp.type === 'image/webp' ? webp : canvas.convertToBlob({ type: 'image/jpeg', quality: 0.88 });
  } finally {
    bitmap.close();
  }
}
