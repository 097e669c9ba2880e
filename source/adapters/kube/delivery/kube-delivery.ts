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
 * modeldeck follows it and aborts through the Rollout.
 *
 * A model a Flagger Canary owns: the image is set on the Canary's target Deployment and Flagger runs its analysis
 * against its primary; modeldeck follows the Canary's status (flagger-owner.ts). Flagger has no abort: an abort puts
 * the target back on the primary's image, which makes Flagger send all traffic back to its primary.
 *
 * A KServe InferenceService in serverless mode, by KServe's own canary procedure (kserve-canary.ts): the new image goes
 * on the predictor with canaryTrafficPercent 0, KServe creates the next Knative revision (the new version, named after
 * it), and modeldeck steps canaryTrafficPercent and judges as for a plain model (KServe does not step by itself);
 * removing it promotes. A rollback sets it to 0, KServe's own rollback: all traffic back on the revision rolled out
 * before, the predictor keeping the new image (the image before is in an annotation) and its revision kept for
 * inspection. A RawDeployment one is refused: KServe has no canary there.
 *
 * The delivery's state is kept as JSON in the `modeldeck.dev/delivery` annotation of the router (or the Rollout, or the
 * Canary), by merge patch, so a runner that restarts finds it (`load`) and discovery shows it (Model.delivery). A
 * KServe model's is kept in a Delivery of the same name (modeldeck's CRD, deploy/base/delivery-crd.yaml), owned by the
 * InferenceService: KServe copies an InferenceService's annotations into its predictor's revision template, so a state
 * kept there would make Knative create a new revision at every write.
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
import type {DeliveryObject} from '../discovery/snapshot.ts';
import type {Conventions} from '../conventions.ts';
import {actionError, statusOf} from '../errors.ts';
import {type KubeHttp, type ResourceType, resourcePath, resourceTypes} from '../http.ts';
import type {
	Deployment,
	DestinationRule,
	HttpRoute,
	InferenceService,
	KubeList,
	KubeObject,
	PodTemplate,
	Service,
	VirtualService,
} from '../objects.ts';
import {type JsonPatchOperation, PlanError} from '../plans.ts';
import type {FlaggerCanary} from '../objects/flagger.ts';
import {
	decodeFlaggerBefore,
	type FlaggerObservation,
	flaggerBeforeAnnotation,
	flaggerImagePatch,
	flaggerOutcomeAt,
	flaggerProgress,
	flaggerRevertPatch,
} from './flagger-owner.ts';
import {kserveReadiness} from './kserve-canary.ts';
import {createKserveVersion, planKserveDelivery, saveKserveDelivery} from './kserve-delivery.ts';
import {KubeObjects} from './kube-objects.ts';
import {derivedName, newDeployment, newService} from './new-version.ts';
import {backendWrite, reachOf, type RouterWrite, subsetWrite} from './router-backend.ts';

interface Router {
	type: ResourceType;
	name: string;
}

const supported =
	'modeldeck rolls out new versions of models made of Deployments (labelled modeldeck.dev/model and app.kubernetes.io/version) behind an HTTPRoute or an Istio VirtualService, of Argo Rollouts, of Flagger Canaries and of KServe InferenceServices in serverless mode';

export class KubeDeliveryPort implements DeliveryPort {
	readonly #http: () => KubeHttp;
	readonly #objects: KubeObjects;
	readonly #actions: KubeActions;
	readonly #conventions: Conventions;
	/** Namespaces `load` looks in; undefined: all (one cluster-wide list per router kind). */
	readonly #namespaces: readonly string[] | undefined;

