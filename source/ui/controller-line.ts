/**
 * The line of a model whose traffic a controller owns: for a canary the controller runs (Argo Rollouts), its phase,
 * step, pause and analysis as the controller reports them; for a model whose router a controller owns, who owns it and
 * how that was found. Pure, so every shape is tested as text.
 */
import type {Model} from '../domain/types.ts';

export type ControllerTone = 'ok' | 'warning' | 'critical' | 'muted';

export interface ControllerLine {
	text: string;
	tone: ControllerTone;
}

const controllerNames = {'argo-rollouts': 'Argo Rollouts', flagger: 'Flagger'} as const;

/** `Argo Rollouts Paused · step 2/4 · analysis Failed: error-rate (1 of 1 measurements failed; last 0.31) · CanaryPauseStep`. */
export function controllerLine(model: Model): ControllerLine | undefined {
	const rollout = model.rollout;
	if (rollout) {
		const parts = [`${controllerNames[rollout.controller]} ${rollout.phase}`];
		if (rollout.step !== undefined && rollout.totalSteps !== undefined) parts.push(`step ${rollout.step}/${rollout.totalSteps}`);
		if (rollout.paused && rollout.phase !== 'Paused') parts.push('paused');
		if (rollout.failedChecks !== undefined)
			parts.push(`failed checks ${rollout.failedChecks}${rollout.failedChecksLimit === undefined ? '' : `/${rollout.failedChecksLimit}`}`);
		const analysis = rollout.analysis;
		if (analysis) {
			const failing = analysis.failingMetric
				? `: ${analysis.failingMetric}${analysis.detail ? ` (${analysis.detail})` : ''}`
				: analysis.detail
					? ` (${analysis.detail})`
					: '';
			parts.push(`analysis ${analysis.phase}${failing}`);
		}

		if (rollout.message) parts.push(rollout.message);
		const failed =
			rollout.phase === 'Degraded' || rollout.phase === 'Failed' || analysis?.phase === 'Failed' || analysis?.phase === 'Error';
		return {text: parts.join(' · '), tone: failed ? 'critical' : rollout.paused || rollout.phase === 'Progressing' ? 'warning' : 'ok'};
	}

	if (model.owner) {
		return {
			text: `owned by ${model.owner.controller} (${model.owner.object}, ${model.owner.evidence}): changed only through it`,
			tone: 'muted',
		};
	}

	return undefined;
}
