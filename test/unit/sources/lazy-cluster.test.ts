import {expect, it} from 'vitest';
import type {ClusterPort} from '../../../source/domain/ports.ts';
import {LazyClusterPort} from '../../../source/sources/lazy-cluster.ts';

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
