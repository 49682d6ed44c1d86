import { randomBytes, randomUUID } from 'node:crypto';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { DELETE, MESSAGE, send, SEND } from '../messages/operations.js';
import { useRealtime } from '../realtime/operations.js';
import {
  COMPLETE_UPLOAD,
  createUpload,
  download,
  FILE,
  jpeg,
  png,
  putBytes,
  sha256,
  UPLOAD_LIMITS,
  uploadFile,
  windowsProgram,
  type FileFields,
} from './operations.js';

const MiB = 1024 * 1024;

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let eve: SignedInUser;

beforeAll(async () => {
  parley = await startParley({
    label: 'files',
    filesEnv: {
      MAX_FILE_BYTES: String(2 * MiB),
      MAX_IMAGE_BYTES: String(MiB),
      FILES_QUOTA_BYTES: String(4 * MiB),
    },
  });
  [ann, bob, eve] = await parley.registerUsers('ann', 'bob', 'eve');
}, 60_000);
afterAll(async () => {
  await parley?.stop();
});

const ATTACHMENT_FIELDS = `query ($id: ID!) { message(id: $id) { id attachments { id name size sha256 url thumbnailUrl } } }`;

describe('upload, attach, download', () => {
  it('a member downloads identical bytes of a file sent in the conversation; a non-member is FORBIDDEN', async () => {
    const bytes = randomBytes(300_000);
    const file = await uploadFile(ann, bytes, {
      name: 'report 1.pdf.enc',
      contentType: 'application/octet-stream',
    });
    expect(file).toMatchObject({
      status: 'READY',
      size: bytes.length,
      sha256: sha256(bytes),
      owner: { id: ann.id },
    });

    const dm = await createDm(ann, bob);
    const message = await send(ann, dm.id, 'the report', { attachmentIds: [file.id] });
    expect(message.attachments).toEqual([{ id: file.id }]);

    const seen = await ok<{ message: { attachments: FileFields[] } }>(bob, ATTACHMENT_FIELDS, {
      id: message.id,
    });
    const [attachment] = seen.message.attachments;
    expect(attachment).toMatchObject({ id: file.id, name: 'report 1.pdf.enc', sha256: sha256(bytes) });
    const fetched = await download(attachment!.url!);
    expect(fetched.status).toBe(200);
    expect(sha256(fetched.bytes)).toBe(sha256(bytes));
    expect(fetched.headers.get('content-disposition')).toContain(encodeURIComponent('report 1.pdf.enc'));
    expect(fetched.headers.get('x-content-type-options')).toBe('nosniff');

    const byBob = await ok(bob, FILE, { id: file.id });
    expect(sha256((await download(byBob.file.url!)).bytes)).toBe(sha256(bytes));

    const byEve = await eve.client.request(FILE, { id: file.id });
    expect(byEve.data).toBeNull();
    expect(codeOf(byEve)).toBe('FORBIDDEN');
    expect(codeOf(await eve.client.request(ATTACHMENT_FIELDS, { id: message.id }))).toBe('NOT_FOUND');
    const unknown = await eve.client.request(FILE, { id: randomUUID() });
    expect(codeOf(unknown)).toBe('NOT_FOUND');
    expect(codeOf(await parley.client().request(FILE, { id: file.id }))).toBe('UNAUTHENTICATED');
  });

  it('makes thumbnails of a PNG and a JPEG, with their dimensions', async () => {
    for (const [bytes, contentType, width, height] of [
      [await png(640, 480), 'image/png', 640, 480],
      [await jpeg(800, 600), 'image/jpeg', 800, 600],
    ] as const) {
      const file = await uploadFile(ann, bytes, { name: 'photo', contentType });
      expect(file).toMatchObject({ contentType, width, height });
      const thumbnail = await download(file.thumbnailUrl!);
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get('content-type')).toBe('image/webp');
      const metadata = await sharp(thumbnail.bytes).metadata();
      expect(metadata.format).toBe('webp');
      expect(Math.max(metadata.width, metadata.height)).toBe(320);
    }
  });

  it('keeps the client’s metadata of opaque (encrypted) bytes', async () => {
    const metadata = JSON.stringify({ alg: 'A256GCM', iv: randomBytes(12).toString('base64') });
    const file = await uploadFile(ann, randomBytes(1000), {
      contentType: 'application/octet-stream',
      metadata,
    });
    expect(file).toMatchObject({ contentType: 'application/octet-stream', metadata, thumbnailUrl: null });
  });

  it('lets only the owner attach a file, and only once it is READY', async () => {
    const group = await createGroup(ann, [bob], 'Files');
    const annFile = await uploadFile(ann, randomBytes(100), { contentType: 'application/octet-stream' });
    /** A send with these attachments, as `user`. */
    const attempt = (user: SignedInUser, attachmentIds: string[]) =>
      user.client.request(SEND, {
        input: { conversationId: group.id, body: 'look', clientMutationId: randomUUID(), attachmentIds },
      });
    const sent = await attempt(bob, [annFile.id]);
    expect(codeOf(sent)).toBe('BAD_USER_INPUT');
    expect(sent.errors?.[0]?.extensions?.['fileIds']).toEqual([annFile.id]);

    const pending = await createUpload(ann, randomBytes(100), { contentType: 'application/octet-stream' });
    const early = await attempt(ann, [pending.file.id, annFile.id]);
    expect(early.errors?.[0]?.extensions?.['fileIds']).toEqual([pending.file.id]);
    expect(codeOf(early)).toBe('BAD_USER_INPUT');
    // Nothing was sent: the conversation is still empty.
    const { conversation } = await ok<{ conversation: { lastSeq: number } }>(
      ann,
      `query ($id: ID!) { conversation(id: $id) { lastSeq } }`,
      { id: group.id },
    );
    expect(conversation.lastSeq).toBe(0);
  });

  it('shows a user’s avatar to anyone, but only an image of their own', async () => {
    const image = await uploadFile(ann, await png(100, 100), { contentType: 'image/png' });
    const PROFILE = `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`;
    const AVATAR = `query ($id: ID!) { user(id: $id) { id avatarFileId avatar { id thumbnailUrl url } } }`;
    await ok(ann, PROFILE, { input: { avatarFileId: image.id } });
    const seen = await ok<{ user: { avatar: FileFields | null } }>(eve, AVATAR, { id: ann.id });
    expect(seen.user.avatar?.id).toBe(image.id);
    expect((await download(seen.user.avatar!.thumbnailUrl!)).status).toBe(200);
    // The original (its EXIF may say where it was taken) is the owner's own.
    expect(seen.user.avatar?.url).toBeNull();
    const own = await ok<{ user: { avatar: FileFields | null } }>(ann, AVATAR, { id: ann.id });
    expect(own.user.avatar?.url).not.toBeNull();

    // Eve names ann's private file as her avatar: nobody sees it through her profile.
    const secret = await uploadFile(ann, await png(50, 50), { contentType: 'image/png' });
    await ok(eve, PROFILE, { input: { avatarFileId: secret.id } });
    const eveProfile = await ok<{ user: { avatar: FileFields | null } }>(bob, AVATAR, { id: eve.id });
    expect(eveProfile.user.avatar).toBeNull();
  });
});

