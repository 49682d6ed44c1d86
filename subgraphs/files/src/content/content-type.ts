import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes detection reads (file-type's own maximum need for the formats here). */
export const SNIFF_BYTES = 4100;

/** Types a file may be declared as, by family; anything else is refused at createUpload. */
export const ALLOWED_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'audio/mpeg',
  'audio/ogg',
  'video/mp4',
  'video/webm',
  'application/zip',
  // Client-side encrypted blobs: opaque bytes, described by the client's own metadata.
  'application/octet-stream',
]);

/** Detected types that are refused whatever was declared: programs a recipient could run. */
const EXECUTABLE = new Set([
  'application/x-msdownload',
  'application/x-elf',
  'application/x-mach-binary',
  'application/x-sharedlib',
  'application/vnd.microsoft.portable-executable',
  'application/x-executable',
]);

export type ContentVerdict =
  | { ok: true; detected: string | null }
  | { ok: false; detected: string | null; code: 'EXECUTABLE' | 'TYPE_MISMATCH'; reason: string };

/**
 * Whether bytes are what they were declared to be, from their magic numbers (not the declaration):
 * - an executable is refused, whatever was declared (`application/octet-stream` included);
 * - a declared image, PDF, audio, video or archive type must be exactly what the bytes are;
 * - `text/plain` must not be a recognised binary format;
 * - `application/octet-stream` (encrypted, opaque) may be anything else.
 */
export async function checkContentType(declared: string, head: Uint8Array): Promise<ContentVerdict> {
  const detected = (await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES)))?.mime ?? null;
  if (detected && EXECUTABLE.has(detected)) {
    return { ok: false, detected, code: 'EXECUTABLE', reason: 'Executable files are not accepted' };
  }
  const mismatch = (reason: string) => ({ ok: false, detected, code: 'TYPE_MISMATCH', reason }) as const;
  if (!ALLOWED_TYPES.has(declared)) return mismatch(`${declared} is not accepted`);
  if (declared === 'application/octet-stream') return { ok: true, detected };
  if (declared === 'text/plain') {
    return detected === null
      ? { ok: true, detected }
      : mismatch(`Declared text/plain, but the bytes are ${detected}`);
  }
  return detected === declared
    ? { ok: true, detected }
    : mismatch(`Declared ${declared}, but the bytes are ${detected ?? 'not that'}`);
}
