/** `POST /v1/logs`: no Kubernetes token, but an optional shared ingest token and an IP allow-list. */
import type http from 'node:http';
import type {AgentCore} from '../agent.ts';
import type {IpAllowList} from '../auth/ingest-access.ts';
import {tokenMatches} from '../auth/ingest-access.ts';
import {HttpProblem} from '../refusal.ts';
import {flagLimit, readBody, tokenFrom} from './request.ts';
import {sendJson} from './response.ts';

export interface IngestRouteOptions {
	core: AgentCore;
	allowList: IpAllowList;
	/** Shared secret loggers must present. */
	ingestToken: string | undefined;
	maxBodyBytes: number;
}

export async function handleIngest(
	{core, allowList, ingestToken, maxBodyBytes}: IngestRouteOptions,
	request: http.IncomingMessage,
	response: http.ServerResponse,
	url: URL,
): Promise<void> {
	if (!allowList.allows(request.socket.remoteAddress)) {
		core.metrics.authFailures.inc({reason: 'ip-not-allowed'});
		throw new HttpProblem(403, `ingest from ${request.socket.remoteAddress ?? 'an unknown address'} is not allowed (--allow-ip)`);
	}

	if (ingestToken !== undefined) {
		const header = request.headers['x-modeldeck-ingest-token'];
		const presented =
			tokenFrom(request.headers) ?? (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('token') ?? undefined;
		if (!tokenMatches(presented, ingestToken)) {
			core.metrics.authFailures.inc({reason: 'ingest-token'});
			throw new HttpProblem(
				401,
				'missing or wrong ingest token: send it as "Authorization: Bearer <token>", X-Modeldeck-Ingest-Token, or ?token= in the logger URL',
			);
		}
	}

	let body: Buffer;
	try {
		body = await readBody(request, flagLimit(maxBodyBytes));
	} catch (error) {
		core.metrics.ingestRejected.inc({reason: error instanceof HttpProblem && error.status === 413 ? 'too-large' : 'unreadable'});
		throw error;
	}

	// Answered only once the predictions are committed; 503 when the store cannot write (the logger retries).
	const result = core.ingest(request.headers, body);
	sendJson(response, result.status, result.body, result.status === 503 ? {'retry-after': '5'} : {});
}