	constructor(http: () => KubeHttp, actions: KubeActions, conventions: Conventions, namespaces?: readonly string[]) {
		this.#http = http;
		this.#objects = new KubeObjects(http);
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

		if (analysis.traffic.kind === 'flagger') {
			const {target, canary} = await this.#flaggerTarget(spec.model, analysis.traffic.name);
			const name = target.metadata?.name ?? '?';
			const current = target.spec?.template?.spec?.containers?.[0]?.image ?? '?';
			const stable = model.versions.find((version) => version.track === 'stable')?.name ?? '?';
			return {
				spec,
				mode: 'owner',
				stable,
				writes: [
					{object: `Deployment/${name}`, change: `image → ${spec.image}; Flagger runs its canary analysis`},
					{
						object: `Deployment/${name}`,
						change: `annotation ${flaggerBeforeAnnotation}: its image before (${current}); Flagger has no abort — an abort puts the target back on the primary's image, and Flagger then sends all traffic to its primary`,
					},
					{object: `Canary/${canary}`, change: `annotation ${deliveryAnnotation}: the rollout's state`},
				],
			};
		}

		if (analysis.traffic.kind === 'kserve') {
			const {name} = analysis.traffic;
			if (analysis.traffic.raw) {
				throw new PlanError(
					`InferenceService/${name} runs in RawDeployment mode, where KServe has no canary: roll out a new predictor with kubectl apply, or run the new version as a second InferenceService behind an HTTPRoute`,
				);
			}

			return planKserveDelivery(this.#objects, this.#conventions, analysis, spec);
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
		const deployment = await this.#objects.get<Deployment>(resourceTypes.deployments, model.namespace, deploymentName);
		if (!deployment) throw new PlanError(`Deployment/${deploymentName} is gone`);
		const routerType = traffic.kind === 'httproute' ? resourceTypes.httpRoutes : resourceTypes.virtualServices;
		const router = await this.#objects.get<HttpRoute & VirtualService>(routerType, model.namespace, traffic.name);
		if (!router) throw new PlanError(`${traffic.object} is gone`);
		const rules =
			traffic.kind === 'virtualservice' ? await this.#objects.list<DestinationRule>(resourceTypes.destinationRules, model.namespace) : [];
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
			const service = await this.#objects.get<Service>(resourceTypes.services, model.namespace, stable.service);
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

	async create(state: DeliveryState): Promise<void> {
		const {spec} = state;
		const analysis = await this.#actions.read(spec.model);
		if (analysis.traffic.kind === 'kserve') {
			await createKserveVersion(this.#objects, this.#conventions, state, analysis.traffic.name);
			return;
		}

		if (!analysis.model.versions.some((version) => version.name === state.stable)) {
			throw new PlanError(`${spec.model.name} no longer has its stable version ${state.stable}`);
		}

		// What exists already (the runner repeating this after a restart) is left as it is.
		const {writes} = await this.#newVersion(analysis, spec, state.id);
		for (const write of writes) {
			if (write.create) await this.#objects.create(write.create.type, write.create.body);
			if (write.patch?.patch)
				await this.#objects.patch(write.patch.type, spec.model.namespace, write.patch.name, write.patch.patch, 'json');
		}
	}

	/** The Canary's target Deployment (the one Flagger watches) and the Canary itself, from a fresh read. */
	async #flaggerTarget(model: ModelRef, canaryName: string): Promise<{target: Deployment; canary: string; object: FlaggerCanary}> {
		const object = await this.#objects.get<FlaggerCanary>(resourceTypes.canaries, model.namespace, canaryName);
		if (!object) throw new PlanError(`Canary/${canaryName} is gone`);
		const ref = object.spec?.targetRef;
		if (!ref?.name || (ref.kind !== undefined && ref.kind !== 'Deployment')) {
			throw new PlanError(`Canary/${canaryName} does not target a Deployment: ${supported}`);
		}

		const target = await this.#objects.get<Deployment>(resourceTypes.deployments, model.namespace, ref.name);
		if (!target) throw new PlanError(`Deployment/${ref.name} (the target of Canary/${canaryName}) is gone`);
		return {target, canary: canaryName, object};
	}

	async setOwnerImage(state: DeliveryState): Promise<void> {
		const {spec} = state;
		const analysis = await this.#actions.read(spec.model);
		if (analysis.traffic.kind === 'flagger') {
			const {target, object} = await this.#flaggerTarget(spec.model, analysis.traffic.name);
			const revision = (object.status as {lastAppliedSpec?: unknown} | undefined)?.lastAppliedSpec;
			let patch: JsonPatchOperation[] | undefined;
			try {
				patch = flaggerImagePatch(target, spec.image, typeof revision === 'string' ? revision : undefined, flaggerOutcomeAt(object.status));
			} catch (error) {
				throw new PlanError(error instanceof Error ? error.message : String(error));
			}

			if (patch) await this.#objects.patch(resourceTypes.deployments, spec.model.namespace, target.metadata?.name ?? '', patch, 'json');
			return;
		}

		if (analysis.traffic.kind !== 'argo-rollouts') throw new PlanError(`${spec.model.name} is no longer an Argo Rollout`);
		const name = analysis.traffic.name;
		const rollout = await this.#objects.get<KubeObject & {spec?: {template?: PodTemplate}}>(
			resourceTypes.rollouts,
			spec.model.namespace,
			name,
		);
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
		await this.#objects.patch(resourceTypes.rollouts, spec.model.namespace, name, patch, 'json');
	}

	async ready(state: DeliveryState): Promise<{ready: boolean; detail: string; fatal?: boolean}> {
		const {traffic} = await this.#actions.read(state.spec.model);
		if (traffic.kind === 'kserve') {
			const inferenceService = await this.#objects.get<InferenceService>(
				resourceTypes.inferenceServices,
				state.spec.model.namespace,
				traffic.name,
			);
			if (!inferenceService) return {ready: false, detail: `InferenceService/${traffic.name} not found`};
			return kserveReadiness(inferenceService, state.spec.version);
		}

		const name = await this.#newDeploymentName(state);
		const deployment = await this.#objects.get<Deployment>(resourceTypes.deployments, state.spec.model.namespace, name);
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

	/**
	 * The new version to 0% and its Deployment scaled to 0, kept with its Service and backend for inspection. KServe:
	 * canaryTrafficPercent 0 (there is no Deployment of its own), the revision kept.
	 */
	async rollback(state: DeliveryState): Promise<void> {
		const current = await this.#actions.read(state.spec.model);
		const version = current.model.versions.find((candidate) => candidate.name === state.spec.version);
		if (version && version.weight > 0) {
			await this.#actions.setCanaryWeight(state.spec.model, state.spec.version, 0, undefined, {analysis: current});
		}

		const deployment = current.deployments[state.spec.version];
		if (deployment)
			await this.#objects.patch(resourceTypes.deployments, state.spec.model.namespace, deployment, {spec: {replicas: 0}}, 'merge');
	}

	async observeOwner(state: DeliveryState): Promise<Extract<DeliveryInput, {kind: 'owner'}>> {
		const {model, traffic} = await this.#actions.read(state.spec.model);
		if (traffic.kind === 'flagger') {
			const {target, object} = await this.#flaggerTarget(state.spec.model, traffic.name);
			const before = decodeFlaggerBefore(target.metadata?.annotations?.[flaggerBeforeAnnotation]);
			const observation: FlaggerObservation = {
				canary: object,
				primaryImage: model.versions.find((version) => version.track === 'stable')?.image,
				canaryWeight: model.versions.find((version) => version.track === 'canary')?.weight ?? 0,
				image: state.spec.image,
			};
			if (model.rollout) observation.rollout = model.rollout;
			if (before) observation.before = before;
			return flaggerProgress(observation);
		}

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
		const {model, traffic} = await this.#actions.read(state.spec.model);
		if (traffic.kind === 'flagger') {
			// Flagger has no abort: the target back on the primary's image makes it send all traffic to its primary.
			const {target} = await this.#flaggerTarget(state.spec.model, traffic.name);
			const primary = model.versions.find((version) => version.track === 'stable')?.image;
			const patch = flaggerRevertPatch(target, state.spec.image, primary);
			if (patch)
				await this.#objects.patch(resourceTypes.deployments, state.spec.model.namespace, target.metadata?.name ?? '', patch, 'json');
			return;
		}

		await this.#actions.rolloutCommand({kind: 'rollout', model: state.spec.model, command: 'abort'});
	}

	async save(state: DeliveryState): Promise<void> {
		const router = await this.#router(state.spec.model, state.mode);
		if (router.type === resourceTypes.deliveries) {
			await saveKserveDelivery(this.#objects, state, router.name);
			return;
		}

		const body = {metadata: {annotations: {[deliveryAnnotation]: JSON.stringify(state)}}};
		await this.#objects.patch(router.type, state.spec.model.namespace, router.name, body, 'merge');
	}

	/** Where the state is kept: the HTTPRoute of a plain model, the Rollout, the Canary, a KServe model's Delivery. Cached per model. */
	readonly #routers = new Map<string, Router>();

	async #router(model: ModelRef, mode: DeliveryState['mode']): Promise<Router> {
		const key = `${model.namespace}/${model.name}`;
		const known = this.#routers.get(key);
		if (known) return known;
		const {traffic} = await this.#actions.read(model);
		let router: Router;
		if (mode === 'owner' && traffic.kind === 'argo-rollouts') router = {type: resourceTypes.rollouts, name: traffic.name};
		else if (mode === 'owner' && traffic.kind === 'flagger') router = {type: resourceTypes.canaries, name: traffic.name};
		else if (traffic.kind === 'kserve') router = {type: resourceTypes.deliveries, name: traffic.name};
		else if (traffic.kind === 'httproute') router = {type: resourceTypes.httpRoutes, name: traffic.name};
		else if (traffic.kind === 'virtualservice') router = {type: resourceTypes.virtualServices, name: traffic.name};
		else
			throw new PlanError(
				`${model.name} has no HTTPRoute, Rollout, Canary or InferenceService to keep its rollout's state on: ${supported}`,
			);
		this.#routers.set(key, router);
		return router;
	}

	async load(): Promise<DeliveryState[]> {
		const http = this.#http();
		const states: DeliveryState[] = [];
		for (const type of [
			resourceTypes.httpRoutes,
			resourceTypes.virtualServices,
			resourceTypes.rollouts,
			resourceTypes.canaries,
			resourceTypes.deliveries,
		]) {
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
					const text =
						type === resourceTypes.deliveries ? (object as DeliveryObject).spec?.state : object.metadata?.annotations?.[deliveryAnnotation];
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
