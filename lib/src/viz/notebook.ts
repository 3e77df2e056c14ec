/**
 * Show a figure in a tslab notebook. Pass tslab's `display` (the lib does not depend on tslab):
 *   import * as tslab from 'tslab'; await showFigure(fig, tslab.display);
 */
import { plotlyHtml } from './plotly';
import { renderPng } from './png';
import type { Figure } from './spec';

/** The part of tslab's display object used here. */
export interface NotebookDisplay {
  html(html: string): void;
  png(data: Uint8Array): void;
}

export interface ShowOptions {
  /**
   * 'interactive' (default): Plotly (plotly.js inlined once per kernel); 'static': a PNG (shows in untrusted
   * notebooks and every viewer); 'both'.
   */
  mode?: 'interactive' | 'static' | 'both';
}

export async function showFigure(fig: Figure, display: NotebookDisplay, options: ShowOptions = {}): Promise<void> {
  const mode = options.mode ?? 'interactive';
  if (mode !== 'static') display.html(plotlyHtml(fig));
  if (mode !== 'interactive') display.png(await renderPng(fig));
}
