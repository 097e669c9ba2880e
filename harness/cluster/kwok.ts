// kwok: plays the nodes (FAKE_NODES, and any made with fakeNode) and their pods, which it makes Running and Ready
// through the stages in harness/kwok-stages.yaml; its server plays the nodes' kubelet and serves pod logs from the
// files named by kwok.x-k8s.io Logs objects.

import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {type Api, ensure, hasCondition, type KubeObject} from './api.ts';
import type {Launcher, ProcessRecord} from './processes.ts';
import {waitFor} from './processes.ts';

const kwokStages = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'kwok-stages.yaml');

export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1'] as const;

/**
 * kwok's Logs resource (sigs.k8s.io/kwok v0.8.0 kustomize/crd/bases/kwok.x-k8s.io_logs.yaml, descriptions and the
 * unused status left out): `spec.logs[]` maps a pod's containers to a log file on this host, in the CRI log format
 * (`<RFC 3339 time> stdout F <line>`), which kwok's server returns for the API server's pods/log.
 */
export const KWOK_LOGS_CRD = {
	apiVersion: 'apiextensions.k8s.io/v1',
	kind: 'CustomResourceDefinition',
	metadata: {name: 'logs.kwok.x-k8s.io'},
	spec: {
		group: 'kwok.x-k8s.io',
		names: {kind: 'Logs', listKind: 'LogsList', plural: 'logs', singular: 'logs'},
		scope: 'Namespaced',
		versions: [
			{
				name: 'v1alpha1',
				served: true,
				storage: true,
				subresources: {status: {}},
				schema: {
					openAPIV3Schema: {
						type: 'object',
						properties: {
							apiVersion: {type: 'string'},
							kind: {type: 'string'},
							metadata: {type: 'object'},
							spec: {
								type: 'object',
								required: ['logs'],
								properties: {
									logs: {
										type: 'array',
										items: {
											type: 'object',
											properties: {
												containers: {type: 'array', items: {type: 'string'}},
												follow: {type: 'boolean'},
												logsFile: {type: 'string'},
												previousLogsFile: {type: 'string'},
											},
										},
									},
								},
							},
							status: {type: 'object', 'x-kubernetes-preserve-unknown-fields': true},
						},
					},
				},
			},
		],
	},
};

/**
 * A node kwok manages (32 cores, 256 GiB, 110 pods): the harness makes FAKE_NODES; a test or benchmark that needs
 * room for more pods creates more.
 */
export function fakeNode(name: string): KubeObject {
	return {
		apiVersion: 'v1',
		kind: 'Node',
		metadata: {
			name,
			annotations: {'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0'},
			labels: {
				'kubernetes.io/hostname': name,
				'kubernetes.io/os': 'linux',
				'kubernetes.io/arch': 'amd64',
				'kubernetes.io/role': 'agent',
				'node-role.kubernetes.io/agent': '',
				type: 'kwok',
			},
		},
		status: {
			allocatable: {cpu: '32', memory: '256Gi', pods: '110'},
			capacity: {cpu: '32', memory: '256Gi', pods: '110'},
		},
	};
}

/** kwok's Logs CRD: kwok reads these objects from the API server, so the CRD must exist before kwok starts. */
export async function installLogsCrd(api: Api): Promise<void> {
	await ensure(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', KWOK_LOGS_CRD);
}

export function launchKwok(
	launcher: Launcher,
	options: {bin: string; kubeconfig: string; port: number; pki: string; dir: string},
): ProcessRecord {
	const {pki, port: kwokPort} = options;
	return launcher.launch(
		'kwok',
		options.bin,
		[
			`--kubeconfig=${options.kubeconfig}`,
			`--config=${kwokStages}`,
			'--manage-all-nodes=false',
			'--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
			'--node-lease-duration-seconds=40',
			// kwok's server plays the nodes' kubelet: the API server's pods/log requests land here (see the
			// --kubelet-* flags of the API server). --node-port puts the port into each node's daemonEndpoints.kubeletEndpoint.
			`--server-address=127.0.0.1:${kwokPort}`,
			`--node-port=${kwokPort}`,
			`--tls-cert-file=${path.join(pki, 'kwok-kubelet.crt')}`,
			`--tls-private-key-file=${path.join(pki, 'kwok-kubelet.key')}`,
			// Which file is a pod's log: kwok.x-k8s.io/v1alpha1 Logs objects, one per pod, created by whoever plays the
			// container runtime (a test), since pod names are known only once the pods exist.
			'--enable-crds=Logs',
			'--cidr=10.244.0.0/16',
			'--node-ip=127.0.0.1',
		],
		{...process.env, HOME: path.join(options.dir, 'kwok-home')},
	); // no ~/.kwok/kwok.yaml of the user's
}

/** Until kwok has made every one of FAKE_NODES Ready. */
export async function waitForFakeNodes(launcher: Launcher, kwok: ProcessRecord, api: Api, timeoutMs: number): Promise<void> {
	await waitFor('kwok (fake nodes Ready)', kwok, launcher.children, timeoutMs, async () => {
		for (const name of FAKE_NODES) {
			const r = await api('GET', `/api/v1/nodes/${name}`);
			if (r.status !== 200 || !hasCondition(JSON.parse(r.body), 'Ready')) return false;
		}
		return true;
	});
}
