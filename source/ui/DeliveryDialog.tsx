/**
 * The rollout dialog (`d`): image, version (the image's tag until typed), steps and pause, each on its line with the
 * one being typed in marked; what is wrong is said under them as it is typed, each problem with how to fix it.
 */
import {Box, Text} from 'ink';
import {deliveryFieldLabels, deliveryFields} from '../console/delivery-form.ts';
import type {DeliveryDialog as DeliveryDialogState} from '../state/state.ts';
import {useTheme} from './contexts.tsx';

/** Lines the dialog takes besides its problems: border (2), title, four fields, the keys line. */
export const deliveryDialogFixedLines = 8;

export function DeliveryDialog({
	dialog,
	modelName,
	width,
	height,
	keys,
}: {
	dialog: DeliveryDialogState;
	modelName: string;
	width: number;
	height: number;
	/** The keys line: `enter review · tab next field · esc cancel`. */
	keys: string;
}) {
	const theme = useTheme();
	const labelWidth = Math.max(...deliveryFields.map((field) => deliveryFieldLabels[field].length));
	const room = Math.max(0, height - deliveryDialogFixedLines);
	const problems = dialog.problems;
	const shown = problems.length > room ? problems.slice(0, Math.max(0, room - 1)) : problems;
	const hidden = problems.length - shown.length;
	return (
		<Box
			flexDirection="column"
			borderStyle="round"
			borderColor={theme.text.accent}
			paddingX={1}
			width={Math.min(width, 100)}
			flexShrink={0}
		>
			<Text bold color={theme.text.accent} wrap="truncate-end">
				Roll out a new version of {modelName}
			</Text>
			{deliveryFields.map((field) => {
				const active = field === dialog.field;
				// The end of a long value, where the typing is.
				const fits = Math.max(1, Math.min(width, 100) - 4 - labelWidth - 4);
				const value = dialog.fields[field].length > fits ? `…${dialog.fields[field].slice(-(fits - 1))}` : dialog.fields[field];
				const hint =
					field === 'version' && !dialog.versionTyped ? ' (the image tag)' : field === 'image' && value === '' ? ' registry/name:tag' : '';
				return (
					<Text key={field} wrap="truncate-end">
						<Text color={active ? theme.text.accent : theme.text.muted}>{active ? '› ' : '  '}</Text>
						<Text bold={active}>{deliveryFieldLabels[field].padEnd(labelWidth)} </Text>
						{value}
						{active ? <Text inverse> </Text> : null}
						<Text color={theme.text.muted}>{hint}</Text>
					</Text>
				);
			})}
			{shown.map((problem) => (
				<Text key={problem} color={theme.status.critical} wrap="truncate-end">
					✖ {problem}
				</Text>
			))}
			{hidden > 0 ? (
				<Text color={theme.status.critical} wrap="truncate-end">
					✖ {hidden} more problem{hidden === 1 ? '' : 's'}
				</Text>
			) : null}
			<Text color={theme.text.muted} wrap="truncate-end">
				{dialog.planning ? 'reading the cluster for the plan… · ' : ''}
				{keys}
			</Text>
		</Box>
	);
}
