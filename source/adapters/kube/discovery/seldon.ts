/**
 * Step: Seldon Core 2. An Experiment is a model whose versions are its candidate Models, its weights the candidates'
 * relative weights; the model is named after the Experiment's `default` (the model name clients call, whose requests
 * the experiment splits), else after the Experiment. The default is the stable version. A mirror gets a copy of some
 * requests and answers none: it is said in a warning, not shown as a version. A Model in no Experiment is a model of
 * one version.
 */
import type {Model, Version} from '../../../domain/types.ts';
import {weightsFromReplicas} from '../../../domain/weights.ts';
import type {SeldonCondition, SeldonExperiment, SeldonModel} from '../objects/seldon.ts';
import {addUnlessNameTaken, type Claims} from './claims.ts';
import {guarded} from './guarded.ts';
import {type ClusterSnapshot, listOf, namespaceOf, sortByName} from './snapshot.ts';
import {assignTracks, modeldeckAnnotations, stableAnnotation} from './tracks.ts';
import type {ModelAnalysis, TrafficBackend} from './traffic.ts';

function condition(conditions: SeldonCondition[] | undefined, type: string): SeldonCondition | undefined {
	return listOf(conditions).find((entry) => entry?.type === type);
}

function seldonVersion(name: string, model: SeldonModel | undefined, weight: number): Version {
	// Seldon defaults a Model's replicas to 1; a candidate that is no Model has none.
	const replicasDesired = !model
		? 0
		: typeof model.spec?.replicas === 'number'
			? model.spec.replicas
			: typeof model.status?.replicas === 'number'
				? model.status.replicas
				: 1;
	const version: Version = {
		name,
		track: 'canary',
		weight,
		replicasReady: typeof model?.status?.availableReplicas === 'number' ? model.status.availableReplicas : 0,
		replicasDesired,
		restarts: 0,
		image: typeof model?.spec?.storageUri === 'string' ? model.spec.storageUri : '',
		created: model?.metadata?.creationTimestamp ?? '',
		object: `Model/${name}`,
	};
	const ready = condition(model?.status?.conditions, 'ModelReady');
	if (ready && ready.status !== 'True')
		version.problems = [`Model/${name} not ready${ready.reason ? `: ${ready.reason}` : ''}${ready.message ? ` (${ready.message})` : ''}`];
	return version;
}

