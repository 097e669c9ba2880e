import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {modelViewLayout} from '../../../source/ui/ModelView.tsx';

const needs = fc.record({
	height: fc.integer({min: 3, max: 80}),
	verdict: fc.boolean(),
	rollout: fc.boolean(),
	rolloutCommand: fc.boolean(),
	flags: fc.integer({min: 0, max: 30}),
	warnings: fc.integer({min: 0, max: 5}),
	smokeChecks: fc.option(fc.integer({min: 0, max: 12}), {nil: undefined}),
	failedChecks: fc.integer({min: 0, max: 12}),
	taskLines: fc.integer({min: 0, max: 5}),
});

describe('modelViewLayout', () => {
	it('spends no more lines than the view has, keeps the headings and at least one chart, and every chart from 7 spare lines', () => {
		fc.assert(
			fc.property(needs, (need) => {
				const room = modelViewLayout(need);
				const smoke = need.smokeChecks === undefined ? 0 : 1 + room.smokeChecks;
				const panel =
					1 +
					Number(room.panel.details) +
					Number(room.panel.image) +
					Number(room.panel.capacity) +
					room.panel.charts.length * room.panel.chartRows;
				const used =
					1 +
					panel +
					Number(need.verdict) +
					Number(need.rollout) +
					Number(room.rolloutDetail) +
					Number(room.rolloutCommand) +
					room.flags +
					room.warnings +
					smoke +
					need.taskLines;
				const must = 2 + Number(need.verdict) + Number(need.rollout) + 1 + (need.smokeChecks === undefined ? 0 : 1) + need.taskLines;
				expect(room.panel.charts.length).toBeGreaterThanOrEqual(1);
				// The title, the headings, verdict, a flag line, smoke summaries and the task always show; with one line
				// for a chart left over, everything fits.
				if (need.height >= must + 1) expect(used).toBeLessThanOrEqual(need.height);
				if (need.height >= must + 7) expect(room.panel.charts).toHaveLength(7);
				expect(room.flags).toBeLessThanOrEqual(Math.max(1, need.flags));
				expect(room.smokeChecks).toBeLessThanOrEqual(need.smokeChecks ?? 0);
			}),
		);
	});
});
