import { render } from 'preact';
import { App } from './ui/app.tsx';
import { AppContext } from './ui/app-context.ts';
import { AppModel } from './state/app-model.ts';
import { RouterModel } from './state/router-model.ts';
import { createClient } from './state/create-client.ts';
import { storage } from './state/storage.ts';
import { installWindowListeners } from './state/window-listeners.ts';
import './styles.css';

// The client reports token changes to the session model, which needs the client: bind it late.
let app: AppModel | null = null;
const client = createClient(storage, (session) => app?.session.sessionChanged(session));
const router = new RouterModel(location.hash, (hash) => (location.hash = hash));
app = new AppModel(client, storage, router);
installWindowListeners(app);

render(
  <AppContext.Provider value={{ app, client }}>
    <App />
  </AppContext.Provider>,
  document.getElementById('app')!,
);
void app.start();
