/** Reads an Action from untrusted JSON, saying exactly what is wrong when it is not one. */
import {
	defaultDeliverySteps,
	deliveryCommands,
	deliveryDefaults,
	deliverySpecProblems,
	type DeliveryCommand,
	type DeliverySpec,
} from '../../domain/delivery.ts';
import {rolloutCommands, type Action, type ModelRef, type RolloutCommand, type VersionRef} from '../../domain/types.ts';
import {parseWeight} from '../../domain/weights.ts';

export const maxLoadTestRps = 100_000;
export const maxLoadTestSeconds = 3600;

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const dnsName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

class Invalid extends Error {}

function name(value: unknown, field: string): string {
	if (typeof value !== 'string' || value === '') throw new Invalid(`${field} must be a non-empty string`);
	if (!dnsName.test(value)) throw new Invalid(`${field} "${value.slice(0, 64)}" is not a valid Kubernetes name`);
	return value;
}

function label(value: unknown, field: string): string {
	if (typeof value !== 'string' || value === '' || value.length > 253) throw new Invalid(`${field} must be a non-empty string`);
	return value;
}

function modelRef(value: unknown, field: string): ModelRef {
	if (!isRecord(value)) throw new Invalid(`${field} must be an object {namespace, name}`);
	return {namespace: name(value['namespace'], `${field}.namespace`), name: name(value['name'], `${field}.name`)};
}

function versionRef(value: unknown, field: string): VersionRef {
	if (!isRecord(value)) throw new Invalid(`${field} must be an object {namespace, name, version}`);
	return {...modelRef(value, field), version: label(value['version'], `${field}.version`)};
}

function number(value: unknown, field: string, min: number, max: number): number {
	if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
		throw new Invalid(`${field} must be a number from ${min} to ${max}`);
	}

	return value;
}

/** The weights of the plan the operator confirmed, by version: at most 64 versions, whole numbers 0–100. */
function expected(value: unknown): Record<string, number> {
	if (!isRecord(value)) throw new Invalid('expected must be an object {version: weight}');
	const entries = Object.entries(value);
	if (entries.length > 64) throw new Invalid('expected lists more than 64 versions');
	const weights: Record<string, number> = {};
	for (const [version, weight] of entries) {
		label(version, 'a version in expected');
		weights[version] = weightOf(weight, `expected.${version.slice(0, 64)}`);
	}

	return weights;
}

/** A weight by the console's own rule (domain/weights.ts): a whole number from 0 to 100, as a JSON number. */
function weightOf(value: unknown, field: string): number {
	if (typeof value !== 'number')
		throw new Invalid(
			`${field} must be a whole number from 0 to 100 (a JSON number), got ${JSON.stringify(value)?.slice(0, 40) ?? 'nothing'}`,
		);
	const parsed = parseWeight(String(value));
	if ('error' in parsed) throw new Invalid(`${field}: ${parsed.error}`);
	return parsed.weight;
}

/** A delivery's spec from a body: image and version required, the rest defaulted; the model is the action's. */
function deliverySpec(value: unknown, model: ModelRef): DeliverySpec {
	if (!isRecord(value))
		throw new Invalid('spec must be an object {image, version, steps?, pauseSeconds?, readyTimeoutSeconds?, maxHolds?}');
	const image = value['image'];
	if (typeof image !== 'string' || image.trim() === '' || image.length > 512)
		throw new Invalid('spec.image must be a container image, e.g. registry/fraud:v13');
	const version = label(value['version'], 'spec.version');
	const steps = value['steps'] ?? [...defaultDeliverySteps];
	if (!Array.isArray(steps) || steps.length === 0 || steps.length > 20 || !steps.every((step) => typeof step === 'number')) {
		throw new Invalid('spec.steps must be a list of 1 to 20 weights, e.g. [5, 25, 50, 100]');
	}

	const optional = (field: string, fallback: number, min: number, max: number) =>
		value[field] === undefined ? fallback : number(value[field], `spec.${field}`, min, max);
	const requestedBy = value['requestedBy'] ?? '';
	if (typeof requestedBy !== 'string' || requestedBy.length > 253)
		throw new Invalid('spec.requestedBy must be a string of at most 253 characters');
	return {
		model,
		image,
		version,
		steps: steps as number[],
		pauseSeconds: optional('pauseSeconds', deliveryDefaults.pauseSeconds, 0, 86_400),
		readyTimeoutSeconds: optional('readyTimeoutSeconds', deliveryDefaults.readyTimeoutSeconds, 1, 86_400),
		maxHolds: optional('maxHolds', deliveryDefaults.maxHolds, 0, 100),
		requestedBy,
		...versionLabel(value['versionLabel']),
	};
}

/** The name asked for where the plan named the version itself (a KServe revision): carried from the console's plan. */
function versionLabel(value: unknown): {versionLabel?: string} {
	if (value === undefined) return {};
	if (typeof value !== 'string' || !/^[a-z0-9A-Z]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$/.test(value)) {
		throw new Invalid('spec.versionLabel must be a label value (letters, digits, "-", "_", ".", at most 63 characters), e.g. v13');
	}

	return {versionLabel: value};
}

