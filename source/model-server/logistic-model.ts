/**
 * The model this server serves: a logistic regression with fixed weights over four FP32 features. Small enough to
 * read, real enough that its outputs move when inputs (or the drift knob) move, so drift detection has something
 * to detect.
 */

export const FEATURE_COUNT = 4;

/** Weights of the four features, in input order. */
export const WEIGHTS: readonly number[] = [0.8, -0.5, 1.2, 0.3];
export const BIAS = -0.2;

export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probability';

export interface TensorMetadata {
	name: string;
	datatype: 'FP32';
	/** `-1` is the batch dimension. */
	shape: number[];
}

export const INPUT_METADATA: TensorMetadata = {name: INPUT_NAME, datatype: 'FP32', shape: [-1, FEATURE_COUNT]};
export const OUTPUT_METADATA: TensorMetadata = {name: OUTPUT_NAME, datatype: 'FP32', shape: [-1, 1]};

/**
 * Probabilities for `rows` rows of features laid out row-major in `features`.
 * `outputDrift` is added to every logit: 0 leaves the model as trained, positive values push every prediction up.
 */
export function predictProbabilities(features: ArrayLike<number>, rows: number, outputDrift = 0): Float32Array {
	const probabilities = new Float32Array(rows);
	for (let row = 0; row < rows; row++) {
		let logit = BIAS + outputDrift;
		for (let column = 0; column < FEATURE_COUNT; column++) {
			logit += WEIGHTS[column]! * features[row * FEATURE_COUNT + column]!;
		}
		probabilities[row] = 1 / (1 + Math.exp(-logit));
	}
	return probabilities;
}
