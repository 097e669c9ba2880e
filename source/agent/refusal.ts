/** How the agent says no: a refusal before an action starts, and an error the HTTP front end answers with its status. */

/** A refusal before an action starts: the HTTP status and a message for people. */
export interface Refusal {
	status: number;
	message: string;
}

export class HttpProblem extends Error {
	override name = 'HttpProblem';
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.status = status;
	}
}
