/** Writing an answer: JSON on a response, or an HTTP error on a socket whose upgrade is refused. */
import http from 'node:http';
import type {Socket} from 'node:net';

export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
	if (response.headersSent) {
		response.end();
		return;
	}

	const text = JSON.stringify(body);
	response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers});
	response.end(text);
}

export function rejectUpgrade(socket: Socket, status: number, message: string): void {
	const body = JSON.stringify({error: message});
	const reason = http.STATUS_CODES[status] ?? 'Error';
	const extra = status === 401 ? 'www-authenticate: Bearer\r\n' : '';
	socket.end(
		`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
	);
}
