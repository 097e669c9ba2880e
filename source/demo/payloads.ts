/**
 * What each model's requests and answers look like: short input and output summaries for the prediction log, the
 * value drift is computed from (a score or a class), and the Open Inference Protocol shapes a smoke test checks.
 */
import type {OutputKind} from './fleet.ts';
import type {Random} from './random.ts';

export interface Payload {
	input: string;
	output: string;
	/** Numeric score or class label, for drift. */
	value: number | string;
}

export interface ModelInterface {
	platform: string;
	inputName: string;
	inputShape: number[];
	inputType: string;
	outputName: string;
	outputShape: number[];
	outputType: string;
	/** What a valid output looks like, checked by the smoke test. */
	outputRule: 'probability' | 'distribution' | 'finite' | 'text';
}

const countries = ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'PL', 'SE', 'IT', 'BR'] as const;
const merchantCategories = ['grocery', 'electronics', 'travel', 'fuel', 'online', 'restaurants'] as const;
const plans = ['basic', 'pro', 'team', 'enterprise'] as const;
const slots = ['home', 'cart', 'product', 'email'] as const;
const queries = [
	'wireless earbuds',
	'running shoes women',
	'usb-c hub',
	'standing desk',
	'coffee grinder',
	'rain jacket',
	'4k monitor',
	'kids bike',
] as const;
const imageClasses = ['cat', 'dog', 'car', 'person', 'bicycle', 'bird', 'truck', 'other'] as const;
const imageFrequencies = [0.16, 0.18, 0.14, 0.22, 0.06, 0.07, 0.05, 0.12];
const sentimentClasses = ['positive', 'neutral', 'negative'] as const;
const sentimentStable = [0.52, 0.3, 0.18];
const sentimentDrifted = [0.22, 0.28, 0.5];
const reviewSnippets = [
	'delivery was late again',
	'great value, works as described',
	'support answered within minutes',
	'the app keeps logging me out',
	'ok for the price',
	'would buy again',
	'package arrived damaged',
	'battery lasts two days',
] as const;

/**
 * One flat string from its parts. Template literals build a tree of pieces (a V8 cons string) that stays in memory as
 * long as the string does, and payloads are kept in pools and in the agent's history of predictions.
 */
function flat(...parts: Array<string | number>): string {
	return parts.join('');
}

function round(value: number, digits: number): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}

function pickWeighted<T>(random: Random, items: readonly T[], weights: readonly number[]): T {
	let remaining = random.next() * weights.reduce((sum, weight) => sum + weight, 0);
	for (const [index, weight] of weights.entries()) {
		remaining -= weight;
		if (remaining < 0) return items[index]!;
	}

	return items.at(-1)!;
}

/** A request and its answer. `drift` (0–1) shifts the output distribution, as a model trained on other data would. */
export function generatePayload(kind: OutputKind, random: Random, drift: number): Payload {
	switch (kind) {
		case 'fraud-score': {
			const amount = round(random.logNormal(48, 1.1), 2);
			const fraudulent = random.chance(0.05 + 0.1 * drift);
			const score = round(fraudulent ? random.beta(5, 2) : random.beta(1.2 + 2 * drift, 28 - 14 * drift), 3);
			return {
				input: flat('{"amount":', amount, ',"country":"', random.pick(countries), '","mcc":"', random.pick(merchantCategories), '"}'),
				output: flat('fraud=', score),
				value: score,
			};
		}

		case 'churn-score': {
			const score = round(random.beta(2 + 2 * drift, 6 - 2 * drift), 3);
			return {
				input: flat(
					'{"tenure_months":',
					random.integer(1, 72),
					',"plan":"',
					random.pick(plans),
					'","tickets_90d":',
					random.poisson(1.2),
					'}',
				),
				output: flat('churn=', score),
				value: score,
			};
		}

		case 'recommendations': {
			const score = round(random.beta(5 - 2 * drift, 3 + 2 * drift), 3);
			const skus = [random.integer(10, 9999), random.integer(10, 9999), random.integer(10, 9999)];
			return {
				input: flat('{"user":"u-', random.integer(1000, 99_999), '","slot":"', random.pick(slots), '"}'),
				output: flat('top=[sku-', skus[0]!, ',sku-', skus[1]!, ',sku-', skus[2]!, '] score=', score),
				value: score,
			};
		}

		case 'ranking': {
			const score = round(2.2 - 0.8 * drift + 0.6 * random.normal(), 2);
			return {
				input: flat('{"query":"', random.pick(queries), '","candidates":50}'),
				output: flat('top=doc-', random.integer(10_000, 99_999), ' score=', score),
				value: score,
			};
		}

		case 'image-class': {
			const label = pickWeighted(random, imageClasses, imageFrequencies);
			const confidence = round(random.beta(9, 1.5), 2);
			return {
				input: flat('{"image":"jpeg 224x224","bytes":', random.integer(18_000, 64_000), '}'),
				output: flat('label=', label, ' p=', confidence),
				value: label,
			};
		}

		case 'sentiment-class': {
			const weights = sentimentStable.map((share, index) => share + (sentimentDrifted[index]! - share) * drift);
			const label = pickWeighted(random, sentimentClasses, weights);
			const confidence = round(random.beta(8, 2), 2);
			const text = random.pick(reviewSnippets);
			return {
				input: flat('{"text":"', text, '","chars":', text.length, '}'),
				output: flat('label=', label, ' p=', confidence),
				value: label,
			};
		}

		case 'summary': {
			const tokens = Math.max(20, Math.round(random.logNormal(180, 0.35)));
			return {
				input: flat('{"doc_tokens":', random.integer(400, 6000), '}'),
				output: flat('summary_tokens=', tokens),
				value: tokens,
			};
		}

		case 'score': {
			const score = round(random.beta(2 + drift, 3), 3);
			return {input: '{"features":24}', output: flat('score=', score), value: score};
		}
	}
}

