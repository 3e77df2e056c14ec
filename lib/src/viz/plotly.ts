/**
 * Figure spec -> Plotly data/layout, and a self-contained HTML snippet for notebooks. plotly.js is read once from
 * node_modules and inlined (nothing from a CDN: notebooks and their HTML exports must render offline).
 */
import * as fs from 'fs';
import { FerError } from '../errors';
import type { Axis, ChartFigure, Figure, HeatmapFigure, Series } from './spec';

export type PlotlyObject = { [key: string]: unknown };
export interface PlotlyFigure {
  data: PlotlyObject[];
  layout: PlotlyObject;
}

const FONT = { family: 'DejaVu Sans, Noto Sans, Arial, sans-serif', size: 12, color: '#333' };
const nullable = (v: number) => (Number.isFinite(v) ? v : null);

function axisLayout(
  axis: Axis,
  domain: [number, number] | undefined,
  anchor: string,
  reversed = false,
  headroom = false,
): PlotlyObject {
  const out: PlotlyObject = {
    type: axis.type === 'value' ? 'linear' : axis.type,
    title: axis.title ? { text: axis.title } : undefined,
    anchor,
    gridcolor: '#e6e6e6',
    zeroline: false,
    automargin: true,
  };
  if (domain) out.domain = domain;
  if (axis.percent) out.tickformat = '.0%';
  if (axis.type === 'log') out.exponentformat = 'e';
  if (axis.integer) out.tickformat = 'd';
  if (axis.min !== undefined && axis.max !== undefined && axis.type !== 'log') {
    // room for bar labels outside the top (right) end
    out.range = [axis.min, headroom ? axis.max + 0.1 * (axis.max - axis.min) : axis.max];
  }
  if (reversed) out.autorange = 'reversed';
  return out;
}

function trace(s: Series, horizontal: boolean, axisSuffix: string, showLegend: boolean): PlotlyObject {
  const base: PlotlyObject = {
    name: s.name,
    legendgroup: s.name,
    showlegend: showLegend,
    xaxis: `x${axisSuffix}`,
    yaxis: `y${axisSuffix}`,
  };
  if (s.kind === 'line') {
    return {
      ...base,
      type: 'scatter',
      mode: s.markers ? 'lines+markers' : 'lines',
      x: s.x,
      y: s.y.map(nullable),
      line: { color: s.color, dash: s.dashed ? 'dash' : 'solid', width: 2 },
      marker: { color: s.color, size: 6 },
    };
  }
  const values = s.y.map(nullable);
  return {
    ...base,
    type: 'bar',
    orientation: horizontal ? 'h' : 'v',
    x: horizontal ? values : s.x,
    y: horizontal ? s.x : values,
    marker: { color: s.colors ?? s.color },
    text: s.labels,
    textposition: s.labels ? 'outside' : undefined,
    cliponaxis: false,
    hovertemplate: horizontal ? '%{y}: %{x}<extra>%{fullData.name}</extra>' : '%{x}: %{y}<extra>%{fullData.name}</extra>',
  };
}

function chartToPlotly(fig: ChartFigure): PlotlyFigure {
  const n = fig.panels.length;
  const gap = n > 1 ? 0.07 : 0;
  const width = (1 - gap * (n - 1)) / n;
  const data: PlotlyObject[] = [];
  const layout: PlotlyObject = {
    title: { text: fig.title, x: 0.5, xanchor: 'center', yref: 'container', y: 1 - 14 / fig.height, yanchor: 'top', font: { size: 16 } },
    width: fig.width,
    height: fig.height,
    font: FONT,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    barmode: 'group',
    showlegend: fig.showLegend,
    // legend in pixels under the title, clear of the panel titles
    legend: { orientation: 'h', x: 0.5, xanchor: 'center', yref: 'container', y: 1 - 48 / fig.height, yanchor: 'top' },
    margin: { t: fig.showLegend ? 100 : 60, l: 70, r: 30, b: 60 },
    annotations: [] as PlotlyObject[],
  };
  const seen = new Set<string>();
  fig.panels.forEach((p, i) => {
    const suffix = i === 0 ? '' : String(i + 1);
    const domain: [number, number] = [i * (width + gap), i * (width + gap) + width];
    const horizontal = p.horizontal ?? false;
    const labelled = p.series.some((s) => s.kind === 'bar' && s.labels);
    layout[`xaxis${suffix}`] = axisLayout(p.x, domain, `y${suffix}`, false, labelled && horizontal);
    layout[`yaxis${suffix}`] = axisLayout(p.y, undefined, `x${suffix}`, horizontal && p.y.type === 'category', labelled && !horizontal);
    for (const s of p.series) {
      data.push(trace(s, horizontal, suffix, fig.showLegend && !seen.has(s.name)));
      seen.add(s.name);
    }
    if (p.title) {
      (layout.annotations as PlotlyObject[]).push({
        text: p.title,
        showarrow: false,
        xref: 'paper',
        yref: 'paper',
        x: (domain[0] + domain[1]) / 2,
        y: 1,
        xanchor: 'center',
        yanchor: 'bottom',
        font: { size: 13 },
      });
    }
  });
  return { data, layout };
}

