/**
 * A MetricsPort that loads its adapter on first use, like LazyClusterPort. A load that failed is tried again for the
 * next call (a cluster that did not answer while Prometheus was looked for may answer later), except when the
 * source is absent (none configured, none found): that is said once and stays so.
 */
import {type MetricTarget, type MetricsPort, SourceAbsentError, type TimeRange} from '../domain/ports.ts';
import type {MetricName, Sample, Series, VersionKey} from '../domain/types.ts';

export class LazyMetricsPort implements MetricsPort {
	#real: MetricsPort | undefined;
	#failure: Error | undefined;
	#ready: Promise<MetricsPort>;
	readonly #load: () => Promise<MetricsPort>;
	readonly #label: string;

	constructor(load: () => Promise<MetricsPort>, label: string) {
		this.#label = label;
		this.#load = load;
		this.#ready = this.#start();
	}

	/** The loaded adapter's label (which Prometheus), or the one given until then. */
	get label(): string {
		return this.#real?.label ?? this.#label;
	}

	get found(): string | undefined {
		return this.#real?.found;
	}

	#start(): Promise<MetricsPort> {
		const ready = this.#load().then(
			(real) => {
				this.#real = real;
				this.#failure = undefined;
				return real;
			},
			(error: unknown) => {
				this.#failure = error instanceof Error ? error : new Error(String(error));
				throw this.#failure;
			},
		);
		ready.catch(() => undefined);
		return ready;
	}

	async #port(): Promise<MetricsPort> {
		const ready = this.#ready;
		try {
			return await ready;
		} catch (error) {
			// The next attempt starts now, for the next call; calls that failed together share it.
			if (!(error instanceof SourceAbsentError) && this.#ready === ready) this.#ready = this.#start();
			throw error;
		}
	}

	async sample(targets: MetricTarget[], windowSeconds: number): Promise<Map<VersionKey, Sample>> {
		return (await this.#port()).sample(targets, windowSeconds);
	}

	async history(targets: MetricTarget[], range: TimeRange): Promise<Map<VersionKey, Series>> {
		return (await this.#port()).history(targets, range);
	}

	explain(target: MetricTarget, metric: MetricName): string {
		if (this.#real) return this.#real.explain(target, metric);
		return this.#failure ? `# ${this.#failure.message}` : '(the Prometheus source is still loading)';
	}
}
