/**
 * The demo's history before start-up is made by a second simulation run (back-filled, simulation.ts). It must be the
 * same fleet as the live one: before, its models' demand swung on other phases, the history stepped by up to a quarter
 * of the traffic where it met the live figures, and the calm scenario started with anomaly warnings on requests/s at
 * some moments of the day (3 of the 50 start times below; the shipped calm runbook failed on one in CI).
 */
import {describe, expect, it} from 'vitest';
import {createDemoSources} from '../../../source/demo/index.ts';
import {defaultDetectors} from '../../../source/domain/detectors.ts';
import {slowAnalysis} from '../../../source/domain/pipeline.ts';
import type {Model} from '../../../source/domain/types.ts';

const STEP_MS = 5000;
const HISTORY_MS = 10 * 60_000;

async function warningsAtStart(clockMs: number): Promise<string[]> {
	const demo = createDemoSources({scenario: 'calm', clock: () => clockMs});
	try {
		const models = await new Promise<Model[]>((resolve, reject) => {
			const stop = demo.cluster.watchModels(
				undefined,
				(found) => {
					stop();
					resolve(found);
				},
				(error) => reject(new Error(error.message)),
			);
		});
		const targets = models.flatMap((model) =>
			model.versions.map((version) => ({namespace: model.namespace, name: model.name, version: version.name})),
		);
		const end = Math.floor(clockMs / STEP_MS) * STEP_MS;
		const history = Object.fromEntries(await demo.metrics.history(targets, {start: end - HISTORY_MS, end, stepSeconds: STEP_MS / 1000}));
		const {flags} = slowAnalysis({models, history, detectors: defaultDetectors(), judgeWindowSeconds: HISTORY_MS / 1000, now: clockMs});
		return Object.entries(flags).flatMap(([version, list]) =>
			list.filter((flag) => flag.severity !== 'info').map((flag) => `${version}: ${flag.kind} ${flag.severity}: ${flag.message}`),
		);
	} finally {
		demo.stop();
	}
}

describe('the demo history joins the live figures', () => {
	it('the calm scenario starts with no warning, at 50 moments of a day', async () => {
		const day = Date.parse('2026-12-07T00:00:00Z');
		const warnings: string[] = [];
		for (let index = 0; index < 50; index++) {
			const clockMs = day + index * 37_003;
			for (const warning of await warningsAtStart(clockMs)) warnings.push(`${new Date(clockMs).toISOString()} ${warning}`);
		}

		expect(warnings).toEqual([]);
	});
});
