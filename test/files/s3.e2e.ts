import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startS3rver } from '@parley/files/testing';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, ok } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import {
  download,
  FILE,
  png,
  sha256,
  uploadFile,
  windowsProgram,
  createUpload,
  putBytes,
  COMPLETE_UPLOAD,
} from './operations.js';

/**
 * The whole flow with FILES_STORAGE=s3, against s3rver: a fake S3 started here (no S3 or MinIO server can
 * run in the test environment). It checks the expiry of presigned URLs but not their signatures.
 */
let s3: Awaited<ReturnType<typeof startS3rver>>;
let bucket: string;
let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let eve: SignedInUser;

beforeAll(async () => {
  s3 = await startS3rver();
  bucket = await s3.newBucket();
  parley = await startParley({
    label: 'files_s3',
    filesEnv: {
      FILES_STORAGE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
  });
  [ann, bob, eve] = await parley.registerUsers('ann', 'bob', 'eve');
}, 60_000);
afterAll(async () => {
  await parley?.stop();
  await s3?.stop();
});

describe('files on S3', () => {
  it('uploads straight to the bucket; a member downloads identical bytes and the thumbnail, a non-member is FORBIDDEN', async () => {
    const bytes = await png(400, 300);
    const file = await uploadFile(ann, bytes, { name: 'photo.png', contentType: 'image/png' });
    expect(file).toMatchObject({ status: 'READY', width: 400, height: 300 });
    expect(new URL(file.url!).pathname).toBe(`/${bucket}/originals/${file.id}`);
    const stored = await s3.client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `originals/${file.id}` }),
    );
    expect(stored.ContentLength).toBe(bytes.length);

    const dm = await createDm(ann, bob);
    await send(ann, dm.id, 'look', { attachmentIds: [file.id] });
    const seen = await ok(bob, FILE, { id: file.id });
    expect(sha256((await download(seen.file.url!)).bytes)).toBe(sha256(bytes));
    const thumbnail = await download(seen.file.thumbnailUrl!);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
    expect(codeOf(await eve.client.request(FILE, { id: file.id }))).toBe('FORBIDDEN');
  });

  it('refuses a program declared image/png, and never makes it READY', async () => {
    const program = windowsProgram();
    const ticket = await createUpload(ann, program, { name: 'cat.png', contentType: 'image/png' });
    expect((await putBytes(ticket, program)).status).toBe(200);
    const completed = await ann.client.request(COMPLETE_UPLOAD, { id: ticket.file.id });
    expect(completed.errors?.[0]?.extensions?.['reason']).toBe('EXECUTABLE');
    const file = await ok(ann, FILE, { id: ticket.file.id });
    expect(file.file).toMatchObject({ status: 'PENDING', url: null });
  });
});
