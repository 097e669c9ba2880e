/**
 * Fault-injection knobs: set by flags at start and changed at runtime with `POST /admin/knobs`, so a test or a demo
 * can turn a healthy version into a regressed one without restarting it.
 */

export interface Knobs {
	/** Extra delay added to every infer request, in milliseconds. Default 0. */
	latencyMs: number;
	/** Share of infer requests answered with HTTP 500, 0–1. Default 0. */
	errorRate: number;
	/** Memory retained per minute, in MB, to mimic a leak. 0 stops the growth and releases what was held. Default 0. */
	memoryGrowthMbPerMin: number;
	/** Added to every logit: shifts the output distribution (0 = the model as trained). Default 0. */
	outputDrift: number;
}

export const defaultKnobs: Knobs = {latencyMs: 0, errorRate: 0, memoryGrowthMbPerMin: 0, outputDrift: 0};

interface KnobRule {
	min: number;
	max: number;
	description: string;
}

const knobRules: Record<keyof Knobs, KnobRule> = {
	latencyMs: {min: 0, max: 60_000, description: 'milliseconds, 0–60000'},
	errorRate: {min: 0, max: 1, description: 'a share of requests, 0–1'},
	memoryGrowthMbPerMin: {min: 0, max: 10_000, description: 'MB per minute, 0–10000'},
	outputDrift: {min: -20, max: 20, description: 'a logit shift, -20–20'},
};

export const KNOB_NAMES = Object.keys(knobRules) as Array<keyof Knobs>;

export type KnobsUpdate = {ok: true; knobs: Partial<Knobs>} | {ok: false; message: string};

/** Checks one knob value; returns an error message or undefined. */
export function checkKnob(name: keyof Knobs, value: unknown): string | undefined {
	const rule = knobRules[name];
	if (typeof value !== 'number' || !Number.isFinite(value) || value < rule.min || value > rule.max) {
		return `${name} must be ${rule.description}; got ${JSON.stringify(value)}`;
	}
	return undefined;
}

/** Validates a partial knob update from outside (JSON body); unknown keys are refused, not ignored. */
export function parseKnobsUpdate(body: unknown): KnobsUpdate {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		return {ok: false, message: `send a JSON object with any of: ${KNOB_NAMES.join(', ')}`};
	}
	const update: Partial<Knobs> = {};
	for (const [key, value] of Object.entries(body)) {
		if (!KNOB_NAMES.includes(key as keyof Knobs)) {
			return {ok: false, message: `unknown knob "${key}"; known knobs: ${KNOB_NAMES.join(', ')}`};
		}
		const problem = checkKnob(key as keyof Knobs, value);
		if (problem) return {ok: false, message: problem};
		update[key as keyof Knobs] = value as number;
	}
	return {ok: true, knobs: update};
}
