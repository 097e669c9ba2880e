// kube-controller-manager (every default controller but the cloud ones; it signs service-account tokens, makes the
// default service accounts and aggregates RBAC roles) and kube-scheduler, each with its own kubeconfig.

import path from 'node:path';
import {type Api, request} from './api.ts';
import {SERVICE_CIDR} from './apiserver.ts';
import type {Launcher, ProcessRecord} from './processes.ts';
import {waitFor} from './processes.ts';

function componentArgs(kc: string, port: number): string[] {
	return [
		`--kubeconfig=${kc}`,
		`--authentication-kubeconfig=${kc}`,
		`--authorization-kubeconfig=${kc}`,
		'--bind-address=127.0.0.1',
		`--secure-port=${port}`,
		'--leader-elect=false',
	];
}

export function launchControllerManager(
	launcher: Launcher,
	options: {bin: string; kubeconfig: string; port: number; pki: string; apiQps?: number | undefined},
): ProcessRecord {
	const {pki} = options;
	return launcher.launch('kube-controller-manager', options.bin, [
		...componentArgs(options.kubeconfig, options.port),
		// Every default controller; the cloud ones would be skipped anyway without a cloud provider.
		'--controllers=*,-service-lb-controller,-cloud-node-lifecycle-controller,-node-route-controller',
		'--use-service-account-credentials=false',
		`--service-account-private-key-file=${path.join(pki, 'sa.key')}`,
		`--root-ca-file=${path.join(pki, 'ca.crt')}`,
		`--cluster-signing-cert-file=${path.join(pki, 'ca.crt')}`,
		`--cluster-signing-key-file=${path.join(pki, 'ca.key')}`,
		`--service-cluster-ip-range=${SERVICE_CIDR}`,
		'--cluster-name=modeldeck',
		// Its client's default (20 requests/s, bursts of 30) makes a fleet of a thousand pods take minutes to roll out.
		...(options.apiQps ? [`--kube-api-qps=${options.apiQps}`, `--kube-api-burst=${options.apiQps * 2}`] : []),
	]);
}

export function launchScheduler(launcher: Launcher, options: {bin: string; kubeconfig: string; port: number}): ProcessRecord {
	return launcher.launch('kube-scheduler', options.bin, componentArgs(options.kubeconfig, options.port));
}

/** Until the controller manager has made the default service account of `namespaces`. */
export async function waitForServiceAccounts(
	launcher: Launcher,
	kcm: ProcessRecord,
	api: Api,
	namespaces: readonly string[],
	timeoutMs: number,
): Promise<void> {
	await waitFor('kube-controller-manager (default service accounts)', kcm, launcher.children, timeoutMs, async () => {
		for (const ns of namespaces) {
			if ((await api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status !== 200) return false;
		}
		return true;
	});
}

/** Until the scheduler's /readyz (on `port`, its own certificate) answers 200. */
export async function waitForScheduler(launcher: Launcher, scheduler: ProcessRecord, port: number, timeoutMs: number): Promise<void> {
	await waitFor('kube-scheduler', scheduler, launcher.children, timeoutMs, async () => {
		const r = await request(`https://127.0.0.1:${port}/readyz`, {insecure: true});
		return r.status === 200;
	});
}

/** Until the controller manager has aggregated the CRDs' read rules into the built-in view role. */
export async function waitForViewAggregation(launcher: Launcher, kcm: ProcessRecord, api: Api, timeoutMs: number): Promise<void> {
	await waitFor('RBAC aggregation into the view role', kcm, launcher.children, timeoutMs, async () => {
		const r = await api('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/view');
		return r.status === 200 && r.body.includes('inferenceservices');
	});
}
