import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceTokenSecret } from '@parley/kit';
import { subgraphs } from '@parley/schema';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { conversationsEnvSchema, readConversationsEnv } from '@parley/conversations/env';
import { filesEnvSchema, readFilesEnv } from '@parley/files/env';
import { messagesEnvSchema, readMessagesEnv } from '@parley/messages/env';
import { presenceEnvSchema, readPresenceEnv } from '@parley/presence/env';
import { readRouterEnv, routerEnvSchema } from '@parley/router/env';
import { readUsersEnv, usersEnvSchema } from '@parley/users/env';
import { generateSigningKey } from '@parley/users/keyring';
import { readWebEnv, webEnvSchema } from '@parley/web/server/env';

/**
 * The deployment artefacts against each other and against what the services read: docker-compose.yml,
 * the Dockerfile, deploy/k8s and the images workflow. Each environment a manifest gives a service is parsed
 * by that service's own env schema, in production, so a variable renamed or added on either side fails here.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function readYaml(path: string): unknown[] {
  return parseAllDocuments(read(path), { merge: true }).map((document) => {
    if (document.errors.length > 0)
      throw new Error(`${path}: ${document.errors.map((e) => e.message).join('; ')}`);
    return document.toJS() as unknown;
  });
}

type Env = Record<string, string>;

interface ParsedEnv {
  NODE_ENV: string;
  HOST: string;
  PORT: number;
  /** Every service but the web app serves Prometheus metrics on a port of its own. */
  METRICS_PORT?: number;
  SERVICE_TOKEN_SECRET?: string | undefined;
}

interface Deployable {
  /** The package directory the image's target runs in, and its entry point (its `npm start` script). */
  dir: string;
  entry: string;
  /** What the package's `build` compiles `entry` to: what the image runs. */
  built: string;
  read: (env: Env) => ParsedEnv;
  variables: string[];
}

const SUBGRAPHS = ['users', 'conversations', 'messages', 'presence', 'files'] as const;
const SERVICES = [...SUBGRAPHS, 'router', 'web'] as const;
type Service = (typeof SERVICES)[number];
/** The Dockerfile's targets: every service, and the migrations job. */
const TARGETS = [...SERVICES, 'migrate'];

const deployable = (
  dir: string,
  read: (env: Env) => ParsedEnv,
  schema: { shape: object },
  entry = 'src/index.ts',
): Deployable => ({ dir, entry, built: 'dist/index.js', read, variables: Object.keys(schema.shape) });

const deployables: Record<Service, Deployable> = {
  users: deployable('subgraphs/users', readUsersEnv, usersEnvSchema),
  conversations: deployable('subgraphs/conversations', readConversationsEnv, conversationsEnvSchema),
  messages: deployable('subgraphs/messages', readMessagesEnv, messagesEnvSchema),
  presence: deployable('subgraphs/presence', readPresenceEnv, presenceEnvSchema),
  files: deployable('subgraphs/files', readFilesEnv, filesEnvSchema),
  router: deployable('router', readRouterEnv, routerEnvSchema),
  web: deployable('web', readWebEnv, webEnvSchema, 'server/index.ts'),
};

/** Read by node-postgres itself when DATABASE_URL carries no password. */
const LIBRARY_VARIABLES = ['PGPASSWORD'];

/**
 * What the secrets hold: compose generates them, and the committed Kubernetes Secret has placeholders in
 * their place (which the services refuse).
 */
const SECRET_SAMPLES: Env = {
  AUTH_SIGNING_KEYS: JSON.stringify([await generateSigningKey('test')]),
  SERVICE_TOKEN_SECRET: 's'.repeat(48),
  POSTGRES_PASSWORD: 'postgres-password',
  MINIO_ROOT_PASSWORD: 'minio-password',
};

/** Parses `env` as `service` does in production, with the checks its start adds (the service-token secret). */
function expectServiceAccepts(service: Service, env: Env): ParsedEnv {
  const parsed = deployables[service].read(env);
  expect(parsed.NODE_ENV).toBe('production');
  if ((SUBGRAPHS as readonly string[]).includes(service)) {
    expect(() => serviceTokenSecret(parsed)).not.toThrow();
  }
  return parsed;
}

function expectKnownVariables(service: Service, names: string[]) {
  const known = [...deployables[service].variables, ...LIBRARY_VARIABLES];
  expect(
    names.filter((name) => !known.includes(name)),
    `unknown to ${service}`,
  ).toEqual([]);
}

