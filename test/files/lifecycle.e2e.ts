import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, ok } from '../conversations/operations.js';
import { DELETE, send } from '../messages/operations.js';
import {
  COMPLETE_UPLOAD,
  createUpload,
  download,
  FILE,
  png,
  putBytes,
  uploadFile,
  type FileFields,
} from './operations.js';

const PROFILE = `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`;

/** Short upload and download windows and grace period, a fast cleaner: expiry is what these tests watch. */
let parley: Parley;
let filesDir: string;
let ann: SignedInUser;
let bob: SignedInUser;

beforeAll(async () => {
  filesDir = await mkdtemp(join(tmpdir(), 'parley-files-'));
  parley = await startParley({
    label: 'files_lifecycle',
    filesEnv: {
      FILES_LOCAL_DIR: filesDir,
      // Short, for the expiry tests, but not so short that a busy machine's upload outlives its URL.
      UPLOAD_URL_TTL_SECONDS: '5',
      DOWNLOAD_URL_TTL_SECONDS: '5',
      RELEASED_FILE_GRACE_SECONDS: '1',
      FILES_CLEANUP_INTERVAL_MS: '100',
    },
  });
  [ann, bob] = await parley.registerUsers('ann', 'bob');
}, 60_000);
afterAll(async () => {
  await parley?.stop();
  await rm(filesDir, { recursive: true, force: true });
});

/** Until the wall clock is past `time` (signed URLs are checked against it, to the second). */
const pastTime = (time: string | Date) =>
  new Promise((resolve) => setTimeout(resolve, new Date(time).getTime() + 1_100 - Date.now()));
const hasBytes = (fileId: string) =>
  access(join(filesDir, 'originals', fileId)).then(
    () => true,
    () => false,
  );
const codeOfFile = async (user: SignedInUser, id: string) => codeOf(await user.client.request(FILE, { id }));

describe('expiry', () => {
  it('refuses an expired upload URL, and gives up the upload', async () => {
    const bytes = randomBytes(100);
    const ticket = await createUpload(ann, bytes, { contentType: 'application/octet-stream' });
    await pastTime(ticket.upload.expiresAt);
    expect((await putBytes(ticket, bytes)).status).toBe(403);
    expect(await hasBytes(ticket.file.id)).toBe(false);
    // Given up by the cleaner once its time is over: the record goes too.
    await expect.poll(() => codeOfFile(ann, ticket.file.id), { timeout: 10_000 }).toBe('NOT_FOUND');
    expect(codeOf(await ann.client.request(COMPLETE_UPLOAD, { id: ticket.file.id }))).toBe('NOT_FOUND');
  });

  it('refuses an expired download URL; asking again gives a working one', async () => {
    const bytes = randomBytes(100);
    const file = await uploadFile(ann, bytes, { contentType: 'application/octet-stream' });
    await pastTime(file.urlExpiresAt!);
    expect((await download(file.url!)).status).toBe(403);
    const again = await ok<{ file: FileFields }>(ann, FILE, { id: file.id });
    expect((await download(again.file.url!)).bytes.equals(bytes)).toBe(true);
  });
});

describe('files of deleted messages', () => {
  it('deletes a file no message carries after the grace period, and keeps one still attached elsewhere', async () => {
    const dm = await createDm(ann, bob);
    const kept = await uploadFile(ann, randomBytes(50), { contentType: 'application/octet-stream' });
    const released = await uploadFile(ann, randomBytes(50), { contentType: 'application/octet-stream' });
    await send(ann, dm.id, 'still here', { attachmentIds: [kept.id] });
    const again = await send(ann, dm.id, 'twice', { attachmentIds: [kept.id] });
    const only = await send(ann, dm.id, 'once', { attachmentIds: [released.id] });
    // `kept` is released first: by the time `released` is deleted, the cleaner has looked at `kept` too.
    await ok(ann, DELETE, { id: again.id });
    await ok(ann, DELETE, { id: only.id });

    await expect.poll(() => codeOfFile(ann, released.id), { timeout: 10_000 }).toBe('NOT_FOUND');
    expect(await hasBytes(released.id)).toBe(false);
    expect(await codeOfFile(bob, kept.id)).toBeUndefined();
    expect(await hasBytes(kept.id)).toBe(true);
  });

  it('keeps a released image its owner made their avatar, not one someone else named as theirs', async () => {
    const dm = await createDm(ann, bob);
    const avatar = await uploadFile(ann, await png(40, 40), { contentType: 'image/png' });
    const named = await uploadFile(ann, await png(30, 30), { contentType: 'image/png' });
    const marker = await uploadFile(ann, randomBytes(8), { contentType: 'application/octet-stream' });
    await ok(ann, PROFILE, { input: { avatarFileId: avatar.id } });
    await ok(bob, PROFILE, { input: { avatarFileId: named.id } });
    for (const file of [avatar, named, marker]) {
      const message = await send(ann, dm.id, 'photo', { attachmentIds: [file.id] });
      await ok(ann, DELETE, { id: message.id });
    }
    // Released last: once it is gone, the cleaner has looked at the other two.
    await expect.poll(() => codeOfFile(ann, marker.id), { timeout: 10_000 }).toBe('NOT_FOUND');
    expect(await codeOfFile(ann, named.id)).toBe('NOT_FOUND');
    expect(await codeOfFile(ann, avatar.id)).toBeUndefined();
    expect(await hasBytes(avatar.id)).toBe(true);
  });
});
