/** Providers for state, commands, theme and keymap. Hooks throw a clear error outside their provider. */
import React, {createContext, useContext, useSyncExternalStore, type ReactNode} from 'react';
import type {Keymap} from '../keymap/registry.ts';
import type {Controller} from '../console/controller.ts';
import type {AppState} from '../state/state.ts';
import type {Store} from '../console/store.ts';
import type {Theme} from './theme.ts';

const StoreContext = createContext<Store | undefined>(undefined);
const ControllerContext = createContext<Controller | undefined>(undefined);
const ThemeContext = createContext<Theme | undefined>(undefined);
const KeymapContext = createContext<Keymap | undefined>(undefined);

export function Providers(props: {store: Store; controller: Controller; theme: Theme; keymap: Keymap; children: ReactNode}) {
	return (
		<StoreContext.Provider value={props.store}>
			<ControllerContext.Provider value={props.controller}>
				<ThemeContext.Provider value={props.theme}>
					<KeymapContext.Provider value={props.keymap}>{props.children}</KeymapContext.Provider>
				</ThemeContext.Provider>
			</ControllerContext.Provider>
		</StoreContext.Provider>
	);
}

function required<T>(value: T | undefined, name: string): T {
	if (value === undefined) throw new Error(`${name} must be used inside <Providers>`);
	return value;
}

export function useAppState(): AppState {
	const store = required(useContext(StoreContext), 'useAppState');
	return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}

export function useController(): Controller {
	return required(useContext(ControllerContext), 'useController');
}

export function useTheme(): Theme {
	return required(useContext(ThemeContext), 'useTheme');
}

export function useKeymap(): Keymap {
	return required(useContext(KeymapContext), 'useKeymap');
}
