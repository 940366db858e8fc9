import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { secretRef?: { name: string } }[];
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodSpec {
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; emptyDir?: object }[];
}

/** One Kubernetes object from a manifest file. */
export interface Manifest {
  file: string;
  kind: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: a manifest is whatever YAML the file holds.
  body: any;
}

/** The YAML files in `dir`, each with the messages of its parse errors and warnings. */
export function parseManifestFiles(dir: string): { file: string; problems: string[] }[] {
  return manifestFiles(dir).map((file) => {
    const documents = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    const list = Array.isArray(documents) ? documents : [];
    const problems = list.flatMap((doc) => [...doc.errors, ...doc.warnings].map((e) => e.message));
    if (list.length === 0) problems.push('no YAML document');
    return { file, problems };
  });
}

/** Every object in the YAML files of `dir`. Parse them with parseManifestFiles first. */
export function readManifests(dir: string): Manifest[] {
  return manifestFiles(dir).flatMap((file) => {
    const documents = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    return (Array.isArray(documents) ? documents : []).map((doc) => {
      const body = doc.toJS();
      return { file, kind: body?.kind, name: body?.metadata?.name, body };
    });
  });
}

/** The pod template of a workload, where its containers and their security settings live. */
export function podSpecOf(manifest: Manifest): PodSpec | undefined {
  const { kind, body } = manifest;
  if (kind === 'Pod') return body.spec;
  if (kind === 'CronJob') return body.spec?.jobTemplate?.spec?.template?.spec;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(kind))
    return body.spec?.template?.spec;
  return undefined;
}

export function containersOf(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

function manifestFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();
}