/** Drift is drawn in steps of 1/DRIFT_STEPS: close enough for the drift statistics, few enough to pool. */
const DRIFT_STEPS = 20;

/**
 * Payloads drawn ahead, per kind of model and step of drift, that the live feed picks from: a thousand predictions a
 * second then cost a random index each instead of several distribution draws and a string build. Each pool is drawn
 * once, when first needed, from its own random stream, so a pool holds the distribution of `generatePayload`.
 */
export class PayloadPool {
	readonly #random: Random;
	readonly #size: number;
	readonly #pools = new Map<OutputKind, Array<Payload[] | undefined>>();

	constructor(random: Random, size = 512) {
		this.#random = random;
		this.#size = size;
	}

	pick(kind: OutputKind, drift: number, random: Random): Payload {
		const step = Math.round(Math.min(1, Math.max(0, drift)) * DRIFT_STEPS);
		let byStep = this.#pools.get(kind);
		if (!byStep) {
			byStep = [];
			this.#pools.set(kind, byStep);
		}

		let pool = byStep[step];
		if (!pool) {
			pool = Array.from({length: this.#size}, () => generatePayload(kind, this.#random, step / DRIFT_STEPS));
			byStep[step] = pool;
		}

		return pool[Math.floor(random.next() * pool.length)]!;
	}
}

/** The Open Inference Protocol (v2) metadata of each kind of model. */
export function modelInterface(kind: OutputKind): ModelInterface {
	switch (kind) {
		case 'fraud-score': {
			return {
				platform: 'xgboost',
				inputName: 'features',
				inputShape: [1, 12],
				inputType: 'FP32',
				outputName: 'fraud_probability',
				outputShape: [1, 1],
				outputType: 'FP32',
				outputRule: 'probability',
			};
		}

		case 'churn-score': {
			return {
				platform: 'sklearn',
				inputName: 'features',
				inputShape: [1, 9],
				inputType: 'FP32',
				outputName: 'churn_probability',
				outputShape: [1, 1],
				outputType: 'FP32',
				outputRule: 'probability',
			};
		}

		case 'recommendations': {
			return {
				platform: 'mlserver',
				inputName: 'user_context',
				inputShape: [1, 64],
				inputType: 'FP32',
				outputName: 'scores',
				outputShape: [1, 10],
				outputType: 'FP32',
				outputRule: 'probability',
			};
		}

		case 'ranking': {
			return {
				platform: 'pytorch_libtorch',
				inputName: 'query_doc_features',
				inputShape: [50, 136],
				inputType: 'FP32',
				outputName: 'relevance',
				outputShape: [50, 1],
				outputType: 'FP32',
				outputRule: 'finite',
			};
		}

		case 'image-class': {
			return {
				platform: 'tensorrt_plan',
				inputName: 'image',
				inputShape: [1, 3, 224, 224],
				inputType: 'FP32',
				outputName: 'probabilities',
				outputShape: [1, 1000],
				outputType: 'FP32',
				outputRule: 'distribution',
			};
		}

		case 'sentiment-class': {
			return {
				platform: 'huggingface',
				inputName: 'text',
				inputShape: [1],
				inputType: 'BYTES',
				outputName: 'probabilities',
				outputShape: [1, 3],
				outputType: 'FP32',
				outputRule: 'distribution',
			};
		}

		case 'summary': {
			return {
				platform: 'vllm',
				inputName: 'text_input',
				inputShape: [1],
				inputType: 'BYTES',
				outputName: 'text_output',
				outputShape: [1],
				outputType: 'BYTES',
				outputRule: 'text',
			};
		}

		case 'score': {
			return {
				platform: 'onnxruntime_onnx',
				inputName: 'features',
				inputShape: [1, 24],
				inputType: 'FP32',
				outputName: 'score',
				outputShape: [1, 1],
				outputType: 'FP32',
				outputRule: 'probability',
			};
		}
	}
}
