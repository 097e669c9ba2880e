/** Every change to the state is one of these. */
import type {Verdict} from '../domain/analysis.ts';
import type {AuditEntry, SourceName} from '../domain/ports.ts';
import type {Action, ActionProgress, Context, Flag, Model, Prediction, Sample, Series} from '../domain/types.ts';
import type {LogFilter, Overlay, SortColumn, Toast, View} from './state.ts';

export type StoreAction =
	| {type: 'tick'; now: number}
	| {type: 'cluster/models'; models: Model[]; now: number}
	| {type: 'cluster/contexts'; contexts: Context[]; current: string}
	| {type: 'cluster/namespaces'; namespaces: string[]}
	/** `cluster`: with several clusters shown, the context that answered or failed. */
	| {type: 'source/ok'; source: SourceName; now: number; cluster?: string | undefined}
	| {type: 'source/error'; source: SourceName; message: string; now: number; cluster?: string | undefined}
	| {type: 'source/absent'; source: SourceName; message: string; now: number}
	| {type: 'source/connecting'; source: SourceName; now: number}
	| {
			type: 'metrics/refreshed';
			samples: Record<string, Sample>;
			history?: Record<string, Series>;
			flags: Record<string, Flag[]>;
			verdicts: Record<string, Verdict>;
			/** Which Prometheus answered and how it was found, when it was looked for in the cluster. */
			found?: string;
			now: number;
			/** Several clusters shown: the contexts whose Prometheus failed while others answered, and why. */
			clusterProblems?: Record<string, string>;
	  }
	| {type: 'log/set'; entries: Prediction[]; received: number; ratePerSecond: number}
	| {type: 'log/gap'; dropped: number}
	| {type: 'log/toggle-pause'}
	| {type: 'log/filter'; filter: LogFilter}
	| {type: 'audit/set'; entries: AuditEntry[]}
	| {type: 'audit/append'; entry: AuditEntry}
	| {type: 'nav/move'; delta: number}
	| {type: 'nav/top'}
	| {type: 'nav/bottom'}
	/** Open a screen; `esc` comes back to the one it replaces. */
	| {type: 'view/open'; view: View}
	| {type: 'view/back'}
	| {type: 'nav/select'; index: number}
	/** Move the log's cursor by lines (positive: older). */
	| {type: 'log/cursor'; delta: number; visible: number}
	| {type: 'overlay/open'; overlay: Overlay}
	| {type: 'overlay/close'}
	| {type: 'filter/set'; text: string}
	| {type: 'sort/cycle'}
	| {type: 'toast/add'; toast: Omit<Toast, 'id'>}
	| {type: 'task/start'; id: string; action: Action; title: string; now: number}
	| {type: 'task/progress'; id: string; progress: ActionProgress; now: number}
	| {type: 'context/set'; context: string; readOnlyReason?: string | undefined}
	| {type: 'namespace/set'; namespace: string | undefined}
	| {type: 'quit'};

export const sortColumns: SortColumn[] = ['model', 'flags', 'p99Ms', 'errorRatio', 'rps', 'cpuCores', 'memoryBytes'];
