import { createHash } from 'node:crypto';
import type { SignedInUser } from '@parley/testkit';
import sharp from 'sharp';
import { ok } from '../conversations/operations.js';
import { graphql } from '../generated/index.js';
import type { CreateUploadMutation, FileFieldsFragment } from '../generated/graphql.js';

/**
 * The file fields the tests read, through the router. Codegen reads this fragment from here; each document
 * that spreads it carries its text, so nothing needs its value.
 */
graphql(`
  fragment FileFields on File {
    id
    name
    size
    contentType
    sha256
    status
    width
    height
    metadata
    createdAt
    owner {
      id
    }
    url
    thumbnailUrl
    urlExpiresAt
  }
`);

export const CREATE_UPLOAD = graphql(`
  mutation CreateUpload($input: CreateUploadInput!) {
    createUpload(input: $input) {
      file {
        ...FileFields
      }
      upload {
        url
        method
        headers {
          name
          value
        }
        expiresAt
      }
    }
  }
`);
export const COMPLETE_UPLOAD = graphql(`
  mutation CompleteUpload($id: ID!) {
    completeUpload(fileId: $id) {
      ...FileFields
    }
  }
`);
export const FILE = graphql(`
  query File($id: ID!) {
    file(id: $id) {
      ...FileFields
    }
  }
`);
export const UPLOAD_LIMITS = graphql(`
  query UploadLimits {
    uploadLimits {
      maxFileBytes
      maxImageBytes
      allowedTypes
      quotaBytes
      usedBytes
    }
  }
`);

/** The result of the fragment above (the name the tests know it by). */
export type FileFields = FileFieldsFragment;

/** What CREATE_UPLOAD answers: the PENDING file, and the request that uploads its bytes. */
export type UploadTicket = CreateUploadMutation['createUpload'];

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface UploadOptions {
  name?: string;
  contentType: string;
  metadata?: string;
}

/** Step 1: createUpload for these bytes (their real size and SHA-256 unless overridden). */
export async function createUpload(
  user: SignedInUser,
  bytes: Uint8Array,
  options: UploadOptions & { size?: number; sha256?: string },
): Promise<UploadTicket> {
  const input = {
    name: options.name ?? 'file.bin',
    size: options.size ?? bytes.length,
    contentType: options.contentType,
    sha256: options.sha256 ?? sha256(bytes),
    ...(options.metadata !== undefined && { metadata: options.metadata }),
  };
  return (await ok(user, CREATE_UPLOAD, { input })).createUpload;
}

/** Step 2: the PUT of the bytes to the signed URL, with the headers it came with. */
export function putBytes(ticket: UploadTicket, bytes: Uint8Array, url = ticket.upload.url) {
  return fetch(url, {
    method: ticket.upload.method,
    headers: Object.fromEntries(ticket.upload.headers.map(({ name, value }) => [name, value])),
    body: new Uint8Array(bytes),
  });
}

/** The three steps: createUpload, PUT, completeUpload; returns the READY file. */
export async function uploadFile(
  user: SignedInUser,
  bytes: Uint8Array,
  options: UploadOptions,
): Promise<FileFields> {
  const ticket = await createUpload(user, bytes, options);
  const put = await putBytes(ticket, bytes);
  if (put.status !== 200) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
  return (await ok(user, COMPLETE_UPLOAD, { id: ticket.file.id })).completeUpload;
}

export const png = (width = 640, height = 480) =>
  sharp({ create: { width, height, channels: 3, background: '#36c' } })
    .png()
    .toBuffer();
export const jpeg = (width = 800, height = 600) =>
  sharp({ create: { width, height, channels: 3, background: '#c63' } })
    .jpeg()
    .toBuffer();

/** A minimal Windows program header (MZ, then PE at 0x80): what a disguised executable starts with. */
export function windowsProgram(): Buffer {
  const program = Buffer.alloc(2048);
  program.write('MZ', 0, 'latin1');
  program.writeUInt32LE(0x80, 0x3c);
  program.write('PE\0\0', 0x80, 'latin1');
  return program;
}

export async function download(url: string) {
  const response = await fetch(url);
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}
