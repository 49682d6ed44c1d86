import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, createTestClock, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, ok } from '../conversations/operations.js';
import { DELETE, send } from '../messages/operations.js';
import { COMPLETE_UPLOAD, createUpload, download, FILE, png, putBytes, uploadFile } from './operations.js';
import { createPrismaClient, type PrismaClient } from '../../subgraphs/files/src/data/database.js';
import { releaseMarginSeconds } from '../../subgraphs/files/src/files-service.js';

const PROFILE = `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`;

/**
 * Expiry and cleanup, on a clock of the test's own: the services read the time from it, and time passes when
 * the test advances it, at once. So the windows are realistic ones and no test waits for them. The cleaner
 * looks every 100 ms of real time (polling), and what it deletes depends on the test's clock alone.
 */
const UPLOAD_TTL_SECONDS = 15 * 60;
const DOWNLOAD_TTL_SECONDS = 5 * 60;
/**
 * Ten minutes: the clock moves on by the grace period and its margin twice in all, short of the hour after
 * which the cleaner drops a share messages has not confirmed (PENDING_SHARE_TTL_MS), however slowly its
 * events are read.
 */
const GRACE_SECONDS = 10 * 60;
const clock = createTestClock();
let parley: Parley;
let prisma: PrismaClient;
let filesDir: string;
let ann: SignedInUser;
let bob: SignedInUser;

beforeAll(async () => {
  filesDir = await mkdtemp(join(tmpdir(), 'parley-files-'));
  parley = await startParley({
    label: 'files_lifecycle',
    filesEnv: {
      FILES_LOCAL_DIR: filesDir,
      UPLOAD_URL_TTL_SECONDS: String(UPLOAD_TTL_SECONDS),
      DOWNLOAD_URL_TTL_SECONDS: String(DOWNLOAD_TTL_SECONDS),
      RELEASED_FILE_GRACE_SECONDS: String(GRACE_SECONDS),
      FILES_CLEANUP_INTERVAL_MS: '100',
    },
    // The clock moves on by more than an hour in all, and access tokens expire by it as well: a day's
    // lifetime keeps Ann and Bob signed in throughout.
    usersEnv: { ACCESS_TOKEN_TTL_SECONDS: String(24 * 3600) },
    clock,
  });
  prisma = createPrismaClient({ connectionString: parley.databaseUrls.files, schema: 'public', poolMax: 2 });
  [ann, bob] = await parley.registerUsers('ann', 'bob');
}, 60_000);
afterAll(async () => {
  await prisma?.$disconnect();
  await parley?.stop();
  await rm(filesDir, { recursive: true, force: true });
});

/** Moves the clock a second past `time` (signed URLs are checked to the second). */
const advancePast = (time: string) => clock.advance(new Date(time).getTime() + 1_000 - clock.now().getTime());
/** `seconds` from the clock's time, as the API tells times. */
const inSeconds = (seconds: number) => new Date(clock.now().getTime() + seconds * 1000).toISOString();
/**
 * Once files read the deletion of the last message carrying the file (from messages' stream) and released
 * it, at the clock's time: the clock moves on only then, or the grace period would start after the move.
 */
const untilReleased = (fileId: string) =>
  expect
    .poll(async () => (await prisma.file.findUnique({ where: { id: fileId } }))?.releasedAt, {
      timeout: 10_000,
    })
    .toBeInstanceOf(Date);
/** Moves the clock past the grace period and its margin of a file released now. */
const advancePastGrace = () =>
  clock.advance((GRACE_SECONDS + releaseMarginSeconds(GRACE_SECONDS) + 1) * 1000);
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
    expect(ticket.upload.expiresAt).toBe(inSeconds(UPLOAD_TTL_SECONDS));
    advancePast(ticket.upload.expiresAt);
    const refused = await putBytes(ticket, bytes);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { message: 'This signed URL has expired' } });
    expect(await hasBytes(ticket.file.id)).toBe(false);
    // Its record stays for as long again: a large upload begun in time may still be arriving.
    expect(await codeOfFile(ann, ticket.file.id)).toBeUndefined();
    // Given up by the cleaner once its time is over: the record goes too.
    clock.advance(UPLOAD_TTL_SECONDS * 1000);
    await expect.poll(() => codeOfFile(ann, ticket.file.id), { timeout: 10_000 }).toBe('NOT_FOUND');
    expect(codeOf(await ann.client.request(COMPLETE_UPLOAD, { id: ticket.file.id }))).toBe('NOT_FOUND');
  });

  it('refuses an expired download URL; asking again gives a working one', async () => {
    const bytes = randomBytes(100);
    const file = await uploadFile(ann, bytes, { contentType: 'application/octet-stream' });
    expect(file.urlExpiresAt).toBe(inSeconds(DOWNLOAD_TTL_SECONDS));
    advancePast(file.urlExpiresAt!);
    expect((await download(file.url!)).status).toBe(403);
    const again = await ok(ann, FILE, { id: file.id });
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
    await untilReleased(released.id);
    expect(await codeOfFile(ann, released.id)).toBeUndefined();
    advancePastGrace();

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
    // Released last: once it is, so are the other two; once it is gone, the cleaner has looked at them.
    await untilReleased(marker.id);
    advancePastGrace();
    await expect.poll(() => codeOfFile(ann, marker.id), { timeout: 10_000 }).toBe('NOT_FOUND');
    expect(await codeOfFile(ann, named.id)).toBe('NOT_FOUND');
    expect(await codeOfFile(ann, avatar.id)).toBeUndefined();
    expect(await hasBytes(avatar.id)).toBe(true);
  });
});
