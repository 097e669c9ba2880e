// The prometheus and promtool binaries: $MODELDECK_PROMETHEUS / $MODELDECK_PROMTOOL, PATH, Debian's /usr/bin, or the
// cache harness/ensure-prometheus.sh builds into.

import {existsSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function cacheBinDir(): string {
	const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
	return path.join(cache, 'modeldeck', 'bin');
}

function onPath(name: string): string | undefined {
	for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
		if (!directory) continue;
		const candidate = path.join(directory, name);
		if (existsSync(candidate)) return candidate;
	}
	return undefined;
}

export function prometheusBinary(): string {
	const candidates = [
		process.env.MODELDECK_PROMETHEUS,
		onPath('prometheus'),
		'/usr/bin/prometheus',
		path.join(cacheBinDir(), 'prometheus'),
	];
	for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
	throw new Error(
		'Prometheus is not installed: set MODELDECK_PROMETHEUS to its binary, or run `bash harness/ensure-prometheus.sh` ' +
			"(installs Debian's prometheus package, or builds it with Go).",
	);
}

export function promtoolBinary(): string {
	let beside: string | undefined;
	try {
		beside = path.join(path.dirname(prometheusBinary()), 'promtool');
	} catch {
		beside = undefined;
	}
	const candidates = [
		process.env.MODELDECK_PROMTOOL,
		beside,
		onPath('promtool'),
		'/usr/bin/promtool',
		path.join(cacheBinDir(), 'promtool'),
	];
	for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
	throw new Error('promtool is not installed: set MODELDECK_PROMTOOL to its binary, or run `bash harness/ensure-prometheus.sh`.');
}
