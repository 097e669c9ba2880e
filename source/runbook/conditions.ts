/**
 * A runbook's conditions, evaluated on the console's own state through the selectors the screens use, and figures
 * formatted as the screens format them: what a runbook sees is what the console shows.
 */
import {boundHolds, unitOf} from '../domain/runbook/quantities.ts';
import type {Bound, Condition, FigureName} from '../domain/runbook/types.ts';
import {type Flag, type Model, modelKey, refOf, type Sample, type Severity, type Version, versionKey} from '../domain/types.ts';
import {canaryOf, stableOf, versionSample} from '../state/selectors.ts';
import type {AppState} from '../state/state.ts';
import {formatBytes, formatCores, formatMs, formatPercent, formatRps} from '../ui/format.ts';

export interface Evaluation {
	met: boolean;
	/** What the console shows, said for the report: `p99 of payments/fraud-detector v13 is 212 ms`. */
	shown: string;
}

const severityRank: Record<Severity, number> = {info: 1, warning: 2, critical: 3};

/** The model a runbook names: `name` or `namespace/name`. Several of the same name are an error said for people. */
export function findNamedModel(state: AppState, name: string): {model: Model} | {problem: string} {
	const matches = state.models.filter((model) => (name.includes('/') ? modelKey(model) === name : model.name === name));
	if (matches.length === 1) return {model: matches[0]!};
	if (matches.length > 1) {
		return {problem: `${name} is in several namespaces (${matches.map((model) => modelKey(model)).join(', ')}): write namespace/name`};
	}

	const known = state.models.map((model) => model.name).join(', ') || 'none yet';
	return {problem: `no model ${name} in the fleet (models: ${known})`};
}

/** A version by name, or `canary` / `stable` for the model's version on that track (a version so named comes first). */
export function findNamedVersion(model: Model, name: string): Version | undefined {
	const exact = model.versions.find((version) => version.name === name);
	if (exact) return exact;
	if (name === 'canary') return canaryOf(model);
	if (name === 'stable') return stableOf(model);
	return undefined;
}

const figureOf: Record<FigureName, (sample: Sample) => number | null> = {
	rps: (sample) => sample.rps,
	errors: (sample) => (sample.errorRatio === null ? null : sample.errorRatio * 100),
	p50: (sample) => sample.p50Ms,
	p95: (sample) => sample.p95Ms,
	p99: (sample) => sample.p99Ms,
	cpu: (sample) => sample.cpuCores,
	memory: (sample) => sample.memoryBytes,
};

const formatFigure: Record<FigureName, (sample: Sample) => string> = {
	rps: (sample) => `${formatRps(sample.rps)} req/s`,
	errors: (sample) => formatPercent(sample.errorRatio),
	p50: (sample) => latency(sample.p50Ms),
	p95: (sample) => latency(sample.p95Ms),
	p99: (sample) => latency(sample.p99Ms),
	cpu: (sample) => `${formatCores(sample.cpuCores)} cores`,
	memory: (sample) => formatBytes(sample.memoryBytes),
};

/** As the screens show it, with its unit (the table's column says ms; a sentence has to). */
function latency(ms: number | null): string {
	return ms !== null && ms >= 1000 ? formatMs(ms) : `${formatMs(ms)} ms`;
}

function describeFlags(flags: readonly Flag[]): string {
	return flags.map((flag) => `${flag.kind} ${flag.severity}`).join(', ');
}

/** The condition in words, for the report's "expected". */
export function describeCondition(condition: Condition): string {
	const subject = condition.subject;
	const target = `${condition.model ?? ''}${condition.version ? ` ${condition.version}` : ''}`;
	const versioned = `${condition.model ?? ''} ${condition.version ?? 'canary'}`;
	const not = condition.negated ? ' not' : '';
	switch (subject.kind) {
		case 'flag':
			return `${versioned} has${condition.negated ? ' no' : subject.flag !== 'any' && /^[aeiou]/.test(subject.flag) ? ' an' : ' a'} ${subject.flag === 'any' ? '' : `${subject.flag} `}flag${subject.severity ? ` (${subject.severity} or worse)` : ''}`;
		case 'verdict':
			return `the verdict on ${condition.model} is${not} ${subject.verdict}`;
		case 'weight':
			return `the weight of ${versioned} is${not} ${boundWords(subject.bound, '%')}`;
		case 'figure':
			return `${subject.figure} of ${versioned} is${not} ${boundWords(subject.bound, unitOf(subject.figure))}`;
		case 'exists':
			return `${target} is${not} in the fleet`;
		case 'screen':
			return `the ${subject.screen} screen is${not} on show`;
		case 'dialog':
			return subject.dialog === 'none' ? `${condition.negated ? 'a' : 'no'} dialog is open` : `the ${subject.dialog} dialog is${not} open`;
		default:
			return `a toast ${condition.negated ? 'does not say' : 'says'} "${subject.text}"`;
	}
}

