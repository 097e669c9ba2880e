// The guard settings file re-read when a mounted ConfigMap changes. The files are real and are changed the way the
// kubelet's atomic writer changes a ConfigMap volume: the data goes into a new `..<timestamp>` directory, a
// `..data_tmp` symlink to it is renamed over `..data` (one atomic rename), and the old directory is removed. The
// file the agent reads, `guard.yaml`, is a symlink to `..data/guard.yaml` and is never itself written.
import {mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {GuardSettingsSource} from '../../../source/agent/guard/settings-file.ts';
import {CanaryGuard} from '../../../source/agent/guard/guard.ts';
import type {GuardReport} from '../../../source/agent/guard/guard.ts';
import type {Model} from '../../../source/domain/types.ts';

let volume: string;
let generation = 0;

/** Writes a new generation of the ConfigMap's data and swaps `..data` to it, as the kubelet does. */
function publish(text: string): void {
	generation++;
	const dataDir = `..2026_01_01_00_00_0${generation}.${process.pid}`;
	mkdirSync(path.join(volume, dataDir));
	writeFileSync(path.join(volume, dataDir, 'guard.yaml'), text);
	let old: string | undefined;
	try {
		old = readlinkSync(path.join(volume, '..data'));
	} catch {
		// The first generation.
	}

	symlinkSync(dataDir, path.join(volume, '..data_tmp'));
	renameSync(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
	if (old) rmSync(path.join(volume, old), {recursive: true});
}

beforeEach(() => {
	volume = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-configmap-'));
	publish('models: {team-a/fraud: {enabled: true, consecutiveFailures: 3}}\n');
	symlinkSync('..data/guard.yaml', path.join(volume, 'guard.yaml'));
});

afterEach(() => {
	rmSync(volume, {recursive: true, force: true});
});

describe('GuardSettingsSource', () => {
	it('sees a ConfigMap update by the kubelet’s symlink swap at the next read', () => {
		const lines: string[] = [];
		const source = new GuardSettingsSource(path.join(volume, 'guard.yaml'), {log: (line) => lines.push(line)});
		expect(source.current().models?.['team-a/fraud']).toEqual({enabled: true, consecutiveFailures: 3});
		expect(lines).toEqual([]);
		publish('models: {team-a/fraud: {enabled: true, consecutiveFailures: 1}}\nthresholds: {defaults: {p99LatencyMs: 250}}\n');
		expect(source.current()).toEqual({
			models: {'team-a/fraud': {enabled: true, consecutiveFailures: 1}},
			thresholds: {defaults: {p99LatencyMs: 250}},
		});
		expect(lines).toEqual([`guard settings ${path.join(volume, 'guard.yaml')} changed: loaded`]);
		expect(source.healthy).toBe(true);
	});

	it('keeps the last good settings when the new file is bad, says so once, and takes the next good one', () => {
		const lines: string[] = [];
		const file = path.join(volume, 'guard.yaml');
		const source = new GuardSettingsSource(file, {log: (line) => lines.push(line)});
		publish('models: {team-a/fraud: {consecutiveFailures: "three"}}\n');
		expect(source.current().models?.['team-a/fraud']).toEqual({enabled: true, consecutiveFailures: 3});
		expect(source.current().models?.['team-a/fraud']).toEqual({enabled: true, consecutiveFailures: 3});
		expect(source.healthy).toBe(false);
		expect(lines).toEqual([
			`guard settings ${file} changed but are not valid: models["team-a/fraud"].consecutiveFailures must be a positive number; got "three"; keeping the last good settings until the file is fixed`,
		]);
		publish('models: {team-a/fraud: {enabled: false}}\n');
		expect(source.current().models?.['team-a/fraud']).toEqual({enabled: false});
		expect(source.healthy).toBe(true);
		expect(lines.at(-1)).toBe(`guard settings ${file} changed: loaded`);
	});

	it('keeps the last good settings while the file is gone', () => {
		const lines: string[] = [];
		const source = new GuardSettingsSource(path.join(volume, 'guard.yaml'), {log: (line) => lines.push(line)});
		rmSync(path.join(volume, '..data'));
		expect(source.current().models?.['team-a/fraud']).toEqual({enabled: true, consecutiveFailures: 3});
		expect(lines[0]).toMatch(/cannot be read \(ENOENT.*\); keeping the last good settings$/);
	});

	it('refuses to start from a bad file, naming the key', () => {
		publish('defaults: {windowSeconds: 0}\n');
		expect(() => new GuardSettingsSource(path.join(volume, 'guard.yaml'))).toThrow(
			'defaults.windowSeconds must be a positive number; got 0',
		);
	});

	it('drives the guard: a model enabled by a ConfigMap update is judged at the next pass', async () => {
		publish('models: {team-a/fraud: {enabled: false}}\n');
		const source = new GuardSettingsSource(path.join(volume, 'guard.yaml'));
		const model: Model = {
			namespace: 'team-a',
			name: 'fraud',
			router: 'httproute',
			versions: [
				{name: 'v1', track: 'stable', weight: 90, replicasReady: 1, replicasDesired: 1, restarts: 0, image: '', created: ''},
				{name: 'v2', track: 'canary', weight: 10, replicasReady: 1, replicasDesired: 1, restarts: 0, image: '', created: ''},
			],
		};
		const reports: GuardReport[] = [];
		const guard = new CanaryGuard({
			models: () => [model],
			metrics: {label: '', sample: async () => new Map(), history: async () => new Map(), explain: () => ''},
			judge: {judge: () => ({result: 'insufficient-data', score: null, windowSeconds: 60, metrics: [], summary: 'insufficient data'})},
			settingsFile: () => source.current(),
			dryRun: true,
			cluster: {
				plan: async () => {
					throw new Error('not asked: the verdict is insufficient data');
				},
				act: async () => undefined,
			},
			audit: async () => undefined,
			onReport: (report) => reports.push(report),
			now: () => 0,
		});
		expect(await guard.evaluate()).toEqual([]);
		publish('models: {team-a/fraud: {enabled: true, intervalSeconds: 7}}\n');
		const judged = await guard.evaluate();
		expect(judged.map((report) => [report.canary, report.settings.intervalSeconds])).toEqual([['v2', 7]]);
	});
});