/** `http://users:4001/graphql` → ['users', 4001]. */
function hostAndPort(url: string): [string, number] {
  const parsed = new URL(url);
  return [parsed.hostname, Number(parsed.port)];
}

// ---------------------------------------------------------------------------------------------------------
// Dockerfile

interface Stage {
  name: string;
  from: string;
  user?: string;
  workdir?: string;
  cmd?: string[];
  entrypoint?: string[];
  expose: number[];
  run: string[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of lines) {
    const [instruction = '', ...rest] = line.split(/\s+/);
    const argument = rest.join(' ');
    if (instruction === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(argument);
      stages.push({ name: match?.[2] ?? `#${stages.length}`, from: match?.[1] ?? '', expose: [], run: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue;
    if (instruction === 'USER') stage.user = argument;
    if (instruction === 'WORKDIR') stage.workdir = argument;
    if (instruction === 'CMD') stage.cmd = JSON.parse(argument) as string[];
    if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(argument) as string[];
    if (instruction === 'EXPOSE') stage.expose.push(...rest.map(Number));
    if (instruction === 'RUN') stage.run.push(argument);
  }
  return stages;
}

const stages = parseDockerfile(read('Dockerfile'));

/** A stage's setting, or the one it inherits from the stage it is built FROM. */
function inherited<K extends 'user' | 'workdir' | 'cmd' | 'entrypoint'>(name: string, key: K): Stage[K] {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) return undefined;
  return stage[key] ?? inherited(stage.from, key);
}

// ---------------------------------------------------------------------------------------------------------
// docker-compose.yml

interface ComposeService {
  build?: { context: string; target: string };
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  restart?: string;
  volumes?: string[];
  command?: string | string[];
}

const composeText = read('docker-compose.yml');
const compose = readYaml('docker-compose.yml')[0] as { services: Record<string, ComposeService> };
const composeService = (name: string): ComposeService => {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
};

/** What compose substitutes with no .env: each `${NAME:-default}` its default, `$$` a `$`. */
const interpolate = (value: string) =>
  value.replace(/\$\$|\$\{[A-Z0-9_]+:-([^}]*)\}/g, (match, fallback: string | undefined) =>
    match === '$$' ? '$' : (fallback ?? ''),
  );

const SECRETS_DIR = '/run/parley-secrets/';

/** A service's environment as its process sees it: interpolated, each NAME_FILE read into NAME. */
function composeEnv(name: string): Env {
  const env: Env = {};
  for (const [variable, raw] of Object.entries(composeService(name).environment ?? {})) {
    const value = interpolate(String(raw));
    const fileOf = /^(.+)_FILE$/.exec(variable)?.[1];
    if (!fileOf) {
      env[variable] = value;
      continue;
    }
    expect(value.startsWith(SECRETS_DIR), `${name}: ${variable}`).toBe(true);
    const secret = SECRET_SAMPLES[value.slice(SECRETS_DIR.length)];
    expect(secret, `${name}: ${variable} names a secret the secrets service makes`).toBeDefined();
    env[fileOf] = secret ?? '';
  }
  return env;
}

describe('docker-compose.yml', () => {
  it('runs the whole platform and the one-shot jobs it needs', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [...SERVICES, 'postgres', 'redis', 'minio', 'minio-setup', 'migrate', 'secrets'].sort(),
    );
  });

