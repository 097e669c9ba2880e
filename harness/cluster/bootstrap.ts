// The objects every harness cluster starts with: the namespaces, the users' RBAC, modeldeck's CRDs (deploy/crds/)
// and kwok's fake nodes.

import {readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseAllDocuments} from 'yaml';
import {binding, grant, type PolicyRule, type RbacObject, role} from '../rbac.ts';
import {type Api, ensure, hasCondition, type KubeObject} from './api.ts';
import {FAKE_NODES, fakeNode, KWOK_LOGS_CRD} from './kwok.ts';
import type {Launcher, ProcessRecord} from './processes.ts';
import {waitFor} from './processes.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const crdDir = path.join(repoRoot, 'deploy', 'crds');
/** modeldeck's own CRD (a rollout's state where the model's object cannot carry it), installed with the agent. */
const ownCrds = [path.join(repoRoot, 'deploy', 'base', 'delivery-crd.yaml')];

/** Namespaces the harness creates; the operator may change things in the first only. */
export const NAMESPACES = ['team-a', 'team-b'] as const;
export const OPERATOR_NAMESPACE = 'team-a' as const;

/** The resources the operator changes in its namespace and reads everywhere (with pods, HPAs and namespaces). */
const OPERATED = [
	{apiGroups: ['apps'], resources: ['deployments', 'replicasets']},
	{apiGroups: [''], resources: ['services']},
	{apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes']},
	{apiGroups: ['networking.istio.io'], resources: ['virtualservices', 'destinationrules']},
	{apiGroups: ['serving.kserve.io'], resources: ['inferenceservices']},
	{apiGroups: ['split.smi-spec.io'], resources: ['trafficsplits']},
	{apiGroups: ['mlops.seldon.io'], resources: ['models', 'experiments']},
	{apiGroups: ['flagger.app'], resources: ['canaries']},
	{apiGroups: ['argoproj.io'], resources: ['rollouts', 'analysisruns']},
	{apiGroups: ['modeldeck.dev'], resources: ['deliveries']},
];
const READ = ['get', 'list', 'watch'];

export function rbacObjects(): RbacObject[] {
	const operatedWith = (verbs: string[]): PolicyRule[] => OPERATED.map((r) => ({...r, verbs}));
	return [
		// The CRDs' resources join the built-in view role (kube-controller-manager aggregates them), as upstream CRDs do.
		role(
			'modeldeck:crds-view',
			OPERATED.filter((r) => r.apiGroups[0] !== 'apps' && r.apiGroups[0] !== '').map((r) => ({...r, verbs: READ})),
			{labels: {'rbac.authorization.k8s.io/aggregate-to-view': 'true'}},
		),
		binding('modeldeck:viewer', 'view', 'viewer'),
		...grant('modeldeck:operator-read', 'operator', [
			...operatedWith(READ),
			{apiGroups: [''], resources: ['pods', 'namespaces', 'events'], verbs: READ},
			{apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ},
		]),
		...grant('modeldeck:operator', 'operator', operatedWith([...READ, 'patch', 'update']), OPERATOR_NAMESPACE),
	];
}

/**
 * Creates the namespaces, the RBAC objects, modeldeck's CRDs and the fake nodes (existing ones are fine). Returns the
 * names of the CRDs to wait for, kwok's Logs CRD (installed before kwok started) first.
 */
export async function createBootstrapObjects(api: Api): Promise<string[]> {
	for (const ns of NAMESPACES) await ensure(api, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}});
	for (const [collection, obj] of rbacObjects()) await ensure(api, collection, obj);
	const crdNames = [KWOK_LOGS_CRD.metadata.name];
	const files = readdirSync(crdDir)
		.filter((f) => /\.ya?ml$/.test(f))
		.sort()
		.map((f) => path.join(crdDir, f));
	for (const file of [...files, ...ownCrds]) {
		for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
			const crd = doc.toJS() as KubeObject | null;
			if (crd?.kind !== 'CustomResourceDefinition') continue;
			await ensure(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
			crdNames.push(crd.metadata.name);
		}
	}
	for (const name of FAKE_NODES) await ensure(api, '/api/v1/nodes', fakeNode(name));
	return crdNames;
}

/** Until the API server serves every CRD of `crdNames` (Established). */
export async function waitForCrds(
	launcher: Launcher,
	apiserver: ProcessRecord,
	api: Api,
	crdNames: string[],
	timeoutMs: number,
): Promise<void> {
	await waitFor('CRDs Established', apiserver, launcher.children, timeoutMs, async () => {
		for (const name of crdNames) {
			const r = await api('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
			if (r.status !== 200 || !hasCondition(JSON.parse(r.body), 'Established')) return false;
		}
		return true;
	});
}
