/**
 * A canary run by a controller (Argo Rollouts, Flagger), as the controller reports it: one line with who runs it, its
 * phase, step and failed checks, and, when there is room, one with the analysis behind its decision — the failing
 * metric and the value the controller judged, else the checks it runs, else its message.
 */
import React from 'react';
import {Text} from 'ink';
import type {ControllerRollout, Model} from '../domain/types.ts';
import {useTheme} from './contexts.tsx';

/** `Flagger: Progressing · step 2/5 · failed checks 3/5`, `Argo Rollouts: Paused · step 2/4 · analysis Failed`. */
export function rolloutSummary(model: Model, rollout: ControllerRollout): string {
	const parts = [`${model.owner?.controller ?? controllerNames[rollout.controller]}: ${rollout.phase}`];
	if (rollout.paused && rollout.phase !== 'Paused') parts.push('paused');
	if (rollout.step !== undefined && rollout.totalSteps !== undefined) parts.push(`step ${rollout.step}/${rollout.totalSteps}`);
	if (rollout.failedChecks !== undefined) {
		parts.push(
			rollout.failedChecksLimit === undefined
				? `${rollout.failedChecks} failed checks`
				: `failed checks ${rollout.failedChecks}/${rollout.failedChecksLimit}`,
		);
	}

	if (rollout.analysis && !rollout.analysis.failingMetric) parts.push(`analysis ${rollout.analysis.phase}`);
	else if (rollout.analysis?.failingMetric && rollout.analysis.phase !== rollout.phase) parts.push(`analysis ${rollout.analysis.phase}`);
	return parts.join(' · ');
}

/** The analysis behind the controller's decision — the failing metric and the value it judged — and its message. */
export function rolloutDetail(rollout: ControllerRollout): string | undefined {
	const analysis = rollout.analysis;
	const parts: string[] = [];
	if (analysis?.failingMetric) parts.push(`${analysis.failingMetric}: ${analysis.detail ?? analysis.phase}`);
	else if (analysis && analysis.name) parts.push(`analysis ${analysis.phase}: ${analysis.name}`);
	if (rollout.message) parts.push(rollout.message);
	return parts.length > 0 ? parts.join(' · ') : undefined;
}

const controllerNames = {'argo-rollouts': 'Argo Rollouts', flagger: 'Flagger'} as const;

export function ControllerRolloutLines({model, detail}: {model: Model; detail: boolean}) {
	const theme = useTheme();
	const rollout = model.rollout;
	if (!rollout) return null;
	const failing = rollout.phase === 'Failed' || rollout.phase === 'Degraded' || rollout.analysis?.phase === 'Failed';
	const warning = !failing && ((rollout.failedChecks ?? 0) > 0 || rollout.paused === true || rollout.analysis?.failingMetric !== undefined);
	const color = failing
		? theme.status.critical
		: warning
			? theme.status.warning
			: rollout.phase === 'Succeeded' || rollout.phase === 'Healthy'
				? theme.status.ok
				: theme.status.info;
	const second = detail ? rolloutDetail(rollout) : undefined;
	return (
		<>
			<Text color={color} wrap="truncate-end">
				{failing ? '✖ ' : warning ? '▲ ' : ''}
				{rolloutSummary(model, rollout)}
			</Text>
			{second ? (
				<Text color={rollout.analysis?.failingMetric ? color : theme.text.muted} wrap="truncate-end">
					{'  '}
					{second}
				</Text>
			) : null}
		</>
	);
}
