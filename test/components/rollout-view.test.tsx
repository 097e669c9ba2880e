/**
 * An Argo Rollouts canary in the model view, at the smallest and the largest supported terminal: the controller's
 * line (phase, step x/y, analysis result and failing metric) is drawn with the STABLE and CANARY panels, and the
 * frame fits.
 */
import {afterEach, describe, expect, it} from 'vitest';
import {buildModels} from '../../source/adapters/kube/build-models.ts';
import {controllerLine} from '../../source/ui/controller-line.ts';
import {failedAnalysisRun, rolloutSnapshot} from '../fixtures/kube/argo-rollouts.ts';
import {fakeSources} from '../support/fake-sources.ts';
import {frameProblems, renderAtSize} from '../support/screen-check.tsx';

function rolloutModel() {
	const snapshot = rolloutSnapshot();
	snapshot.analysisRuns = [failedAnalysisRun()];
	return buildModels(snapshot)[0]!;
}

let cleanup: (() => void) | undefined;
afterEach(() => {
	cleanup?.();
	cleanup = undefined;
});

describe('the controller line', () => {
	it('says phase, step, analysis and the controller’s message, in that order', () => {
		expect(controllerLine(rolloutModel())).toEqual({
			text: 'Argo Rollouts Paused · step 2/4 · analysis Failed: error-rate (1 of 1 measurements failed; last 0.31 (Failed)) · CanaryPauseStep',
			tone: 'critical',
		});
	});

	it('a model whose router a controller owns says who and how that was found', () => {
		expect(
			controllerLine({
				namespace: 'ml',
				name: 'x',
				router: 'virtualservice',
				versions: [],
				owner: {controller: 'Flagger', object: 'Canary/x', evidence: 'ownerReferences Canary/x'},
			})?.text,
		).toBe('owned by Flagger (Canary/x, ownerReferences Canary/x): changed only through it');
	});
});

describe.each([
	[60, 15],
	[240, 60],
])('a Rollout in the model view at %ix%i', (columns, rows) => {
	it('shows step x/y, phase and the analysis with both versions, the controller’s keys first in the footer, and fits', async () => {
		const sources = fakeSources();
		sources.cluster.models = [rolloutModel()];
		const ui = await renderAtSize({sources, loadTest: {rps: 20, durationSeconds: 1, warmupSeconds: 0}}, columns, rows);
		cleanup = ui.cleanup;
		await ui.waitFor('fraud');
		await ui.press('enter');
		const frame = await ui.waitFor('step 2/4');
		expect(frame).toContain('Argo Rollouts: Paused · step 2/4 · analysis Failed');
		expect(frame).toMatch(/STABLE v1/);
		expect(frame).toMatch(/CANARY v2/);
		if (columns >= 240) expect(frame).toContain('error-rate: 1 of 1 measurements failed; last 0.31');
		// The controller's commands lead the footer on a Rollout.
		expect(frame.split('\n').at(-1)).toMatch(/^> next step F promote fully A abort R retry/);
		expect(frameProblems(frame, ui.violations(), columns, rows)).toEqual([]);
	});
});
