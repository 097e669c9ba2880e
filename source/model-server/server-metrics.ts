/**
 * The model server's Prometheus metrics (prom-client, one registry per server so several servers can live in one
 * process). These names and labels are what the `generic` PromQL profile in adapters/prometheus queries: keep them in
 * step with `source/adapters/prometheus/profiles.ts`.
 */
import {Counter, Histogram, Registry, collectDefaultMetrics} from 'prom-client';

export const REQUEST_DURATION_METRIC = 'modeldeck_inference_request_duration_seconds';
export const REQUESTS_METRIC = 'modeldeck_inference_requests_total';
export const PREDICTION_LOG_DROPPED_METRIC = 'modeldeck_prediction_log_dropped_total';

/**
 * Latency buckets in seconds: dense between 1 ms and 1 s where model latencies live, so that histogram_quantile's
 * linear interpolation stays within a few per cent of the truth there.
 */
export const LATENCY_BUCKETS_SECONDS = [
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10,
];

export type RequestStatus = 'ok' | 'error';

export interface ServerMetrics {
	registry: Registry;
	/** Records one finished infer request. Status is `error` for 5xx (the server's fault), `ok` otherwise. */
	observeRequest(code: number, durationSeconds: number): void;
	predictionLogDropped(reason: string): void;
}

export function createServerMetrics(model: string, version: string): ServerMetrics {
	const registry = new Registry();
	// Process metrics carry model and version too, so the generic profile reads CPU and memory per version without
	// joining on Kubernetes pod labels.
	collectDefaultMetrics({register: registry, labels: {model, version}});
	const duration = new Histogram({
		name: REQUEST_DURATION_METRIC,
		help: 'Time to answer an inference request, in seconds, including injected latency.',
		labelNames: ['model', 'version'] as const,
		buckets: LATENCY_BUCKETS_SECONDS,
		registers: [registry],
	});
	const requests = new Counter({
		name: REQUESTS_METRIC,
		help: 'Inference requests answered, by HTTP code and status (error = 5xx).',
		labelNames: ['model', 'version', 'code', 'status'] as const,
		registers: [registry],
	});
	const dropped = new Counter({
		name: PREDICTION_LOG_DROPPED_METRIC,
		help: 'Prediction-log events dropped because the log URL was slow, down or refused them.',
		labelNames: ['model', 'version', 'reason'] as const,
		registers: [registry],
	});
	// Zero-valued series from the start, so rate() has a baseline and "no errors yet" reads 0, not absent.
	requests.inc({model, version, code: '200', status: 'ok'}, 0);
	requests.inc({model, version, code: '500', status: 'error'}, 0);
	return {
		registry,
		observeRequest(code, durationSeconds) {
			duration.observe({model, version}, durationSeconds);
			const status: RequestStatus = code >= 500 ? 'error' : 'ok';
			requests.inc({model, version, code: String(code), status});
		},
		predictionLogDropped(reason) {
			dropped.inc({model, version, reason});
		},
	};
}
