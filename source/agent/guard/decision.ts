/**
 * The guard's decision, pure: given what it remembered about a canary and the newest verdict, what it remembers now
 * and what it does. A failing verdict counts; N in a row roll back. A pass clears the count; a marginal verdict or
 * too little data neither counts nor clears (no evidence either way).
 */
import type {Verdict, VerdictResult} from '../../domain/analysis.ts';

export interface GuardState {
	/** Failing verdicts in a row. */
	consecutiveFailures: number;
	lastResult?: VerdictResult;
	/** Epoch ms of the last judgement. */
	lastJudged?: number;
}

export type GuardAction =
	| {kind: 'none'}
	| {kind: 'rollback'; reason: string}
	/** Dry run: what the guard would have done. */
	| {kind: 'would-rollback'; reason: string};

export interface GuardPolicy {
	/** Failing verdicts in a row that trigger a rollback. */
	consecutiveFailures: number;
	dryRun: boolean;
}

export const initialGuardState: GuardState = {consecutiveFailures: 0};

export function guardDecision(
	state: GuardState,
	verdict: Verdict,
	policy: GuardPolicy,
	now: number,
): {state: GuardState; action: GuardAction} {
	const judged = {lastResult: verdict.result, lastJudged: now};
	switch (verdict.result) {
		case 'pass':
			return {state: {...judged, consecutiveFailures: 0}, action: {kind: 'none'}};
		case 'marginal':
		case 'insufficient-data':
			return {state: {...judged, consecutiveFailures: state.consecutiveFailures}, action: {kind: 'none'}};
		case 'fail': {
			const failures = state.consecutiveFailures + 1;
			if (failures < Math.max(1, policy.consecutiveFailures)) {
				return {state: {...judged, consecutiveFailures: failures}, action: {kind: 'none'}};
			}

			const reason = `${failures} failing verdicts in a row (limit ${policy.consecutiveFailures}): ${verdict.summary}`;
			// Counting starts again after acting, so a dry run reports once per N failures rather than every interval.
			return {
				state: {...judged, consecutiveFailures: 0},
				action: policy.dryRun ? {kind: 'would-rollback', reason} : {kind: 'rollback', reason},
			};
		}
	}
}