export function analyseExperiment(experiment: SeldonExperiment, models: Map<string, SeldonModel>): ModelAnalysis {
	const experimentName = experiment.metadata?.name ?? '';
	const namespace = namespaceOf(experiment);
	const label = `Experiment/${experimentName}`;
	const warnings: string[] = [];
	const candidates = listOf(experiment.spec?.candidates).filter(
		(candidate) => typeof candidate?.name === 'string' && candidate.name !== '',
	);
	const defaultName = typeof experiment.spec?.default === 'string' && experiment.spec.default !== '' ? experiment.spec.default : undefined;
	const pipelines = experiment.spec?.resourceType === 'pipeline';
	const weights = candidates.map((candidate) => (typeof candidate.weight === 'number' && candidate.weight > 0 ? candidate.weight : 0));
	const percents = weightsFromReplicas(weights);
	const backends: TrafficBackend[] = [];
	const versions: Version[] = [];
	const seen = new Set<string>();
	listOf(experiment.spec?.candidates).forEach((candidate, position) => {
		const name = typeof candidate?.name === 'string' ? candidate.name : '';
		if (!name) return;
		const weight = percents[candidates.indexOf(candidate)] ?? 0;
		backends.push({
			pointer: `/spec/candidates/${position}`,
			identityField: 'name',
			identityValue: name,
			target: name,
			writtenWeight: typeof candidate.weight === 'number' ? candidate.weight : undefined,
			effectiveWeight: typeof candidate.weight === 'number' ? Math.max(0, candidate.weight) : 0,
			versions: seen.has(name) ? [] : [name],
		});
		if (seen.has(name)) {
			warnings.push(`${label} names candidate ${name} twice: only the first is shown`);
			return;
		}

		seen.add(name);
		const model = models.get(`${namespace}/${name}`);
		if (!model && !pipelines) warnings.push(`${label} candidate ${name} is not a Model in ${namespace}`);
		versions.push(seldonVersion(name, model, weight));
	});
	if (candidates.length === 0) warnings.push(`${label} has no candidates: no version receives traffic through it`);
	if (pipelines) warnings.push(`${label} splits traffic between Pipelines: their replicas are not shown`);
	if (weights.every((weight) => weight === 0) && candidates.length > 0)
		warnings.push(`${label} sends no traffic: every candidate weight is 0`);
	if (defaultName && !seen.has(defaultName)) warnings.push(`${label} default ${defaultName} is not one of its candidates`);
	const mirror = experiment.spec?.mirror;
	if (typeof mirror?.name === 'string' && mirror.name) {
		warnings.push(
			`${label} mirrors ${typeof mirror.percent === 'number' ? mirror.percent : 0}% of requests to ${mirror.name} (a copy: its answers are not returned, so it is not a version here)`,
		);
	}

	const ready = condition(experiment.status?.conditions, 'Ready') ?? condition(experiment.status?.conditions, 'ExperimentReady');
	if (ready && ready.status === 'False')
		warnings.push(`${label} is not ready${ready.message ? `: ${ready.message}` : ready.reason ? `: ${ready.reason}` : ''}`);

	const declared = experiment.metadata?.annotations?.[stableAnnotation] ?? defaultName;
	const model: Model = {
		namespace,
		name: defaultName ?? experimentName,
		router: 'seldon',
		routerObject: label,
		runtime: 'seldon',
		versions: assignTracks(versions, declared),
		discoveredBy: `Seldon Experiment/${experimentName}`,
	};
	if (experiment.metadata?.resourceVersion) model.resourceVersion = experiment.metadata.resourceVersion;
	const annotations = modeldeckAnnotations([experiment.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	if (warnings.length > 0) model.warnings = warnings;
	return {
		model,
		traffic: {
			kind: 'seldon',
			object: label,
			name: experimentName,
			resourceVersion: experiment.metadata?.resourceVersion,
			backends,
			annotated: experiment.metadata?.annotations !== undefined,
		},
		deployments: {},
	};
}

export function analyseSeldonModel(seldonModel: SeldonModel): ModelAnalysis {
	const name = seldonModel.metadata?.name ?? '';
	const model: Model = {
		namespace: namespaceOf(seldonModel),
		name,
		router: 'seldon',
		routerObject: `Model/${name}`,
		runtime: 'seldon',
		versions: [{...seldonVersion(name, seldonModel, 100), track: 'stable'}],
		discoveredBy: `Seldon Model/${name}`,
	};
	if (seldonModel.metadata?.resourceVersion) model.resourceVersion = seldonModel.metadata.resourceVersion;
	const annotations = modeldeckAnnotations([seldonModel.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	return {model, traffic: {kind: 'replicas'}, deployments: {}};
}

export function discoverSeldon(snapshot: ClusterSnapshot, claims: Claims, analyses: ModelAnalysis[]): void {
	const models = new Map<string, SeldonModel>();
	for (const model of snapshot.seldonModels ?? []) models.set(`${namespaceOf(model)}/${model.metadata?.name}`, model);
	for (const experiment of sortByName(snapshot.seldonExperiments ?? [])) {
		if (claims.hasObject('Experiment', experiment)) continue;
		const namespace = namespaceOf(experiment);
		claims.claimObject('Experiment', experiment);
		const named = [...listOf(experiment.spec?.candidates).map((candidate) => candidate?.name), experiment.spec?.mirror?.name];
		for (const name of named) if (typeof name === 'string' && name) claims.claim('Model', namespace, name);
		const name = experiment.metadata?.name ?? '';
		const modelName = typeof experiment.spec?.default === 'string' && experiment.spec.default ? experiment.spec.default : name;
		const analysis = guarded(namespace, modelName, () => analyseExperiment(experiment, models));
		addUnlessNameTaken(analyses, analysis, `Seldon Experiment/${name}`);
	}

	for (const model of sortByName(snapshot.seldonModels ?? [])) {
		if (claims.hasObject('Model', model)) continue;
		claims.claimObject('Model', model);
		const name = model.metadata?.name ?? '';
		addUnlessNameTaken(
			analyses,
			guarded(namespaceOf(model), name, () => analyseSeldonModel(model)),
			`Seldon Model/${name}`,
		);
	}
}
