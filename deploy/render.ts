/**
 * Renders a kustomization the way `kustomize build` (and `kubectl apply -k`) would, for the kustomizations in this
 * directory — without kustomize, which is not installed where the tests run.
 *
 * It supports exactly what deploy/'s kustomizations use, and refuses everything else rather than render it wrong:
 * - `resources:` YAML files (one or more documents each) and directories holding a kustomization;
 * - `namespace:` set on every namespaced object. Objects (and ServiceAccount subjects of bindings) must either leave
 *   their namespace out or spell the same one, so that kustomize's namespace transformer and this reader can only
 *   agree.
 *
 *     node deploy/render.ts deploy/base      # prints the objects as one multi-document YAML, as `kustomize build` does
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import path from 'node:path';
import {parseAllDocuments, stringify} from 'yaml';

export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown};
	[key: string]: unknown;
}

/** Kinds without a namespace that deploy/ may contain (kustomize knows them from its built-in schema). */
export const clusterScopedKinds: ReadonlySet<string> = new Set([
	'Namespace',
	'ClusterRole',
	'ClusterRoleBinding',
	'CustomResourceDefinition',
	'PriorityClass',
	'StorageClass',
	'IngressClass',
	'PersistentVolume',
	'ValidatingWebhookConfiguration',
	'MutatingWebhookConfiguration',
	'APIService',
]);

const kustomizationNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const supportedKeys = new Set(['apiVersion', 'kind', 'namespace', 'resources']);

export class RenderError extends Error {}

function kustomizationFile(directory: string): string | undefined {
	return kustomizationNames.map((name) => path.join(directory, name)).find((file) => existsSync(file));
}

function readYamlDocuments(file: string): unknown[] {
	const documents = parseAllDocuments(readFileSync(file, 'utf8'));
	const values: unknown[] = [];
	for (const document of documents) {
		if (document.errors.length > 0) throw new RenderError(`${file}: ${document.errors[0]!.message}`);
		const value = document.toJS() as unknown;
		if (value !== null && value !== undefined) values.push(value);
	}

	return values;
}

function asObject(value: unknown, where: string): KubeObject {
	const object = value as Partial<KubeObject> | null;
	if (typeof object !== 'object' || object === null || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
		throw new RenderError(`${where}: not a Kubernetes object (apiVersion and kind are required)`);
	}

	if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') throw new RenderError(`${where}: ${object.kind} has no metadata.name`);
	return object as KubeObject;
}

function setNamespace(object: KubeObject, namespace: string, where: string): void {
	const label = `${where}: ${object.kind}/${object.metadata.name}`;
	if (!clusterScopedKinds.has(object.kind)) {
		const own = object.metadata.namespace;
		if (own !== undefined && own !== namespace) {
			throw new RenderError(`${label} is in namespace ${own} but the kustomization sets ${namespace}: leave it out or write ${namespace}`);
		}

		object.metadata.namespace = namespace;
	}

	if (object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding') {
		for (const subject of (object['subjects'] as Array<{kind?: string; namespace?: string; name?: string}> | undefined) ?? []) {
			if (subject.kind !== 'ServiceAccount') continue;
			if (subject.namespace !== namespace) {
				throw new RenderError(`${label}: subject ServiceAccount ${subject.name} must name namespace ${namespace} explicitly (kustomize's rewrite of subjects is not reproduced here)`);
			}
		}
	}
}

/** The objects of a kustomization directory, in the order its resources list them. */
export function renderKustomization(directory: string, seen: Set<string> = new Set()): KubeObject[] {
	const file = kustomizationFile(directory);
	if (!file) throw new RenderError(`${directory} has no kustomization.yaml`);
	const real = path.resolve(file);
	if (seen.has(real)) throw new RenderError(`${file} includes itself through its resources`);
	seen.add(real);

	const [kustomization] = readYamlDocuments(file) as Array<Record<string, unknown> | undefined>;
	if (!kustomization || typeof kustomization !== 'object') throw new RenderError(`${file} is empty`);
	const unsupported = Object.keys(kustomization).filter((key) => !supportedKeys.has(key));
	if (unsupported.length > 0) {
		throw new RenderError(`${file}: ${unsupported.join(', ')} not supported by deploy/render.ts (only resources and namespace); use kustomize, or keep the kustomization simple`);
	}

	const resources = kustomization['resources'] ?? [];
	if (!Array.isArray(resources) || !resources.every((entry) => typeof entry === 'string')) throw new RenderError(`${file}: resources must be a list of paths`);
	const namespace = kustomization['namespace'];
	if (namespace !== undefined && typeof namespace !== 'string') throw new RenderError(`${file}: namespace must be a string`);

	const objects: KubeObject[] = [];
	for (const entry of resources as string[]) {
		if (/^[a-z]+:\/\//.test(entry) || entry.includes('?ref=')) throw new RenderError(`${file}: remote resource ${entry} is not supported`);
		const target = path.join(directory, entry);
		if (!existsSync(target)) throw new RenderError(`${file}: resource ${entry} does not exist`);
		if (statSync(target).isDirectory()) {
			objects.push(...renderKustomization(target, seen));
			continue;
		}

		readYamlDocuments(target).forEach((value, index) => objects.push(asObject(value, `${target} (document ${index + 1})`)));
	}

	if (namespace) for (const object of objects) setNamespace(object, namespace, file);
	const keys = new Set<string>();
	for (const object of objects) {
		const key = `${object.apiVersion.split('/')[0]}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
		if (keys.has(key)) throw new RenderError(`${file}: ${object.kind} ${object.metadata.name} appears twice`);
		keys.add(key);
	}

	return objects;
}

export function toYaml(objects: KubeObject[]): string {
	return objects.map((object) => stringify(object, {lineWidth: 0})).join('---\n');
}

if (import.meta.main) {
	const directory = process.argv[2];
	if (!directory) {
		process.stderr.write('usage: node deploy/render.ts DIRECTORY   (a directory with a kustomization.yaml, e.g. deploy/base)\n');
		process.exit(2);
	}

	try {
		process.stdout.write(toYaml(renderKustomization(directory)));
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n`);
		process.exit(1);
	}
}
