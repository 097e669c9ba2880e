import {describe, expect, it} from 'vitest';
import type {ClusterPort} from '../../../source/domain/ports.ts';
import type {Model} from '../../../source/domain/types.ts';
import {LazyClusterPort} from '../../../source/adapters/lazy-cluster.ts';

function port(context: string): ClusterPort {
	return {
		label: context,
		contexts: () => [
			{name: 'a', cluster: 'c'},
			{name: 'b', cluster: 'c'},
		],
		currentContext: () => context,
		switchContext: async () => undefined,
		namespaces: async () => [],
		watchModels: () => () => undefined,
		setCanaryWeight: async () => undefined,
		promote: async () => undefined,
		rollback: async () => undefined,
		switchTraffic: async () => undefined,
		plan: async () => {
			throw new Error('not planned in this test');
		},
		act: async () => undefined,
	};
}

const kubeconfigContexts = [
	{name: 'a', cluster: 'c'},
	{name: 'b', cluster: 'c'},
];

it('before the client loads, it names the context in force and lists the kubeconfig contexts read ahead', () => {
	const lazy = new LazyClusterPort(() => new Promise(() => undefined), 'a', kubeconfigContexts);
	expect(lazy.currentContext()).toBe('a');
	expect(lazy.contexts().map((context) => context.name)).toEqual(['a', 'b']);
});

it('a source that could not start (no current-context) starts again on the context the operator picks', async () => {
	const loads: Array<string | undefined> = [];
	const lazy = new LazyClusterPort(
		async (context) => {
			loads.push(context);
			if (!context) throw new Error('the kubeconfig sets no current-context: pick one with --context NAME (contexts: a, b)');
			return port(context);
		},
		'(no context)',
		kubeconfigContexts,
	);
	const errors: string[] = [];
	lazy.watchModels(
		undefined,
		() => undefined,
		(error) => errors.push(error.message),
	);
	await new Promise((resolve) => setTimeout(resolve, 0));
	expect(errors).toEqual(['the kubeconfig sets no current-context: pick one with --context NAME (contexts: a, b)']);
	expect(lazy.contexts().map((context) => context.name)).toEqual(['a', 'b']);
	await lazy.switchContext('b');
	expect(loads).toEqual([undefined, 'b']);
	expect(lazy.currentContext()).toBe('b');
	expect(lazy.label).toBe('b');
});

it('plans a rollout with the real port once it has loaded, and says so when that one cannot', async () => {
	const spec = {
		model: {namespace: 'prod', name: 'fraud'},
		image: 'r/fraud:v14',
		version: 'v14',
		steps: [5, 100],
		pauseSeconds: 60,
		readyTimeoutSeconds: 60,
		maxHolds: 1,
		requestedBy: 'alice',
	};
	const planning = new LazyClusterPort(
		async () => ({...port('a'), planDelivery: async (asked) => ({spec: asked, mode: 'weights' as const, stable: 'v12', writes: []})}),
		'a',
	);
	expect(await planning.planDelivery(spec)).toEqual({spec, mode: 'weights', stable: 'v12', writes: []});
	const unable = new LazyClusterPort(async () => port('a'), 'a');
	await expect(unable.planDelivery(spec)).rejects.toThrow('this cluster source (a) cannot plan a rollout');
});

describe('models from the early lists, before the real port loads', () => {
	const model = (name: string): Model => ({namespace: 'team-a', name, versions: []}) as unknown as Model;
	/** A real port whose watch sends SENT when told to, and a load the test releases. */
	function loading() {
		let release!: () => void;
		let send: (models: Model[]) => void = () => undefined;
		const loaded = new Promise<void>((resolve) => {
			release = resolve;
		});
		const real: ClusterPort = {
			...port('a'),
			watchModels: (_namespace, onChange) => {
				send = onChange;
				return () => undefined;
			},
		};
		return {load: async () => (await loaded, real), release, send: (models: Model[]) => send(models)};
	}
	const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

	it('go to the first watch of their namespace while the client loads, then the real watch takes over', async () => {
		const real = loading();
		const lazy = new LazyClusterPort(real.load, 'a', [], {namespace: 'team-a', models: Promise.resolve([model('early')])});
		const seen: string[][] = [];
		lazy.watchModels(
			'team-a',
			(models) => seen.push(models.map((one) => one.name)),
			() => undefined,
		);
		await settle();
		expect(seen).toEqual([['early']]);
		real.release();
		await settle();
		real.send([model('watched')]);
		expect(seen).toEqual([['early'], ['watched']]);
		// A second watch (another namespace picked, then back) waits for the real one: the early models were of the start.
		lazy.watchModels(
			'team-a',
			(models) => seen.push(models.map((one) => one.name)),
			() => undefined,
		);
		await settle();
		expect(seen).toHaveLength(2);
	});

	it('are dropped when the real watch sent models first, when they are of another namespace, or could not be made', async () => {
		const real = loading();
		let makeEarly!: (models: Model[]) => void;
		const lateEarly = new Promise<Model[]>((resolve) => {
			makeEarly = resolve;
		});
		const late = new LazyClusterPort(real.load, 'a', [], {namespace: 'team-a', models: lateEarly});
		const seen: string[][] = [];
		late.watchModels(
			'team-a',
			(models) => seen.push(models.map((one) => one.name)),
			() => undefined,
		);
		real.release();
		await settle();
		real.send([model('watched')]);
		makeEarly([model('early')]);
		await settle();
		expect(seen).toEqual([['watched']]);

		const other = new LazyClusterPort(loading().load, 'a', [], {namespace: 'team-b', models: Promise.resolve([model('early')])});
		const otherSeen: Model[][] = [];
		other.watchModels(
			'team-a',
			(models) => otherSeen.push(models),
			() => undefined,
		);
		const failed = new LazyClusterPort(loading().load, 'a', [], {namespace: undefined, models: Promise.resolve(undefined)});
		failed.watchModels(
			undefined,
			(models) => otherSeen.push(models),
			() => undefined,
		);
		await settle();
		expect(otherSeen).toEqual([]);
	});
});
