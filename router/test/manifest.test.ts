import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { invalidDocuments, ManifestError, parseManifest, sha256Hex } from '../src/persisted/manifest.js';

describe('parseManifest', () => {
  it('reads Apollo persisted query manifests', () => {
    const manifest = {
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [{ id: 'op-1', name: 'Me', type: 'query', body: 'query Me { me { id } }' }],
    };
    expect(parseManifest(manifest)).toEqual([{ id: 'op-1', body: 'query Me { me { id } }' }]);
  });

  it('reads graphql-codegen persisted-documents.json', () => {
    const body = 'query Me { me { id } }';
    expect(parseManifest({ [sha256Hex(body)]: body })).toEqual([{ id: sha256Hex(body), body }]);
  });

  it('names every problem of a malformed manifest', () => {
    const wrongVersion = { format: 'apollo-persisted-query-manifest', version: 2, operations: [] };
    expect(() => parseManifest(wrongVersion)).toThrow(ManifestError);
    expect(() => parseManifest(wrongVersion)).toThrow(/version/);
    expect(() => parseManifest({ a: 1 })).toThrow(/expected an Apollo persisted query manifest/);
    expect(() => parseManifest([])).toThrow(ManifestError);
    expect(() => parseManifest({ '': 'query { a }' })).toThrow(ManifestError);
  });
});

describe('invalidDocuments', () => {
  const schema = buildSchema('type Query { me: String }');
  it('reports documents that do not parse or do not validate, by id', () => {
    expect(
      invalidDocuments(schema, [
        { id: 'ok', body: '{ me }' },
        { id: 'syntax', body: '{ me' },
        { id: 'unknown', body: '{ you }' },
      ]),
    ).toEqual([
      expect.stringMatching(/^syntax: Syntax Error/),
      expect.stringMatching(/^unknown: Cannot query field "you"/),
    ]);
  });
});
