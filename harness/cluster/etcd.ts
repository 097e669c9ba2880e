// etcd: one member on loopback, its data in the state dir's etcd/, without fsync (the data is thrown away).

import path from 'node:path';
import {request} from './api.ts';
import type {Launcher, ProcessRecord} from './processes.ts';
import {waitFor} from './processes.ts';

/** Starts etcd and resolves once it reports itself healthy. */
export async function startEtcd(
	launcher: Launcher,
	options: {bin: string; dir: string; clientPort: number; peerPort: number; timeoutMs: number},
): Promise<ProcessRecord> {
	const {clientPort: etcdClient, peerPort: etcdPeer} = options;
	const etcd = launcher.launch('etcd', options.bin, [
		'--name=modeldeck',
		`--data-dir=${path.join(options.dir, 'etcd')}`,
		`--listen-client-urls=http://127.0.0.1:${etcdClient}`,
		`--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
		`--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
		`--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
		`--initial-cluster=modeldeck=http://127.0.0.1:${etcdPeer}`,
		'--initial-cluster-state=new',
		'--unsafe-no-fsync', // throwaway data: don't pay for fsync on a shared test machine
		'--log-level=warn',
	]);
	await waitFor('etcd', etcd, launcher.children, options.timeoutMs, async () => {
		const r = await request(`http://127.0.0.1:${etcdClient}/health`, {});
		return r.status === 200 && /"health":\s*"true"/.test(r.body);
	});
	return etcd;
}
