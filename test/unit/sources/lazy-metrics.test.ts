import {describe, expect, it} from 'vitest';
import {type MetricsPort, SourceAbsentError} from '../../../source/domain/ports.ts';
import {LazyMetricsPort} from '../../../source/adapters/lazy-metrics.ts';

const target = {namespace: 'ml', name: 'fraud', version: 'v1'};

function port(label: string, found?: string): MetricsPort {
	return {
		label,
		...(found ? {found} : {}),
		sample: async () => new Map([['ml/fraud/v1', {rps: 1} as never]]),
		history: async () => new Map(),
		explain: () => 'up',
	};
}

describe('LazyMetricsPort', () => {
	it('takes the loaded source’s label and how it was found', async () => {
		const lazy = new LazyMetricsPort(
			async () =>
				port('prometheus monitoring/prometheus-operated (via API server)', 'monitoring/prometheus-operated (found: Prometheus Operator)'),
			'prometheus in the cluster',
		);
		expect(lazy.label).toBe('prometheus in the cluster');
		expect(lazy.found).toBeUndefined();
		expect((await lazy.sample([target], 60)).size).toBe(1);
		expect(lazy.label).toBe('prometheus monitoring/prometheus-operated (via API server)');
		expect(lazy.found).toBe('monitoring/prometheus-operated (found: Prometheus Operator)');
	});

	it('looks again after a failed load: the call that saw it fail starts the next attempt', async () => {
		let attempts = 0;
		const lazy = new LazyMetricsPort(async () => {
			attempts++;
			if (attempts === 1) throw new Error('list services: connection refused');
			return port('prometheus x');
		}, 'prometheus in the cluster');
		await expect(lazy.sample([target], 60)).rejects.toThrow('connection refused');
		expect((await lazy.sample([target], 60)).size).toBe(1);
		expect(attempts).toBe(2);
	});

	it('does not look again when there is none: absent stays absent', async () => {
		let attempts = 0;
		const lazy = new LazyMetricsPort(async () => {
			attempts++;
			throw new SourceAbsentError('no Prometheus found');
		}, 'prometheus in the cluster');
		for (let call = 0; call < 3; call++)
			await expect(lazy.history([target], {start: 0, end: 1000, stepSeconds: 1})).rejects.toBeInstanceOf(SourceAbsentError);
		expect(attempts).toBe(1);
		expect(lazy.explain(target, 'rps')).toBe('# no Prometheus found');
	});

	it('loads again for the context switched to, and forgets the last one’s Prometheus', async () => {
		const asked: Array<string | undefined> = [];
		const lazy = new LazyMetricsPort(
			async (context) => {
				asked.push(context);
				if (context === 'prod-eu') throw new SourceAbsentError('no Prometheus found in context prod-eu');
				return port(`prometheus of ${context}`, `${context}/prometheus-operated (found: Prometheus Operator)`);
			},
			'prometheus in the cluster',
			'prod-us',
		);
		await lazy.sample([target], 60);
		expect(lazy.found).toBe('prod-us/prometheus-operated (found: Prometheus Operator)');
		lazy.switchContext('prod-eu');
		expect(lazy.found).toBeUndefined();
		expect(lazy.label).toBe('prometheus in the cluster');
		await expect(lazy.sample([target], 60)).rejects.toThrow('no Prometheus found in context prod-eu');
		lazy.switchContext('prod-us');
		await lazy.sample([target], 60);
		expect(lazy.label).toBe('prometheus of prod-us');
		expect(asked).toEqual(['prod-us', 'prod-eu', 'prod-us']);
	});
});
