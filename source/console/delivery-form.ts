/**
 * The rollout dialog (`d`) as data: its fields, the version that follows the image's tag until it is typed, and what
 * is wrong with what was typed so far, said the way the fields are typed (the same checks `modeldeck rollout` makes,
 * domain/delivery.ts). Pure: no I/O.
 */
import {defaultDeliverySteps, deliverySpecProblems, parseSteps, type DeliverySpec} from '../domain/delivery.ts';
import {refOf, type Model} from '../domain/types.ts';
import type {DeliveryDialog, DeliveryField} from '../state/state.ts';

export const deliveryFields: readonly DeliveryField[] = ['image', 'version', 'steps', 'pause'];

export const deliveryFieldLabels: Record<DeliveryField, string> = {
	image: 'image',
	version: 'version',
	steps: 'steps %',
	pause: 'pause',
};

/** How long a new version may take to become ready, and how many unclear judgements in a row it may have. */
export const dialogReadyTimeoutSeconds = 300;
export const dialogMaxHolds = 2;
const defaultPause = '2m';

/**
 * The version named by an image's tag: `registry/fraud:v13` → `v13`, lower-cased, with what a version name cannot
 * hold made `-`; empty without a tag (a digest, or none).
 */
export function versionFromImage(image: string): string {
	const name = image.trim().split('@')[0]!;
	const slash = name.lastIndexOf('/');
	const colon = name.lastIndexOf(':');
	if (colon <= slash) return '';
	return name
		.slice(colon + 1)
		.toLowerCase()
		.replace(/[^a-z0-9.-]+/g, '-')
		.replace(/^[-.]+|[-.]+$/g, '')
		.slice(0, 63);
}

/** A pause as typed: `90`, `90s`, `2m`, `500ms` (the spellings of the CLI's `--pause`), in seconds; undefined if not one. */
export function parsePause(text: string): number | undefined {
	const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
	const value = match ? Number(match[1]) * (match[2] === 'ms' ? 0.001 : match[2] === 'm' ? 60 : 1) : Number.NaN;
	return Number.isFinite(value) ? value : undefined;
}

/** The dialog as it opens on MODEL. */
export function openDeliveryDialog(model: Model, modelKey: string): DeliveryDialog {
	const dialog: DeliveryDialog = {
		kind: 'deliver',
		model: modelKey,
		field: 'image',
		fields: {image: '', version: '', steps: defaultDeliverySteps.join(','), pause: defaultPause},
		versionTyped: false,
		problems: [],
	};
	return {...dialog, problems: deliveryDialogProblems(dialog, model, false)};
}

/** The spec the fields make, and every problem with them (each says how to fix it). */
export function deliverySpecFromDialog(
	dialog: DeliveryDialog,
	model: Model,
	requestedBy: string,
): {spec: DeliverySpec; problems: string[]} {
	const problems: string[] = [];
	const {fields} = dialog;
	let steps: number[] = [];
	try {
		steps = parseSteps(fields.steps);
	} catch (error) {
		problems.push(`steps: ${(error as Error).message}`);
	}

	const pause = parsePause(fields.pause);
	if (pause === undefined) problems.push(`pause: "${fields.pause}" is not a duration: type seconds or minutes, e.g. 90s or 2m`);
	const spec: DeliverySpec = {
		model: refOf(model),
		image: fields.image.trim(),
		version: fields.version.trim(),
		steps,
		pauseSeconds: pause ?? 0,
		readyTimeoutSeconds: dialogReadyTimeoutSeconds,
		maxHolds: dialogMaxHolds,
		requestedBy,
	};
	for (const problem of deliverySpecProblems(spec)) {
		// The steps' own message was said already when they did not parse.
		if (steps.length === 0 && problems.some((said) => said.startsWith('steps:')) && problem.startsWith('no steps')) continue;
		problems.push(problem);
	}

	if (/\s/.test(spec.image)) problems.push(`the image "${spec.image}" has a space in it: an image reference has none`);
	if (spec.version !== '' && model.versions.some((version) => version.name === spec.version)) {
		problems.push(`${model.name} already has a version ${spec.version}: give the new one another name`);
	}

	return {spec, problems};
}

/**
 * The problems to show as the fields are typed. Before anything was typed into the image, its emptiness is not yet a
 * problem to shout about (`strict`: on enter, it is).
 */
export function deliveryDialogProblems(dialog: DeliveryDialog, model: Model, strict: boolean): string[] {
	const {problems} = deliverySpecFromDialog(dialog, model, '');
	if (strict || dialog.fields.image.trim() !== '') return problems;
	return problems.filter((problem) => !problem.startsWith('the image is empty') && !problem.startsWith('"" is not a version'));
}

/** The dialog with the field at hand edited: the version follows the image's tag until it is typed itself. */
export function editDeliveryDialog(dialog: DeliveryDialog, model: Model, edit: (text: string) => string): DeliveryDialog {
	const text = edit(dialog.fields[dialog.field]);
	const fields = {...dialog.fields, [dialog.field]: text};
	const versionTyped = dialog.versionTyped || dialog.field === 'version';
	if (dialog.field === 'image' && !versionTyped) fields.version = versionFromImage(text);
	const next = {...dialog, fields, versionTyped};
	const {planning: _planning, ...rest} = next;
	return {...rest, problems: deliveryDialogProblems(next, model, false)};
}

/** The dialog with the next (1) or previous (-1) field at hand, round. */
export function moveDeliveryField(dialog: DeliveryDialog, delta: 1 | -1): DeliveryDialog {
	const index = deliveryFields.indexOf(dialog.field);
	const field = deliveryFields[(index + delta + deliveryFields.length) % deliveryFields.length]!;
	return {...dialog, field};
}
