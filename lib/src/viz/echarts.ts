/** Figure spec -> ECharts option (static rendering; png.ts draws it to SVG server-side). */
import type { EChartsOption } from 'echarts';
import type { Axis, ChartFigure, Figure, HeatmapFigure, Panel, Series } from './spec';

export const FONT_FAMILY = 'DejaVu Sans, Noto Sans, Arial, sans-serif';
const TOP_LEGEND = 78; // title + legend
const TOP_PLAIN = 50; // title only
const BOTTOM = 62;

const percentLabel = (v: number) => `${Math.round(v * 100)}%`;
const missing = (v: number) => (Number.isFinite(v) ? v : '-');

function axisOption(axis: Axis, data: Array<string | number> | undefined, gridIndex: number, inverse = false) {
  return {
    gridIndex,
    type: axis.type,
    data: axis.type === 'category' ? data?.map(String) : undefined,
    inverse,
    min: axis.min,
    max: axis.max,
    scale: axis.type === 'value' && axis.min === undefined,
    minInterval: axis.integer ? 1 : undefined,
    name: axis.title,
    nameLocation: 'middle' as const,
    nameGap: axis.type === 'category' ? 30 : 42,
    nameTextStyle: { fontSize: 12, color: '#333' },
    axisLabel: {
      fontSize: 11,
      color: '#333',
      formatter: axis.percent
        ? percentLabel
        : axis.type === 'log'
          ? (v: number) => v.toExponential(0)
          : undefined,
    },
    splitLine: { show: axis.type !== 'category', lineStyle: { color: '#e6e6e6' } },
  };
}

function seriesOption(s: Series, panel: Panel, index: number, seriesInPanel: number) {
  const common = { name: s.name, xAxisIndex: index, yAxisIndex: index };
  if (s.kind === 'line') {
    const categoryX = panel.x.type === 'category';
    return {
      ...common,
      type: 'line' as const,
      data: categoryX ? s.y.map(missing) : s.x.map((x, i) => [x, missing(s.y[i])]),
      connectNulls: false,
      showSymbol: s.markers ?? false,
      symbolSize: 5,
      lineStyle: { color: s.color, width: 2, type: s.dashed ? ('dashed' as const) : ('solid' as const) },
      itemStyle: { color: s.color },
    };
  }
  const longLabels = (s.labels ?? []).some((l) => l.length > 3);
  const rotate = !panel.horizontal && seriesInPanel >= 3 && longLabels;
  return {
    ...common,
    type: 'bar' as const,
    data: s.y.map((v, i) => ({ value: missing(v), itemStyle: { color: s.colors?.[i] ?? s.color } })),
    itemStyle: { color: s.color },
    barMaxWidth: 48,
    label: s.labels
      ? {
          show: true,
          position: panel.horizontal ? ('right' as const) : ('top' as const),
          rotate: rotate ? 90 : 0,
          align: rotate ? ('left' as const) : undefined,
          verticalAlign: rotate ? ('middle' as const) : undefined,
          distance: 4,
          fontSize: seriesInPanel >= 3 ? 9 : 11,
          color: '#333',
          formatter: (p: { dataIndex: number }) => s.labels?.[p.dataIndex] ?? '',
        }
      : undefined,
  };
}

function chartOption(fig: ChartFigure): EChartsOption {
  const n = fig.panels.length;
  const gap = 70;
  const left = 70;
  const right = 30;
  const panelWidth = (fig.width - left - right - gap * (n - 1)) / n;
  const top = fig.showLegend ? TOP_LEGEND : TOP_PLAIN;
  const grids = fig.panels.map((p, i) => ({
    left: left + i * (panelWidth + gap) + (p.horizontal ? 20 : 0),
    width: panelWidth - (p.horizontal ? 40 : 0),
    top: top + (fig.panels.some((q) => q.title) ? 18 : 0),
    bottom: BOTTOM,
  }));
  const xAxis = fig.panels.map((p, i) =>
    p.horizontal ? axisOption(p.x, undefined, i) : axisOption(p.x, p.x.type === 'category' ? p.series[0]?.x : undefined, i),
  );
  const yAxis = fig.panels.map((p, i) =>
    p.horizontal ? axisOption(p.y, p.series[0]?.x, i, true) : axisOption(p.y, undefined, i),
  );
  const titles = [
    { text: fig.title, left: 'center', top: 8, textStyle: { fontSize: 16, fontWeight: 'bold' as const, color: '#222' } },
    ...fig.panels.map((p, i) => ({
      text: p.title ?? '',
      left: grids[i].left + grids[i].width / 2,
      textAlign: 'center' as const,
      top: top - 6,
      textStyle: { fontSize: 13, fontWeight: 'normal' as const, color: '#444' },
    })),
  ];
  const names = [...new Set(fig.panels.flatMap((p) => p.series.map((s) => s.name)))];
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: FONT_FAMILY },
    title: titles,
    legend: fig.showLegend ? { top: 36, data: names, textStyle: { fontSize: 12 } } : undefined,
    grid: grids,
    xAxis,
    yAxis,
    series: fig.panels.flatMap((p, i) => p.series.map((s) => seriesOption(s, p, i, p.series.length))),
  } as EChartsOption;
}

function heatmapOption(fig: HeatmapFigure): EChartsOption {
  const data: Array<{ value: [number, number, number]; label: { color: string } }> = [];
  const mid = (fig.min + fig.max) / 2;
  fig.values.forEach((row, r) =>
    row.forEach((v, c) => data.push({ value: [c, r, v], label: { color: v > mid ? '#ffffff' : '#222222' } })),
  );
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: FONT_FAMILY },
    title: { text: fig.title, left: 'center', top: 8, textStyle: { fontSize: 16, fontWeight: 'bold', color: '#222' } },
    grid: { left: 100, right: 110, top: 50, bottom: 70 },
    xAxis: {
      type: 'category',
      data: fig.xLabels,
      name: fig.xTitle,
      nameLocation: 'middle',
      nameGap: 35,
      nameTextStyle: { fontSize: 13 },
      axisLabel: { fontSize: 12, interval: 0 },
      splitArea: { show: false },
    },
    yAxis: {
      type: 'category',
      data: fig.yLabels,
      inverse: true,
      name: fig.yTitle,
      nameLocation: 'middle',
      nameGap: 70,
      nameTextStyle: { fontSize: 13 },
      axisLabel: { fontSize: 12, interval: 0 },
    },
    visualMap: {
      min: fig.min,
      max: fig.max,
      calculable: false,
      orient: 'vertical',
      right: 15,
      top: 'middle',
      itemHeight: 200,
      text: [fig.max === 1 ? '100%' : String(fig.max), fig.min === 0 ? '0%' : String(fig.min)],
      inRange: { color: fig.colors },
    },
    series: [
      {
        type: 'heatmap',
        data,
        label: {
          show: true,
          fontSize: 11,
          lineHeight: 14,
          formatter: (p: { value: [number, number, number] }) => fig.text[p.value[1]]?.[p.value[0]] ?? '',
        },
        itemStyle: { borderColor: '#ffffff', borderWidth: 1 },
      },
    ],
  } as EChartsOption;
}

export function toEchartsOption(fig: Figure): EChartsOption {
  return fig.kind === 'heatmap' ? heatmapOption(fig) : chartOption(fig);
}