export function parseAction(value: unknown): Action | string {
	try {
		const parsed = parseBare(value);
		if (typeof parsed === 'string' || !isRecord(value) || value['expected'] === undefined) return parsed;
		if (parsed.kind === 'smoke-test' || parsed.kind === 'load-test' || parsed.kind === 'deliver' || parsed.kind === 'delivery') {
			return `expected is only for traffic changes, not ${parsed.kind}`;
		}
		return {...parsed, expected: expected(value['expected'])};
	} catch (error) {
		if (error instanceof Invalid) return error.message;
		throw error;
	}
}

function parseBare(value: unknown): Action | string {
	try {
		if (!isRecord(value)) return 'the action must be a JSON object with a "kind"';
		const kind = value['kind'];
		switch (kind) {
			case 'set-weight': {
				const action: Action = {
					kind,
					model: modelRef(value['model'], 'model'),
					canary: label(value['canary'], 'canary'),
					from: weightOf(value['from'], 'from'),
					to: weightOf(value['to'], 'to'),
				};
				if (value['resourceVersion'] !== undefined) action.resourceVersion = label(value['resourceVersion'], 'resourceVersion');
				return action;
			}

			case 'promote':
				return {
					kind,
					model: modelRef(value['model'], 'model'),
					canary: label(value['canary'], 'canary'),
					stable: label(value['stable'], 'stable'),
				};
			case 'rollback':
				return {kind, model: modelRef(value['model'], 'model'), canary: label(value['canary'], 'canary')};
			case 'switch':
				return {kind, model: modelRef(value['model'], 'model'), from: label(value['from'], 'from'), to: label(value['to'], 'to')};
			case 'rollout': {
				const command = value['command'];
				if (!rolloutCommands.includes(command as RolloutCommand)) return `command must be one of ${rolloutCommands.join(', ')}`;
				return {kind, model: modelRef(value['model'], 'model'), command: command as RolloutCommand};
			}
			case 'deliver': {
				const model = modelRef(value['model'], 'model');
				const spec = deliverySpec(value['spec'], model);
				const problems = deliverySpecProblems(spec);
				return problems.length > 0 ? `spec: ${problems.join('; ')}` : {kind, model, spec};
			}

			case 'delivery': {
				const command = value['command'];
				if (!deliveryCommands.includes(command as DeliveryCommand)) return `command must be one of ${deliveryCommands.join(', ')}`;
				return {kind, model: modelRef(value['model'], 'model'), command: command as DeliveryCommand};
			}

			case 'smoke-test':
				return {kind, target: versionRef(value['target'], 'target')};
			case 'load-test': {
				const targets = value['targets'];
				if (!Array.isArray(targets) || targets.length < 1 || targets.length > 2) {
					return 'targets must list one version, or two to compare side by side';
				}

				const parsed = targets.map((target, index) => versionRef(target, `targets[${index}]`));
				if (parsed.length === 2 && (parsed[0]!.namespace !== parsed[1]!.namespace || parsed[0]!.name !== parsed[1]!.name)) {
					return 'the two targets of a load test must be versions of the same model';
				}

				const action: Action = {
					kind,
					targets: parsed,
					rps: number(value['rps'], 'rps', 0.1, maxLoadTestRps),
					durationSeconds: number(value['durationSeconds'], 'durationSeconds', 1, maxLoadTestSeconds),
				};
				if (value['warmupSeconds'] !== undefined)
					action.warmupSeconds = number(value['warmupSeconds'], 'warmupSeconds', 0, maxLoadTestSeconds);
				return action;
			}

			default:
				return `unknown action kind ${JSON.stringify(kind)}; expected set-weight, promote, rollback, switch, rollout, deliver, delivery, smoke-test or load-test`;
		}
	} catch (error) {
		if (error instanceof Invalid) return error.message;
		throw error;
	}
}

export function describeAction(action: Action): {action: string; target: string} {
	switch (action.kind) {
		case 'set-weight':
			return {action: `set-weight ${action.canary} ${action.from}→${action.to}%`, target: `${action.model.namespace}/${action.model.name}`};
		case 'promote':
			return {action: `promote ${action.canary}`, target: `${action.model.namespace}/${action.model.name}`};
		case 'rollback':
			return {action: `rollback ${action.canary}`, target: `${action.model.namespace}/${action.model.name}`};
		case 'switch':
			return {action: `switch ${action.from}→${action.to}`, target: `${action.model.namespace}/${action.model.name}`};
		case 'rollout':
			return {action: `rollout ${action.command}`, target: `${action.model.namespace}/${action.model.name}`};
		case 'deliver':
			return {
				action: `deliver ${action.spec.version} (${action.spec.image}) steps ${action.spec.steps.join(',')}`,
				target: `${action.model.namespace}/${action.model.name}`,
			};
		case 'delivery':
			return {action: `delivery ${action.command}`, target: `${action.model.namespace}/${action.model.name}`};
		case 'smoke-test':
			return {action: 'smoke-test', target: `${action.target.namespace}/${action.target.name}/${action.target.version}`};
		case 'load-test':
			return {
				action: `load-test ${action.rps} rps × ${action.durationSeconds} s`,
				target: action.targets.map((target) => `${target.namespace}/${target.name}/${target.version}`).join(' vs '),
			};
	}
}
