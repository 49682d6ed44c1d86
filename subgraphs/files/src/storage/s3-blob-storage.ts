import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import type { Clock } from '@parley/kit';
import { attachmentDisposition, checkBlobKey, type BlobStorage } from './blob-storage.js';

export interface S3BlobStorageOptions {
  client: S3Client;
  bucket: string;
  /** When URLs are signed: S3 checks their expiry against its own clock, from the signing time they carry. */
  clock: Clock;
}

const isNotFound = (error: unknown) =>
  error instanceof S3ServiceException &&
  (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);

/**
 * Blobs in an S3-compatible bucket (AWS, MinIO). Uploads and downloads are presigned requests: the type and
 * length of an upload are part of what is signed, so S3 refuses a PUT that differs.
 */
export function createS3BlobStorage({ client, bucket, clock }: S3BlobStorageOptions): BlobStorage {
  /** A presigned URL valid from now for `expiresIn` seconds, and when it expires. */
  const presign = async (
    command: PutObjectCommand | GetObjectCommand,
    expiresIn: number,
    signableHeaders?: Set<string>,
  ) => {
    const signingDate = clock.now();
    const url = await getSignedUrl(client, command, {
      expiresIn,
      signingDate,
      ...(signableHeaders && { signableHeaders }),
    });
    return { url, expiresAt: new Date(signingDate.getTime() + expiresIn * 1000) };
  };
  return {
    async signUpload(key, { contentType, size, expiresInSeconds }) {
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: checkBlobKey(key),
        ContentType: contentType,
        ContentLength: size,
        // A conditional write: S3 and MinIO refuse it (412) once the key holds an object.
        IfNoneMatch: '*',
      });
      const { url, expiresAt } = await presign(
        command,
        expiresInSeconds,
        new Set(['content-type', 'content-length', 'if-none-match']),
      );
      return {
        url,
        method: 'PUT',
        headers: { 'content-type': contentType, 'if-none-match': '*' },
        expiresAt,
      };
    },
    async signDownload(key, { expiresInSeconds, filename }) {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: checkBlobKey(key),
        // An uploader may have stored the object with a Content-Encoding of their own (it is not signed):
        // browsers must get the bytes that were verified, not decode them into others.
        ResponseContentEncoding: 'identity',
        // Nor may their caching headers (also unsigned) make shared caches keep a member's download.
        ResponseCacheControl: 'private, max-age=60',
        ...(filename && {
          ResponseContentDisposition: attachmentDisposition(filename),
        }),
      });
      const { url, expiresAt } = await presign(command, expiresInSeconds);
      return { url, method: 'GET', headers: {}, expiresAt };
    },
    async head(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: checkBlobKey(key) }));
        return { size: head.ContentLength ?? 0, contentType: head.ContentType ?? 'application/octet-stream' };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async read(key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: checkBlobKey(key) }));
        return (object.Body as Readable | undefined) ?? null;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async write(key, bytes, contentType) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: checkBlobKey(key),
          Body: bytes,
          ContentType: contentType,
        }),
      );
    },
    async delete(keys) {
      for (let start = 0; start < keys.length; start += 1000) {
        const chunk = keys.slice(start, start + 1000).map((key) => ({ Key: checkBlobKey(key) }));
        const { Errors } = await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk, Quiet: true } }),
        );
        // Quiet lists only failures; one means bytes would outlive the record that names them.
        const failed = (Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          throw new Error(`S3 kept ${failed.length} of the blobs asked to delete: ${failed[0]?.Code ?? ''}`);
        }
      }
    },
  };
}