function heatmapToPlotly(fig: HeatmapFigure): PlotlyFigure {
  return {
    data: [
      {
        type: 'heatmap',
        z: fig.values,
        x: fig.xLabels,
        y: fig.yLabels,
        text: fig.text.map((r) => r.map((t) => t.replace(/\n/g, '<br>'))),
        texttemplate: '%{text}',
        hovertemplate: `${fig.yTitle}: %{y}<br>${fig.xTitle}: %{x}<br>%{text}<extra></extra>`,
        colorscale: [
          [0, fig.colors[0]],
          [1, fig.colors[1]],
        ],
        zmin: fig.min,
        zmax: fig.max,
        xgap: 1,
        ygap: 1,
        colorbar: { title: { text: fig.valueTitle ?? '' }, tickformat: fig.max === 1 ? '.0%' : undefined },
      },
    ],
    layout: {
      title: { text: fig.title, x: 0.5, xanchor: 'center', font: { size: 16 } },
      width: fig.width,
      height: fig.height,
      font: FONT,
      paper_bgcolor: '#ffffff',
      plot_bgcolor: '#ffffff',
      xaxis: { title: { text: fig.xTitle }, type: 'category', automargin: true },
      yaxis: { title: { text: fig.yTitle }, type: 'category', autorange: 'reversed', automargin: true },
      margin: { t: 60, l: 90, r: 30, b: 70 },
    },
  };
}

export function toPlotly(fig: Figure): PlotlyFigure {
  return fig.kind === 'heatmap' ? heatmapToPlotly(fig) : chartToPlotly(fig);
}

/** plotly.js bundles we can inline, smallest first; plotly.js-dist is the one the project depends on. */
const PLOTLY_BUNDLES = [
  'plotly.js-cartesian-dist-min/plotly-cartesian.min.js',
  'plotly.js-dist-min/plotly.min.js',
  'plotly.js-dist/plotly.js',
];
let plotlySource: string | undefined;
let plotlyInlined = false;

/** The plotly.js source, read once per process; `</script` escaped so it can sit inside a script tag. */
export function plotlyJsSource(): string {
  if (plotlySource === undefined) {
    for (const bundle of PLOTLY_BUNDLES) {
      let file: string;
      try {
        file = require.resolve(bundle);
      } catch {
        continue;
      }
      plotlySource = fs.readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
      break;
    }
    if (plotlySource === undefined) {
      throw new FerError('plotly.js was not found in node_modules: run `npm install` in the fer-lab folder (it installs plotly.js-dist)');
    }
  }
  return plotlySource;
}

export interface PlotlyHtmlOptions {
  /**
   * 'auto' (default): inline plotly.js in the first snippet of this process only (a notebook page keeps it for the
   * later outputs); 'always': in every snippet (a standalone page); 'never': assume window.Plotly exists.
   */
  includePlotlyJs?: 'auto' | 'always' | 'never';
  /** Let the plot resize with the page (default false: the figure's own width and height). */
  responsive?: boolean;
}

let nextId = 0;
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** An HTML snippet (a div and scripts) that draws the figure with plotly.js, offline. */
export function plotlyHtml(fig: Figure, options: PlotlyHtmlOptions = {}): string {
  const mode = options.includePlotlyJs ?? 'auto';
  const include = mode === 'always' || (mode === 'auto' && !plotlyInlined);
  const { data, layout } = toPlotly(fig);
  const id = `fer-plot-${process.pid}-${Date.now().toString(36)}-${nextId++}`;
  let html = '';
  if (include) {
    // `module` shadowed so the bundle always sets window.Plotly, even on pages with a CommonJS-like loader.
    html += `<script type="text/javascript">(function(module){\n${plotlyJsSource()}\n})(undefined);</script>\n`;
    plotlyInlined = true;
  }
  const config = { displaylogo: false, responsive: options.responsive ?? false };
  html +=
    `<div id="${id}" style="width:${fig.width}px;height:${fig.height}px;max-width:100%;"></div>\n` +
    `<script type="text/javascript">(function(){var el=document.getElementById(${JSON.stringify(id)});` +
    `if(!window.Plotly){el.textContent='plotly.js is not loaded: run the first chart cell again';return;}` +
    `window.Plotly.newPlot(el,${scriptJson(data)},${scriptJson(layout)},${scriptJson(config)});})();</script>`;
  return html;
}

/** A standalone HTML page with one or more figures (plotly.js inlined once). */
export function plotlyPage(figs: readonly Figure[], title = 'fer-lab'): string {
  const body = figs.map((f, i) => plotlyHtml(f, { includePlotlyJs: i === 0 ? 'always' : 'never' })).join('\n');
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title.replace(/</g, '&lt;')}</title></head>\n<body>\n${body}\n</body></html>\n`;
}
