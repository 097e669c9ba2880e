/** `POST /v1/actions`: the body an Action; the answer NDJSON, one ActionProgress per line, as the action goes. */
import type http from 'node:http';
import type {AgentCore} from '../agent.ts';
import {parseAction} from '../actions/validate.ts';
import {jsonDepthOver, tooDeepMessage} from '../ingest/json-depth.ts';
import {HttpProblem} from '../refusal.ts';
import {identify, readBody} from './request.ts';

const maxActionBodyBytes = 64 * 1024;

export async function handleActions(core: AgentCore, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
	const identity = await identify(core, request);
	const body = await readBody(request, {bytes: maxActionBodyBytes, name: "an action's limit"});
	if (jsonDepthOver(body) !== undefined) throw new HttpProblem(400, tooDeepMessage('the action'));
	let json: unknown;
	try {
		json = JSON.parse(body.toString('utf8'));
	} catch (error) {
		throw new HttpProblem(400, `the action is not valid JSON: ${(error as Error).message}`);
	}

	const action = parseAction(json);
	if (typeof action === 'string') throw new HttpProblem(400, action);
	const started = await core.startAction(action, identity);
	if ('status' in started) throw new HttpProblem(started.status, started.message);
	response.writeHead(200, {'content-type': 'application/x-ndjson', 'cache-control': 'no-cache'});
	// Progress goes out line by line; a caller that leaves stops nothing (the action finishes and is audited).
	for await (const progress of started.progress) {
		if (!response.destroyed) response.write(`${JSON.stringify(progress)}\n`);
	}

	response.end();
}
