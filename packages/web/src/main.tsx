import { render } from 'preact';
import { App } from './ui/app.tsx';
import { start } from './state/app-state.ts';
import './styles.css';

render(<App />, document.getElementById('app')!);
void start();