describe('refusals', () => {
  const completeUpload = (user: SignedInUser, id: string) => user.client.request(COMPLETE_UPLOAD, { id });

  it('refuses an oversized upload at createUpload, and bytes beyond the signed size at the PUT, storing nothing', async () => {
    const tooBig = await ann.client.request(
      `mutation ($input: CreateUploadInput!) { createUpload(input: $input) { file { id } } }`,
      { input: { name: 'big.png', size: MiB + 1, contentType: 'image/png', sha256: 'a'.repeat(64) } },
    );
    expect(codeOf(tooBig)).toBe('BAD_USER_INPUT');
    expect(tooBig.errors?.[0]?.extensions).toMatchObject({ field: 'size', maxBytes: MiB });

    const bytes = randomBytes(1000);
    const ticket = await createUpload(ann, bytes, { contentType: 'application/octet-stream' });
    const larger = await putBytes(ticket, Buffer.concat([bytes, randomBytes(10)]));
    expect(larger.status).toBe(413);
    const completed = await completeUpload(ann, ticket.file.id);
    expect(codeOf(completed)).toBe('BAD_USER_INPUT');
    expect(completed.errors?.[0]?.extensions?.['reason']).toBe('NOT_UPLOADED');
    // The right bytes can still come, on the same URL.
    expect((await putBytes(ticket, bytes)).status).toBe(200);
    expect(codeOf(await completeUpload(ann, ticket.file.id))).toBeUndefined();
  });

  it('refuses a program declared image/png; its upload stays refused until it expires', async () => {
    const program = windowsProgram();
    const ticket = await createUpload(ann, program, { name: 'cat.png', contentType: 'image/png' });
    expect((await putBytes(ticket, program)).status).toBe(200);
    const completed = await completeUpload(ann, ticket.file.id);
    expect(codeOf(completed)).toBe('BAD_USER_INPUT');
    expect(completed.errors?.[0]?.extensions?.['reason']).toBe('EXECUTABLE');
    const again = await completeUpload(ann, ticket.file.id);
    expect(again.errors?.[0]?.extensions?.['reason']).toBe('EXECUTABLE');
    const pending = await ok(ann, FILE, { id: ticket.file.id });
    expect(pending.file).toMatchObject({ status: 'PENDING', url: null });
    // Its URL cannot bring other bytes in: a new upload is the way.
    expect((await putBytes(ticket, program)).status).toBe(409);
  });

  it('never lets verified bytes be replaced through the upload URL', async () => {
    const bytes = randomBytes(256);
    const ticket = await createUpload(ann, bytes, { contentType: 'application/octet-stream' });
    expect((await putBytes(ticket, bytes)).status).toBe(200);
    const file = (await ok(ann, COMPLETE_UPLOAD, { id: ticket.file.id })).completeUpload;
    const swapped = await putBytes(ticket, windowsProgram().subarray(0, 256));
    expect(swapped.status).toBe(409);
    expect(sha256((await download(file.url!)).bytes)).toBe(sha256(bytes));
  });

  it('answers every one of many concurrent completeUpload calls with the READY file', async () => {
    const bytes = await png(200, 100);
    const ticket = await createUpload(ann, bytes, { contentType: 'image/png' });
    expect((await putBytes(ticket, bytes)).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => ann.client.request(COMPLETE_UPLOAD, { id: ticket.file.id })),
    );
    expect(answers.map((answer) => answer.errors)).toEqual(answers.map(() => undefined));
    expect(new Set(answers.map((answer) => answer.data?.completeUpload.status))).toEqual(new Set(['READY']));
  });

  it('refuses bytes that are not the declared SHA-256', async () => {
    const bytes = randomBytes(500);
    const ticket = await createUpload(ann, bytes, {
      contentType: 'application/octet-stream',
      sha256: sha256(Buffer.from('x')),
    });
    expect((await putBytes(ticket, bytes)).status).toBe(200);
    const completed = await completeUpload(ann, ticket.file.id);
    expect(completed.errors?.[0]?.extensions?.['reason']).toBe('SHA256_MISMATCH');
  });

  it('refuses tampered upload and download signatures', async () => {
    const bytes = randomBytes(200);
    const ticket = await createUpload(ann, bytes, { contentType: 'application/octet-stream' });
    const url = new URL(ticket.upload.url);
    url.searchParams.set('s', '100000');
    expect((await putBytes(ticket, bytes, url.toString())).status).toBe(403);
    const otherKey = new URL(ticket.upload.url);
    otherKey.pathname = otherKey.pathname.replace(ticket.file.id, randomUUID());
    expect((await putBytes(ticket, bytes, otherKey.toString())).status).toBe(403);

    expect((await putBytes(ticket, bytes)).status).toBe(200);
    const file = (await ok(ann, COMPLETE_UPLOAD, { id: ticket.file.id })).completeUpload;
    const tampered = new URL(file.url!);
    tampered.searchParams.set(
      'sig',
      tampered.searchParams.get('sig')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    expect((await download(tampered.toString())).status).toBe(403);
    const longer = new URL(file.url!);
    longer.searchParams.set('e', String(Number(longer.searchParams.get('e')) + 3600));
    expect((await download(longer.toString())).status).toBe(403);
  });

  it('refuses types not accepted, bad names and hashes, and someone else’s upload', async () => {
    const CREATE = `mutation ($input: CreateUploadInput!) { createUpload(input: $input) { file { id } } }`;
    const base = { name: 'a.txt', size: 10, contentType: 'text/plain', sha256: 'a'.repeat(64) };
    for (const [input, field] of [
      [{ ...base, contentType: 'application/x-msdownload' }, 'contentType'],
      [{ ...base, name: '../etc/passwd' }, 'name'],
      [{ ...base, name: 'a\u0007b' }, 'name'],
      [{ ...base, name: 'x'.repeat(256) }, 'name'],
      [{ ...base, name: 'lone \ud800 surrogate' }, 'name'],
      [{ ...base, metadata: 'x'.repeat(4097) }, 'metadata'],
      [{ ...base, sha256: 'xyz' }, 'sha256'],
      [{ ...base, size: 0 }, 'size'],
    ] as const) {
      const response = await ann.client.request(CREATE, { input });
      expect(codeOf(response), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.extensions?.['field']).toBe(field);
    }
    const ticket = await createUpload(ann, Buffer.from('hello'), { contentType: 'text/plain' });
    expect(codeOf(await completeUpload(eve, ticket.file.id))).toBe('FORBIDDEN');
    expect(codeOf(await completeUpload(eve, 'not-an-id'))).toBe('NOT_FOUND');
  });

  it('keeps each user within their quota, counting uploads under way', async () => {
    const [cy] = await parley.registerUsers('cy');
    const ticket = { contentType: 'application/octet-stream', size: 2 * MiB };
    const bytes = Buffer.alloc(1);
    await createUpload(cy!, bytes, ticket);
    await createUpload(cy!, bytes, ticket);
    const third = await cy!.client.request(
      `mutation ($input: CreateUploadInput!) { createUpload(input: $input) { file { id } } }`,
      { input: { name: 'x', size: 1, contentType: 'application/octet-stream', sha256: sha256(bytes) } },
    );
    expect(codeOf(third)).toBe('QUOTA_EXCEEDED');
    expect(third.errors?.[0]?.extensions).toMatchObject({ quotaBytes: 4 * MiB, usedBytes: 4 * MiB });
    const { uploadLimits } = await ok(cy!, UPLOAD_LIMITS);
    expect(uploadLimits).toMatchObject({ usedBytes: 4 * MiB, quotaBytes: 4 * MiB });
  });
});

