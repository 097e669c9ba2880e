/**
 * The reads: `GET /v1/predictions?requestId=|requestIdPrefix=&namespace=&model=&version=&status=&since=&until=&limit=`
 * and `GET /v1/audit?limit=&namespace=`, both JSON arrays, each checked against what the caller may read.
 */
import type http from 'node:http';
import {minRequestIdPrefix} from '../../protocol/agent.ts';
import type {AgentCore} from '../agent.ts';
import {HttpProblem} from '../refusal.ts';
import {identify, parseLimit, parseTime} from './request.ts';
import {sendJson} from './response.ts';

/** The query parameters of GET /v1/predictions: any other is refused, so that a misspelt filter is not ignored. */
const predictionParameters = ['requestId', 'requestIdPrefix', 'namespace', 'model', 'version', 'status', 'since', 'until', 'limit'];

/** Default number of answers to a lookup by prefix (exact matches first). */
const prefixLookupLimit = 20;

export async function handlePredictions(
	core: AgentCore,
	request: http.IncomingMessage,
	response: http.ServerResponse,
	url: URL,
): Promise<void> {
	const identity = await identify(core, request);
	const parameter = (name: string): string | undefined => url.searchParams.get(name) || undefined;
	const namespace = parameter('namespace');
	const refusal = await core.authorizeRead(identity, namespace);
	if (refusal) throw new HttpProblem(refusal.status, refusal.message);
	const unknown = [...url.searchParams.keys()].find((name) => !predictionParameters.includes(name));
	if (unknown !== undefined) {
		throw new HttpProblem(400, `unknown parameter "${unknown.slice(0, 40)}"; filter with ${predictionParameters.join(', ')}`);
	}

	const status = parameter('status');
	if (status !== undefined && status !== 'ok' && status !== 'error')
		throw new HttpProblem(400, `status must be ok or error, got "${status.slice(0, 20)}"`);
	const prefix = url.searchParams.get('requestIdPrefix');
	if (prefix !== null) {
		if ([...prefix].length < minRequestIdPrefix)
			throw new HttpProblem(
				400,
				`requestIdPrefix needs at least ${minRequestIdPrefix} characters, got "${prefix.slice(0, 20)}"; for a shorter id ask for it whole with requestId=`,
			);
		if (url.searchParams.has('requestId'))
			throw new HttpProblem(400, 'give requestId (one id) or requestIdPrefix (ids that start with it), not both');
	}

	const query: Parameters<AgentCore['predictions']>[0] = {
		limit: parseLimit(url.searchParams.get('limit'), prefix === null ? 100 : prefixLookupLimit),
	};
	if (prefix !== null) query.requestIdPrefix = prefix;
	for (const key of ['requestId', 'model', 'version'] as const) {
		const value = parameter(key);
		if (value !== undefined) query[key] = value;
	}

	if (namespace !== undefined) query.namespace = namespace;
	if (status !== undefined) query.status = status;
	const since = parseTime(url.searchParams.get('since'), 'since');
	if (since !== undefined) query.since = since;
	const until = parseTime(url.searchParams.get('until'), 'until');
	if (until !== undefined) query.until = until;
	sendJson(response, 200, core.predictions(query));
}

export async function handleAudit(core: AgentCore, request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
	const identity = await identify(core, request);
	const namespace = url.searchParams.get('namespace') || undefined;
	const refusal = await core.authorizeRead(identity, namespace);
	if (refusal) throw new HttpProblem(refusal.status, refusal.message);
	sendJson(response, 200, core.audit(parseLimit(url.searchParams.get('limit'), 100), namespace));
}
