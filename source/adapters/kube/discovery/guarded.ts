import type {ModelAnalysis} from './traffic.ts';

/** Objects from a cluster are outside input: a model whose objects make no sense is shown with the reason. */
export function guarded(namespace: string, name: string, analyse: () => ModelAnalysis): ModelAnalysis {
	try {
		return analyse();
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		return {
			model: {
				namespace,
				name,
				router: 'replicas',
				versions: [],
				warnings: [`its objects could not be read (${reason}); check them with kubectl`],
			},
			traffic: {kind: 'replicas'},
			deployments: {},
		};
	}
}
