/** How modeldeck recognises models and versions among ordinary Kubernetes objects. Every name is configurable. */
export interface Conventions {
	/** Label on a Deployment (and its pod template) naming the model. Default `modeldeck.dev/model`. */
	modelLabel: string;
	/** Label on a Deployment (and its pod template) naming the version. Default `app.kubernetes.io/version`. */
	versionLabel: string;
	/** Annotation on an HTTPRoute or VirtualService naming the model whose traffic it splits. Default `modeldeck.dev/model`. */
	routerAnnotation: string;
	/** Optional label on a Deployment naming the serving runtime (PromQL profile), e.g. `kserve`. Default `modeldeck.dev/runtime`. */
	runtimeLabel: string;
}

export const defaultConventions: Conventions = {
	modelLabel: 'modeldeck.dev/model',
	versionLabel: 'app.kubernetes.io/version',
	routerAnnotation: 'modeldeck.dev/model',
	runtimeLabel: 'modeldeck.dev/runtime',
};

export function withDefaults(conventions: Partial<Conventions> = {}): Conventions {
	return {...defaultConventions, ...conventions};
}
