/**
 * A ClusterPort that stands in until the real one has loaded. The Kubernetes client is big; importing it after
 * the first frame keeps start-up fast. Watches and actions made before it is ready wait for it.
 */
import type {ClusterPort, SourceError} from '../domain/ports.ts';
import type {Context, Model, ModelRef, Unsubscribe} from '../domain/types.ts';

export class LazyClusterPort implements ClusterPort {
	#real: ClusterPort | undefined;
	#failure: string | undefined;
	readonly #ready: Promise<ClusterPort>;
	readonly #fallbackContext: string;

	constructor(load: () => Promise<ClusterPort>, fallbackContext: string) {
		this.#fallbackContext = fallbackContext;
		this.#ready = load().then(
			(real) => {
				this.#real = real;
				return real;
			},
			(error: unknown) => {
				this.#failure = error instanceof Error ? error.message : String(error);
				throw error;
			},
		);
		// The failure is reported through watchModels' onError; don't crash on an unhandled rejection.
		this.#ready.catch(() => undefined);
	}

	get label(): string {
		return this.#real?.label ?? this.#fallbackContext;
	}

	contexts(): Context[] {
		return this.#real?.contexts() ?? [];
	}

	currentContext(): string {
		return this.#real?.currentContext() ?? this.#fallbackContext;
	}

	async switchContext(name: string): Promise<void> {
		return (await this.#ready).switchContext(name);
	}

	async namespaces(): Promise<string[]> {
		return (await this.#ready).namespaces();
	}

	watchModels(
		namespace: string | undefined,
		onChange: (models: Model[]) => void,
		onError: (error: SourceError) => void,
		onAlive?: () => void,
	): Unsubscribe {
		let unsubscribe: Unsubscribe | undefined;
		let cancelled = false;
		this.#ready.then(
			(real) => {
				if (!cancelled) unsubscribe = real.watchModels(namespace, onChange, onError, onAlive);
			},
			() => onError({source: 'cluster', message: this.#failure ?? 'the Kubernetes source failed to start'}),
		);
		return () => {
			cancelled = true;
			unsubscribe?.();
		};
	}

	async setCanaryWeight(model: ModelRef, canary: string, weight: number, expectedWeight?: number): Promise<void> {
		return (await this.#ready).setCanaryWeight(model, canary, weight, expectedWeight);
	}

	async promote(model: ModelRef, canary: string): Promise<void> {
		return (await this.#ready).promote(model, canary);
	}

	async rollback(model: ModelRef, canary: string): Promise<void> {
		return (await this.#ready).rollback(model, canary);
	}

	async switchTraffic(model: ModelRef, to: string): Promise<void> {
		return (await this.#ready).switchTraffic(model, to);
	}
}
