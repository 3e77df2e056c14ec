/**
 * A small, renderer-neutral figure description. figures.ts builds these from data; plotly.ts (notebooks) and
 * png.ts (files, via ECharts SSR) draw them, so every chart looks the same everywhere.
 */

export interface Axis {
  title?: string;
  /** 'category' for class names or bins, 'value' for numbers, 'log' for learning rates. */
  type: 'category' | 'value' | 'log';
  min?: number;
  max?: number;
  /** Whole-number ticks only (epochs). */
  integer?: boolean;
  /** Tick labels as percentages (values in 0..1). */
  percent?: boolean;
}

export interface Series {
  name: string;
  kind: 'bar' | 'line';
  /** Category names or numbers, one per point (the value axis positions for horizontal bars). */
  x: Array<string | number>;
  y: number[];
  /** One colour for the series. */
  color?: string;
  /** Bars only: a colour per bar (overrides color). */
  colors?: string[];
  /** Text shown at each bar's end. */
  labels?: string[];
  /** Lines: dashed (references such as a perfect-calibration diagonal). */
  dashed?: boolean;
  /** Lines: draw point markers. */
  markers?: boolean;
}

export interface Panel {
  title?: string;
  x: Axis;
  y: Axis;
  series: Series[];
  /** Bars drawn horizontally: categories on the y axis (series.x holds the categories, series.y the values). */
  horizontal?: boolean;
}

export interface ChartFigure {
  kind: 'chart';
  title: string;
  width: number;
  height: number;
  /** Side by side, left to right. */
  panels: Panel[];
  showLegend: boolean;
}

export interface HeatmapFigure {
  kind: 'heatmap';
  title: string;
  width: number;
  height: number;
  /** Column names (left to right) and row names (top to bottom). */
  xLabels: string[];
  yLabels: string[];
  xTitle: string;
  yTitle: string;
  /** values[row][col], coloured on [min, max]. */
  values: number[][];
  /** Text in each cell. */
  text: string[][];
  min: number;
  max: number;
  /** Colour of min and of max. */
  colors: [string, string];
  /** Name of the colour scale (shown beside it). */
  valueTitle?: string;
}

export type Figure = ChartFigure | HeatmapFigure;
