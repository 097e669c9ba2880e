/** A MetricsPort that loads its adapter on first use, like LazyClusterPort. */
import type {MetricTarget, MetricsPort, TimeRange} from '../domain/ports.ts';
import type {MetricName, Sample, Series, VersionKey} from '../domain/types.ts';

export class LazyMetricsPort implements MetricsPort {
	#real: MetricsPort | undefined;
	readonly #ready: Promise<MetricsPort>;
	readonly label: string;

	constructor(load: () => Promise<MetricsPort>, label: string) {
		this.label = label;
		this.#ready = load().then((real) => {
			this.#real = real;
			return real;
		});
		this.#ready.catch(() => undefined);
	}

	async sample(targets: MetricTarget[], windowSeconds: number): Promise<Map<VersionKey, Sample>> {
		return (await this.#ready).sample(targets, windowSeconds);
	}

	async history(targets: MetricTarget[], range: TimeRange): Promise<Map<VersionKey, Series>> {
		return (await this.#ready).history(targets, range);
	}

	explain(target: MetricTarget, metric: MetricName): string {
		return this.#real?.explain(target, metric) ?? '(the Prometheus source is still loading)';
	}
}
