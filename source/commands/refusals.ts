/** How a one-shot command says no: exit 1 for a refusal, exit 2 for a usage error. */

/** A failure said for people; the command exits 1. */
export class Refusal extends Error {
	override name = 'Refusal';
}

/** A flag that names something that is not there (a context, a scenario): a usage error, exit 2. */
export class UsageRefusal extends Error {
	override name = 'UsageRefusal';
}
