export {type CommandIo, type CommandOptions, type DemoConnector, firstModels, runCommand} from './run-command.ts';
export {type CommandArgs, type CommandName, commandNames, parseCommandArgs, usage} from './command-args.ts';
export {
	buildStatusDocument,
	computeFlags,
	renderStatusTable,
	STATUS_SCHEMA,
	type StatusDocument,
	type StatusInput,
} from './status-document.ts';
