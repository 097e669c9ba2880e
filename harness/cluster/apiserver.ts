// kube-apiserver: RBAC, the static tokens, service-account signing, the aggregation layer's front proxy, and kwok's
// server as the nodes' kubelet (for pods/log).

import path from 'node:path';
import {request} from './api.ts';
import type {Launcher, ProcessRecord} from './processes.ts';
import {waitFor} from './processes.ts';

export const SERVICE_CIDR = '10.96.0.0/16';

/** Starts the API server and resolves once /readyz answers 200 to the admin. */
export async function startApiServer(
	launcher: Launcher,
	options: {
		bin: string;
		pki: string;
		etcdClientPort: number;
		port: number;
		tokenFile: string;
		/** https://127.0.0.1:<port> */
		server: string;
		caData: Buffer;
		adminToken: string;
		timeoutMs: number;
	},
): Promise<ProcessRecord> {
	const {pki, server} = options;
	const apiserver = launcher.launch('kube-apiserver', options.bin, [
		`--etcd-servers=http://127.0.0.1:${options.etcdClientPort}`,
		'--bind-address=127.0.0.1',
		'--advertise-address=127.0.0.1',
		`--secure-port=${options.port}`,
		`--cert-dir=${pki}`,
		`--tls-cert-file=${path.join(pki, 'apiserver.crt')}`,
		`--tls-private-key-file=${path.join(pki, 'apiserver.key')}`,
		`--client-ca-file=${path.join(pki, 'ca.crt')}`,
		`--token-auth-file=${options.tokenFile}`,
		'--authorization-mode=Node,RBAC',
		'--service-account-issuer=https://kubernetes.default.svc.cluster.local',
		`--service-account-key-file=${path.join(pki, 'sa.pub')}`,
		`--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
		`--service-cluster-ip-range=${SERVICE_CIDR}`,
		'--allow-privileged=true',
		'--profiling=false',
		// The kubernetes Service cannot have a loopback endpoint; nothing here runs in-cluster, so none is kept.
		'--endpoint-reconciler-type=none',
		`--requestheader-client-ca-file=${path.join(pki, 'front-proxy-ca.crt')}`,
		'--requestheader-allowed-names=front-proxy-client',
		'--requestheader-username-headers=X-Remote-User',
		'--requestheader-group-headers=X-Remote-Group',
		'--requestheader-extra-headers-prefix=X-Remote-Extra-',
		`--proxy-client-cert-file=${path.join(pki, 'front-proxy-client.crt')}`,
		`--proxy-client-key-file=${path.join(pki, 'front-proxy-client.key')}`,
		// pods/log (and exec, port-forward) go to the "kubelet" of the pod's node: kwok's server, at the node's
		// InternalIP (the node name resolves to nothing) and the port in its daemonEndpoints, over TLS checked
		// against the harness CA, with a client certificate as a real kubelet would ask for.
		'--kubelet-preferred-address-types=InternalIP',
		`--kubelet-certificate-authority=${path.join(pki, 'ca.crt')}`,
		`--kubelet-client-certificate=${path.join(pki, 'apiserver-kubelet-client.crt')}`,
		`--kubelet-client-key=${path.join(pki, 'apiserver-kubelet-client.key')}`,
	]);
	await waitFor('kube-apiserver', apiserver, launcher.children, options.timeoutMs, async () => {
		const r = await request(`${server}/readyz`, {ca: options.caData, token: options.adminToken});
		return r.status === 200;
	});
	return apiserver;
}
