import type { Client } from '@urql/core';
import type { FileFieldsFragment } from '../generated/graphql';
import { CompleteUploadMutation, CreateUploadMutation } from './operations';
import { errorMessage } from './errors';

const toHex = (buffer: ArrayBuffer) =>
  Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');

/** PUTs the bytes to the signed URL with XMLHttpRequest: fetch reports no upload progress. */
function put(
  request: { url: string; method: string; headers: { name: string; value: string }[] },
  body: Blob,
  onProgress: (fraction: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const header of request.headers) xhr.setRequestHeader(header.name, header.value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new Error(`Upload refused (HTTP ${xhr.status})`));
    xhr.onerror = () => reject(new Error('Upload failed: the network is unreachable'));
    xhr.send(body);
  });
}

/**
 * The files service's three steps: createUpload (declares name, size, type and SHA-256), PUT the bytes
 * to the signed URL, completeUpload (the service checks them). Returns the READY file, to attach.
 */
export async function uploadFile(
  client: Client,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<FileFieldsFragment> {
  const sha256 = toHex(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
  const created = await client
    .mutation(CreateUploadMutation, {
      input: {
        name: file.name,
        size: file.size,
        contentType: file.type || 'application/octet-stream',
        sha256,
      },
    })
    .toPromise();
  if (!created.data) throw new Error(errorMessage(created.error, 'Upload refused'));
  const { file: pending, upload } = created.data.createUpload;
  await put(upload, file, onProgress);
  const completed = await client.mutation(CompleteUploadMutation, { fileId: pending.id }).toPromise();
  if (!completed.data) throw new Error(errorMessage(completed.error, 'Upload check failed'));
  return completed.data.completeUpload;
}