  it('needs no .env: every variable it interpolates has a default', () => {
    const references = composeText.match(/\$\{[^}]*\}/g) ?? [];
    expect(references.length).toBeGreaterThan(0);
    expect(references.filter((reference) => !/^\$\{[A-Z0-9_]+:-[^}]*\}$/.test(reference))).toEqual([]);
  });

  it('builds each service from its own Dockerfile target', () => {
    for (const name of TARGETS) {
      expect(composeService(name).build).toEqual({ context: '.', target: name });
    }
  });

  it.each(SERVICES)(
    'gives %s an environment it accepts in production, listening on all interfaces',
    (name) => {
      const env = composeEnv(name);
      expectKnownVariables(name, Object.keys(env));
      const parsed = expectServiceAccepts(name, env);
      expect(parsed.HOST).toBe('0.0.0.0');
      expect(stages.find((stage) => stage.name === name)?.expose).toContain(parsed.PORT);
    },
  );

  it.each(SERVICES.filter((name) => name !== 'web'))(
    'serves the metrics of %s on a port of their own, exposed by its image and published nowhere',
    (name) => {
      const { PORT, METRICS_PORT } = expectServiceAccepts(name, composeEnv(name));
      expect(METRICS_PORT).toBeDefined();
      expect(METRICS_PORT).not.toBe(PORT);
      expect(stages.find((stage) => stage.name === name)?.expose).toContain(METRICS_PORT);
      const published = (composeService(name).ports ?? []).map((mapping) => mapping.split(':').at(-1));
      expect(published).not.toContain(String(METRICS_PORT));
    },
  );

  it.each(SERVICES)('checks the health of %s on its own port', (name) => {
    const service = composeService(name);
    expect(service.healthcheck?.test.slice(0, 3)).toEqual([
      'CMD',
      'node',
      '/app/deploy/image/healthcheck.mjs',
    ]);
    const path = name === 'web' ? '/config.json' : '/ready';
    expect(service.healthcheck?.test.at(-1)).toBe(`http://127.0.0.1:${composeEnv(name)['PORT']}${path}`);
  });

  it('points every subgraph URL at the compose service and port that serve it', () => {
    for (const name of SERVICES) {
      for (const [variable, value] of Object.entries(composeEnv(name))) {
        if (!/SUBGRAPH_URL$|^SUBGRAPH_.+_URL$/.test(variable)) continue;
        const [host, port] = hostAndPort(value);
        expect(composeEnv(host)['PORT'], `${name}: ${variable}`).toBe(String(port));
      }
    }
    const router = composeEnv('router');
    for (const { name } of subgraphs) {
      expect(router[`SUBGRAPH_${name.toUpperCase()}_URL`]).toBe(
        `http://${name}:${composeEnv(name)['PORT']}/graphql`,
      );
    }
  });

  it('starts each service after what it needs', () => {
    const healthy = { condition: 'service_healthy' };
    const completed = { condition: 'service_completed_successfully' };
    for (const name of SUBGRAPHS) {
      expect(composeService(name).depends_on).toMatchObject({
        postgres: healthy,
        redis: healthy,
        migrate: completed,
      });
    }
    expect(composeService('files').depends_on).toMatchObject({ 'minio-setup': completed });
    expect(composeService('router').depends_on).toEqual({
      redis: healthy,
      ...Object.fromEntries(SUBGRAPHS.map((name) => [name, healthy])),
    });
    expect(composeService('web').depends_on).toEqual({ router: healthy });
    expect(composeService('migrate').depends_on).toEqual({ postgres: healthy });
    expect(composeService('minio-setup').depends_on).toEqual({ minio: healthy });
    expect(composeService('postgres').depends_on).toEqual({ secrets: completed });
    expect(composeService('minio').depends_on).toEqual({ secrets: completed });
  });

  it('waits only on health it checks and on jobs that end', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = composeService(dependency);
        if (condition === 'service_healthy') {
          expect(target.healthcheck, `${name} → ${dependency}`).toBeDefined();
        }
        if (condition === 'service_completed_successfully') {
          expect(target.restart ?? 'no', `${name} → ${dependency}`).toBe('no');
        }
      }
    }
  });

  it('mounts the generated secrets wherever a variable is read from them', () => {
    const generated = Object.keys(composeService('secrets').environment ?? {}).sort();
    expect(generated).toEqual(Object.keys(SECRET_SAMPLES).sort());
    const script = read('deploy/compose/init-secrets.mjs');
    for (const name of generated) expect(script).toContain(`  ${name}: `);
    for (const [name, service] of Object.entries(compose.services)) {
      const usesSecrets = JSON.stringify(service).includes(SECRETS_DIR);
      const mounted = service.volumes?.includes(`secrets:${SECRETS_DIR.slice(0, -1)}:ro`) ?? false;
      if (name !== 'secrets') expect(mounted, name).toBe(usesSecrets);
    }
  });

  it('gives each subgraph a database of its own, created with the postgres volume and migrated by the job', () => {
    const created = [...read('deploy/postgres/init.sql').matchAll(/CREATE DATABASE (\w+);/g)].map(
      (match) => match[1],
    );
    const migrate = composeEnv('migrate');
    const databases = SUBGRAPHS.map((name) => {
      const url = composeEnv(name)['DATABASE_URL'] ?? '';
      expect(migrate[`${name.toUpperCase()}_DATABASE_URL`]).toBe(url);
      return new URL(url).pathname.slice(1);
    });
    expect(new Set(databases).size).toBe(SUBGRAPHS.length);
    expect(created.sort()).toEqual([...databases].sort());
  });

  it("runs each subgraph's migrations with an environment that subgraph accepts", () => {
    const env = composeEnv('migrate');
    for (const name of SUBGRAPHS) {
      deployables[name].read({ ...env, DATABASE_URL: env[`${name.toUpperCase()}_DATABASE_URL`] ?? '' });
    }
  });

  it('creates the bucket the files service uses', () => {
    const bucket = composeEnv('files')['S3_BUCKET'];
    expect(String(composeService('minio-setup').command)).toContain(
      `mc mb --ignore-existing parley/${bucket}\n`,
    );
    expect(composeEnv('migrate')['S3_BUCKET']).toBe(bucket);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('Dockerfile', () => {
  it('has a target per deployable, each running as a user other than root', () => {
    for (const target of TARGETS) {
      expect(stages.map((stage) => stage.name)).toContain(target);
      const user = inherited(target, 'user');
      expect(user, target).toBeDefined();
      expect(['root', '0', '0:0'], target).not.toContain(user);
    }
  });

  it('builds every package, not only the web app', () => {
    const build = stages.find((stage) => stage.name === 'build')?.run.join(' && ') ?? '';
    expect(build).toContain('npx turbo run build');
    expect(build).not.toContain('--filter');
  });

  it.each(SERVICES)(
    "runs the build of %s's `npm start` entry point with plain node, in its package",
    (name) => {
      const { dir, entry, built } = deployables[name];
      expect(inherited(name, 'workdir')).toBe(`/app/${dir}`);
      expect(inherited(name, 'cmd')).toEqual(['node', built]);
      const manifest = JSON.parse(read(`${dir}/package.json`)) as { scripts: Record<string, string> };
      // Development runs the sources (workspace packages too, through their `@parley/source` export).
      expect(manifest.scripts['start']).toBe(`tsx --conditions=@parley/source ${entry}`);
      // `build` compiles the entry point's folder into dist/, so `built` is the JavaScript of `entry`.
      expect(manifest.scripts['build']).toContain('tsc -p tsconfig.build.json');
      const { compilerOptions } = JSON.parse(read(`${dir}/tsconfig.build.json`)) as {
        compilerOptions: { rootDir: string; outDir: string; noEmit: boolean };
      };
      expect(compilerOptions.noEmit).toBe(false);
      expect(entry.replace(`${compilerOptions.rootDir}/`, `${compilerOptions.outDir}/`)).toBe(
        built.replace(/\.js$/, '.ts'),
      );
    },
  );

  it('ships the scripts its targets and the compose health checks run', () => {
    const image = (path: string) => join(root, path.replace(/^\/app\//, ''));
    const entrypoint = inherited('users', 'entrypoint') ?? [];
    expect(existsSync(image(entrypoint.at(-1) ?? ''))).toBe(true);
    expect(inherited('migrate', 'cmd')).toEqual(['/bin/sh', 'deploy/image/migrate.sh']);
    expect(existsSync(image(`${inherited('migrate', 'workdir')}/deploy/image/migrate.sh`))).toBe(true);
    // The built `npm run migrate` of each subgraph.
    expect(read('deploy/image/migrate.sh')).toContain('node dist/migrate.js');
    for (const name of SUBGRAPHS) {
      const manifest = JSON.parse(read(`subgraphs/${name}/package.json`)) as {
        scripts: Record<string, string>;
      };
      expect(manifest.scripts['migrate']).toBe('tsx --conditions=@parley/source src/migrate.ts');
    }
    expect(existsSync(image('/app/deploy/image/healthcheck.mjs'))).toBe(true);
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.git', 'deploy/*', '!deploy/image']));
  });
});

// ---------------------------------------------------------------------------------------------------------
// deploy/k8s

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string } }[];
  env?: EnvVar[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } | Record<string, string>;
    template?: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
    ports?: { name?: string; port: number; targetPort: string | number }[];
    scaleTargetRef?: { apiVersion: string; kind: string; name: string };
    metrics?: { type: string; resource?: { name: string } }[];
  };
}

const K8S = 'deploy/k8s';
const k8sFiles = readdirSync(join(root, K8S)).filter((file) => /\.ya?ml$/.test(file));
const kustomization = readYaml(`${K8S}/kustomization.yaml`)[0] as {
  resources: string[];
  images: { name: string; newName: string }[];
};
const objects = k8sFiles
  .filter((file) => file !== 'kustomization.yaml')
  .flatMap((file) => readYaml(`${K8S}/${file}`) as K8sObject[]);
const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
const deployment = (name: string) => {
  const found = ofKind('Deployment').find((object) => object.metadata.name === name);
  if (!found?.spec?.template) throw new Error(`deploy/k8s has no Deployment ${name}`);
  return { ...found, template: found.spec.template };
};
const configData = ofKind('ConfigMap')[0]?.data ?? {};
const secretData = ofKind('Secret')[0]?.stringData ?? {};

/** A container's environment as the kubelet sets it (Secret values replaced as an operator would). */
function podEnv(container: Container): Env {
  const env: Env = {};
  for (const source of container.envFrom ?? []) {
    expect(source.configMapRef?.name).toBe(ofKind('ConfigMap')[0]?.metadata.name);
    Object.assign(env, configData);
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      expect(ref.name).toBe(ofKind('Secret')[0]?.metadata.name);
      expect(secretData, `${container.name}: ${variable.name}`).toHaveProperty(ref.key);
      env[variable.name] = SECRET_SAMPLES[ref.key] ?? secretData[ref.key] ?? '';
    } else {
      env[variable.name] = variable.value ?? '';
    }
  }
  return env;
}

const mainContainer = (name: string) => {
  const [container] = deployment(name).template.spec.containers;
  if (!container) throw new Error(`Deployment ${name} has no container`);
  return container;
};

describe('deploy/k8s', () => {
  it('lists every file of the folder in kustomization.yaml', () => {
    expect([...kustomization.resources].sort()).toEqual(
      k8sFiles.filter((file) => file !== 'kustomization.yaml').sort(),
    );
  });

  it('names every object with its apiVersion and kind', () => {
    for (const object of objects) {
      expect(object.apiVersion).toMatch(/\S/);
      expect(object.kind).toMatch(/\S/);
      expect(object.metadata.name).toMatch(/\S/);
    }
  });

  it('deploys every service from its image, mapped to a registry by kustomization.yaml', () => {
    expect(
      ofKind('Deployment')
        .map((object) => object.metadata.name)
        .sort(),
    ).toEqual([...SERVICES].sort());
    const images = kustomization.images.map((image) => image.name).sort();
    expect(images).toEqual(TARGETS.map((target) => `parley-${target}`).sort());
    for (const name of SERVICES) expect(mainContainer(name).image).toBe(`parley-${name}`);
  });

  it.each(SERVICES)('probes %s for readiness and liveness on the port it listens on', (name) => {
    const container = mainContainer(name);
    const ready = name === 'web' ? '/config.json' : '/ready';
    const live = name === 'web' ? '/config.json' : '/health';
    expect(container.readinessProbe?.httpGet?.path).toBe(ready);
    expect(container.livenessProbe?.httpGet?.path).toBe(live);
    const port = container.ports?.find(
      (candidate) =>
        candidate.name === container.readinessProbe?.httpGet?.port ||
        candidate.containerPort === container.readinessProbe?.httpGet?.port,
    );
    expect(port).toBeDefined();
    expect(container.livenessProbe?.httpGet?.port).toBe(container.readinessProbe?.httpGet?.port);
    expect(podEnv(container)['PORT']).toBe(String(port?.containerPort));
  });

  it.each(TARGETS)('runs %s as a user other than root, within resource limits', (name) => {
    const pod =
      name === 'migrate'
        ? ofKind('Job').find((object) => object.metadata.name === name)?.spec?.template?.spec
        : deployment(name).template.spec;
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(pod?.securityContext?.runAsUser).toBeGreaterThan(0);
    for (const container of pod?.containers ?? []) {
      expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      for (const limit of ['requests', 'limits'] as const) {
        expect(Object.keys(container.resources?.[limit] ?? {}).sort()).toEqual(['cpu', 'memory']);
      }
      if (container.securityContext?.readOnlyRootFilesystem) {
        // A writable temporary directory, the rest of the filesystem being read-only.
        expect(container.volumeMounts?.map((mount) => mount.mountPath)).toContain('/tmp');
      }
    }
  });

  it.each(SERVICES)('gives %s an environment it accepts in production', (name) => {
    const container = mainContainer(name);
    expectKnownVariables(
      name,
      (container.env ?? []).map((variable) => variable.name),
    );
    expect(expectServiceAccepts(name, podEnv(container)).HOST).toBe('0.0.0.0');
  });

  it.each(SERVICES.filter((name) => name !== 'web'))(
    'serves the metrics of %s on a named port of their own, annotated for Prometheus, in no Service',
    (name) => {
      const container = mainContainer(name);
      const { PORT, METRICS_PORT } = expectServiceAccepts(name, podEnv(container));
      expect(METRICS_PORT).not.toBe(PORT);
      expect(container.ports).toContainEqual({ name: 'metrics', containerPort: METRICS_PORT });
      expect(deployment(name).template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(METRICS_PORT),
        'prometheus.io/path': '/metrics',
      });
      const exposed = ofKind('Service').flatMap((service) => service.spec?.ports ?? []);
      expect(
        exposed.filter(({ targetPort }) => targetPort === 'metrics' || targetPort === METRICS_PORT),
      ).toEqual([]);
    },
  );

  it('uses every ConfigMap entry in some service', () => {
    const known = SERVICES.flatMap((name) => deployables[name].variables);
    expect(Object.keys(configData).filter((key) => !known.includes(key))).toEqual([]);
  });

  it('points every subgraph URL at the Service and port that serve it', () => {
    for (const [key, value] of Object.entries(configData)) {
      if (!/SUBGRAPH_URL$|^SUBGRAPH_.+_URL$/.test(key)) continue;
      const [host, port] = hostAndPort(value);
      const service = ofKind('Service').find((object) => object.metadata.name === host);
      expect(
        service?.spec?.ports?.map((entry) => entry.port),
        key,
      ).toContain(port);
    }
    for (const { name } of subgraphs) expect(configData).toHaveProperty(`SUBGRAPH_${name.toUpperCase()}_URL`);
  });

  it('commits placeholders only in the Secret', () => {
    expect(Object.values(secretData).filter((value) => !value.includes('REPLACE_ME'))).toEqual([]);
  });

  it('selects the pods of a Deployment with every Service, on a port its container names', () => {
    for (const service of ofKind('Service')) {
      const selector = (service.spec?.selector ?? {}) as Record<string, string>;
      const target = ofKind('Deployment').find((object) =>
        Object.entries(selector).every(
          ([key, value]) => object.spec?.template?.metadata.labels[key] === value,
        ),
      );
      expect(target, service.metadata.name).toBeDefined();
      const ports =
        target?.spec?.template?.spec.containers.flatMap((container) => container.ports ?? []) ?? [];
      for (const { targetPort } of service.spec?.ports ?? []) {
        expect(ports.some((port) => port.name === targetPort || port.containerPort === targetPort)).toBe(
          true,
        );
      }
    }
  });

  it("matches each Deployment's selector to its pods' labels", () => {
    for (const name of SERVICES) {
      const { spec, template } = deployment(name);
      const selector = spec?.selector as { matchLabels: Record<string, string> };
      expect(template.metadata.labels).toMatchObject(selector.matchLabels);
    }
  });

  it('scales the router and every subgraph on CPU, leaving the replica count to the autoscaler', () => {
    const autoscalers = ofKind('HorizontalPodAutoscaler');
    for (const name of [...SUBGRAPHS, 'router']) {
      const hpa = autoscalers.find((object) => object.spec?.scaleTargetRef?.name === name);
      expect(hpa?.apiVersion, name).toBe('autoscaling/v2');
      expect(hpa?.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa?.spec?.metrics?.map((metric) => metric.resource?.name)).toContain('cpu');
    }
    for (const hpa of autoscalers) {
      expect(deployment(hpa.spec?.scaleTargetRef?.name ?? '').spec?.replicas).toBeUndefined();
    }
  });

  it("runs each subgraph's migrations with an environment that subgraph accepts", () => {
    const job = ofKind('Job').find((object) => object.metadata.name === 'migrate');
    const [container] = job?.spec?.template?.spec.containers ?? [];
    expect(container?.image).toBe('parley-migrate');
    const env = podEnv(container as Container);
    for (const name of SUBGRAPHS) {
      const url = env[`${name.toUpperCase()}_DATABASE_URL`];
      const own = mainContainer(name).env?.find((variable) => variable.name === 'DATABASE_URL');
      expect(own?.valueFrom?.secretKeyRef?.key).toBe(`${name.toUpperCase()}_DATABASE_URL`);
      deployables[name].read({ ...env, DATABASE_URL: url ?? '' });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('.github/workflows/images.yml', () => {
  it('builds every Dockerfile target', () => {
    const workflow = readYaml('.github/workflows/images.yml')[0] as {
      jobs: { image: { strategy: { matrix: { target: string[] } } } };
    };
    expect([...workflow.jobs.image.strategy.matrix.target].sort()).toEqual([...TARGETS].sort());
  });
});
