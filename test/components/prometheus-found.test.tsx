/**
 * The header when Prometheus was looked for in the cluster: it names the one found and how, while it answers; it
 * says what was looked for and how to point at one when none was found. At the smallest and largest sizes.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {SourceAbsentError} from '../../source/domain/ports.ts';
import {fakeSources, FakeMetrics} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize} from '../support/screen-check.tsx';

const found = 'monitoring/prometheus-operated (found: Prometheus Operator; also prometheus/prometheus-server)';

class FoundMetrics extends FakeMetrics {
	readonly found = found;
}

class AbsentMetrics extends FakeMetrics {
	override async sample(): Promise<never> {
		throw new SourceAbsentError(
			'no Prometheus found (--prometheus URL points at one, as do prometheusUrl or prometheusService in settings) in context kind-prod; looked for Services of kube-prometheus-stack',
		);
	}
}

let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	cleanup = undefined;
});

describe.each([
	[60, 15],
	[240, 60],
])('at %ix%i', (columns, rows) => {
	it('names the Prometheus found and how, under the first line', async () => {
		const ui = await renderAtSize({sources: {...fakeSources({agent: true}), metrics: new FoundMetrics()}}, columns, rows);
		cleanup = ui.cleanup;
		const frame = await ui.waitFor('prom:ok');
		const second = frame.split('\n')[1]!;
		expect(found.startsWith(second.replace(/^prometheus: /, '').replace(/…$/, '')), frame).toBe(true);
		expect(second).toMatch(/^prometheus: monitoring\/prometheus-/);
		if (columns >= 240) expect(second.trimEnd()).toBe(`prometheus: ${found}`);
		expect(ui.controller.state.metricsFound).toBe(found);
		expect(frameProblems(frame, ui.violations(), columns, rows)).toEqual([]);
		expect(frame).toMatch(/\bMODEL\b/);
	});

	it('says Prometheus is off, what was looked for and how to point at one, when none was found', async () => {
		const ui = await renderAtSize({sources: {...fakeSources({agent: true}), metrics: new AbsentMetrics()}}, columns, rows);
		cleanup = ui.cleanup;
		const frame = await ui.waitFor('prom:off');
		expect(frame.split('\n')[1]).toMatch(/^prom: no Prometheus found \(--prometheus URL points at one/);
		if (columns >= 240) expect(frame).toContain('looked for Services of kube-prometheus-stack');
		expect(ui.controller.state.health.metrics).toMatchObject({status: 'absent'});
		expect(frameProblems(frame, ui.violations(), columns, rows)).toEqual([]);
	});
});

it('switching context looks for that context’s Prometheus: the last one is no longer named', async () => {
	const sources = fakeSources({agent: true});
	const contexts: string[] = [];
	class PerContextMetrics extends FakeMetrics {
		found: string | undefined = found;
		switchContext(context: string) {
			contexts.push(context);
			this.found = undefined;
		}
	}

	const metrics = new PerContextMetrics();
	const ui = await renderAtSize({sources: {...sources, metrics}}, 120, 30);
	cleanup = ui.cleanup;
	await ui.waitFor('prometheus: monitoring/prometheus-operated');
	await ui.controller.switchContext('staging');
	expect(contexts).toEqual(['staging']);
	const frame = await ui.waitFor((text) => text.includes('prom:ok') && text.includes('staging'));
	expect(frame).not.toContain('prometheus: monitoring/prometheus-operated');
	expect(ui.controller.state.metricsFound).toBeUndefined();
});