function boundWords(bound: Bound, unit: string): string {
	const words = {'>': 'above', '>=': 'at least', '<': 'below', '<=': 'at most', '=': ''}[bound.operator];
	const short = unit === 'requests per second' ? ' req/s' : unit === 'cores' ? ' cores' : unit;
	if (unit === 'bytes') return `${words ? `${words} ` : ''}${formatBytes(bound.value)}`;
	return `${words ? `${words} ` : ''}${Number(bound.value.toPrecision(12))}${short}`;
}

/** Whether the condition holds on this state, and what the console shows for it. */
export function evaluateCondition(condition: Condition, state: AppState): Evaluation {
	const subject = condition.subject;
	const decide = (holds: boolean, shown: string): Evaluation => ({met: condition.negated ? !holds : holds, shown});
	if (subject.kind === 'screen') return decide(state.view.screen === subject.screen, `the ${state.view.screen} screen is on show`);
	if (subject.kind === 'dialog') {
		const open = state.overlay?.kind ?? 'none';
		return decide(open === subject.dialog, open === 'none' ? 'no dialog is open' : `the ${open} dialog is open`);
	}

	if (subject.kind === 'toast') {
		const messages = state.toasts.map((toast) => toast.message);
		const found = messages.find((message) => message.includes(subject.text));
		return decide(found !== undefined, found ? `toast: ${found}` : messages.length > 0 ? `toasts: ${messages.join(' | ')}` : 'no toasts');
	}

	const found = findNamedModel(state, condition.model ?? '');
	if ('problem' in found) {
		// A model that is not there holds only for `exists: false`; anything else about it fails, saying why.
		return subject.kind === 'exists' ? decide(false, found.problem) : {met: false, shown: found.problem};
	}

	const {model} = found;
	const name = modelKey(model);
	if (subject.kind === 'verdict') {
		const verdict = state.verdicts[name];
		if (!verdict) return {met: false, shown: `no verdict on ${name} yet`};
		return decide(verdict.result === subject.verdict, `the verdict on ${name} is ${verdict.result}: ${verdict.summary}`);
	}

	const versionName = condition.version ?? (subject.kind === 'exists' ? undefined : 'canary');
	if (versionName === undefined) return decide(true, `${name} is in the fleet`);
	const version = findNamedVersion(model, versionName);
	const versions = model.versions.map((candidate) => `${candidate.name} (${candidate.track}, ${candidate.weight}%)`).join(', ');
	if (!version) {
		const problem = `${name} has no version ${versionName} (versions: ${versions || 'none'})`;
		return subject.kind === 'exists' ? decide(false, problem) : {met: false, shown: problem};
	}

	const label = `${name} ${version.name}`;
	switch (subject.kind) {
		case 'exists':
			return decide(true, `${label} is in the fleet (${version.track}, ${version.weight}%)`);
		case 'weight':
			return decide(boundHolds(subject.bound, version.weight), `the weight of ${label} is ${version.weight}% (versions: ${versions})`);
		case 'flag': {
			const flags = state.flags[versionKey({...refOf(model), version: version.name})] ?? [];
			const minimum = severityRank[subject.severity ?? 'info'];
			const holds = flags.some((flag) => (subject.flag === 'any' || flag.kind === subject.flag) && severityRank[flag.severity] >= minimum);
			return decide(holds, flags.length > 0 ? `flags on ${label}: ${describeFlags(flags)}` : `no flags on ${label}`);
		}

		default: {
			const sample = versionSample(state, model, version);
			const value = sample ? figureOf[subject.figure](sample) : null;
			// No figure is no evidence either way: the condition is not met, negated or not.
			if (!sample || value === null) return {met: false, shown: `no ${subject.figure} figure for ${label} yet`};
			return decide(boundHolds(subject.bound, value), `${subject.figure} of ${label} is ${formatFigure[subject.figure](sample)}`);
		}
	}
}