describe('live and from the browser', () => {
  const realtime = useRealtime(() => parley);

  it('a subscriber gets the attachment of a new message with its download URL', async () => {
    const dm = await createDm(ann, bob);
    const socket = await realtime.connect(bob);
    const events = socket.subscribe<{
      conversationEvents: {
        message: { attachments: { id: string; url: string; thumbnailUrl: string | null }[] };
      };
    }>(
      `subscription ($id: ID!) {
        conversationEvents(conversationId: $id) {
          ... on MessageAdded { message { attachments { id url thumbnailUrl } } }
        }
      }`,
      { id: dm.id },
    );
    await realtime.live(1);
    const bytes = await png(64, 64);
    const file = await uploadFile(ann, bytes, { contentType: 'image/png' });
    await send(ann, dm.id, '', { attachmentIds: [file.id] });
    const event = await events.next();
    expect(event.errors).toBeUndefined();
    const [attachment] = event.data!.conversationEvents.message.attachments;
    expect(attachment?.id).toBe(file.id);
    expect(sha256((await download(attachment!.url)).bytes)).toBe(sha256(bytes));
  });

  it('answers the browser’s preflight for the upload URL from allowed origins only', async () => {
    const ticket = await createUpload(ann, Buffer.from('hello'), { contentType: 'text/plain' });
    const preflight = (origin: string) =>
      fetch(ticket.upload.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('http://localhost:3000');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('PUT');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves signed blobs on a listener of their own, and nothing else there; the subgraph serves no blobs', async () => {
    const file = await uploadFile(ann, randomBytes(10), { contentType: 'application/octet-stream' });
    const blobUrl = new URL(file.url!);
    const subgraphUrl = new URL(parley.subgraphUrls.files);
    expect(blobUrl.port).not.toBe(subgraphUrl.port);
    expect((await fetch(new URL('/graphql?query={__typename}', blobUrl))).status).toBe(404);
    const onSubgraph = new URL(`${blobUrl.pathname}${blobUrl.search}`, subgraphUrl);
    expect((await fetch(onSubgraph)).status).toBe(404);
  });
});

describe('deleted messages', () => {
  it('a deleted message shares its files no more', async () => {
    const file = await uploadFile(ann, randomBytes(64), { contentType: 'application/octet-stream' });
    const dm = await createDm(ann, bob);
    const message = await send(ann, dm.id, 'oops', { attachmentIds: [file.id] });
    expect(codeOf(await bob.client.request(FILE, { id: file.id }))).toBeUndefined();
    await ok(ann, DELETE, { id: message.id });
    // Once the files service has read the deletion from messages' stream.
    await expect
      .poll(async () => codeOf(await bob.client.request(FILE, { id: file.id })), { timeout: 10_000 })
      .toBe('FORBIDDEN');
    const tombstone = await ok(bob, MESSAGE, { id: message.id });
    expect(tombstone.message.attachments).toEqual([]);
    expect(codeOf(await ann.client.request(FILE, { id: file.id }))).toBeUndefined();
  });
});
