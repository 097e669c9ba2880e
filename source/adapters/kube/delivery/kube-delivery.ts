/**
 * The DeliveryPort on Kubernetes.
 *
 * A plain model (Deployments labelled with the model and version, behind an HTTPRoute): the new version's Deployment
 * is created from the stable one's template with the new image and version label, its Service from the stable
 * version's, and a backend for it added to the route at weight 0; the weights then move through the same traffic code
 * as the console's (actions.ts: a fresh read, `test` ops, owned-writes refusals). A rollback puts the new version at 0%
 * and scales its Deployment to 0, keeping it (and its Service and backend) for inspection.
 *
 * A model an Argo Rollout owns: the image is set on the Rollout's pod template and the controller runs its canary;
 * modeldeck follows it and aborts through the Rollout. Flagger and KServe are refused (not supported yet).
 *
 * The delivery's state is kept as JSON in the `modeldeck.dev/delivery` annotation of the router (or the Rollout), by
 * merge patch, so a runner that restarts finds it (`load`) and discovery shows it (Model.delivery).
 */
import {
	decodeDeliveryState,
	deliveryAnnotation,
	type DeliveryInput,
	type DeliveryPlan,
	type DeliveryPort,
	type DeliverySpec,
	type DeliveryState,
	isDeliveryActive,
} from '../../../domain/delivery.ts';
import type {ModelRef} from '../../../domain/types.ts';
import type {KubeActions} from '../actions.ts';
import type {ModelAnalysis} from '../build-models.ts';
import type {Conventions} from '../conventions.ts';
import {actionError, statusOf} from '../errors.ts';
import {type KubeHttp, type ResourceType, resourcePath, resourceTypes} from '../http.ts';
import type {Deployment, DestinationRule, HttpRoute, KubeList, KubeObject, PodTemplate, Service, VirtualService} from '../objects.ts';
import {type JsonPatchOperation, PlanError} from '../plans.ts';
import {derivedName, newDeployment, newService} from './new-version.ts';
import {backendWrite, reachOf, type RouterWrite, subsetWrite} from './router-backend.ts';

interface Router {
	type: ResourceType;
	name: string;
}

const supported =
	'modeldeck rolls out new versions of models made of Deployments (labelled modeldeck.dev/model and app.kubernetes.io/version) behind an HTTPRoute or an Istio VirtualService, and of Argo Rollouts';

export class KubeDeliveryPort implements DeliveryPort {
	readonly #http: () => KubeHttp;
	readonly #actions: KubeActions;
	readonly #conventions: Conventions;
	/** Namespaces `load` looks in; undefined: all (one cluster-wide list per router kind). */
	readonly #namespaces: readonly string[] | undefined;

	constructor(http: () => KubeHttp, actions: KubeActions, conventions: Conventions, namespaces?: readonly string[]) {
		this.#http = http;
		this.#actions = actions;
		this.#conventions = conventions;
		this.#namespaces = namespaces;
	}

	async planDelivery(spec: DeliverySpec): Promise<DeliveryPlan> {
		const analysis = await this.#actions.read(spec.model);
		const {model} = analysis;
		if (isDeliveryActive(model.delivery)) {
			throw new PlanError(
				`${model.name} already has a rollout in progress: ${model.delivery.spec.version} (${model.delivery.phase}); wait for it or abort it first`,
			);
		}

		if (model.versions.some((version) => version.name === spec.version)) {
			const known = model.versions.map((version) => version.name).join(', ');
			throw new PlanError(`${model.name} already has a version ${spec.version} (versions: ${known}): give the new one another --version`);
		}

		if (analysis.traffic.kind === 'argo-rollouts') {
			const rollout = `Rollout/${analysis.traffic.name}`;
			const stable = model.versions.find((version) => version.track === 'stable')?.name ?? '?';
			return {
				spec,
				mode: 'owner',
				stable,
				writes: [
					{object: rollout, change: `image → ${spec.image}; Argo Rollouts runs its canary steps`},
					{object: rollout, change: `annotation ${deliveryAnnotation}: the rollout's state`},
				],
			};
		}

		if (model.owner) {
			throw new PlanError(`${model.owner.controller} owns ${model.name} (${model.owner.object}): not supported yet — ${supported}`);
		}

		if (analysis.traffic.kind !== 'httproute' && analysis.traffic.kind !== 'virtualservice') {
			throw new PlanError(
				`${model.name} is routed by ${model.routerObject ?? 'replicas'} (${analysis.traffic.kind}): not supported yet — ${supported}`,
			);
		}

		const planned = await this.#newVersion(analysis, spec, 'planned');
		return {
			spec,
			mode: 'weights',
			stable: planned.stable,
			writes: [
				...planned.writes.map(({object, change}) => ({object, change})),
				{object: analysis.traffic.object, change: `weights ${spec.steps.join('% → ')}%`},
				{object: analysis.traffic.object, change: `annotation ${deliveryAnnotation}: the rollout's state`},
			],
		};
	}

