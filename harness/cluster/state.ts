// What a cluster leaves in its state dir for later commands (npm run cluster:up / cluster:down): cluster.json with
// its address, kubeconfig and tokens, and pids.json with its processes.

import {readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {cacheRoot} from '../build-binaries.ts';
import type {Tokens} from './pki.ts';
import {isSameProcess, PID_FILE, type ProcessRecord, readPids, stopProcesses} from './processes.ts';

const STATE_FILE = 'cluster.json';

/** What startCluster writes to the state dir (cluster.json). */
export interface ClusterState {
	server: string;
	kubeconfig: string;
	caFile: string;
	version: string;
	tokens: Tokens;
}

export function defaultStateDir(): string {
	return path.join(cacheRoot(), 'cluster');
}

export function writeClusterState(dir: string, state: ClusterState): void {
	writeFileSync(path.join(dir, STATE_FILE), JSON.stringify({...state, startedAt: new Date().toISOString()}, null, 2), {mode: 0o600});
}

/**
 * Stops the cluster whose state is in `dir` (default: the `cluster:up` state dir) by the PIDs recorded there. Only a
 * PID whose process still runs the recorded binary is signalled. Returns how many processes were stopped.
 */
export async function stopCluster(dir: string = defaultStateDir()): Promise<number> {
	const records = readPids(dir).filter((p) => isSameProcess(p));
	await stopProcesses(records, new Map());
	rmSync(path.join(dir, PID_FILE), {force: true});
	return records.length;
}

/** The PIDs from `dir` that are still running their recorded binaries. */
export function alivePids(dir: string = defaultStateDir()): ProcessRecord[] {
	return readPids(dir).filter((p) => isSameProcess(p));
}

/** What `startCluster` wrote to the state dir (server, kubeconfig, tokens), or undefined. */
export function readClusterState(dir: string = defaultStateDir()): ClusterState | undefined {
	try {
		return JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')) as ClusterState;
	} catch {
		return undefined;
	}
}
