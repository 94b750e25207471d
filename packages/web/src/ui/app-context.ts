import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ParleyClient } from '@parley/sdk';
import type { AppModel } from '../state/app-model.ts';

export interface AppServices {
  app: AppModel;
  client: ParleyClient;
}

export const AppContext = createContext<AppServices | null>(null);

/** The app model and API client given to the tree in main.tsx (or by a test). */
export function useServices(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error('AppContext is missing');
  return services;
}

export function useApp(): AppModel {
  return useServices().app;
}