	/**
	 * Every write that creates the new version, from a fresh read: its Deployment, its Service (unless the stable is a
	 * subset of a shared one: then a DestinationRule subset), and its router entry at 0%. A router or subset write
	 * already made (a runner repeating the effect) has no patch.
	 */
	async #newVersion(analysis: ModelAnalysis, spec: DeliverySpec, id: string) {
		const {model, traffic} = analysis;
		if (traffic.kind !== 'httproute' && traffic.kind !== 'virtualservice') throw new PlanError(`${model.name}: ${supported}`);
		const stable = model.versions.find((version) => version.track === 'stable');
		if (!stable) throw new PlanError(`${model.name} has no stable version to start from`);
		const deploymentName = analysis.deployments[stable.name];
		if (!deploymentName) throw new PlanError(`${model.name}'s stable version ${stable.name} has no Deployment to copy: ${supported}`);
		const deployment = await this.#get<Deployment>(resourceTypes.deployments, model.namespace, deploymentName);
		if (!deployment) throw new PlanError(`Deployment/${deploymentName} is gone`);
		const routerType = traffic.kind === 'httproute' ? resourceTypes.httpRoutes : resourceTypes.virtualServices;
		const router = await this.#get<HttpRoute & VirtualService>(routerType, model.namespace, traffic.name);
		if (!router) throw new PlanError(`${traffic.object} is gone`);
		const rules =
			traffic.kind === 'virtualservice' ? await this.#list<DestinationRule>(resourceTypes.destinationRules, model.namespace) : [];
		const reach = reachOf(analysis, stable.name, router, rules);
		const created = newDeployment(deployment, stable.name, spec, this.#conventions, id);
		const writes: Array<{object: string; change: string; create?: {type: ResourceType; body: KubeObject}; patch?: RouterWrite}> = [
			{
				object: `Deployment/${created.metadata?.name}`,
				change: `created from ${deploymentName} with image ${spec.image}`,
				create: {type: resourceTypes.deployments, body: created},
			},
		];
		let serviceName = '';
		if (reach.kind === 'service') {
			if (!stable.service) throw new PlanError(`${model.name}'s stable version ${stable.name} has no Service in ${model.routerObject}`);
			const service = await this.#get<Service>(resourceTypes.services, model.namespace, stable.service);
			if (!service) throw new PlanError(`Service/${stable.service} is gone`);
			const createdService = newService(service, stable.name, spec, this.#conventions, id);
			serviceName = createdService.metadata?.name ?? '';
			writes.push({
				object: `Service/${serviceName}`,
				change: `created from ${stable.service}, selecting ${spec.version}`,
				create: {type: resourceTypes.services, body: createdService},
			});
		} else {
			const subset = subsetWrite(reach, stable.name, spec, this.#conventions);
			writes.push({object: subset.object, change: subset.change, patch: subset});
		}

		const backend = backendWrite(analysis, router, stable.name, reach, serviceName, spec.version);
		writes.push({object: backend.object, change: backend.change, patch: backend});
		return {stable: stable.name, writes};
	}

	async #list<T>(type: ResourceType, namespace: string): Promise<T[]> {
		const http = this.#http();
		try {
			return ((await http.get<KubeList>(resourcePath(type, namespace)))?.items ?? []) as T[];
		} catch (error) {
			if (statusOf(error) === 404 || statusOf(error) === 403) return [];
			throw actionError(error, {verb: 'list', resource: type.plural, namespace, server: http.server, user: http.user});
		}
	}

	async #get<T>(type: ResourceType, namespace: string, name: string): Promise<T | undefined> {
		const http = this.#http();
		try {
			return await http.get<T>(resourcePath(type, namespace, name));
		} catch (error) {
			if (statusOf(error) === 404) return undefined;
			throw actionError(error, {verb: 'get', resource: type.plural, name, namespace, server: http.server, user: http.user});
		}
	}

