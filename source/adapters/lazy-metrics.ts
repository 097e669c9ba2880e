/**
 * A MetricsPort that loads its adapter on first use, like LazyClusterPort. A load that failed is tried again for the
 * next call (a cluster that did not answer while Prometheus was looked for may answer later), except when the
 * source is absent (none configured, none found): that is said once and stays so. Each cluster context may have its
 * own Prometheus: switching context loads again, for that context.
 */
import {type MetricTarget, type MetricsPort, SourceAbsentError, type TimeRange} from '../domain/ports.ts';
import type {MetricName, Sample, Series, VersionKey} from '../domain/types.ts';

export class LazyMetricsPort implements MetricsPort {
	#real: MetricsPort | undefined;
	#failure: Error | undefined;
	#ready: Promise<MetricsPort>;
	readonly #load: (context: string | undefined) => Promise<MetricsPort>;
	readonly #label: string;
	#context: string | undefined;

	constructor(load: (context: string | undefined) => Promise<MetricsPort>, label: string, context?: string) {
		this.#label = label;
		this.#load = load;
		this.#context = context;
		this.#ready = this.#start();
	}

	switchContext(context: string): void {
		this.#context = context;
		this.#real = undefined;
		this.#failure = undefined;
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
		const ready: Promise<MetricsPort> = this.#load(this.#context).then(
			(real) => {
				// A load for the context before the last switch is not this context's.
				if (this.#ready !== ready) return real;
				this.#real = real;
				this.#failure = undefined;
				return real;
			},
			(error: unknown) => {
				const failure = error instanceof Error ? error : new Error(String(error));
				if (this.#ready === ready) this.#failure = failure;
				throw failure;
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
