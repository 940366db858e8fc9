// deploy/kubernetes/ is what a team copies to run its own jobs project on Kubernetes: the
// manifests must parse and lock the pods down, and the image must build from the example project.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { copySources, matchesInContext, parseDockerfile, wordsOf } from './dockerfile.ts';
import { containersOf, parseManifestFiles, podSpecOf, readManifests } from './manifests.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deployDir = join(root, 'deploy/kubernetes');
/** The Docker build context the README documents: `docker build deploy/kubernetes/project`. */
const project = join(deployDir, 'project');

const manifests = readManifests(deployDir);
const pods = manifests.flatMap((manifest) => {
  const pod = podSpecOf(manifest);
  return pod ? [{ label: `${manifest.kind} ${manifest.name}`, manifest, pod }] : [];
});
const instructions = parseDockerfile(readFileSync(join(project, 'Dockerfile'), 'utf8'));
const lastOf = (keyword: string) => instructions.filter((i) => i.keyword === keyword).at(-1);

describe('the manifests', () => {
  test.each(parseManifestFiles(deployDir))('$file parses without an error', ({ problems }) => {
    expect(problems).toEqual([]);
  });

  test('every object has an apiVersion, a kind and a name', () => {
    expect(manifests.length).toBeGreaterThan(0);
    for (const m of manifests) {
      expect(m.body?.apiVersion, m.file).toEqual(expect.any(String));
      expect([m.kind, m.name], m.file).toEqual([expect.any(String), expect.any(String)]);
    }
  });

  test('there are elastic workers, and a Job that plans with --detach', () => {
    const argsOf = (kind: string) =>
      pods.filter((p) => p.manifest.kind === kind).flatMap((p) => p.pod.containers[0]?.args ?? []);
    expect(argsOf('Deployment').slice(0, 2)).toEqual(['worker', '--all']);
    expect(argsOf('Job')).toEqual(expect.arrayContaining(['run', '--detach']));
  });

  test.each(pods)('$label runs as non-root, on a read-only root filesystem', ({ pod }) => {
    for (const container of containersOf(pod)) {
      const own = container.securityContext ?? {};
      const inherited = pod.securityContext ?? {};
      expect(own.runAsNonRoot ?? inherited.runAsNonRoot, container.name).toBe(true);
      expect(own.runAsUser ?? inherited.runAsUser ?? 1000, container.name).not.toBe(0);
      // These three exist only on the container's own security context.
      expect(own.readOnlyRootFilesystem, container.name).toBe(true);
      expect(own.allowPrivilegeEscalation, container.name).toBe(false);
      expect(own.capabilities?.drop, container.name).toContain('ALL');
    }
  });

  test.each(pods)('$label gives each container a writable TMPDIR', ({ pod }) => {
    for (const container of containersOf(pod)) {
      // Job modules are compiled into the temp dir, and worker bundles are written there.
      const tmpdir = container.env?.find((e) => e.name === 'TMPDIR')?.value;
      expect(tmpdir, `${container.name}: TMPDIR`).toEqual(expect.stringMatching(/^\//));
      const mount = container.volumeMounts?.find((m) => m.mountPath === tmpdir);
      expect(mount, `${container.name}: a volume at ${tmpdir}`).toBeDefined();
      expect(mount?.readOnly ?? false).toBe(false);
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.emptyDir, `${container.name}: ${mount?.name} is an emptyDir`).toBeDefined();
    }
  });

  test.each(pods)('$label runs a sluice command on a job module of the project', ({ pod }) => {
    for (const container of pod.containers) {
      // The image's ENTRYPOINT is sluice: a `command` would bypass it.
      expect(container.command, container.name).toBeUndefined();
      const args = container.args ?? [];
      expect(['run', 'worker'], container.name).toContain(args[0]);
      for (const module of args.filter((a) => /\.[mc]?[jt]s$/.test(a)))
        expect(existsSync(join(project, module)), `${module} in the project`).toBe(true);
    }
  });

  test('every Secret a pod reads is in the example, with a PostgreSQL DATABASE_URL', () => {
    const secrets = new Map(
      manifests.filter((m) => m.kind === 'Secret').map((m) => [m.name, m.body] as const),
    );
    const read = pods.flatMap(({ pod }) =>
      pod.containers.flatMap((c) => (c.envFrom ?? []).map((e) => e.secretRef?.name)),
    );
    expect(read.length).toBeGreaterThan(0);
    for (const name of read) {
      expect(secrets.has(name ?? ''), `Secret ${name}`).toBe(true);
      expect(secrets.get(name ?? '')?.stringData?.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    }
  });
});

describe('the Dockerfile', () => {
  test('builds on Node 24 or later', () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) {
      const image = wordsOf(from).find((word) => !word.startsWith('--'));
      const major = Number(/^(?:docker\.io\/)?(?:library\/)?node:(\d+)/.exec(image ?? '')?.[1]);
      expect(major, `FROM ${from.args}`).toBeGreaterThanOrEqual(24);
    }
  });

  test('installs with --omit=optional, so no embedded PostgreSQL reaches production', () => {
    const installs = instructions
      .filter((i) => i.keyword === 'RUN')
      .flatMap((i) => i.args.split(/;|&&|\|\||\bthen\b|\belse\b/))
      .filter((command) => /\bnpm\s+(ci|install|i)\b/.test(command));
    expect(installs.length).toBeGreaterThan(0);
    for (const command of installs) expect(command).toMatch(/\s--omit=optional\b/);
    // esbuild's binary is optional too; with it omitted, esbuild's install script fetches it.
    for (const command of installs) expect(command).not.toMatch(/--ignore-scripts/);
  });

  test('runs as a non-root user, by number, the one the manifests give', () => {
    const user = lastOf('USER')?.args.split(':')[0];
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).not.toBe(0);
    for (const { pod } of pods)
      if (pod.securityContext?.runAsUser !== undefined)
        expect(pod.securityContext.runAsUser).toBe(Number(user));
  });

  test('starts `sluice worker` by default', () => {
    const entrypoint = lastOf('ENTRYPOINT');
    const cmd = lastOf('CMD');
    const argv = [...(entrypoint ? wordsOf(entrypoint) : []), ...(cmd ? wordsOf(cmd) : [])];
    expect(argv[0]).toMatch(/(^|\/)sluice(\.js)?$/);
    expect(argv[1]).toBe('worker');
  });

  test('copies only what the project has, and .dockerignore keeps', () => {
    const ignored = readFileSync(join(project, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const copies = instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      for (const source of copySources(copy)) {
        const found = matchesInContext(project, source);
        expect(found, `COPY ${source}`).not.toEqual([]);
        for (const path of found) expect(ignored, path).not.toContain(path.split('/')[0]);
      }
    }
  });
});

describe('the jobs project', () => {
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));

  test('installs sluice from the package registry, not from this repository', () => {
    expect(pkg.dependencies?.sluice).toMatch(/^[\^~]?\d+\.\d+\.\d+/);
    expect(pkg.allowScripts?.esbuild).toBe(true);
  });

  test('its job modules type-check against the public API', async () => {
    // test/deploy/tsconfig.jobs.json is the project's own tsconfig, with 'sluice' mapped to
    // src/index.ts: the API the package's .d.ts files are built from.
    const tsc = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          join(root, 'node_modules/.bin/tsc'),
          ['-p', 'test/deploy/tsconfig.jobs.json', ...args],
          { cwd: root },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr }),
        );
      });
    const files = await tsc('--listFilesOnly');
    expect(files.out).toContain(join(project, 'jobs/backfill-order-totals.ts'));
    expect(files.out).toContain(join(project, 'jobs/sync-customers.ts'));
    expect(files.out).toContain(join(root, 'src/index.ts'));
    const checked = await tsc();
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);
  });
});