	/** Creates OBJECT unless it exists already (a runner repeating the effect after a restart). */
	async #create(type: ResourceType, object: KubeObject): Promise<void> {
		const http = this.#http();
		const namespace = object.metadata?.namespace ?? '';
		try {
			await http.request('POST', resourcePath(type, namespace), {body: object});
		} catch (error) {
			if (statusOf(error) === 409) return;
			throw actionError(error, {verb: 'create', resource: type.plural, namespace, server: http.server, user: http.user});
		}
	}

	async #patch(type: ResourceType, namespace: string, name: string, body: unknown, patchType: 'json' | 'merge'): Promise<void> {
		const http = this.#http();
		try {
			await http.patch(resourcePath(type, namespace, name), body, patchType);
		} catch (error) {
			throw actionError(error, {verb: 'patch', resource: type.plural, name, namespace, server: http.server, user: http.user});
		}
	}

	async create(state: DeliveryState): Promise<void> {
		const {spec} = state;
		const analysis = await this.#actions.read(spec.model);
		if (!analysis.model.versions.some((version) => version.name === state.stable)) {
			throw new PlanError(`${spec.model.name} no longer has its stable version ${state.stable}`);
		}

		// What exists already (the runner repeating this after a restart) is left as it is.
		const {writes} = await this.#newVersion(analysis, spec, state.id);
		for (const write of writes) {
			if (write.create) await this.#create(write.create.type, write.create.body);
			if (write.patch?.patch) await this.#patch(write.patch.type, spec.model.namespace, write.patch.name, write.patch.patch, 'json');
		}
	}

	async setOwnerImage(state: DeliveryState): Promise<void> {
		const {spec} = state;
		const analysis = await this.#actions.read(spec.model);
		if (analysis.traffic.kind !== 'argo-rollouts') throw new PlanError(`${spec.model.name} is no longer an Argo Rollout`);
		const name = analysis.traffic.name;
		const rollout = await this.#get<KubeObject & {spec?: {template?: PodTemplate}}>(resourceTypes.rollouts, spec.model.namespace, name);
		const containers = rollout?.spec?.template?.spec?.containers ?? [];
		if (containers.length === 0) throw new PlanError(`Rollout/${name} has no pod template containers (workloadRef is not supported yet)`);
		if (containers.some((container) => container.image === spec.image)) return;
		const index = 0;
		const patch: JsonPatchOperation[] = [
			{op: 'test', path: `/spec/template/spec/containers/${index}/image`, value: containers[index]!.image},
			{op: 'replace', path: `/spec/template/spec/containers/${index}/image`, value: spec.image},
			...(rollout?.spec?.template?.metadata?.labels?.[this.#conventions.versionLabel] === undefined
				? []
				: [
						{
							op: 'replace' as const,
							path: `/spec/template/metadata/labels/${this.#conventions.versionLabel.replace('/', '~1')}`,
							value: spec.version,
						},
					]),
		];
		await this.#patch(resourceTypes.rollouts, spec.model.namespace, name, patch, 'json');
	}

	async ready(state: DeliveryState): Promise<{ready: boolean; detail: string}> {
		const name = await this.#newDeploymentName(state);
		const deployment = await this.#get<Deployment>(resourceTypes.deployments, state.spec.model.namespace, name);
		if (!deployment) return {ready: false, detail: `Deployment/${name} not found`};
		const desired = deployment.spec?.replicas ?? 1;
		const available = deployment.status?.availableReplicas ?? 0;
		const observed = (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
		return {ready: observed && available >= Math.max(1, desired), detail: `${available}/${desired} available`};
	}

	/** The new version's Deployment: as discovery sees it, else the name it was created with. */
	async #newDeploymentName(state: DeliveryState): Promise<string> {
		const analysis = await this.#actions.read(state.spec.model);
		const known = analysis.deployments[state.spec.version];
		if (known) return known;
		const stable = analysis.deployments[state.stable];
		if (!stable) throw new PlanError(`${state.spec.model.name} no longer has its stable version ${state.stable}`);
		return derivedName(stable, state.stable, state.spec.version);
	}

	async setWeight(state: DeliveryState, weight: number): Promise<void> {
		const current = await this.#actions.read(state.spec.model);
		const version = current.model.versions.find((candidate) => candidate.name === state.spec.version);
		if (version?.weight === weight) return;
		await this.#actions.setCanaryWeight(state.spec.model, state.spec.version, weight, undefined, {analysis: current});
	}

	async promote(state: DeliveryState): Promise<void> {
		const current = await this.#actions.read(state.spec.model);
		const version = current.model.versions.find((candidate) => candidate.name === state.spec.version);
		// Already done (a runner repeating the effect after a restart).
		if (version?.track === 'stable' && version.weight === 100) return;
		await this.#actions.promote(state.spec.model, state.spec.version, {analysis: current});
	}

	/** The new version to 0% and its Deployment scaled to 0, kept with its Service and backend for inspection. */
	async rollback(state: DeliveryState): Promise<void> {
		const current = await this.#actions.read(state.spec.model);
		const version = current.model.versions.find((candidate) => candidate.name === state.spec.version);
		if (version && version.weight > 0) {
			await this.#actions.setCanaryWeight(state.spec.model, state.spec.version, 0, undefined, {analysis: current});
		}

		const deployment = current.deployments[state.spec.version];
		if (deployment) await this.#patch(resourceTypes.deployments, state.spec.model.namespace, deployment, {spec: {replicas: 0}}, 'merge');
	}

	async observeOwner(state: DeliveryState): Promise<Extract<DeliveryInput, {kind: 'owner'}>> {
		const {model} = await this.#actions.read(state.spec.model);
		const rollout = model.rollout;
		const canary = model.versions.find((version) => version.track === 'canary');
		const stable = model.versions.find((version) => version.track === 'stable');
		const progress = rollout
			? `${rollout.phase}${rollout.step === undefined ? '' : ` · step ${rollout.step}/${rollout.totalSteps}`}${rollout.message ? ` · ${rollout.message}` : ''}`
			: 'waiting for the controller';
		const weight = canary?.weight ?? (stable?.image === state.spec.image ? 100 : 0);
		if (rollout?.phase === 'Healthy' && stable?.image === state.spec.image && !canary) {
			return {kind: 'owner', progress, weight: 100, outcome: 'promoted'};
		}

		if (rollout?.phase === 'Degraded' || rollout?.message?.startsWith('aborted') === true) {
			return {kind: 'owner', progress, weight: 0, outcome: 'rolled-back', message: rollout.message ?? 'Argo Rollouts aborted the rollout'};
		}

		return {kind: 'owner', progress, weight};
	}

	async ownerAbort(state: DeliveryState): Promise<void> {
		await this.#actions.rolloutCommand({kind: 'rollout', model: state.spec.model, command: 'abort'});
	}

	async save(state: DeliveryState): Promise<void> {
		const router = await this.#router(state.spec.model, state.mode);
		const body = {metadata: {annotations: {[deliveryAnnotation]: JSON.stringify(state)}}};
		await this.#patch(router.type, state.spec.model.namespace, router.name, body, 'merge');
	}

	/** Where the state is kept: the HTTPRoute of a plain model, the Rollout of an Argo one. Cached per model. */
	readonly #routers = new Map<string, Router>();

	async #router(model: ModelRef, mode: DeliveryState['mode']): Promise<Router> {
		const key = `${model.namespace}/${model.name}`;
		const known = this.#routers.get(key);
		if (known) return known;
		const {traffic} = await this.#actions.read(model);
		let router: Router;
		if (mode === 'owner' && traffic.kind === 'argo-rollouts') router = {type: resourceTypes.rollouts, name: traffic.name};
		else if (traffic.kind === 'httproute') router = {type: resourceTypes.httpRoutes, name: traffic.name};
		else if (traffic.kind === 'virtualservice') router = {type: resourceTypes.virtualServices, name: traffic.name};
		else throw new PlanError(`${model.name} has no HTTPRoute or Rollout to keep its rollout's state on: ${supported}`);
		this.#routers.set(key, router);
		return router;
	}

	async load(): Promise<DeliveryState[]> {
		const http = this.#http();
		const states: DeliveryState[] = [];
		for (const type of [resourceTypes.httpRoutes, resourceTypes.virtualServices, resourceTypes.rollouts]) {
			for (const namespace of this.#namespaces ?? [undefined]) {
				let list: KubeList | undefined;
				try {
					list = await http.get<KubeList>(resourcePath(type, namespace));
				} catch (error) {
					// Without the CRD (or the right to list it) there is nothing kept there.
					if (statusOf(error) === 404 || statusOf(error) === 403) continue;
					throw actionError(error, {verb: 'list', resource: type.plural, namespace, server: http.server, user: http.user});
				}

				for (const object of list?.items ?? []) {
					const text = object.metadata?.annotations?.[deliveryAnnotation];
					if (text === undefined) continue;
					const decoded = decodeDeliveryState(text);
					if (!('state' in decoded)) continue;
					states.push(decoded.state);
					const {model} = decoded.state.spec;
					this.#routers.set(`${model.namespace}/${model.name}`, {type, name: object.metadata?.name ?? ''});
				}
			}
		}

		return states;
	}
}
