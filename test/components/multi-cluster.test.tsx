/**
 * Several clusters shown at once, at the smallest and the largest terminal: the fleet has a CLUSTER column with each
 * context's badge (a `PROD` label from the settings), one context failing marks its rows stale with the reason while
 * the other's stay live, and a change's confirmation, result and audit name the row's own context.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {MergedClusterPort} from '../../source/adapters/multi/merged-cluster.ts';
import {MergedMetricsPort} from '../../source/adapters/multi/merged-metrics.ts';
import {fleetRows} from '../../source/state/selectors.ts';
import {FakeCluster, FakeMetrics} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize, settle} from '../support/screen-check.tsx';

let open: Awaited<ReturnType<typeof renderAtSize>> | undefined;
afterEach(() => {
	open?.cleanup();
	open = undefined;
});

function twoClusters() {
	const us = new FakeCluster();
	const eu = new FakeCluster();
	// The same model names in both: only the CLUSTER column tells them apart.
	eu.models = eu.models.filter((model) => model.name === 'fraud-detector');
	const cluster = new MergedClusterPort({
		members: [
			{context: 'prod-us', port: us},
			{context: 'prod-eu', port: eu},
		],
	});
	return {us, eu, sources: {cluster, demo: false}};
}

const styles = {'prod-us': {label: 'PROD', color: 'red'}};

/** The table's lines (the header row and the rows after it). */
function tableLines(frame: string): string[] {
	const lines = frame.split('\n');
	const heading = lines.findIndex((line) => /CLUSTER\s+MODEL/.test(line));
	return heading < 0 ? [] : lines.slice(heading, heading + 5);
}

describe.each([
	[60, 15],
	[240, 60],
])('several clusters at %ix%i', (columns, rows) => {
	it('shows one merged fleet with a CLUSTER column and the context badges, within the screen', async () => {
		const {sources} = twoClusters();
		open = await renderAtSize({sources, clusterStyles: styles}, columns, rows);
		const frame = await open.waitFor((text) => tableLines(text).length > 0 && text.includes('prod-eu'));
		expect(frameProblems(frame, open.violations(), columns, rows)).toEqual([]);
		const table = tableLines(frame);
		expect(table[0]).toMatch(/^\s*CLUSTER\s+MODEL/);
		// prod-us has a label in the settings: its rows carry PROD; prod-eu has none: its name.
		expect(open.store.getState().models.map((model) => model.cluster)).toEqual(['prod-us', 'prod-us', 'prod-eu']);
		expect(frame).toMatch(/PROD\s+fraud-det/);
		expect(frame).toMatch(/prod-eu\s+fraud-det/);
		// The header carries the PROD badge too.
		expect(frame.split('\n')[0]).toContain('PROD');
	});

	it("marks the rows of a failing cluster stale with the reason, the other cluster's rows live", async () => {
		const {eu, sources} = twoClusters();
		open = await renderAtSize({sources, clusterStyles: styles}, columns, rows);
		await open.waitFor('prod-eu');
		eu.fail('Get https://10.0.0.2:6443/version: connect ECONNREFUSED — retrying');
		await settle();
		const state = open.store.getState();
		expect(state.clusters['prod-eu']).toMatchObject({status: 'stale', hasData: true});
		expect(state.clusters['prod-us']?.status).not.toBe('stale');
		// The cluster source as a whole is not stale: prod-us answers.
		expect(state.health.cluster.status).not.toBe('stale');
		const frame = await open.waitFor('prod-eu stale since');
		expect(frameProblems(frame, open.violations(), columns, rows)).toEqual([]);
		const staleRows = frame.split('\n').filter((line) => line.includes('stale: '));
		const prodEuRows = frame.split('\n').filter((line) => /prod-eu\s+fraud/.test(line));
		// Every row of prod-eu says it is stale; no row of prod-us does.
		if (columns >= 100) expect(staleRows.length).toBe(2);
		else expect(staleRows.length).toBeGreaterThan(0);
		// The reason in full where there is room: on the header's second line.
		if (columns >= 100) expect(frame.split('\n')[1]).toContain('prod-eu stale since');
		expect(frame).toContain(columns >= 100 ? 'connect ECONNREFUSED — retrying' : 'prod-eu stale since');

		expect(prodEuRows.every((line) => line.includes('stale'))).toBe(true);
		expect(
			frame
				.split('\n')
				.filter((line) => /PROD\s+fraud/.test(line))
				.some((line) => line.includes('stale')),
		).toBe(false);
	});
});

it("sends a change to the selected row's context only, and the confirmation, result and audit name it", async () => {
	const {us, eu, sources} = twoClusters();
	open = await renderAtSize({sources, clusterStyles: styles}, 240, 60);
	await open.waitFor('prod-eu');
	// Rows are sorted by model name, then namespace, then cluster: the canary of prod-us's fraud-detector.
	const rows = () => open!.store.getState();
	const target = fleetRows(rows()).findIndex((row) => row.model.cluster === 'prod-us' && row.version.name === 'v13');
	await open.press(...Array.from({length: target}, () => 'down'));
	const row = fleetRows(rows())[rows().selection]!;
	expect(row.model.cluster).toBe('prod-us');
	await open.press('w');
	await open.type('40');
	await open.press('enter');
	const dialog = await open.waitFor('context prod-us');
	expect(dialog).toContain('fraud-detector v13 weight to 40% in prod-us');
	await open.press('enter');
	await open.waitFor((frame) => frame.includes('fraud-detector in prod-us:'));
	expect(us.calls).toEqual(['weight fraud-detector v13 40']);
	expect(eu.calls).toEqual([]);
	expect(eu.models[0]!.versions.map((version) => version.weight)).toEqual([90, 10]);
	const audit = rows().audit[0]!;
	expect(audit.target).toBe('prod-us:prod/fraud-detector');
	expect(audit.message).toContain('in prod-us');
});

it('refuses to switch context while several are shown, saying how to work in one', async () => {
	const {sources} = twoClusters();
	open = await renderAtSize({sources}, 240, 60);
	await open.waitFor('prod-eu');
	await open.press('c');
	expect(open.store.getState().overlay).toBeUndefined();
	expect(open.store.getState().toasts.at(-1)?.message).toBe(
		'several contexts are shown (prod-us,prod-eu): start modeldeck with one --context to switch',
	);
});

it("keeps one cluster's figures when the other's Prometheus fails, and says which failed", async () => {
	const {sources} = twoClusters();
	const usMetrics = new FakeMetrics();
	const euMetrics = new FakeMetrics();
	const metrics = new MergedMetricsPort([
		{context: 'prod-us', port: usMetrics},
		{context: 'prod-eu', port: euMetrics},
	]);
	open = await renderAtSize({sources: {...sources, metrics}, refreshSeconds: 0.5}, 240, 60);
	// Figures for both: p99 900 ms on the canary of each fraud-detector.
	await open.waitFor((frame) => (frame.match(/canary .* 900/g) ?? []).length === 2);
	euMetrics.failWith = 'Prometheus at http://prom.eu:9090 answered 503';
	const frame = await open.waitFor('prom prod-eu down: Prometheus at http://prom.eu:9090 answered 503', 15_000);
	expect(frameProblems(frame, open.violations(), 240, 60)).toEqual([]);
	expect(open.store.getState().health.metrics.status).toBe('ok');
	expect(open.store.getState().samples['prod-us:prod/fraud-detector/v13']?.p99Ms).toBe(900);
	expect(open.store.getState().samples['prod-eu:prod/fraud-detector/v13']).toBeUndefined();
});
