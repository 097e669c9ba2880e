/**
 * What the fleet says when the cluster has no models: what discovery looked for, and how to label a Deployment so it
 * is shown. Ordered by what to read first: a short terminal keeps the first lines.
 */
export function emptyFleetLines(namespace: string | undefined): string[] {
	return [
		`No models in ${namespace ?? 'any namespace'}. Looked for:`,
		'· Deployments labelled modeldeck.dev/model + app.kubernetes.io/version',
		'· HTTPRoutes, VirtualServices, TrafficSplits reaching 2+ Deployments',
		'· KServe InferenceServices; Seldon Experiments and Models',
		'· 2+ Deployments sharing app.kubernetes.io/name (or app) with different app.kubernetes.io/version (or version)',
		'To show one: kubectl label deployment <name> modeldeck.dev/model=<model> app.kubernetes.io/version=<version>',
	];
}
