import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import S3rver from 's3rver';
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
 * run on our machines, ENVIRONMENT.md). It checks the expiry of presigned URLs but not their signatures.
 */
let s3rver: S3rver;
let s3Directory: string;
let client: S3Client;
const bucket = `parley-${randomBytes(4).toString('hex')}`;
let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let eve: SignedInUser;

beforeAll(async () => {
  s3Directory = await mkdtemp(join(tmpdir(), 'parley-s3rver-'));
  s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Directory });
  const { port } = await s3rver.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  parley = await startParley({
    label: 'files_s3',
    filesEnv: {
      FILES_STORAGE: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
  });
  [ann, bob, eve] = await parley.registerUsers('ann', 'bob', 'eve');
}, 60_000);
afterAll(async () => {
  await parley?.stop();
  client?.destroy();
  await s3rver?.close();
  await rm(s3Directory, { recursive: true, force: true });
});

describe('files on S3', () => {
  it('uploads straight to the bucket; a member downloads identical bytes and the thumbnail, a non-member is FORBIDDEN', async () => {
    const bytes = await png(400, 300);
    const file = await uploadFile(ann, bytes, { name: 'photo.png', contentType: 'image/png' });
    expect(file).toMatchObject({ status: 'READY', width: 400, height: 300 });
    expect(new URL(file.url!).pathname).toBe(`/${bucket}/originals/${file.id}`);
    const stored = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `originals/${file.id}` }));
    expect(stored.ContentLength).toBe(bytes.length);

    const dm = await createDm(ann, bob);
    await send(ann, dm.id, 'look', { attachmentIds: [file.id] });
    const seen = await ok<{ file: { url: string; thumbnailUrl: string } }>(bob, FILE, { id: file.id });
    expect(sha256((await download(seen.file.url)).bytes)).toBe(sha256(bytes));
    const thumbnail = await download(seen.file.thumbnailUrl);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
    expect(codeOf(await eve.client.request(FILE, { id: file.id }))).toBe('FORBIDDEN');
  });

  it('refuses a program declared image/png and deletes it from the bucket', async () => {
    const program = windowsProgram();
    const ticket = await createUpload(ann, program, { name: 'cat.png', contentType: 'image/png' });
    expect((await putBytes(ticket, program)).status).toBe(200);
    const completed = await ann.client.request(COMPLETE_UPLOAD, { id: ticket.file.id });
    expect(completed.errors?.[0]?.extensions?.['reason']).toBe('EXECUTABLE');
    await expect(
      client.send(new HeadObjectCommand({ Bucket: bucket, Key: `originals/${ticket.file.id}` })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });
});
