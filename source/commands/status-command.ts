/** `modeldeck status`: every model's versions, weights, metrics, flags and verdict, as a table or JSON. */
import {type MetricTarget, SourceAbsentError} from '../domain/ports.ts';
import type {Sample, VersionKey} from '../domain/types.ts';
import {modelKey, type Series} from '../domain/types.ts';
import type {Verdict} from '../domain/analysis.ts';
import type {CommandArgs} from './command-args.ts';
import {Deadline} from './deadline.ts';
import {buildStatusDocument, renderStatusTable, type StatusMetricsSource} from './status-document.ts';
import type {CommandIo, CommandOptions} from './command-options.ts';
import type {Connection} from './connect.ts';
import {findModel, firstModels} from './models.ts';
import {analyseForCommand, judgeWindowSeconds} from './command-analysis.ts';

export async function status(args: CommandArgs, connection: Connection, io: CommandIo, options: CommandOptions): Promise<number> {
	const {cluster, metrics, namespace} = connection;
	const deadline = connection.deadline ?? new Deadline(args.timeoutSeconds);
	let models = await firstModels(cluster, namespace, deadline.remainingMs, args.timeoutSeconds);
	if (args.model) models = [findModel(models, args.model, namespace)];
	let samples: Map<VersionKey, Sample> | undefined;
	let verdicts: Map<string, Verdict> | undefined;
	let metricsSource: StatusMetricsSource | null = null;
	if (metrics) {
		const targets: MetricTarget[] = models.flatMap((model) =>
			model.versions.map((version) => {
				const target: MetricTarget = {namespace: model.namespace, name: model.name, version: version.name};
				if (model.runtime) target.runtime = model.runtime;
				return target;
			}),
		);
		try {
			const now = (options.now ?? Date.now)();
			const windowSeconds = options.metricsWindowSeconds ?? 60;
			const [sampled, history] =
				targets.length > 0
					? await deadline.race(
							Promise.all([
								metrics.sample(targets, windowSeconds),
								metrics.history(targets, {start: now - judgeWindowSeconds * 1000, end: now, stepSeconds: 15}),
							]),
							`no answer within ${args.timeoutSeconds} s (--timeout SECONDS waits longer); the models are shown without metrics`,
						)
					: [new Map<VersionKey, Sample>(), new Map<VersionKey, Series>()];
			samples = sampled;
			// The same analysis as the console, over the same history window: a verdict never pass beside a critical flag.
			verdicts = analyseForCommand(models, sampled, history, options.thresholds, now).verdicts;
			if (metrics.found) io.stderr.write(`modeldeck status: metrics from prometheus ${metrics.found}\n`);
			metricsSource = {source: metrics.label, ...(metrics.found ? {found: metrics.found} : {})};
		} catch (error) {
			// None configured and none found in the cluster: the versions' metrics are null, as without Prometheus.
			if (!(error instanceof SourceAbsentError)) {
				const reason = error instanceof Error ? error.message : String(error);
				io.stderr.write(`modeldeck status: metrics from ${metrics.label} unavailable: ${reason}\n`);
				metricsSource = {source: metrics.label, ...(metrics.found ? {found: metrics.found} : {}), error: reason};
			}
		}
	}

	const document = buildStatusDocument({
		context: cluster.currentContext(),
		models,
		samples,
		thresholds: options.thresholds,
		...(verdicts ? {verdicts} : {}),
		...(metrics && samples ? {explain: (target, metric) => metrics.explain(target, metric)} : {}),
		now: (options.now ?? Date.now)(),
		metricsSource,
	});
	if (args.json) {
		io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
	} else {
		const warnings = new Map(models.map((model) => [modelKey(model), model.warnings ?? []]));
		io.stdout.write(renderStatusTable(document, warnings));
	}

	return 0;
}
